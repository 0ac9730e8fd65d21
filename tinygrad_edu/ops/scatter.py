"""Scattering: writing (or adding) values of ``src`` into a copy of x at integer positions.

scatter / scatter_add use torch's index convention: for a 2-D x and dim = 0,
``out[index[i][j]][j] = src[i][j]`` (dim 1: ``out[i][index[i][j]] = src[i][j]``).
index_add adds whole slices: ``out[..., index[i], ...] += alpha * source[..., i, ...]``.

Gradients (g = dL/dout):
    scatter:      dL/dx = g with the written positions zeroed;   dL/dsrc = gather(g, dim, index)
    scatter_add:  dL/dx = g;                                      dL/dsrc = gather(g, dim, index)
    index_add:    dL/dx = g;                                      dL/dsource = alpha * g[..., index, ...]
All are written with Tensor ops (indexing, IndexAdd), so they differentiate again.

Tests: tests/op_registry/scatter.py
"""
import numpy as np

from ..autograd.function import Function
from ..backend import array_module, to_device
from .checks import normalize_dim
from .indexing import IndexAdd, getitem, scatter_add as _add_at


def _full_index(name, x, dim, index, src=None):
    """NumPy's advanced index for torch's scatter convention, and the normalized dim."""
    idx = index.array if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: index must be an int64 tensor, got dtype {idx.dtype}")
    d = normalize_dim(name, dim, max(x.ndim, 1))
    if idx.ndim != x.ndim or (src is not None and src.ndim != idx.ndim):
        raise RuntimeError(f"{name}: index {tuple(idx.shape)}, input {tuple(x.shape)} and src must "
                           "have the same number of dims")
    for i, s in enumerate(idx.shape):
        if (i != d and s > x.shape[i]) or (src is not None and s > src.shape[i]):
            raise RuntimeError(f"{name}: index {tuple(idx.shape)} is larger than input "
                               f"{tuple(x.shape)} or src in dim {i}")
    if idx.size and (idx.min() < 0 or idx.max() >= x.shape[d]):
        raise RuntimeError(f"{name}: index out of range for dim {dim} of size {x.shape[d]} "
                           f"(values from {int(idx.min())} to {int(idx.max())})")
    xp = array_module(idx)
    grids = xp.ogrid[tuple(slice(0, s) for s in idx.shape)] if idx.ndim else []
    return tuple(idx if i == d else grids[i] for i in range(idx.ndim)), idx.shape


def _src_part(src, shape):
    """The leading block of src that the index uses (src may be larger than index)."""
    if tuple(src.shape) == tuple(shape):
        return src
    return getitem(src, tuple(slice(0, s) for s in shape))


class _Scatter(Function):
    """out = x, then out[index] = v.   dL/dx = g * (1 - written),  dL/dv = g[index]."""

    @staticmethod
    def forward(ctx, x, v, index=None):
        out = x.copy()
        out[index] = v
        written = array_module(x).zeros(x.shape, dtype=x.dtype)
        written[index] = 1
        ctx.index, ctx.keep = index, 1 - written
        return out

    @staticmethod
    def backward(ctx, g):
        gx = g * Tensor._wrap(ctx.keep.astype(g.array.dtype)) if ctx.needs_input_grad[0] else None
        gv = getitem(g, ctx.index) if ctx.needs_input_grad[1] else None
        return gx, gv


def scatter(x, dim, index, src=None, value=None, reduce=None):
    """Copy of x with ``src`` (or the number ``value``) written at ``index`` along ``dim``.
    When ``index`` names one position twice, which write wins is unspecified (as in PyTorch).
    Gradient: see the module docstring (the overwritten entries of x get 0)."""
    if reduce is not None:
        raise NotImplementedError("scatter: reduce= is not supported here; use scatter_reduce")
    if src is None and value is None:
        raise TypeError("scatter: give src (a tensor) or value (a number)")
    if not isinstance(src, Tensor):
        value = src if src is not None else value
        full, shape = _full_index("scatter", x, dim, index)
        v = Tensor._wrap(array_module(x.array).full(shape, value, dtype=x.array.dtype))
        return _Scatter.apply(x, v, index=full)
    full, shape = _full_index("scatter", x, dim, index, src)
    return _Scatter.apply(x, _src_part(src, shape).to(x.dtype), index=full)


