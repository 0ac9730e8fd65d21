"""The ``layer_norm`` kernel: layer norm over the last dim, forward and backward, one row at a time.

The math (per row of n entries; ``tinygrad_edu/nn/normalization.py`` derives it)
-------------------------------------------------------------------------------
    μ = Σ x / n      σ² = Σ (x − μ)² / n      r = 1/√(σ² + ε)      x̂ = (x − μ) r      y = w x̂ + b

    ĝ = g w      dL/dx = r (ĝ − Σ ĝ / n − x̂ Σ ĝ x̂ / n)      dL/dw = Σ_rows g x̂      dL/db = Σ_rows g

Why the fast tier is faster
---------------------------
The reference is the general ``Normalize`` code: about eight NumPy passes forward (mean, x − μ, square,
mean, sqrt, divide, scale, shift) and ten backward, each writing a full temporary, with reductions
over an axis of only 128 or 384 entries.  Here a row (a few hundred floats, in L1 cache) is read from
memory once for both statistics and once more for y: the forward is two sweeps over a cached row and
one write; the backward is one sweep for Σĝ and Σĝx̂, one that writes dL/dx and adds g x̂ and g into
the dL/dw, dL/db accumulators.

Numerics: the same two-pass formulas as the reference (μ first, then the mean square of x − μ, never
E[x²] − μ²).  Row sums accumulate in float64 (in SIMD lanes, see ``_row_sum``) and then round to
the dtype, as the reference's mean does; dL/dw and dL/db accumulate in float64 over the rows.
μ, r, x̂ and y are computed in the array's dtype in the reference's order, so the fast tier equals
the reference to float32 rounding — and for x = 1e4 + noise in float32 it is closer to the exact
result than the reference's float32 pairwise mean (within one float32 spacing of 1e4, times r |w|).

Taken when the input is float32/float64 with at least one row of at least 2 entries; other dtypes,
empty inputs, w or b of another shape go to the reference.  Non-contiguous inputs are copied.

Measured (1 thread, float32, ms; reference → this tier):
    (768, 128)  GPT:   forward 0.187 → 0.040    backward 0.308 → 0.064
    (1024, 384) BERT:  forward 0.81 → 0.16      backward 1.57 → 0.25

CuPy tier: ``kernels/layer_norm.cu``, one thread block per row (a shared-memory tree reduction in
double for each statistic).  The dL/dw, dL/db column sums are the reference's CuPy array ops (x̂ in
one pass, then CuPy's reduction over the rows): a first version summed them in a kernel of one
thread per column walking every row, which left the GPU almost idle (384 threads) and took 3.7 ms
per layer norm on an H200 at nanoGPT's 16,384 × 384, two thirds of the whole backward.
"""
import importlib.util
from types import SimpleNamespace

import numba
import numpy as np

from tinygrad_edu.backend import register_kernel
from tinygrad_edu.kernels.cuda_source import raw_kernel
from tinygrad_edu.nn.normalization import LAYER_NORM_REFERENCE

_FAST_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


# ----------------------------------------------------------------------------- numba (CPU)
# The two row sums are the only place with a fast-math flag: ``reassoc`` lets LLVM add the float64
# partial sums in SIMD lanes (4x faster than one chain).  It reorders a float64 sum of float32 terms
# only -- far below float32 rounding, no effect on NaN/Inf -- and is fixed at compile time.
@numba.njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _row_sum(a):
    """Σ a, accumulated in float64."""
    s = 0.0
    for j in range(a.shape[0]):
        s += a[j]
    return s


@numba.njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _row_sum_sq_dev(a, mu):
    """Σ (a − μ)², each (a − μ)² in the dtype, accumulated in float64."""
    s = 0.0
    for j in range(a.shape[0]):
        d = a[j] - mu
        s += d * d
    return s


