"""The ``max_pool2d_forward`` kernel: each window's maximum *and* which tap won, in one pass.

The math (``tinygrad_edu/nn/pooling.py``): for window (p, q) of channel (n, c)

    y[n, c, p, q]   = max over taps (i, j) of x[n, c, p·sh − top + i·dh, q·sw − left + j·dw]
    arg[n, c, p, q] = i·kw + j of the tap that won

with PyTorch's rules: the running maximum starts at −∞ pointing at the window's first in-image tap,
and a tap replaces it when it is strictly greater (so the *first* maximum wins a tie) or NaN (so a
NaN wins, the last NaN of the window).  Taps in the padding are −∞ and can never win; they are
simply skipped here.  The gradient needs only ``arg``: dL/dx[argmax] += g (``max_pool2d_backward``).

Why the fast version is faster: the reference (``_max_pool_forward`` in ``nn/pooling_arrays.py``)
loops over the kh·kw taps in Python and, for each, runs three or four whole-array NumPy passes
(compare, NaN test, two masked copies) over every window, plus a padded copy of the input.  Here one
compiled loop reads each input entry once, keeps the running maximum in a register and writes y and
the int8 ``arg`` once: no padded copy, no masks.  The common 2×2 stride-2 window has its own
unrolled loop.  Measured, 1 thread, float32 (32, 32, 32, 32), CPU time: 2×2 stride 2, reference
8.1 ms, this kernel 0.7 ms; 3×3 stride 2 padding 1, 18.4 → 3.6 ms.  With the backward kernel, the
benchmark's max-pool fwd+bwd row went from 1.72× to 0.22× PyTorch's time.

CuPy tier: ``kernels/max_pool2d_forward.cu``, one GPU thread per output, the same loop.
"""
import importlib.util

import numba
import numpy as np

from tinygrad_edu.backend import register_kernel
from tinygrad_edu.nn.pooling_arrays import _max_pool_forward

_COMPILED = (np.dtype(np.float32), np.dtype(np.float64))


def _tap_dtype(geom):
    kh, kw = geom.kernel
    return np.int8 if kh * kw < 128 else np.int32   # the reference's choice


# ----------------------------------------------------------------------------- numba (CPU)
@numba.njit(cache=True, fastmath=False)
def _max_pool_loops(x, kh, kw, sh, sw, top, left, dh, dw, minus_inf, y, arg):
    n_images, channels, h, w = x.shape
    oh, ow = y.shape[2], y.shape[3]
    for n in range(n_images):
        for c in range(channels):
            plane = x[n, c]
            for p in range(oh):
                r0 = p * sh - top
                i0 = 0 if r0 >= 0 else (-r0 + dh - 1) // dh     # first tap row inside the image
                for q in range(ow):
                    c0 = q * sw - left
                    j0 = 0 if c0 >= 0 else (-c0 + dw - 1) // dw
                    best = minus_inf
                    won = i0 * kw + j0
                    for i in range(i0, kh):
                        r = r0 + i * dh
                        if r >= h:
                            break
                        for j in range(j0, kw):
                            col = c0 + j * dw
                            if col >= w:
                                break
                            v = plane[r, col]
                            if v > best or v != v:          # strictly greater, or NaN
                                best = v
                                won = i * kw + j
                    y[n, c, p, q] = best
                    arg[n, c, p, q] = won


@numba.njit(cache=True, fastmath=False)
def _max_pool_2x2_loops(x, y, arg):
    """The common case (2×2 windows, stride 2, no padding, dilation 1), the same rules unrolled."""
    n_images, channels = x.shape[0], x.shape[1]
    oh, ow = y.shape[2], y.shape[3]
    for n in range(n_images):
        for c in range(channels):
            plane = x[n, c]
            for p in range(oh):
                top = plane[2 * p]
                bottom = plane[2 * p + 1]
                for q in range(ow):
                    best = top[2 * q]
                    won = 0
                    v = top[2 * q + 1]
                    if v > best or v != v:
                        best = v
                        won = 1
                    v = bottom[2 * q]
                    if v > best or v != v:
                        best = v
                        won = 2
                    v = bottom[2 * q + 1]
                    if v > best or v != v:
                        best = v
                        won = 3
                    y[n, c, p, q] = best
                    arg[n, c, p, q] = won


def max_pool2d_forward_numba(x, geom):
    """(y, arg) as the reference returns them: y (N, C, OH, OW) in x's dtype, arg the winning tap
    index i·kw + j (int8, or int32 for windows of 128 taps or more).  float16 goes to the reference."""
    if x.dtype not in _COMPILED or x.ndim != 4:
        return _max_pool_forward(x, geom)
    x = np.ascontiguousarray(x)
    (kh, kw), (sh, sw), (dh, dw) = geom.kernel, geom.stride, geom.dilation
    top, left = geom.pads[0], geom.pads[2]
    shape = x.shape[:2] + tuple(geom.out_hw)
    y = np.empty(shape, dtype=x.dtype)
    arg = np.empty(shape, dtype=_tap_dtype(geom))
    if (kh, kw, sh, sw, dh, dw, top, left) == (2, 2, 2, 2, 1, 1, 0, 0):
        # the bottom/right pads only say the last window may hang over the edge (ceil_mode)
        if 2 * geom.out_hw[0] <= x.shape[2] and 2 * geom.out_hw[1] <= x.shape[3]:
            _max_pool_2x2_loops(x, y, arg)
            return y, arg
    _max_pool_loops(x, kh, kw, sh, sw, top, left, dh, dw, x.dtype.type(-np.inf), y, arg)
    return y, arg


# ----------------------------------------------------------------------------- CuPy (GPU)
def max_pool2d_forward_cupy(x, geom):
    """The same (y, arg) on the GPU: one thread per output (``max_pool2d_forward.cu``)."""
    import cupy
    from tinygrad_edu.kernels.cuda_source import raw_kernel
    if x.dtype not in _COMPILED or x.ndim != 4:
        return _max_pool_forward(x, geom)
    x = cupy.ascontiguousarray(x)
    (kh, kw), (sh, sw), (dh, dw) = geom.kernel, geom.stride, geom.dilation
    shape = x.shape[:2] + tuple(geom.out_hw)
    y = cupy.empty(shape, dtype=x.dtype)
    arg = cupy.empty(shape, dtype=np.int32)
    total = y.size
    if total:
        name = "max_pool2d_forward_f32" if x.dtype == np.float32 else "max_pool2d_forward_f64"
        ints = [np.int32(v) for v in (x.shape[2], x.shape[3], shape[2], shape[3], kh, kw, sh, sw,
                                      geom.pads[0], geom.pads[2], dh, dw)]
        threads = 256
        raw_kernel("max_pool2d_forward", name)(((total + threads - 1) // threads,), (threads,),
                                               (x, y, arg, np.int64(total), *ints))
    return y, arg.astype(_tap_dtype(geom))


register_kernel("max_pool2d_forward", "numpy", max_pool2d_forward_numba, tier="fast")
if importlib.util.find_spec("cupy") is not None:
    register_kernel("max_pool2d_forward", "cupy", _max_pool_forward, tier="reference")  # xp-generic
    register_kernel("max_pool2d_forward", "cupy", max_pool2d_forward_cupy, tier="fast")