def scatter_add(x, dim, index, src):
    """Copy of x with ``src`` added at ``index`` along ``dim``; repeated positions add up.
    Gradient: dL/dx = g,  dL/dsrc = gather(g, dim, index)."""
    full, shape = _full_index("scatter_add", x, dim, index, src)
    return x + IndexAdd.apply(_src_part(src, shape), shape=tuple(x.shape), index=full, advanced=True)


def index_add(x, dim, index, source, alpha=1):
    """Copy of x with ``alpha * source[..., i, ...]`` added to slice ``index[i]`` along ``dim``.
    Gradient: dL/dx = g,  dL/dsource = alpha * g[..., index, ...]."""
    idx = index.array if isinstance(index, Tensor) else np.asarray(index)
    d = normalize_dim("index_add", dim, max(x.ndim, 1))
    if idx.dtype.kind not in "iu" or idx.ndim > 1:
        raise RuntimeError(f"index_add: index must be a 1-D integer tensor, got shape {tuple(idx.shape)}")
    idx = idx.reshape(-1)
    n = x.shape[d] if x.ndim else 1
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"index_add: index out of range for dim {dim} of size {n}")
    expected = tuple(x.shape[:d]) + (idx.size,) + tuple(x.shape[d + 1:])
    if tuple(source.shape) != expected:
        raise RuntimeError(f"index_add: source must have shape {expected}, got {tuple(source.shape)}")
    added = source * alpha if alpha != 1 else source
    return x + IndexAdd.apply(added, shape=tuple(x.shape), index=(slice(None),) * d + (idx,), advanced=True)


_IDENTITY = {"sum": 0, "mean": 0, "prod": 1, "amax": -np.inf, "amin": np.inf}
_UFUNC = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}
# dtypes CuPy's scatter_add (CUDA atomicAdd) takes; anything else is reduced on the host
_DEVICE_ADD_DTYPES = frozenset(np.dtype(t) for t in (np.float16, np.float32, np.float64, np.int32, np.uint32,
                                                     np.uint64))


def _reduce_at(reduce, out, index, src):
    """``ufunc.at(out, index, src)``: reduce ``src`` into ``out`` in place, repeated positions included.
    NumPy has ``add/multiply/maximum/minimum.at``; on the GPU, sums use CuPy's atomic scatter-add and
    the rest (no atomic multiply; max/min only for some dtypes) take a round trip through the host."""
    xp = array_module(out)
    if xp is np:
        _UFUNC[reduce].at(out, index, src)
        return
    src = xp.asarray(src, dtype=out.dtype)
    if reduce in ("sum", "mean") and out.dtype in _DEVICE_ADD_DTYPES:
        _add_at(out, index, src)
        return
    host_index = tuple(i if isinstance(i, slice) or np.isscalar(i) else to_device(i, "cpu") for i in index)
    host = to_device(out, "cpu")
    _UFUNC[reduce].at(host, host_index, to_device(src, "cpu"))
    out[...] = xp.asarray(host)


