"""Shape ops: they move entries around without changing them (views, mostly).

Their backward moves the gradient back the same way:

* reshape/view:   dL/dx = g reshaped to x's shape
* permute:        dL/dx = g permuted by the inverse permutation
* expand:         dL/dx = sum_to(g, x.shape)  — a broadcast copies an entry, so its copies' gradients add
* sum_to:         dL/dx = expand(g, x.shape)  — the two are each other's backward
* flip:           dL/dx = flip(g)

Most forwards return NumPy *views* (no copy); ``contiguous()`` makes a real copy when needed.
``view(dtype)`` reads the same bytes as another dtype (no gradient).  The ops that change a dim's
size (cat, stack, split, chunk, pad, repeat) are in ``join_split.py``, re-exported here.

Tests: tests/op_registry/shape.py
"""
import numpy as np

from ..autograd.function import Function
from ..backend import array_module
from .checks import normalize_dim, normalize_dims


class Reshape(Function):
    """y = x with a new shape (same entries, same order).   dL/dx = g.reshape(x.shape)."""

    returns_view = True

    @staticmethod
    def forward(ctx, x, shape=None):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape)


class Permute(Function):
    """y = x with its dims reordered.   dL/dx = g permuted back by the inverse order."""

    returns_view = True

    @staticmethod
    def forward(ctx, x, dims=None):
        inverse = [0] * len(dims)          # inverse[d] = i where dims[i] = d (argsort of a permutation)
        for i, d in enumerate(dims):
            inverse[d] = i
        ctx.inverse = tuple(inverse)
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return g.permute(*ctx.inverse)


