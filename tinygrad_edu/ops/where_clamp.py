"""Choosing, entry by entry, between values: where, masked_fill, clamp, maximum, minimum, tril, triu.

Each output entry is a copy of one of its candidates, so its gradient goes to that candidate and
the others get 0:

* where(c, a, b):         dL/da = g where c else 0,   dL/db = g where not c else 0
* masked_fill(x, m, v):   where(m, v, x), so dL/dx = g where not m else 0
* clamp(x, lo, hi):       dL/dx = g where lo ≤ x ≤ hi, else 0
* maximum / minimum:      the larger (smaller) input gets g; a tie splits it, g/2 each
* tril / triu:            the kept triangle: dL/dx = tril(g) / triu(g)

The condition (and the masks the backwards build) are constants of the graph.  Re-exported by
``elementwise.py``; the one-argument ``where(condition)`` is in ``selection.py``.

Tests: tests/op_registry/where_clamp.py
"""
import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function
from ..backend import array_module, device_of, to_device


class Where(Function):
    """y = a where cond else b.   dL/da = g where cond else 0,  dL/db = g where not cond else 0.
    ``cond`` is a boolean array: a constant of the graph."""

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = cond
        return array_module(cond).where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        need_a, need_b = ctx.needs_input_grad[1:]
        zero = 0.0
        return (None,
                where(ctx.cond, g, zero) if need_a else None,
                where(ctx.cond, zero, g) if need_b else None)


class Clamp(Function):
    """y = min(max(x, lo), hi).   dL/dx = g where lo ≤ x ≤ hi, else 0."""

    @staticmethod
    def forward(ctx, x, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = min, max
        return array_module(x).clip(x, min, max)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        inside = np.True_
        if ctx.lo is not None:
            inside = x.array >= ctx.lo
        if ctx.hi is not None:
            inside = inside & (x.array <= ctx.hi)
        return where(inside, g, 0.0)


class Maximum(Function):
    """y = max(a, b) entry by entry.   The larger input gets g; a tie splits it, g/2 each."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return array_module(a).maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        share = _share(a.array > b.array, a.array == b.array, g.dtype)
        return g * share, g * (1.0 - share)


class Minimum(Function):
    """y = min(a, b) entry by entry.   The smaller input gets g; a tie splits it, g/2 each."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return array_module(a).minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        share = _share(a.array < b.array, a.array == b.array, g.dtype)
        return g * share, g * (1.0 - share)


def _share(wins, ties, dtype):
    return Tensor._wrap((wins + 0.5 * ties).astype(dtype))


class Tril(Function):
    """y = the lower triangle of the last two dims (diagonal k and below).   dL/dx = tril(g)."""

    @staticmethod
    def forward(ctx, x, diagonal=0):
        ctx.k = diagonal
        return array_module(x).tril(x, diagonal)

    @staticmethod
    def backward(ctx, g):
        return tril(g, ctx.k)


class Triu(Function):
    """y = the upper triangle of the last two dims (diagonal k and above).   dL/dx = triu(g)."""

    @staticmethod
    def forward(ctx, x, diagonal=0):
        ctx.k = diagonal
        return array_module(x).triu(x, diagonal)

    @staticmethod
    def backward(ctx, g):
        return triu(g, ctx.k)


# ---------------------------------------------------------------------------------------------
# The functional API (``tinygrad_edu.where(c, a, b)``, also bound as Tensor methods)
# ---------------------------------------------------------------------------------------------
def clamp(x, min=None, max=None):  # noqa: A002
    return Clamp.apply(_t(x), min=as_array(min), max=as_array(max))


clip = clamp


def maximum(a, b):
    return Maximum.apply(*operands(_t(a), b))


def minimum(a, b):
    return Minimum.apply(*operands(_t(a), b))


def where(cond, a, b):
    """``a`` where ``cond`` is true, else ``b`` (numbers allowed for ``a``/``b``)."""
    cond = as_array(cond)
    if getattr(cond, "dtype", None) is None or cond.dtype != np.bool_:
        cond = array_module(cond).asarray(cond).astype(bool)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = tensor(a, device=device_of(cond))
    a, b = operands(a, b)
    return Where.apply(_on_device_of(cond, a if isinstance(a, Tensor) else b), a, b)


def _on_device_of(mask, x):
    """A host mask (a Python bool, a cached NumPy mask) used with device tensors is copied there."""
    if array_module(mask) is not array_module(x.array):
        mask = to_device(mask, x.device)
    return mask


def masked_fill(x, mask, value):
    """Entries of ``x`` where ``mask`` is true replaced by ``value``.  dL/dx = g where not mask."""
    mask = as_array(mask)
    if getattr(mask, "dtype", None) != np.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got {getattr(mask, 'dtype', type(mask))}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got shape "
                             f"{tuple(value.shape)}")
        fill = value.to(x.dtype)
    else:
        _dt.check_fits("masked_fill", value, x.dtype)
        fill = Tensor._wrap(array_module(x.array).asarray(value, dtype=x.dtype))
    return Where.apply(_on_device_of(mask, x), fill, x)


def tril(x, diagonal=0):
    _require_2d("tril", x)
    return Tril.apply(x, diagonal=diagonal)


def triu(x, diagonal=0):
    _require_2d("triu", x)
    return Triu.apply(x, diagonal=diagonal)


def _require_2d(op, x):
    if x.ndim < 2:
        raise RuntimeError(f"{op}: input must have at least 2 dims, got shape {tuple(x.shape)}")


from ..tensor import Tensor  # noqa: E402
from ..creation import tensor  # noqa: E402
from .elementwise import _t, as_array, operands  # noqa: E402
