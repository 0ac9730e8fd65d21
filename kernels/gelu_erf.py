"""The ``gelu_erf`` kernel: the exact GELU y = x Φ(x) and its slope, with a vectorisable Φ (float32).

The math
--------
    Φ(x) = ½ (1 + erf(x/√2))      φ(x) = e^(−x²/2) / √(2π)      y = x Φ(x)      dy/dx = Φ(x) + x φ(x)

The forward keeps the slope dy/dx, so the backward is one multiply: dL/dx = g · slope.

Φ without erf: for a ≥ 0 the lower tail is written through the Mills ratio R(a) = Φ(−a)/φ(a), a smooth
bounded function (R(0) = √(π/2), R(a) ≈ 1/a for large a), approximated by

    R(a) ≈ τ P(τ),    τ = 1/(1 + 0.3 a),    P a degree-9 polynomial (weighted least squares,
                                             relative error 1.4e-8 in float64, ~3e-7 in float32)

so  Φ(x) = φ(x) R(−x) for x < 0   and   Φ(x) = 1 − φ(|x|) R(|x|) for x ≥ 0.

Both halves are *relatively* accurate where they are small (the negative tail, where y = x Φ(x) is
tiny, is the hard part: an erf with an absolute error of 1e-7 would be wrong by 25% at x = −5), and
e^(−x²/2) is the one transcendental: it is also what φ (the backward) needs.

Why the fast tier is faster
---------------------------
The reference calls the ``erf`` kernel (the C library's scalar ``erff``, about 5 ns an entry) and,
for the slope, NumPy's exp and seven more passes.  Here a numba pass writes −x²/2, NumPy's SIMD
``np.exp`` runs in place on it (numba would call the scalar libm ``expf``), and one numba pass
evaluates the division and the polynomial (which LLVM vectorises) and writes y and the slope.
The three steps run on blocks of ``CHUNK`` entries, so the intermediate e^(−x²/2) never leaves the
cache (``gelu_erf_forward_numba``).  Only float32 takes this path; float64 keeps the reference (an
exact erf), float16 too.

Accuracy (float32, against the reference, a dense grid of 2·10⁶ points on [−14, 14] plus ±0, ±inf,
NaN and the float32 extremes): max |Δy| − 2e-6·|y| ≤ 1e-7 everywhere; NaN and ±inf give what the
reference gives (y(−inf) = NaN, as 0.5·x·(1 + erf) gives too).

Measured (1 thread, float32, ms; the erf-kernel forward and Tensor-op backward this replaced →
this tier, the forward with the slope):
    (768, 512)    forward 2.71 → 0.55    backward 3.64 → 0.17     (fwd + bwd 8.8× faster)
    (1024, 1536)  forward 11.8 → 2.41    backward 14.9 → 0.67

CuPy tier: one ``cupy.ElementwiseKernel`` over the device's own ``erf``/``exp`` (exact, cheap there).
"""
import importlib.util
import math
from types import SimpleNamespace

import numba
import numpy as np

from tinygrad_edu.backend import register_kernel
from tinygrad_edu.ops.nonlinearity import GELU_ERF_REFERENCE

_F32 = np.float32
# P(τ) coefficients, lowest power first (fitted for this file; see the docstring)
_P0, _P1, _P2, _P3, _P4 = (_F32(0.3000138), _F32(0.2996437), _F32(0.27701452), _F32(0.19304398),
                           _F32(0.2515985))
_P5, _P6, _P7, _P8, _P9 = (_F32(-0.21986339), _F32(0.50700557), _F32(-0.5927005), _F32(0.29101595),
                           _F32(-0.053458087))
_TAU_SLOPE = _F32(0.3)
_INV_SQRT_2PI = _F32(1.0 / math.sqrt(2.0 * math.pi))
_ONE, _TWO, _MINUS_HALF = _F32(1.0), _F32(2.0), _F32(-0.5)


# ----------------------------------------------------------------------------- numba (CPU)
@numba.njit(cache=True, fastmath=False, error_model="numpy")
def _minus_half_square(x, out):
    for i in range(x.shape[0]):
        out[i] = _MINUS_HALF * x[i] * x[i]


