"""The convolution's array code: padding, im2col and col2im, and its three matrix products (the
forward, the input gradient, the weight gradient).  The math is in ``conv.py``'s docstring;
``Conv2dFunction`` and its two gradient Functions call the three ``_conv_*`` routines here.

``im2col`` (N, G, K, L) gives each image its own columns, in PyTorch's ``F.unfold`` layout: a product
with it is batched over the images, N GEMMs.  The products here use the *folded* layout instead:
``im2col_folded`` (G, K, N·L) lays the columns channel-major, so the whole batch is ONE GEMM per group
(and dL/dx one GEMM plus a col2im, where it was kh·kw·N GEMMs).  Measured, 1 thread, batch 32, 3×3:
at 7×7 with 192 channels forward 9.6 → 6.7 ms and weight gradient 16 → 7 ms (N GEMMs of 49 columns
each leave BLAS far from its peak); from 16×16 up the two layouts run within noise of each other at
1 thread, and with 2 BLAS threads the folded one is as fast or faster and never stalls on the
fork-joins of hundreds of small GEMMs.  Its adjoint ``_col2im_folded`` is the reference of the
``conv2d_col2im`` kernel (the fast tiers, numba and CUDA: ``kernels/conv2d_col2im.py``).

Tests: tests/test_conv_layers.py, tests/test_kernels_cnn.py, tests/op_registry/conv.py
"""
import numpy as np

from ..backend import array_module, kernel, register_kernel
from .conv_winograd import (WinogradTiles, winograd_applies, winograd_forward, winograd_input_grad,
                            winograd_weight_grad)


