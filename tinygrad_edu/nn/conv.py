"""2-D convolution as im2col + one matrix multiplication (the readable, fast reference).

What a convolution computes
---------------------------
An input x of shape (N, C, H, W) (N images, C channels) and a weight w of shape
(O, C/G, kh, kw) (O filters, each looking at C/G channels through a kh × kw window) give

    y[n, o, p, q] = b[o] + Σ_c Σ_i Σ_j  w[o, c, i, j] · xpad[n, c', p·sh + i·dh, q·sw + j·dw]

where xpad is x with ``padding`` zeros around it, (sh, sw) the stride, (dh, dw) the dilation
(the gap between kernel taps) and c' runs over the C/G channels of o's group (``groups`` = G
splits the channels into G independent convolutions).  The output size along one dim is

    out = ⌊(in + pad_before + pad_after − d·(k − 1) − 1) / s⌋ + 1

(d·(k − 1) + 1 is the *effective* kernel size; the formula counts how many steps of s fit).

im2col: turn the convolution into one matmul
--------------------------------------------
Picture the kernel sliding over the padded image.  At each of the L = OH·OW output positions
it sees a patch of C·kh·kw numbers.  Write each patch as a *column*: the columns form a matrix
``cols`` of shape (C·kh·kw, L) per image ("image to columns").  Every filter, flattened to a
row of C·kh·kw numbers, is then dotted with every column — that is a matrix product:

    y[n] = W2 @ cols[n]          W2 = w.reshape(O, C·kh·kw):  (O, K) @ (K, L) -> (O, L)

The columns are built without a Python loop over pixels: a *strided view* of the padded
image (``as_strided``) already has shape (N, C, kh, kw, OH, OW) — entry [n, c, i, j, p, q] is
xpad[n, c, p·sh + i·dh, q·sw + j·dw] — and one reshape copies it into (N, K, L).  With groups,
K = (C/G)·kh·kw and the matmul is batched over the G groups as well.

The gradients (g = dL/dy, reshaped to (N, O, L))
-------------------------------------------------
    dL/db     = Σ_{n,p,q} g[n, o, p, q]
    dL/dW2    = Σ_n g[n] @ cols[n]ᵀ            (O, L) @ (L, K): the *weight gradient* is a
                                                 correlation of the input with g
    dL/dcols  = W2ᵀ @ g[n]                       (K, O) @ (O, L)
    dL/dx     = col2im(dL/dcols)                  every column entry is added back to the pixel
                                                 it was copied from (a pixel sits in up to
                                                 kh·kw patches, so the adds accumulate)

col2im is a loop over the kh·kw kernel offsets (i, j): offset (i, j) of every patch comes from
the strided slice xpad[:, :, i·dh :: sh, j·dw :: sw], so each step is one big vectorised add
(the input gradient runs that loop fused with the matmul, one offset's columns at a time).
The input gradient is a *transposed convolution* of g with w, and the weight gradient a
convolution of x with g: the three ops ``Conv2d``, ``Conv2dInputGrad`` and ``Conv2dWeightGrad``
are linear in each argument and are each other's backward, so gradients of any order come from
the same three kernels (``gradgradcheck`` passes).
"""
from collections import namedtuple

import numpy as np

from ..autograd.function import Function, OpValueError
from ..backend import array_module
from ..tensor import Tensor

__all__ = ["conv2d", "conv_output_size", "im2col", "col2im"]

ConvGeometry = namedtuple("ConvGeometry", "kernel stride dilation pads groups in_hw out_hw")
ConvGeometry.__doc__ = """Everything about a convolution except the numbers: kernel (kh, kw),
stride (sh, sw), dilation (dh, dw), pads (top, bottom, left, right), groups, the input's (H, W)
and the output's (OH, OW)."""