@numba.njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def _normal_cdf(v, gauss):
    """Φ(v) from v and gauss = e^(−v²/2)."""
    a = abs(v)
    tau = _ONE / (_ONE + _TAU_SLOPE * a)
    p = _P9 * tau + _P8
    p = p * tau + _P7
    p = p * tau + _P6
    p = p * tau + _P5
    p = p * tau + _P4
    p = p * tau + _P3
    p = p * tau + _P2
    p = p * tau + _P1
    p = p * tau + _P0
    tail = gauss * _INV_SQRT_2PI * (tau * p)     # Φ(−|v|)
    upper = _F32(v >= 0)                         # branch-free (a select LLVM vectorises): 1 − tail for v ≥ 0
    return tail + upper * (_ONE - _TWO * tail)


@numba.njit(cache=True, fastmath=False, error_model="numpy")
def _gelu_and_slope(x, gauss, y, slope):
    """y = x Φ(x) and slope = Φ(x) + x φ(x); ``gauss`` holds e^(−x²/2)."""
    for i in range(x.shape[0]):
        v = x[i]
        cdf = _normal_cdf(v, gauss[i])
        y[i] = v * cdf
        slope[i] = cdf + v * (gauss[i] * _INV_SQRT_2PI)


@numba.njit(cache=True, fastmath=False, error_model="numpy")
def _gelu_only(x, gauss, y):
    for i in range(x.shape[0]):
        v = x[i]
        y[i] = v * _normal_cdf(v, gauss[i])


CHUNK = 65536   # entries per block of the forward: 256 KB of float32, so a block's e^(−x²/2) stays in L2


def gelu_erf_forward_numba(x, keep_slope=True):
    """(y, slope or None) for float32 ``x``; other dtypes (float64: exact erf) go to the reference.

    The three steps (−x²/2, ``np.exp`` in place, y and the slope) run block by block, ``CHUNK``
    entries at a time, on one small scratch buffer: e^(−x²/2) is written and read back while it is
    still in the L2 cache instead of making a round trip to memory, and x is read from the cache by
    the last step.  On BERT's (16, 64, 1536) activations inside a training step this took the forward
    from about 4.1 ms to 2.4 ms (the block size barely matters between 16 K and 256 K entries)."""
    if x.dtype != np.float32:
        return GELU_ERF_REFERENCE.forward(x, keep_slope)
    flat = np.ascontiguousarray(x).reshape(-1)
    n = flat.shape[0]
    y = np.empty(n, dtype=np.float32)
    slope = np.empty(n, dtype=np.float32) if keep_slope else None
    scratch = np.empty(min(n, CHUNK), dtype=np.float32)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        gauss, block = scratch[:stop - start], flat[start:stop]
        _minus_half_square(block, gauss)
        np.exp(gauss, out=gauss)
        if keep_slope:
            _gelu_and_slope(block, gauss, y[start:stop], slope[start:stop])
        else:
            _gelu_only(block, gauss, y[start:stop])
    return y.reshape(x.shape), (slope.reshape(x.shape) if keep_slope else None)


def gelu_erf_backward(g, slope):
    """dL/dx = g · slope: one NumPy multiply (already a single SIMD pass; nothing to fuse)."""
    return GELU_ERF_REFERENCE.backward(g, slope)


# ----------------------------------------------------------------------------- CuPy (GPU)
_CUDA_FORWARD = """
    T cdf = (T)0.5 * ((T)1 + erf(x * (T)0.7071067811865476));
    y = x * cdf;
    slope = cdf + x * exp((T)-0.5 * x * x) * (T)0.3989422804014327;
"""
_CUPY = []


def gelu_erf_forward_cupy(x, keep_slope=True):
    """(y, slope) on the device in one elementwise kernel (float32/float64; float16: the reference)."""
    if x.dtype not in (np.float32, np.float64):
        return GELU_ERF_REFERENCE.forward(x, keep_slope)
    if not _CUPY:
        import cupy
        _CUPY.append(cupy.ElementwiseKernel("T x", "T y, T slope", _CUDA_FORWARD, "tg_gelu_erf_forward"))
    y, slope = _CUPY[0](x)
    return y, (slope if keep_slope else None)


register_kernel("gelu_erf", "numpy",
                SimpleNamespace(forward=gelu_erf_forward_numba, backward=gelu_erf_backward), tier="fast")
if importlib.util.find_spec("cupy") is not None:
    register_kernel("gelu_erf", "cupy", GELU_ERF_REFERENCE, tier="reference")
    register_kernel("gelu_erf", "cupy",
                    SimpleNamespace(forward=gelu_erf_forward_cupy, backward=gelu_erf_backward), tier="fast")
