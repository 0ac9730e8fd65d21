"""Selecting entries: index_select, masked_select, nonzero, and ``where(condition)``.

index_select and masked_select are reads of x (integer indices / a boolean mask), so their
gradient is the scatter-add of indexing:  dL/dx = zeros_like(x);  dL/dx[idx] += dL/dy.
nonzero returns int64 positions and has no gradient.

Tests: tests/op_registry/selection.py
"""
import numpy as np

from ..backend import array_module
from .checks import normalize_dim
from .elementwise import where as _where3
from .indexing import getitem


def index_select(x, dim, index):
    """y = x[..., index, ...] with the 1-D (or 0-d) int ``index`` in position ``dim``.
    Gradient: g scatter-added back at ``index`` (repeated indices add up)."""
    idx = index.array if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu" or idx.ndim > 1:
        raise RuntimeError(f"index_select: index must be a 1-D integer tensor, got shape "
                           f"{tuple(idx.shape)} dtype {idx.dtype}")
    d = normalize_dim("index_select", dim, max(x.ndim, 1))
    src = x.reshape(1) if x.ndim == 0 else x
    n = src.shape[d]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"index_select: index out of range for dim {dim} of size {n} "
                         f"(values from {int(idx.min())} to {int(idx.max())})")
    y = getitem(src, (slice(None),) * d + (idx.reshape(-1),))
    return y.reshape(()) if x.ndim == 0 else y


def masked_select(x, mask):
    """The entries of x where ``mask`` is True, as a 1-D tensor (x and mask broadcast together).
    Gradient: g put back at the selected positions, 0 elsewhere (summed over broadcast copies)."""
    m = mask.array if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_select: mask must be a bool tensor, got dtype {m.dtype}")
    shape = np.broadcast_shapes(tuple(x.shape), tuple(m.shape))
    xp = array_module(m)
    return getitem(x.broadcast_to(shape) if tuple(x.shape) != shape else x,
                   xp.broadcast_to(m, shape))


def nonzero(x, as_tuple=False):
    """int64 positions of the nonzero entries: shape (count, ndim), row-major order; with
    ``as_tuple=True`` one 1-D tensor per dim (a 0-d input counts as 1-D).  No gradient."""
    a = x.array if isinstance(x, Tensor) else np.asarray(x)
    xp = array_module(a)
    if as_tuple:
        a = a.reshape(1) if a.ndim == 0 else a
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in xp.nonzero(a))
    if a.ndim == 0:  # a nonzero scalar is one hit with no coordinates: shape (1, 0)
        return Tensor._wrap(xp.zeros((int(a != 0), 0), dtype=np.int64))
    return Tensor._wrap(xp.argwhere(a).astype(np.int64).reshape(-1, a.ndim))


def where(condition, input=None, other=None):  # noqa: A002
    """``where(condition, input, other)``: input where condition is True, else other (elementwise).
    ``where(condition)``: the same as ``nonzero(condition, as_tuple=True)``."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where: give both input and other, or neither (where(condition) = nonzero)")
    return _where3(condition, input, other)


from ..tensor import Tensor  # noqa: E402