# ---------------------------------------------------------------------------------------------
# The array kernels: padding, im2col, col2im
# ---------------------------------------------------------------------------------------------
def _pad_hw(x, pads):
    """x (N, C, H, W) with zeros added: ``pads`` = (top, bottom, left, right)."""
    top, bottom, left, right = pads
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    out = array_module(x).zeros((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
    out[:, :, top:top + h, left:left + w] = x
    return out


def _patches(xpad, geom):
    """A read-only strided *view* of the padded input with shape (N, C, kh, kw, OH, OW):
    entry [n, c, i, j, p, q] is xpad[n, c, p·sh + i·dh, q·sw + j·dw].  No data is copied."""
    (kh, kw), (sh, sw), (dh, dw) = geom.kernel, geom.stride, geom.dilation
    oh, ow = geom.out_hw
    s_n, s_c, s_h, s_w = xpad.strides
    shape = xpad.shape[:2] + (kh, kw, oh, ow)
    strides = (s_n, s_c, dh * s_h, dw * s_w, sh * s_h, sw * s_w)
    if array_module(xpad) is np:
        return np.lib.stride_tricks.as_strided(xpad, shape, strides, writeable=False)
    import cupy  # CuPy's as_strided has no ``writeable`` flag
    return cupy.lib.stride_tricks.as_strided(xpad, shape, strides)


def im2col(x, geom):
    """The columns of the convolution, shape (N, G, K, L) with K = (C/G)·kh·kw, L = OH·OW:
    column [n, g, :, l] is the patch that output position l of image n sees, restricted to
    the channels of group g.  One copy of the strided patch view."""
    n, c = x.shape[:2]
    (kh, kw), (oh, ow), groups = geom.kernel, geom.out_hw, geom.groups
    patches = _patches(_pad_hw(x, geom.pads), geom)
    return patches.reshape(n, groups, (c // groups) * kh * kw, oh * ow)


def _offset_slice(xpad, geom, i, j):
    """Kernel offset (i, j) of every patch at once: the strided slice
    xpad[:, :, i·dh : … : sh, j·dw : … : sw] of shape (N, C, OH, OW) (a view)."""
    (sh, sw), (dh, dw), (oh, ow) = geom.stride, geom.dilation, geom.out_hw
    return xpad[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]


def col2im(dcols, geom, channels):
    """The adjoint of ``im2col``: add every column entry back into the pixel it was copied
    from, and crop the padding.  ``dcols`` has shape (N, G, K, L); returns (N, C, H, W).

    A loop over the kh·kw kernel offsets: offset (i, j) of all patches at once is a strided
    slice of the padded image (``_offset_slice``), so each step is one vectorised add."""
    (kh, kw), (h, w), (oh, ow) = geom.kernel, geom.in_hw, geom.out_hw
    top, bottom, left, right = geom.pads
    n = dcols.shape[0]
    d = dcols.reshape(n, channels, kh, kw, oh, ow)
    dxpad = array_module(dcols).zeros((n, channels, h + top + bottom, w + left + right),
                                      dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            _offset_slice(dxpad, geom, i, j)[...] += d[:, :, i, j]
    return dxpad[:, :, top:top + h, left:left + w]


# ---------------------------------------------------------------------------------------------
# The folded layout and the three products
# ---------------------------------------------------------------------------------------------
def im2col_folded(x, geom):
    """Channel-major columns (G, K, N·L), K = (C/G)·kh·kw: column n·L + l is the patch output
    position l of image n sees.  One transposed copy of the strided patch view."""
    n, c = x.shape[:2]
    (kh, kw), (oh, ow) = geom.kernel, geom.out_hw
    patches = _patches(_pad_hw(x, geom.pads), geom)                 # (N, C, kh, kw, OH, OW)
    groups = geom.groups
    return patches.transpose(1, 2, 3, 0, 4, 5).reshape(groups, (c // groups) * kh * kw, n * oh * ow)


def _matmul(a, b):
    """a @ b over a leading group dim; with one group, as a 2-D product (NumPy then hands transposed
    operands to BLAS as they are, where the stacked product may first copy them)."""
    if a.shape[0] == 1 and b.shape[0] == 1:
        return (a[0] @ b[0])[None]
    return a @ b


def _channel_major(a, groups):
    """(N, O, OH, OW) -> (G, O/G, N·L): a copy, so that the batch folds into the GEMM's columns."""
    n, o, oh, ow = a.shape
    return a.transpose(1, 0, 2, 3).reshape(groups, o // groups, n * oh * ow)


def _col2im_folded(dcols, geom, n, channels, out=None):
    """The adjoint of ``im2col_folded``: dcols (C·kh·kw, N·L) -> dL/dx (N, C, H, W), each column
    entry added back into the pixel it was copied from: ``col2im`` of the per-image view of dcols.
    With ``out`` (zeroed, (N, C, H, W)) the result is added into it.  The fast tier is
    ``kernels/conv2d_col2im.py``."""
    per_image = dcols.reshape(dcols.shape[0], n, geom.out_hw[0] * geom.out_hw[1]).transpose(1, 0, 2)
    dx = col2im(per_image, geom, channels)
    if out is None:
        return dx
    out += dx
    return out


register_kernel("conv2d_col2im", "numpy", _col2im_folded)


def _conv_forward(x, w, geom):
    """y = W2 @ cols, one GEMM per group over the folded columns; returns (N, O, OH, OW) and the
    columns (kept for the weight gradient).  Where Winograd applies (``conv_winograd.py``: 3×3,
    stride 1, wide enough) it computes y instead, and the transformed input tiles are kept."""
    if winograd_applies(x, w.shape, geom, x.shape[1], w.shape[0]):
        result = winograd_forward(x, w, geom)
        if result is not None:                 # None: x or w held Inf or NaN, im2col's rules apply
            return result
    n, groups, out_ch = x.shape[0], geom.groups, w.shape[0]
    cols = im2col_folded(x, geom)                                       # (G, K, N·L)
    y = _matmul(w.reshape(groups, out_ch // groups, -1), cols)         # (G, O/G, N·L)
    y = y.reshape(out_ch, n, *geom.out_hw).transpose(1, 0, 2, 3)
    return array_module(y).ascontiguousarray(y), cols


CHUNK_BYTES = 3 << 19   # 1.5 MB: a chunk of column gradients small enough to stay in the L2 cache


def _conv_input_grad(g, w, geom, channels):
    """dL/dx = col2im(W2ᵀ @ g): a transposed convolution of g with w.  One GEMM (K, O) @ (O, N·L)
    per group, then the ``conv2d_col2im`` kernel — on the CPU, for planes of 16×16 and up, a few
    images at a time (``CHUNK_BYTES`` of column gradients), so that col2im reads them from the cache
    rather than from memory (measured, batch 32, 32 channels at 32×32: 14.7 → 9.4 ms).  Where
    Winograd applies, its adjoint computes dL/dx."""
    if winograd_applies(g, w.shape, geom, channels, w.shape[0]):
        dx = winograd_input_grad(g, w, geom, channels)
        if dx is not None:
            return dx
    n, out_ch, groups = g.shape[0], w.shape[0], geom.groups
    xp = array_module(g)
    col2im_kernel = kernel("conv2d_col2im", xp)
    w_t = w.reshape(groups, out_ch // groups, -1).transpose(0, 2, 1)    # (G, K, O/G)
    g3 = _channel_major(g, groups)                                      # (G, O/G, N·L)
    rows, plane = w_t.shape[0] * w_t.shape[1], geom.out_hw[0] * geom.out_hw[1]   # C·kh·kw, L
    step = n
    if xp is np and plane >= 256:
        step = max(1, CHUNK_BYTES // max(1, rows * plane * g.dtype.itemsize))
    if step >= n:
        return col2im_kernel(_matmul(w_t, g3).reshape(rows, n * plane), geom, n, channels)
    dx = np.zeros((n, channels) + tuple(geom.in_hw), dtype=g.dtype)
    for start in range(0, n, step):
        stop = min(n, start + step)
        dcols = _matmul(w_t, g3[:, :, start * plane:stop * plane])    # (G, K, chunk·L)
        col2im_kernel(dcols.reshape(rows, -1), geom, stop - start, channels, out=dx[start:stop])
    return dx


def _conv_weight_grad(x, g, geom, weight_shape, cols=None):
    """dL/dW2 = Σ_n g[n] @ cols[n]ᵀ: a correlation of the input with g, one GEMM (O/G, N·L) @ (N·L, K)
    per group.  With few filters BLAS runs the transposed product cols @ gᵀ = dW2ᵀ faster (measured
    at 32 filters, 3×3, 32×32, batch 32: 9.2 → 6.2 ms).  ``cols`` may be the forward's Winograd
    tiles; where Winograd applies, its adjoint computes dL/dw."""
    tiles = cols if isinstance(cols, WinogradTiles) else None
    if tiles is not None or winograd_applies(x, weight_shape, geom, weight_shape[1], weight_shape[0]):
        dw = winograd_weight_grad(x, g, geom, weight_shape, tiles)
        if dw is not None:
            return dw
        cols = None
    groups = geom.groups
    cols = im2col_folded(x, geom) if cols is None else cols            # (G, K, N·L)
    g3 = _channel_major(g, groups)                                      # (G, O/G, N·L)
    if weight_shape[0] // groups <= 64:
        dw = _matmul(cols, g3.transpose(0, 2, 1)).transpose(0, 2, 1)   # (G, K, O/G), transposed
    else:
        dw = _matmul(g3, cols.transpose(0, 2, 1))                       # (G, O/G, K)
    return array_module(dw).ascontiguousarray(dw).reshape(weight_shape)
