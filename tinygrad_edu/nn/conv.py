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
(the input gradient uses the same loop, compiled: ``kernels/conv2d_col2im.py``).
The input gradient is a *transposed convolution* of g with w, and the weight gradient a
convolution of x with g: the three ops ``Conv2d``, ``Conv2dInputGrad`` and ``Conv2dWeightGrad``
are linear in each argument and are each other's backward, so gradients of any order come from
the same three kernels (``gradgradcheck`` passes).
Batching: the per-image products above are run as ONE product over the whole batch — the columns
laid channel-major, (K, N·L), so cols[n] for every n sits side by side — since N small GEMMs leave
BLAS far from its peak.  That array code (padding, im2col, col2im, the three products) is in
``conv_im2col.py``.
Tests: tests/op_registry/conv.py, tests/test_conv_layers.py, tests/test_kernels_cnn.py
"""
import math
import numpy as np

from .. import creation
from ..autograd.function import Function
from ..tensor import Tensor
from . import init
from .conv_args import _PADDING_MODES, ConvError, _pair, conv_geometry, conv_pads
from ..autograd import grad_mode
from .conv_winograd import WinogradTiles, winograd_gradients
from .conv_im2col import _conv_forward, _conv_input_grad, _conv_weight_grad, col2im, im2col  # noqa: F401
from .module import Module, Parameter
from .padding import _mode_index

__all__ = ["conv2d", "im2col", "col2im", "conv2d_naive", "Conv2dFunction", "Conv2d"]


# ---------------------------------------------------------------------------------------------
# The definition, read first: one Python loop per index of the formula above
# ---------------------------------------------------------------------------------------------
def conv2d_naive(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """The convolution as loops over images, filters, output rows, output columns, input
    channels, kernel rows and kernel columns.  ``x`` (N, C, H, W) and ``weight``
    (O, C/groups, kh, kw) are NumPy arrays (Tensors are read through ``numpy.asarray``);
    arguments as ``conv2d``.  Returns a NumPy array (N, O, OH, OW)."""
    x, weight = np.asarray(x), np.asarray(weight)
    n_images, channels, height, width = x.shape
    out_ch, ch_per_group, kh, kw = weight.shape
    geom = conv_geometry("conv2d_naive", (height, width), (kh, kw), stride, padding, dilation,
                         groups)
    (sh, sw), (dh, dw), (top, bottom, left, right) = geom.stride, geom.dilation, geom.pads
    out_h, out_w = geom.out_hw
    xpad = np.zeros((n_images, channels, height + top + bottom, width + left + right), x.dtype)
    xpad[:, :, top:top + height, left:left + width] = x
    out_per_group = out_ch // groups

    y = np.zeros((n_images, out_ch, out_h, out_w), dtype=np.result_type(x, weight))
    for n in range(n_images):
        for o in range(out_ch):
            first_channel = (o // out_per_group) * ch_per_group   # o's group starts here
            for p in range(out_h):
                for q in range(out_w):
                    total = 0.0 if bias is None else float(np.asarray(bias)[o])
                    for c in range(ch_per_group):
                        for i in range(kh):
                            for j in range(kw):
                                total += weight[o, c, i, j] * \
                                    xpad[n, first_channel + c, p * sh + i * dh, q * sw + j * dw]
                    y[n, o, p, q] = total
    return y


# ---------------------------------------------------------------------------------------------
# The three Functions, each one's backward made of the other two; then conv2d, one such node
# ---------------------------------------------------------------------------------------------
class Conv2dFunction(Function):
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
        both = None
        if isinstance(cols, WinogradTiles) and need_x and need_w and not grad_mode.state.enabled:
            # a plain backward (no graph of it recorded): both gradients in one pass over g's tiles
            both = winograd_gradients(g.array, w.array, ctx.geom, x.shape[1], cols)
        if both is not None:
            gx, gw = Tensor._wrap(both[0]), Tensor._wrap(both[1])
        else:
            gx, gw = Conv2dFunction._gradients(ctx, g, x, w, need_x, need_w, cols)
        if len(ctx.needs_input_grad) == 2:   # applied as Conv2dFunction.apply(x, w): no bias input
            return gx, gw
        gb = g.sum((0, 2, 3)) if need_b else None
        return gx, gw, gb

    @staticmethod
    def _gradients(ctx, g, x, w, need_x, need_w, cols):
        """dL/dx and dL/dw as the two gradient Functions (recorded, for gradients of gradients)."""
        gx = Conv2dInputGrad.apply(g, w, geom=ctx.geom, channels=x.shape[1]) if need_x else None
        gw = Conv2dWeightGrad.apply(x, g, geom=ctx.geom, weight_shape=w.shape, cols=cols) \
            if need_w else None
        return gx, gw


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
        dg = Conv2dFunction.apply(h, w, geom=ctx.geom) if need_g else None
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
        dg = Conv2dFunction.apply(x, v, geom=ctx.geom) if need_g else None
        return dx, dg


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
    out = Conv2dFunction.apply(input, weight, bias, geom=geom)
    return out.squeeze(0) if unbatched else out


# ---------------------------------------------------------------------------------------------
# The module: Conv2d owns the weight and bias
# ---------------------------------------------------------------------------------------------
class Conv2d(Module):
    """A 2-D convolution layer: y = conv2d(x, weight, bias) (see ``nn/conv.py`` for the math).

    weight: (out_channels, in_channels/groups, kh, kw); bias: (out_channels,).  PyTorch's
    default initialisation: weight ~ kaiming_uniform(a=√5), i.e. U(±1/√fan_in), and bias
    ~ U(±1/√fan_in) with fan_in = (in_channels/groups)·kh·kw.  ``padding_mode`` other than
    'zeros' ('reflect', 'replicate', 'circular') pads by gathering edge entries first (a
    differentiable index), then convolves without padding."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        op = "Conv2d"
        if not isinstance(groups, int) or groups < 1:
            raise ConvError(f"{op}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups:
            raise ConvError(f"{op}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ConvError(f"{op}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{op}: padding_mode must be one of {list(_PADDING_MODES)}, but got "
                             f"padding_mode={padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(op, "kernel_size", kernel_size, 1)
        self.stride = _pair(op, "stride", stride, 1)
        self.dilation = _pair(op, "dilation", dilation, 1)
        if isinstance(padding, str):
            conv_pads(op, padding, self.kernel_size, self.stride, self.dilation)  # validates
            self.padding = padding
        else:
            self.padding = _pair(op, "padding", padding, 0)
        self.output_padding, self.transposed = (0, 0), False
        self.groups, self.padding_mode = groups, padding_mode
        self.weight = Parameter(creation.empty(out_channels, in_channels // groups,
                                               *self.kernel_size, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1]
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _pad_by_mode(self, x):
        """Pad H and W with ``padding_mode`` by gathering rows, then columns (a differentiable
        index: the gradient adds back into the source entries)."""
        top, bottom, left, right = conv_pads("Conv2d", self.padding, self.kernel_size,
                                             self.stride, self.dilation)
        h, w = x.shape[-2:]
        if self.padding_mode in ("reflect", "circular") and \
                (max(top, bottom) >= h + (self.padding_mode == "circular") or
                 max(left, right) >= w + (self.padding_mode == "circular")):
            raise ConvError(f"Conv2d: padding ({top}, {bottom}, {left}, {right}) is too large for "
                            f"padding_mode={self.padding_mode!r} and an input of shape "
                            f"{tuple(x.shape)}")
        rows = _mode_index(h, top, bottom, self.padding_mode)
        cols = _mode_index(w, left, right, self.padding_mode)
        lead = (slice(None),) * (x.ndim - 2)
        return x[lead + (rows,)][lead + (slice(None), cols)]

    def forward(self, input):  # noqa: A002
        if self.padding_mode != "zeros":
            return conv2d(self._pad_by_mode(input), self.weight, self.bias, self.stride, 0,
                          self.dilation, self.groups)
        return conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, " \
               f"stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text