@numba.njit(cache=True, fastmath=False, error_model="numpy")
def _forward_rows(x, w, b, eps, one, y, mean, rstd):
    """y, mean, rstd for every row of the 2-D x.  (Storing a float64 sum into ``mean``/``rstd`` and
    reading it back rounds it to the dtype.)"""
    rows, n = x.shape
    for r in range(rows):
        row = x[r]
        mean[r] = _row_sum(row) / n
        mu = mean[r]
        rstd[r] = _row_sum_sq_dev(row, mu) / n    # the variance, rounded to the dtype
        rs = one / np.sqrt(rstd[r] + eps)
        rstd[r] = rs
        out = y[r]
        if w is not None and b is not None:
            for j in range(n):
                out[j] = (row[j] - mu) * rs * w[j] + b[j]
        elif w is not None:
            for j in range(n):
                out[j] = (row[j] - mu) * rs * w[j]
        elif b is not None:
            for j in range(n):
                out[j] = (row[j] - mu) * rs + b[j]
        else:
            for j in range(n):
                out[j] = (row[j] - mu) * rs


@numba.njit(cache=True, fastmath=False, error_model="numpy")
def _backward_rows(g, x, w, mean, rstd, gx, gw64, gb64, gh, ghx, means):
    """dL/dx into gx; Σ g x̂ and Σ g (float64) into gw64, gb64.  gh, ghx: one row of scratch each;
    ``means`` (2 entries of the dtype) rounds the two row means to the dtype."""
    rows, n = x.shape
    for r in range(rows):
        grow, row, mu, rs = g[r], x[r], mean[r], rstd[r]
        for j in range(n):
            xhat = (row[j] - mu) * rs
            gw64[j] += grow[j] * xhat
            gb64[j] += grow[j]
            h = grow[j] * w[j] if w is not None else grow[j]
            gh[j] = h
            ghx[j] = h * xhat
        means[0] = _row_sum(gh) / n
        means[1] = _row_sum(ghx) / n
        m1, m2 = means[0], means[1]
        out = gx[r]
        for j in range(n):
            out[j] = (gh[j] - m1 - (row[j] - mu) * rs * m2) * rs


def _rows(a):
    return np.ascontiguousarray(a).reshape(-1, a.shape[-1])


def _applies(x, *params):
    return (x.dtype in _FAST_DTYPES and x.ndim >= 1 and x.size > 0 and x.shape[-1] >= 2
            and all(p is None or (p.dtype == x.dtype and p.shape == x.shape[-1:]) for p in params))


def layer_norm_forward_numba(x, w, b, eps):
    """(y, mean, rstd) as the reference (statistics of shape (..., 1))."""
    if not _applies(x, w, b):
        return LAYER_NORM_REFERENCE.forward(x, w, b, eps)
    rows = _rows(x)
    kind = x.dtype.type
    y = np.empty(rows.shape, dtype=x.dtype)
    mean = np.empty(rows.shape[0], dtype=x.dtype)
    rstd = np.empty(rows.shape[0], dtype=x.dtype)
    w = None if w is None else np.ascontiguousarray(w)
    b = None if b is None else np.ascontiguousarray(b)
    _forward_rows(rows, w, b, kind(eps), kind(1), y, mean, rstd)
    stats = x.shape[:-1] + (1,)
    return y.reshape(x.shape), mean.reshape(stats), rstd.reshape(stats)


def layer_norm_backward_numba(g, x, w, mean, rstd, need_x, need_w, need_b):
    """(dL/dx, dL/dw, dL/db), None where not needed."""
    if not _applies(x, w) or g.dtype != x.dtype or g.shape != x.shape or mean.dtype != x.dtype:
        return LAYER_NORM_REFERENCE.backward(g, x, w, mean, rstd, need_x, need_w, need_b)
    rows = _rows(x)
    n = rows.shape[1]
    gx = np.empty(rows.shape, dtype=x.dtype)
    gw64, gb64 = np.zeros(n), np.zeros(n)
    _backward_rows(_rows(g), rows, None if w is None else np.ascontiguousarray(w), mean.reshape(-1),
                   rstd.reshape(-1), gx, gw64, gb64, np.empty(n, dtype=x.dtype), np.empty(n, dtype=x.dtype),
                   np.empty(2, dtype=x.dtype))
    return (gx.reshape(x.shape) if need_x else None,
            gw64.astype(x.dtype) if need_w and w is not None else None,
            gb64.astype(x.dtype) if need_b else None)


