"""Sorting and order statistics: sort, argsort, topk, kthvalue, median, nanmedian, mode.

Every op here first decides *which* entries to pick (an integer index array, computed on raw
arrays: picking has no gradient) and then reads the values with ``gather(x, dim, index)``.  So the
gradient of the values is the gradient of gather, a scatter-add:

    values = gather(x, dim, idx)      dL/dx = zeros_like(x);  dL/dx[idx] += dL/dvalues

The gradient flows to the chosen positions only; every other entry of x gets 0.  Indices are
int64 and never carry a gradient.  NaN counts as larger than every number (as in PyTorch).

Tests: tests/op_registry/sorting.py, tests/test_select_sort_scan.py
"""
import numpy as np

from ..backend import array_module
from .checks import normalize_dim
from .indexing import gather


class ValuesIndices(tuple):
    """A ``(values, indices)`` pair with PyTorch's field names (``torch.return_types.sort`` …)."""

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


def _sort_indices(a, axis, descending):
    """Stable order of ``a`` along ``axis``; ties keep their original order in both directions.
    Descending: sort the reversed array ascending, then reverse the answer (NaN then comes first)."""
    xp = array_module(a)
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    rev = xp.argsort(xp.flip(a, axis=axis), axis=axis, kind="stable")
    return xp.flip(n - 1 - rev, axis=axis)


def _pick(x, d, idx):
    """(gather(x, d, idx), idx as int64)."""
    idx = idx.astype(np.int64)
    return gather(x, d, Tensor._wrap(idx)), Tensor._wrap(idx)


def sort(x, dim=-1, descending=False, stable=False):
    """Sort along ``dim``; returns ``(values, indices)`` with ``values = gather(x, dim, indices)``.

    Ties keep their original order (a stable sort is used whatever ``stable`` says).
    Gradient: dL/dx[indices[i]] += dL/dvalues[i]  (the values are a permutation of x)."""
    if x.ndim == 0:
        return ValuesIndices((x.clone(), Tensor._wrap(np.zeros((), dtype=np.int64))))
    d = normalize_dim("sort", dim, x.ndim)
    return ValuesIndices(_pick(x, d, _sort_indices(x.array, d, descending)))


def argsort(x, dim=-1, descending=False, stable=False):
    """The int64 indices that sort ``x`` along ``dim`` (``sort(...).indices``).  No gradient."""
    return sort(x, dim, descending, stable).indices


def topk(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """The ``k`` largest (or smallest) entries along ``dim``, in sorted order, and their indices.
    Gradient: dL/dx[indices[i]] += dL/dvalues[i]; the other entries get 0."""
    d = normalize_dim("topk", dim, max(x.ndim, 1))
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k={k} is out of range for dim {dim} of size {n} (shape {tuple(x.shape)})")
    if x.ndim == 0:
        return ValuesIndices((x.clone(), Tensor._wrap(np.zeros((), dtype=np.int64))))
    xp = array_module(x.array)
    idx = xp.take(_sort_indices(x.array, d, largest), xp.arange(k), axis=d)
    return ValuesIndices(_pick(x, d, idx))


def kthvalue(x, k, dim=-1, keepdim=False):
    """The ``k``-th smallest entry (k counts from 1) along ``dim``, and its index.
    Gradient: the whole of dL/dvalue goes to that one entry."""
    d = normalize_dim("kthvalue", dim, max(x.ndim, 1))
    n = x.shape[d] if x.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue: k={k} is out of range for dim {dim} of size {n} "
                           f"(expected 1 <= k <= {n})")
    if x.ndim == 0:
        return ValuesIndices((x.clone(), Tensor._wrap(np.zeros((), dtype=np.int64))))
    xp = array_module(x.array)
    idx = xp.take(_sort_indices(x.array, d, False), xp.arange(k - 1, k), axis=d)
    return _finish(x, d, idx, keepdim)


def _finish(x, d, idx, keepdim):
    values, indices = _pick(x, d, idx)
    if not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return ValuesIndices((values, indices))


def _median_index(a, d, ignore_nan):
    """Index (keepdims) of the lower median along ``d``: sorted position (m - 1) // 2 where m counts
    the entries considered.  median: a NaN in the slice makes the answer its first NaN."""
    xp = array_module(a)
    order = _sort_indices(a, d, False)                    # NaN sorts last
    nan = xp.isnan(a) if a.dtype.kind == "f" else xp.zeros(a.shape, dtype=bool)
    n_nan = nan.sum(axis=d, keepdims=True)
    m = a.shape[d] - n_nan if ignore_nan else xp.full(n_nan.shape, a.shape[d])
    pos = xp.maximum((m - 1) // 2, 0)
    idx = xp.take_along_axis(order, pos, axis=d)
    if not ignore_nan:
        first_nan = xp.argmax(nan, axis=d, keepdims=True)
        idx = xp.where(n_nan > 0, first_nan, idx)
    return idx


def median(x, dim=None, keepdim=False):
    """The lower median: for n entries the ((n - 1) // 2)-th smallest (no averaging of the two
    middle entries).  NaN in the input gives NaN.  ``dim=None``: a 0-d value over all entries;
    with ``dim``: ``(values, indices)``.  Gradient: dL/dvalue goes to the chosen entry."""
    return _median(x, dim, keepdim, "median", ignore_nan=False)


def nanmedian(x, dim=None, keepdim=False):
    """``median`` that ignores NaN entries (NaN only where a slice is all NaN).  Same gradient."""
    return _median(x, dim, keepdim, "nanmedian", ignore_nan=True)


def _median(x, dim, keepdim, name, ignore_nan):
    if dim is None:
        flat = x.reshape(-1)
        if flat.shape[0] == 0:
            raise IndexError(f"{name}: cannot take the median of an empty tensor (shape {tuple(x.shape)})")
        idx = _median_index(flat.array, 0, ignore_nan)
        return _pick(flat, 0, idx)[0].reshape(())
    d = normalize_dim(name, dim, max(x.ndim, 1))
    if x.ndim == 0:
        return ValuesIndices((x.clone(), Tensor._wrap(np.zeros((), dtype=np.int64))))
    if x.shape[d] == 0:
        raise IndexError(f"{name}: cannot take the median of an empty dim {dim} (shape {tuple(x.shape)})")
    return _finish(x, d, _median_index(x.array, d, ignore_nan), keepdim)


def mode(x, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` (the smallest one when counts tie) and the index of its
    last occurrence, as PyTorch.  Gradient: dL/dvalue goes to that entry."""
    d = normalize_dim("mode", dim, max(x.ndim, 1))
    if x.ndim == 0:
        return ValuesIndices((x.clone(), Tensor._wrap(np.zeros((), dtype=np.int64))))
    if x.shape[d] == 0:
        raise IndexError(f"mode: cannot take the mode of an empty dim {dim} (shape {tuple(x.shape)})")
    xp = array_module(x.array)
    a = xp.moveaxis(x.array, d, -1)
    n = a.shape[-1]
    # counts[..., i] = how often a[..., i] occurs in its slice (an n×n comparison: plain, not fast)
    counts = (a[..., :, None] == a[..., None, :]).sum(axis=-1)
    best = counts.max(axis=-1, keepdims=True)
    candidates = xp.where(counts == best, a, xp.inf if a.dtype.kind == "f" else xp.iinfo(a.dtype).max)
    value = candidates.min(axis=-1, keepdims=True)
    position = xp.arange(n)
    last = xp.where(a == value, position, -1).max(axis=-1, keepdims=True)
    return _finish(x, d, xp.moveaxis(last, -1, d), keepdim)


from ..tensor import Tensor  # noqa: E402