def conv_output_size(size, kernel, stride=1, pad_total=0, dilation=1):
    """⌊(size + pad_total − dilation·(kernel − 1) − 1) / stride⌋ + 1: how many kernel
    positions, ``stride`` apart, fit in the padded input."""
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


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
    slice of the padded image (``_offset_slice``), so each step is one vectorised add.
    (``Conv2dInputGrad`` runs this loop fused with its matmul.)"""
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


def _conv_forward(x, w, geom):
    """y = W2 @ cols, batched over images and groups; returns (N, O, OH, OW)."""
    n, groups = x.shape[0], geom.groups
    out_ch = w.shape[0]
    cols = im2col(x, geom)                                  # (N, G, K, L)
    w3 = w.reshape(groups, out_ch // groups, cols.shape[2])  # (G, O/G, K)
    y = w3 @ cols                                           # (N, G, O/G, L)
    return y.reshape(n, out_ch, *geom.out_hw), cols


def _conv_input_grad(g, w, geom, channels):
    """dL/dx = col2im(W2ᵀ @ g): a transposed convolution of g with w.

    Written as col2im *fused* with the matmul: rather than building all K·L column gradients
    (a buffer as large as the columns) and then scattering them, take one kernel offset (i, j)
    at a time — its column gradients are w[:, :, i, j]ᵀ @ g, a (C, O) @ (O, L) matmul — and add
    them straight into their strided slice of the padded input gradient.  The same numbers as
    ``col2im(W2ᵀ @ g)``, with less memory traffic."""
    (kh, kw), (h, wd), (oh, ow) = geom.kernel, geom.in_hw, geom.out_hw
    top, bottom, left, right = geom.pads
    n, out_ch, groups = g.shape[0], w.shape[0], geom.groups
    g4 = g.reshape(n, groups, out_ch // groups, oh * ow)    # (N, G, O/G, L)
    wg = w.reshape(groups, out_ch // groups, channels // groups, kh, kw)
    dxpad = array_module(g).zeros((n, channels, h + top + bottom, wd + left + right), dtype=g.dtype)
    for i in range(kh):
        for j in range(kw):
            w_ij = wg[:, :, :, i, j].transpose(0, 2, 1)     # (G, C/G, O/G)
            dcols_ij = (w_ij @ g4).reshape(n, channels, oh, ow)
            _offset_slice(dxpad, geom, i, j)[...] += dcols_ij
    return dxpad[:, :, top:top + h, left:left + wd]


def _conv_weight_grad(x, g, geom, weight_shape, cols=None):
    """dL/dW2 = Σ_n g[n] @ cols[n]ᵀ: a correlation of the input with g."""
    if cols is None:
        cols = im2col(x, geom)
    n, groups = x.shape[0], geom.groups
    out_ch = weight_shape[0]
    g4 = g.reshape(n, groups, out_ch // groups, cols.shape[-1])   # (N, G, O/G, L)
    dw = (g4 @ cols.transpose(0, 1, 3, 2)).sum(0)           # (G, O/G, K)
    return dw.reshape(weight_shape)


# ---------------------------------------------------------------------------------------------
# The three Functions: each one's backward is made of the other two
# ---------------------------------------------------------------------------------------------
class Conv2d(Function):
    """y = conv(x, w) + b (see the module docstring for the math and the gradients).

    The columns built in forward are kept on the node (not saved as a graph value) so the
    weight gradient does not rebuild them; they are dropped once used."""

    @staticmethod
    def forward(ctx, x, w, b=None, geom=None):
        y, cols = _conv_forward(x, w, geom)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        ctx.geom = geom
        needs = ctx.needs_input_grad
        ctx.cols = cols if len(needs) > 1 and needs[1] else None   # kept only for dL/dw
        ctx.save_for_backward(x, w)
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need_x, need_w = ctx.needs_input_grad[:2]
        need_b = len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]   # applied without a bias
        cols, ctx.cols = ctx.cols, None      # free the columns as soon as they are used
        gx = Conv2dInputGrad.apply(g, w, geom=ctx.geom, channels=x.shape[1]) if need_x else None
        gw = Conv2dWeightGrad.apply(x, g, geom=ctx.geom, weight_shape=w.shape, cols=cols) \
            if need_w else None
        if len(ctx.needs_input_grad) == 2:   # applied as Conv2d.apply(x, w): no bias input
            return gx, gw
        gb = g.sum((0, 2, 3)) if need_b else None
        return gx, gw, gb


class Conv2dInputGrad(Function):
    """gx = convᵀ(g, w): the transposed convolution (col2im of W2ᵀ g) — conv2d's input gradient.

    It is linear in g and in w.  Given h = dL/dgx:
        dL/dg = conv(h, w)                  (the forward convolution)
        dL/dw = conv_weight_grad(h, g)      (the same correlation as conv's weight gradient)
    """

    @staticmethod
    def forward(ctx, g, w, geom=None, channels=None):
        ctx.geom = geom
        ctx.save_for_backward(g, w)
        return _conv_input_grad(g, w, geom, channels)

    @staticmethod
    def backward(ctx, h):
        g, w = ctx.saved_tensors
        need_g, need_w = ctx.needs_input_grad
        dg = Conv2d.apply(h, w, geom=ctx.geom) if need_g else None
        dw = Conv2dWeightGrad.apply(h, g, geom=ctx.geom, weight_shape=w.shape) if need_w else None
        return dg, dw


class Conv2dWeightGrad(Function):
    """gw = Σ_n g[n] cols(x)[n]ᵀ: conv2d's weight gradient, a correlation of x with g.

    It is linear in x and in g.  Given v = dL/dgw (shaped like the weight):
        dL/dx = convᵀ(g, v)                 (the transposed convolution)
        dL/dg = conv(x, v)                  (the forward convolution with v as the weight)
    """

    @staticmethod
    def forward(ctx, x, g, geom=None, weight_shape=None, cols=None):
        ctx.geom = geom
        ctx.save_for_backward(x, g)
        return _conv_weight_grad(x, g, geom, weight_shape, cols)

    @staticmethod
    def backward(ctx, v):
        x, g = ctx.saved_tensors
        need_x, need_g = ctx.needs_input_grad
        dx = Conv2dInputGrad.apply(g, v, geom=ctx.geom, channels=x.shape[1]) if need_x else None
        dg = Conv2d.apply(x, v, geom=ctx.geom) if need_g else None
        return dx, dg


# ---------------------------------------------------------------------------------------------
# The public function: argument checks, then one Conv2d node
# ---------------------------------------------------------------------------------------------
class ConvError(OpValueError):
    """A convolution argument does not fit (the message names the op and the shapes)."""


def _pair(op, name, value, minimum):
    """An int or a pair of ints (each ≥ ``minimum``) -> a tuple of two ints."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                 for v in pair):
        raise ConvError(f"{op}: {name} must be an int or a tuple of 2 ints, got {value!r}")
    if any(v < minimum for v in pair):
        raise ConvError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def conv_pads(op, padding, kernel, stride, dilation):
    """Padding as (top, bottom, left, right): an int, a pair, 'valid' (none) or 'same' (the
    output keeps the input's size: total d·(k − 1) split with the extra one at the end, as
    PyTorch; only for stride 1)."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding != "same":
            raise ConvError(f"{op}: invalid padding string {padding!r}; expected 'same' or 'valid'")
        if stride != (1, 1):
            raise ConvError(f"{op}: padding='same' is not supported for strided convolutions "
                            f"(stride={stride})")
        total = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return total[0] // 2, total[0] - total[0] // 2, total[1] // 2, total[1] - total[1] // 2
    ph, pw = _pair(op, "padding", padding, 0)
    return ph, ph, pw, pw


def conv_geometry(op, in_hw, kernel, stride, padding, dilation, groups):
    """Check the sizes and compute the output size: a ``ConvGeometry``."""
    stride = _pair(op, "stride", stride, 1)
    dilation = _pair(op, "dilation", dilation, 1)
    pads = conv_pads(op, padding, kernel, stride, dilation)
    padded = (in_hw[0] + pads[0] + pads[1], in_hw[1] + pads[2] + pads[3])
    effective = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if effective[0] > padded[0] or effective[1] > padded[1]:
        raise ConvError(f"{op}: calculated padded input size per channel: ({padded[0]} x "
                        f"{padded[1]}). Kernel size: ({effective[0]} x {effective[1]}) (dilated). "
                        "Kernel size can't be greater than actual input size")
    out_hw = tuple(conv_output_size(i, k, s, p, d) for i, k, s, p, d in
                   zip(in_hw, kernel, stride, (pads[0] + pads[1], pads[2] + pads[3]), dilation))
    return ConvGeometry(tuple(kernel), stride, dilation, pads, groups, tuple(in_hw), out_hw)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """2-D convolution, as ``torch.nn.functional.conv2d``.

    Shapes: input (N, C, H, W) or unbatched (C, H, W); weight (O, C/groups, kh, kw); bias (O,)
    -> (N, O, OH, OW) with OH = ⌊(H + pad_top + pad_bottom − dh·(kh − 1) − 1) / sh⌋ + 1 (the
    same for OW).  ``padding``: an int, a pair, 'valid' or 'same'.  The math, im2col and the
    gradient formulas are in this module's docstring."""
    op = "conv2d"
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{op}: input and weight must be Tensors, got {type(input).__name__} and "
                        f"{type(weight).__name__}")
    if weight.ndim != 4:
        raise ConvError(f"{op}: weight must be 4-D (out_channels, in_channels/groups, kh, kw), "
                        f"got shape {tuple(weight.shape)}")
    if input.ndim not in (3, 4):
        raise ConvError(f"{op}: expected a 3-D (unbatched) or 4-D (batched) input of shape "
                        f"(N, C, H, W), got shape {tuple(input.shape)}")
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ConvError(f"{op}: groups must be a positive int, got {groups!r}")
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    out_ch, in_per_group = weight.shape[:2]
    channels = input.shape[1]
    if out_ch % groups:
        raise ConvError(f"{op}: out_channels ({out_ch}, weight {tuple(weight.shape)}) must be "
                        f"divisible by groups={groups}")
    if channels != in_per_group * groups:
        raise ConvError(f"{op}: given groups={groups}, weight of size {tuple(weight.shape)}, "
                        f"expected input {tuple(input.shape)} to have {in_per_group * groups} "
                        f"channels, but got {channels} channels instead")
    if input.dtype != weight.dtype:
        raise TypeError(f"{op}: input dtype {input.dtype} and weight dtype {weight.dtype} differ; "
                        "convert one of them (e.g. input.to(weight.dtype))")
    if bias is not None and tuple(bias.shape) != (out_ch,):
        raise ConvError(f"{op}: bias must have shape ({out_ch},) to match weight "
                        f"{tuple(weight.shape)}, got {tuple(bias.shape)}")
    geom = conv_geometry(op, input.shape[2:], weight.shape[2:], stride, padding, dilation,
                         int(groups))
    out = Conv2d.apply(input, weight, bias, geom=geom)
    return out.squeeze(0) if unbatched else out
