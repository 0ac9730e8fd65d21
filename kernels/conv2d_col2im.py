"""The ``conv2d_col2im`` kernel: the convolution's column gradients scattered back onto the input.

The math (``tinygrad_edu/nn/conv_im2col.py``, the folded layout): the input gradient
of a convolution is dcols = W2ᵀ @ g, one column of K = C·kh·kw numbers per output position, in the
channel-major layout (K, N·L) — entry [(c, i, j), (n, p, q)].  Each entry came from one input pixel
(``im2col_folded`` copied it from there), so the adjoint adds it back:

    dL/dx[n, c, p·sh − top + i·dh, q·sw − left + j·dw] += dcols[(c, i, j), (n, p, q)]

dropping what lands in the padding.  It is linear, and its adjoint is ``im2col_folded`` again.

Why the fast version is faster: the reference loops over the kh·kw offsets in Python; each step adds
a transposed (N ↔ C) strided view into a strided slice of a zero-padded buffer, which NumPy walks with
small inner loops, and the padding is cropped at the end (one more copy).  Here one compiled loop
reads dcols once, front to back, and adds each run of q straight into dx (no padded buffer, no crop),
the in-image range of q and p worked out once per offset instead of tested per entry.
Measured, 1 thread, float32, batch 32, 3×3, padding 1, CPU time: 192 channels at 7×7, reference 5.3 ms,
this kernel 1.7 ms; 48 channels at 15×15, 3.4 → 1.5 ms; 32 channels at 32×32, 8.5 → 4.4 ms.

CuPy tier: ``kernels/conv2d_col2im.cu``, one GPU thread per input pixel that *gathers* the column
entries copied from it (no atomics: no two threads write the same pixel).
"""
import importlib.util

import numba
import numpy as np

from tinygrad_edu.backend import register_kernel
from tinygrad_edu.nn.conv_im2col import _col2im_folded

_COMPILED = (np.dtype(np.float32), np.dtype(np.float64))


@numba.njit(cache=True, fastmath=False)
def _in_image(out_size, stride, start, size):
    """The range [lo, hi) of output positions o with 0 <= o·stride + start < size."""
    lo = 0 if start >= 0 else (-start + stride - 1) // stride
    hi = 0 if size - start <= 0 else (size - start + stride - 1) // stride
    return lo, max(lo, min(out_size, hi))


@numba.njit(cache=True, fastmath=False)
def _col2im_loops(d, kh, kw, sh, sw, top, left, dh, dw, dx):
    """d: dcols viewed as (C, kh, kw, N, OH, OW); dx (N, C, H, W) zeroed, added into.  Each run of q
    is added through two 1-D slices (dx's with step sw), so the innermost loop has no index
    arithmetic and no negative-index checks: 2.2× faster than indexing dx[n, c, r, q·sw + …]."""
    channels, n_images, oh, ow = d.shape[0], d.shape[3], d.shape[4], d.shape[5]
    h, w = dx.shape[2], dx.shape[3]
    for c in range(channels):
        for i in range(kh):
            p_lo, p_hi = _in_image(oh, sh, i * dh - top, h)
            for j in range(kw):
                q_lo, q_hi = _in_image(ow, sw, j * dw - left, w)
                if q_hi <= q_lo:
                    continue
                first = q_lo * sw + j * dw - left                # the dx column of q = q_lo
                last = (q_hi - 1) * sw + j * dw - left
                for n in range(n_images):
                    for p in range(p_lo, p_hi):
                        dst = dx[n, c, p * sh + i * dh - top, first:last + 1:sw]
                        src = d[c, i, j, n, p, q_lo:q_hi]
                        for q in range(q_hi - q_lo):
                            dst[q] += src[q]


def conv2d_col2im_numba(dcols, geom, n, channels, out=None):
    """dL/dx (N, C, H, W) from the channel-major column gradients dcols (K, N·L), added into ``out``
    (zeroed, C-contiguous) when given.  float16 goes to the reference."""
    if dcols.dtype not in _COMPILED or (out is not None and not out.flags.c_contiguous):
        return _col2im_folded(dcols, geom, n, channels, out)
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = geom.kernel, geom.stride, geom.dilation, geom.out_hw
    d = np.ascontiguousarray(dcols).reshape(channels, kh, kw, n, oh, ow)
    dx = np.zeros((n, channels) + tuple(geom.in_hw), dtype=dcols.dtype) if out is None else out
    _col2im_loops(d, kh, kw, sh, sw, geom.pads[0], geom.pads[2], dh, dw, dx)
    return dx


def conv2d_col2im_cupy(dcols, geom, n, channels, out=None):
    """The same dL/dx on the GPU (``conv2d_col2im.cu``): one thread per input pixel, a gather."""
    import cupy
    from tinygrad_edu.kernels.cuda_source import raw_kernel
    if dcols.dtype not in _COMPILED or out is not None:
        return _col2im_folded(dcols, geom, n, channels, out)
    dcols = cupy.ascontiguousarray(dcols)
    dx = cupy.empty((n, channels) + tuple(geom.in_hw), dtype=dcols.dtype)
    total = dx.size
    if total:
        (kh, kw), (sh, sw), (dh, dw) = geom.kernel, geom.stride, geom.dilation
        ints = [np.int32(v) for v in (n, channels, geom.in_hw[0], geom.in_hw[1], geom.out_hw[0],
                                      geom.out_hw[1], kh, kw, sh, sw, geom.pads[0], geom.pads[2], dh, dw)]
        name = "conv2d_col2im_f32" if dcols.dtype == np.float32 else "conv2d_col2im_f64"
        threads = 256
        raw_kernel("conv2d_col2im", name)(((total + threads - 1) // threads,), (threads,),
                                          (dcols, dx, np.int64(total), *ints))
    return dx


register_kernel("conv2d_col2im", "numpy", conv2d_col2im_numba, tier="fast")
if importlib.util.find_spec("cupy") is not None:
    register_kernel("conv2d_col2im", "cupy", _col2im_folded, tier="reference")   # xp-generic
    register_kernel("conv2d_col2im", "cupy", conv2d_col2im_cupy, tier="fast")