class _ScatterReduce(Function):
    """out[p] = reduce over {x[p] (if include_self)} ∪ {src[i] : index sends i to p}; untouched p keep x.

    Gradients, for a position p that receives entries (untouched positions pass g through):
        sum:   dL/dx[p] = g[p]            dL/dsrc[i] = g[p]
        mean:  dL/dx[p] = g[p] / count    dL/dsrc[i] = g[p] / count   (count includes x[p] if kept)
        amax, amin: g[p] is shared evenly by every contributor equal to out[p] (as PyTorch)
        prod:  dL/dx[p] = g[p] out[p] / x[p],  dL/dsrc[i] = g[p] out[p] / src[i]  (nonzero inputs only)
    With include_self=False, x[p] does not contribute and gets 0 at touched positions."""

    @staticmethod
    def forward(ctx, x, src, index=None, reduce=None, include_self=True):
        xp = array_module(x)
        touched = xp.zeros(x.shape, dtype=bool)
        touched[index] = True
        out = x.copy()
        if not include_self:
            if x.dtype.kind != "f" and reduce in ("amax", "amin"):
                info = np.iinfo(x.dtype)
                out[touched] = info.min if reduce == "amax" else info.max
            else:
                out[touched] = _IDENTITY[reduce]
        _reduce_at(reduce, out, index, src)
        count = xp.full(x.shape, 1 if include_self else 0, dtype=np.int32)
        _reduce_at("sum", count, index, xp.ones((), dtype=np.int32))
        safe = xp.maximum(count, 1)
        if reduce == "mean":
            out = xp.where(touched, out // safe if x.dtype.kind != "f" else out / safe, out).astype(x.dtype)
        ctx.index, ctx.reduce, ctx.include_self = index, reduce, include_self
        ctx.touched, ctx.safe = touched, safe
        if reduce in ("amax", "amin"):
            hit_x = touched & (x == out) & include_self
            hit_src = src == out[index]
            ties = hit_x.astype(np.int32)
            _reduce_at("sum", ties, index, hit_src.astype(np.int32))
            ctx.hits = (hit_x, hit_src, xp.maximum(ties, 1))
        if reduce == "prod" and ((x[touched] == 0).any() and include_self or (src == 0).any()):
            ctx.has_zero = True
        ctx.save_for_backward(x, src, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, src, out = ctx.saved_tensors
        dt = g.array.dtype
        const = Tensor._wrap
        untouched = const((~ctx.touched).astype(dt))
        kept = const((ctx.touched & ctx.include_self).astype(dt))
        r = ctx.reduce
        if r == "sum":
            gx, gs = g * (untouched + kept), getitem(g, ctx.index)
        elif r == "mean":
            per = g / const(ctx.safe.astype(dt))
            gx, gs = g * untouched + per * kept, getitem(per, ctx.index)
        elif r in ("amax", "amin"):
            hit_x, hit_src, ties = ctx.hits
            per = g / const(ties.astype(dt))
            gx = g * untouched + per * const(hit_x.astype(dt))
            gs = getitem(per, ctx.index) * const(hit_src.astype(dt))
        else:
            if getattr(ctx, "has_zero", False):
                raise RuntimeError("scatter_reduce: the gradient of reduce='prod' with zeros in the "
                                   "reduced entries is not supported")
            go = g * out
            not_kept = const((~(ctx.touched & ctx.include_self)).astype(dt))
            gx = g * untouched + go / (x * kept + not_kept) * kept  # divide only where x was kept
            gs = getitem(go, ctx.index) / src
        return (gx if ctx.needs_input_grad[0] else None), (gs if ctx.needs_input_grad[1] else None)


def scatter_reduce(x, dim, index, src, reduce, include_self=True):
    """Copy of x where each position named by ``index`` (scatter's convention) becomes the
    ``reduce`` ("sum", "prod", "mean", "amax", "amin") of the src entries sent there, together with
    its own value when ``include_self``.  Gradients: see ``_ScatterReduce``."""
    if reduce not in _IDENTITY:
        raise RuntimeError(f"scatter_reduce: reduce must be one of {sorted(_IDENTITY)}, got {reduce!r}")
    full, shape = _full_index("scatter_reduce", x, dim, index, src)
    return _ScatterReduce.apply(x, _src_part(src, shape).to(x.dtype), index=full, reduce=reduce,
                                include_self=include_self)


from ..tensor import Tensor  # noqa: E402
