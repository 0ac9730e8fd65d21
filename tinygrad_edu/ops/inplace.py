"""In-place ops: ``add_``, ``mul_``, ``zero_``, ``x[i] = v``, ``w -= lr * w.grad`` …

Two situations, two behaviours:

* **Nothing is being recorded** (typical: a hand-written SGD step under ``no_grad()``).  The new
  values are written into the tensor's existing memory, so views of it see them, and the
  tensor's *version counter* goes up by one.  Every value saved for backward remembers the
  version it had, so a backward that would read a value changed since raises an error naming the
  op — instead of computing gradients from the wrong numbers.
* **The graph is being recorded** (the tensor, or the value written into it, requires grad).
  The op is computed out of place and recorded as usual, and the tensor is moved to that new
  place in the graph (its ``grad_fn`` becomes the op's).  The old memory is left untouched, so
  values saved earlier stay valid.

A leaf that requires grad (a weight) may not be changed in place while recording: its old value
is what the graph used, and PyTorch raises here too.

Tests: tests/test_inplace.py
"""
from ..autograd import grad_mode
from ..autograd.function import Function
from ..backend import array_module


def _check_leaf(t, op):
    if grad_mode.state.enabled and t.requires_grad and t.grad_fn is None:
        raise RuntimeError(f"{op}: a leaf tensor that requires grad is being used in an in-place "
                           "operation; wrap the update in `with no_grad():` (as optimizers do)")


def _check_not_recorded_view(t, op):
    """A recorded in-place op is computed out of place; on a *view* that would leave the tensor it
    views unchanged (PyTorch rewrites the base's history instead).  Refuse rather than diverge."""
    if t.grad_fn is not None and type(t.grad_fn).returns_view and t.array.base is not None:
        raise RuntimeError(f"{op}: in-place change of a view ({t.grad_fn.name()}) while the graph is "
                           "being recorded is not supported; use the out-of-place op (e.g. "
                           "y = y * 2) or clone() the view first")


def apply_inplace(t, op, compute):
    """Make ``t`` hold ``compute(t)``, recorded or written in place as the module docstring says."""
    _check_leaf(t, op)
    result = compute(t)
    if result.shape != t.shape:
        raise RuntimeError(f"{op}: the result of shape {tuple(result.shape)} can't be written into a "
                           f"tensor of shape {tuple(t.shape)} (it would have to broadcast)")
    if result.dtype != t.dtype:
        xp = array_module(t.array)
        if not xp.can_cast(result.dtype, t.dtype, casting="same_kind"):
            raise RuntimeError(f"{op}: the result type {result.dtype} can't be cast to the tensor's "
                               f"dtype {t.dtype}")
        result = result.to(t.dtype)
    if result.grad_fn is not None:
        _check_not_recorded_view(t, op)
        t.array = result.array
        t.grad_fn, t.requires_grad = result.grad_fn, True
        t._version_box = [t._version_box[0] + 1]
        return t
    _write(t, result.array, op)
    return t


def _write(t, values, op, index=Ellipsis, advanced=False):
    if not getattr(t.array.flags, "writeable", True):   # CuPy arrays have no read-only flag
        raise RuntimeError(f"{op}: the tensor is a read-only view (e.g. the result of expand); "
                           "call .clone() first and modify the copy")
    assign(t.array, index, advanced, values)
    t._version_box[0] += 1


def fill_(t, value):
    """Set every entry to ``value``."""
    if grad_mode.state.enabled and (t.requires_grad or getattr(value, "requires_grad", False)):
        xp = array_module(t.array)
        everywhere = Tensor._wrap(xp.ones(t.shape, bool))
        return apply_inplace(t, "fill_", lambda a: a.masked_fill(everywhere, value))
    _write(t, value.array if isinstance(value, Tensor) else value, "fill_")
    return t


def copy_(t, src):
    """Copy ``src`` (broadcast to ``t``'s shape, cast to its dtype) into ``t``."""
    if not isinstance(src, Tensor):
        src = tensor(src)
    if grad_mode.state.enabled and (t.requires_grad or src.requires_grad):
        return apply_inplace(t, "copy_", lambda a: src.to(a.dtype).expand(*a.shape) + a * 0.0)
    try:
        array_module(t.array).broadcast_to(src.array, t.shape)
    except ValueError:
        raise RuntimeError(f"copy_: source of shape {tuple(src.shape)} can't be broadcast to the "
                           f"destination's shape {tuple(t.shape)}") from None
    _write(t, src.array.astype(t.dtype, copy=False), "copy_")
    return t


def setitem(t, index, value):
    """``t[index] = value``."""
    _check_leaf(t, "setitem")
    recording = grad_mode.state.enabled and (t.requires_grad or getattr(value, "requires_grad", False))
    norm_index, advanced = _normalize_index(t, index)
    if recording:
        _check_not_recorded_view(t, "setitem")
        v = value if isinstance(value, Tensor) else tensor(value, dtype=t.dtype)
        result = IndexPut.apply(t, v.to(t.dtype), index=norm_index, advanced=advanced)
        t.array = result.array
        t.grad_fn, t.requires_grad = result.grad_fn, True
        t._version_box = [t._version_box[0] + 1]
        return
    values = value.array if isinstance(value, Tensor) else value
    try:
        _write(t, values, "setitem", norm_index, advanced)
    except (ValueError, IndexError) as exc:
        raise type(exc)(f"setitem: can't assign a value of shape {getattr(values, 'shape', ())} to "
                        f"index {index!r} of a tensor of shape {tuple(t.shape)}: {exc}") from None


class IndexPut(Function):
    """y = x with y[index] = v.   dL/dx = g with g[index] set to 0;  dL/dv = g[index]."""

    @staticmethod
    def forward(ctx, x, v, index=None, advanced=False):
        ctx.index, ctx.advanced = index, advanced
        out = x.copy()
        assign(out, index, advanced, v)
        return out

    @staticmethod
    def backward(ctx, g):
        need_x, need_v = ctx.needs_input_grad
        zero = Tensor._wrap(array_module(g.array).zeros((), g.dtype))
        gx = IndexPut.apply(g, zero, index=ctx.index, advanced=ctx.advanced) if need_x else None
        gv = GetItem.apply(g, index=ctx.index, advanced=ctx.advanced) if need_v else None
        return gx, gv


from ..tensor import Tensor  # noqa: E402
from ..creation import tensor  # noqa: E402
from .indexing import GetItem, _normalize_index, assign  # noqa: E402