class Expand(Function):
    """y = x broadcast to ``shape`` (a view: no copy).   dL/dx = sum_to(g, x.shape)."""

    returns_view = True

    @staticmethod
    def forward(ctx, x, shape=None):
        ctx.in_shape = x.shape
        return array_module(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return sum_to(g, ctx.in_shape)


class SumTo(Function):
    """y = x summed down to ``shape`` (undo a broadcast).   dL/dx = expand(g, x.shape)."""

    @staticmethod
    def forward(ctx, x, shape=None):
        ctx.in_shape = x.shape
        lead = x.ndim - len(shape)
        y = x.sum(axis=tuple(range(lead))) if lead else x  # the dims broadcasting added in front
        kept = tuple(i for i, s in enumerate(shape) if s == 1 and y.shape[i] != 1)
        if kept:                                           # the size-1 dims broadcasting stretched
            y = y.sum(axis=kept, keepdims=True)
        return y  # two plain reductions: a fresh array, never a view (no copy needed later)

    @staticmethod
    def backward(ctx, g):
        return g.expand(*ctx.in_shape)


def sum_to(x, shape, op_name="sum_to"):
    """Sum ``x`` down to ``shape``: the one unbroadcast the engine applies to every gradient."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    if not _broadcastable_to(shape, x.shape):
        raise RuntimeError(f"{op_name}: a gradient of shape {tuple(x.shape)} cannot be summed to "
                           f"the input's shape {shape} (the backward returned a wrongly shaped "
                           "gradient)")
    return SumTo.apply(x, shape=shape)


def _broadcastable_to(small, big):
    if len(small) > len(big):
        return False
    return all(s == b or s == 1 for s, b in zip(small[::-1], big[::-1]))


class Contiguous(Function):
    """y = a C-contiguous copy of x.   dL/dx = g."""

    @staticmethod
    def forward(ctx, x):
        return array_module(x).ascontiguousarray(x)

    @staticmethod
    def backward(ctx, g):
        return g


class Flip(Function):
    """y = x reversed along ``dims``.   dL/dx = flip(g, dims)."""

    returns_view = True

    @staticmethod
    def forward(ctx, x, dims=None):
        ctx.dims = dims
        return array_module(x).flip(x, dims)

    @staticmethod
    def backward(ctx, g):
        return g.flip(ctx.dims)


# ---------------------------------------------------------------------------------------------
# The functional API
# ---------------------------------------------------------------------------------------------
def _sizes(args):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def reshape(x, *shape):
    shape = tuple(int(s) for s in _sizes(shape))
    if shape == x.shape:
        return x
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if shape.count(-1) > 1 or any(s < -1 for s in shape) or \
            (-1 not in shape and known != x.array.size) or \
            (-1 in shape and (known == 0 or x.array.size % known)):
        raise RuntimeError(f"reshape: shape {shape} is invalid for input of size {x.array.size} "
                           f"(shape {tuple(x.shape)})")
    return Reshape.apply(x, shape=shape)


view = reshape


def permute(x, *dims):
    dims = _sizes(dims)
    if sorted(normalize_dim("permute", d, x.ndim) for d in dims) != list(range(x.ndim)):
        raise ValueError(f"permute: dims {dims} are not a permutation of the {x.ndim} dims of a "
                         f"tensor of shape {tuple(x.shape)}")
    dims = tuple(normalize_dim("permute", d, x.ndim) for d in dims)
    if dims == tuple(range(x.ndim)):
        return x
    return Permute.apply(x, dims=dims)


def transpose(x, dim0, dim1):
    d0, d1 = normalize_dim("transpose", dim0, x.ndim), normalize_dim("transpose", dim1, x.ndim)
    order = list(range(x.ndim))
    order[d0], order[d1] = order[d1], order[d0]
    return permute(x, *order)


def expand(x, *shape):
    shape = _sizes(shape)
    if len(shape) < x.ndim:
        raise ValueError(f"expand: the target shape {shape} has fewer dims than the input's "
                         f"{tuple(x.shape)}")
    lead = len(shape) - x.ndim
    target = []
    for i, s in enumerate(shape):
        own = x.shape[i - lead] if i >= lead else None
        if s == -1:
            if own is None:
                raise ValueError(f"expand: -1 is not allowed for a new leading dim (target {shape})")
            s = own
        if own is not None and own != 1 and own != s:
            raise ValueError(f"expand: the expanded size {s} must match the existing size {own} at "
                             f"non-singleton dim {i} (input {tuple(x.shape)}, target {shape})")
        target.append(int(s))
    target = tuple(target)
    if target == x.shape:
        return x
    return Expand.apply(x, shape=target)


def broadcast_to(x, shape):
    return expand(x, *shape)


def squeeze(x, dim=None):
    if dim is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        dims = normalize_dims("squeeze", dim, x.ndim)
        shape = tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1))
    return reshape(x, shape)


def unsqueeze(x, dim):
    d = normalize_dim("unsqueeze", dim, x.ndim + 1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return reshape(x, (1,))
    s = normalize_dim("flatten", start_dim, x.ndim)
    e = normalize_dim("flatten", end_dim, x.ndim)
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    n = 1
    for v in x.shape[s:e + 1]:
        n *= v
    return reshape(x, x.shape[:s] + (n,) + x.shape[e + 1:])


def unflatten(x, dim, sizes):
    d = normalize_dim("unflatten", dim, x.ndim)
    return reshape(x, x.shape[:d] + tuple(sizes) + x.shape[d + 1:])


def contiguous(x):
    if x.array.flags.c_contiguous:
        return x
    return Contiguous.apply(x)


def flip(x, *dims):
    dims = _sizes(dims)
    if len(dims) == 0:  # torch: flip(()) reverses no dim (unlike sum's "() means all dims")
        return Flip.apply(x, dims=())
    dims = normalize_dims("flip", dims, x.ndim)
    return Flip.apply(x, dims=dims)


def view_dtype(x, dtype):
    """``x.view(dtype)``: the same bytes read as another dtype (no copy: the result shares memory and
    the version counter with ``x``, as torch's).  With the same item size the shape is kept; with a
    smaller one the last dim grows by the ratio (float32 -> float16: (3, 4) -> (3, 8)); with a larger
    one it shrinks by the ratio and must be divisible by it.  A size change needs at least one dim
    and a last dim with stride 1, and a larger item size needs the start offset and every other
    stride to be whole multiples of it.

    Not differentiable: reinterpreted bits are not a smooth function of the input, so the result
    never requires grad (also in torch)."""
    from .. import dtypes as _dt
    new = _dt.as_dtype(dtype)
    arr = x.array
    old = arr.dtype
    if new.itemsize != old.itemsize and not (arr.size == 0 and arr.ndim):
        what = f"to view {old} as {new} (different element sizes: {old.itemsize} and {new.itemsize} bytes)"
        if arr.ndim == 0:
            raise RuntimeError(f"view(dtype): a 0-d tensor can't be viewed as a dtype of another size; "
                               f"{what}")
        if arr.shape[-1] != 1 and arr.strides[-1] != old.itemsize:
            raise RuntimeError(f"view(dtype): the last dim must have stride 1 (contiguous), got stride "
                               f"{arr.strides[-1] // old.itemsize}, {what}")
        if new.itemsize > old.itemsize:
            ratio = new.itemsize // old.itemsize
            if arr.shape[-1] % ratio:
                raise RuntimeError(f"view(dtype): the last dim ({arr.shape[-1]}) must be divisible by "
                                   f"{ratio} {what} (shape {tuple(arr.shape)})")
            base = arr
            while getattr(base, "base", None) is not None and hasattr(base.base, "__array_interface__"):
                base = base.base
            try:
                offset = arr.__array_interface__["data"][0] - base.__array_interface__["data"][0]
            except (AttributeError, KeyError, TypeError):   # CuPy: no interface; NumPy checks itself
                offset = 0
            if offset % new.itemsize:
                raise RuntimeError(f"view(dtype): the storage offset ({offset // old.itemsize} elements) "
                                   f"must be divisible by {ratio} {what}")
            for d, s in enumerate(arr.strides[:-1]):
                if arr.shape[d] > 1 and s % new.itemsize:
                    raise RuntimeError(f"view(dtype): stride {s // old.itemsize} of dim {d} must be "
                                       f"divisible by {ratio} {what}")
    try:
        out = arr.view(new)
    except ValueError as exc:
        raise RuntimeError(f"view(dtype): can't view {old} of shape {tuple(arr.shape)} as {new}: {exc}") \
            from None
    t = type(x)._wrap(out)
    t._version_box = x._version_box   # one memory, one version counter
    return t


def _is_dtype_arg(v):
    """Does a ``view`` argument name a dtype (rather than a size)?"""
    if isinstance(v, np.dtype) or isinstance(v, str):
        return True
    return isinstance(v, type) and issubclass(v, np.generic)


# The ops that change a dim's size, re-exported: ``ops.shape.<name>`` keeps naming every shape op.
from .join_split import (  # noqa: E402,F401
    Cat, Pad, Repeat, cat, chunk, concat, concatenate, pad, repeat, split, stack)