# ----------------------------------------------------------------------------- CuPy (GPU)
_THREADS = 256   # LN_THREADS in layer_norm.cu: one block of 256 threads per row


def layer_norm_forward_cupy(x, w, b, eps):
    """(y, mean, rstd) on the device: ``layer_norm_forward_*`` of kernels/layer_norm.cu."""
    import cupy
    if not _applies(x, w, b):
        return LAYER_NORM_REFERENCE.forward(x, w, b, eps)
    rows = cupy.ascontiguousarray(x).reshape(-1, x.shape[-1])
    m, n = rows.shape
    w = cupy.ones(n, x.dtype) if w is None else cupy.ascontiguousarray(w)
    b = cupy.zeros(n, x.dtype) if b is None else cupy.ascontiguousarray(b)
    y = cupy.empty_like(rows)
    mean, rstd = cupy.empty(m, x.dtype), cupy.empty(m, x.dtype)
    fn = raw_kernel("layer_norm", "layer_norm_forward_f32") if x.dtype == np.float32 else \
        raw_kernel("layer_norm", "layer_norm_forward_f64")
    fn((m,), (_THREADS,), (rows, w, b, x.dtype.type(eps), np.int32(n), y, mean, rstd))
    stats = x.shape[:-1] + (1,)
    return y.reshape(x.shape), mean.reshape(stats), rstd.reshape(stats)


def layer_norm_backward_cupy(g, x, w, mean, rstd, need_x, need_w, need_b):
    """(dL/dx, dL/dw, dL/db) on the device: ``layer_norm_backward_x_*``, then the column sums."""
    import cupy
    if not _applies(x, w) or g.dtype != x.dtype or g.shape != x.shape or mean.dtype != x.dtype:
        return LAYER_NORM_REFERENCE.backward(g, x, w, mean, rstd, need_x, need_w, need_b)
    rows = cupy.ascontiguousarray(x).reshape(-1, x.shape[-1])
    grows = cupy.ascontiguousarray(g).reshape(rows.shape)
    m, n = rows.shape
    mean_rows, rstd_rows = cupy.ascontiguousarray(mean).reshape(-1), cupy.ascontiguousarray(rstd).reshape(-1)
    gx = gw = gb = None
    if need_x:
        w_full = cupy.ones(n, x.dtype) if w is None else cupy.ascontiguousarray(w)
        gx = cupy.empty_like(rows)
        fn = raw_kernel("layer_norm", "layer_norm_backward_x_f32") if x.dtype == np.float32 else \
            raw_kernel("layer_norm", "layer_norm_backward_x_f64")
        fn((m,), (_THREADS,), (grows, rows, w_full, mean_rows, rstd_rows, np.int32(n), gx))
        gx = gx.reshape(x.shape)
    if (need_w and w is not None) or need_b:      # column sums over the rows: see the module docstring
        _, gw, gb = LAYER_NORM_REFERENCE.backward(g, x, w, mean, rstd, False, need_w, need_b)
    return gx, gw, gb


register_kernel("layer_norm", "numpy", SimpleNamespace(forward=layer_norm_forward_numba,
                                                       backward=layer_norm_backward_numba), tier="fast")
if importlib.util.find_spec("cupy") is not None:
    register_kernel("layer_norm", "cupy", LAYER_NORM_REFERENCE, tier="reference")
    register_kernel("layer_norm", "cupy", SimpleNamespace(forward=layer_norm_forward_cupy,
                                                          backward=layer_norm_backward_cupy), tier="fast")
