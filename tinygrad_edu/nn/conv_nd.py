"""1-D convolution (a 2-D convolution on a height-1 image) and 3-D convolution (vol2col + GEMM).

1-D
---

conv1d(x, w)[n, o, p] = b[o] + Σ_c Σ_j w[o, c, j] · xpad[n, c', p·s + j·d]

is exactly conv2d on x.unsqueeze(2) (shape (N, C, 1, L)) with the weight w.unsqueeze(2)
(shape (O, C/G, 1, k)), a kernel of height 1, stride/dilation 1 and no padding along the
height.  So the im2col machinery and every gradient of ``conv.py`` carry over unchanged:
dL/dx is the transposed convolution of g with w, dL/dw the correlation of x with g,
dL/db = Σ g over batch and length — each then squeezed back through the (differentiable)
reshape.

3-D
---
A volume x (N, C, D, H, W) and a weight w (O, C/G, kd, kh, kw) give

    y[n, o, p, q, r] = b[o] + Σ_c Σ_a Σ_i Σ_j w[o, c, a, i, j]
                                   · xpad[n, c', p·sd + a·dd, q·sh + i·dh, r·sw + j·dw]

with one output size per dim, out = ⌊(in + pad_before + pad_after − d·(k − 1) − 1) / s⌋ + 1.
It is conv2d's im2col with one more dim, here called *vol2col*: a strided view of the padded
volume of shape (N, C, kd, kh, kw, OD, OH, OW) — entry [n, c, a, i, j, p, q, r] is the input
tap (a, i, j) of output position (p, q, r) — is copied once into columns (N, G, K, L) with
K = (C/G)·kd·kh·kw and L = OD·OH·OW, and the convolution is one (batched) matrix product

    y[n, g] = W2[g] @ cols[n, g]        W2 = w.reshape(G, O/G, K):  (O/G, K) @ (K, L) -> (O/G, L)

The gradients are those of conv2d (``conv.py``), with g = dL/dy reshaped to (N, G, O/G, L):

    dL/db    = Σ_{n,p,q,r} g[n, o, p, q, r]
    dL/dW2   = Σ_n g[n] @ cols[n]ᵀ              a correlation of the input with g
    dL/dx    = col2vol(W2ᵀ @ g)                 a transposed convolution of g with w: every
                                                column entry added back to the voxel it came from

col2vol loops over the kd·kh·kw kernel taps; tap (a, i, j) of every window is the strided slice
xpad[:, :, a·dd :: sd, i·dh :: sh, j·dw :: sw], so each step is one vectorised add.  As in 2-D,
the three ops ``Conv3d``, ``Conv3dInputGrad`` and ``Conv3dWeightGrad`` are linear in each argument
and are each other's backward, so gradients of every order come from the same three kernels.

Tests: tests/op_registry/conv_nd.py, tests/test_conv_family.py, tests/test_conv_pool_3d.py"""
import itertools
import math

import numpy as np

from .. import creation
from ..autograd.function import Function
from ..backend import array_module
from ..tensor import Tensor
from . import init
from .conv import conv2d
from .conv_args import ConvError, conv3d_geometry
from .module import Module, Parameter
from .padding import pad

__all__ = ["conv1d", "conv3d", "vol2col", "col2vol", "Conv3dFunction", "Conv1d", "Conv3d"]


# ---------------------------------------------------------------------------------------------
# 1-D: conv2d on a height-1 image
# ---------------------------------------------------------------------------------------------
def _single(op, name, value):
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ConvError(f"{op}: {name} must be an int or a tuple of 1 int, got {value!r}")
        return value[0]
    return value


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """1-D convolution, as ``torch.nn.functional.conv1d``: input (N, C, L) or (C, L), weight
    (O, C/groups, k), bias (O,) -> (N, O, L_out), L_out = ⌊(L + 2p − d·(k − 1) − 1) / s⌋ + 1.
    ``padding``: an int, 'valid' or 'same'.  Computed as conv2d on a height-1 image."""
    op = "conv1d"
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{op}: input and weight must be Tensors")
    if weight.ndim != 3:
        raise ConvError(f"{op}: weight must be 3-D (out_channels, in_channels/groups, k), "
                        f"got shape {tuple(weight.shape)}")
    if input.ndim not in (2, 3):
        raise ConvError(f"{op}: expected a 2-D (unbatched) or 3-D (batched) input of shape "
                        f"(N, C, L), got shape {tuple(input.shape)}")
    pad = _single(op, "padding", padding)
    pad2 = pad if isinstance(pad, str) else (0, pad)
    out = conv2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, _single(op, "stride", stride)),
                 pad2, (1, _single(op, "dilation", dilation)), groups)
    return out.squeeze(-2)


# ---------------------------------------------------------------------------------------------
# 3-D convolution: vol2col + one GEMM
# ---------------------------------------------------------------------------------------------
def _pad_volume(x, pads):
    """x (N, C, D, H, W) with zeros added before/after each of the three spatial dims."""
    if not any(lo or hi for lo, hi in pads):
        return x
    shape = x.shape[:2] + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads))
    out = array_module(x).zeros(shape, dtype=x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(lo, lo + n) for n, (lo, _) in
                                           zip(x.shape[2:], pads))] = x
    return out


def _crop_volume(xpad, geom):
    """The inverse of ``_pad_volume``: the in-volume part of a padded (N, C, Dp, Hp, Wp) array."""
    return xpad[(slice(None), slice(None)) + tuple(slice(lo, lo + n) for n, (lo, _) in
                                                   zip(geom.in_size, geom.pads))]


def _volume_patches(xpad, geom):
    """A read-only strided view of shape (N, C, kd, kh, kw, OD, OH, OW): entry
    [n, c, a, i, j, p, q, r] is xpad[n, c, p·sd + a·dd, q·sh + i·dh, r·sw + j·dw] (no copy)."""
    s_n, s_c, *s_sp = xpad.strides
    shape = xpad.shape[:2] + tuple(geom.kernel) + tuple(geom.out_size)
    strides = (s_n, s_c) + tuple(d * st for d, st in zip(geom.dilation, s_sp)) \
        + tuple(s * st for s, st in zip(geom.stride, s_sp))
    if array_module(xpad) is np:
        return np.lib.stride_tricks.as_strided(xpad, shape, strides, writeable=False)
    import cupy  # CuPy's as_strided has no ``writeable`` flag
    return cupy.lib.stride_tricks.as_strided(xpad, shape, strides)


def vol2col(x, geom):
    """The columns of the 3-D convolution, shape (N, G, K, L) with K = (C/G)·kd·kh·kw and
    L = OD·OH·OW: column [n, g, :, l] is the window output position l of volume n sees,
    restricted to the channels of group g.  One copy of the strided patch view."""
    n, c = x.shape[:2]
    k, l = int(np.prod(geom.kernel)), int(np.prod(geom.out_size))
    patches = _volume_patches(_pad_volume(x, geom.pads), geom)
    return patches.reshape(n, geom.groups, (c // geom.groups) * k, l)


def _tap_slice(xpad, geom, tap):
    """Kernel tap (a, i, j) of every window at once: the strided slice of shape (N, C, OD, OH, OW)
    xpad[:, :, a·dd : … : sd, i·dh : … : sh, j·dw : … : sw] (a view)."""
    return xpad[(slice(None), slice(None)) + tuple(
        slice(t * d, t * d + s * (o - 1) + 1, s)
        for t, d, s, o in zip(tap, geom.dilation, geom.stride, geom.out_size))]


def _padded_zeros(like, n, channels, geom):
    shape = (n, channels) + tuple(i + lo + hi for i, (lo, hi) in zip(geom.in_size, geom.pads))
    return array_module(like).zeros(shape, dtype=like.dtype)


def col2vol(dcols, geom, channels):
    """The adjoint of ``vol2col``: add every column entry back into the voxel it was copied
    from, then crop the padding.  ``dcols`` (N, G, K, L) -> (N, C, D, H, W)."""
    n = dcols.shape[0]
    d = dcols.reshape((n, channels) + tuple(geom.kernel) + tuple(geom.out_size))
    dxpad = _padded_zeros(dcols, n, channels, geom)
    for tap in itertools.product(*map(range, geom.kernel)):
        _tap_slice(dxpad, geom, tap)[...] += d[(slice(None), slice(None)) + tap]
    return _crop_volume(dxpad, geom)


def _conv3d_forward(x, w, geom):
    """y = W2 @ cols, batched over volumes and groups; returns (N, O, OD, OH, OW) and the columns."""
    n, groups, out_ch = x.shape[0], geom.groups, w.shape[0]
    cols = vol2col(x, geom)                                   # (N, G, K, L)
    y = w.reshape(groups, out_ch // groups, cols.shape[2]) @ cols   # (N, G, O/G, L)
    return y.reshape((n, out_ch) + tuple(geom.out_size)), cols


def _conv3d_input_grad(g, w, geom, channels):
    """dL/dx = col2vol(W2ᵀ @ g), fused: for each kernel tap (a, i, j) the column gradients of that
    tap are w[:, :, a, i, j]ᵀ @ g, added straight into the tap's strided slice of the padded
    input gradient (no buffer as large as all the columns)."""
    n, out_ch, groups = g.shape[0], w.shape[0], geom.groups
    g4 = g.reshape(n, groups, out_ch // groups, int(np.prod(geom.out_size)))   # (N, G, O/G, L)
    wg = w.reshape((groups, out_ch // groups, channels // groups) + tuple(geom.kernel))
    dxpad = _padded_zeros(g, n, channels, geom)
    for tap in itertools.product(*map(range, geom.kernel)):
        w_tap = wg[(slice(None),) * 3 + tap].transpose(0, 2, 1)         # (G, C/G, O/G)
        dcols = (w_tap @ g4).reshape((n, channels) + tuple(geom.out_size))
        _tap_slice(dxpad, geom, tap)[...] += dcols
    return _crop_volume(dxpad, geom)


def _conv3d_weight_grad(x, g, geom, weight_shape, cols=None):
    """dL/dW2 = Σ_n g[n] @ cols[n]ᵀ: a correlation of the input with g."""
    if cols is None:
        cols = vol2col(x, geom)
    n, groups, out_ch = x.shape[0], geom.groups, weight_shape[0]
    g4 = g.reshape(n, groups, out_ch // groups, cols.shape[-1])
    return (g4 @ cols.transpose(0, 1, 3, 2)).sum(0).reshape(weight_shape)


class Conv3dFunction(Function):
    """y = conv3d(x, w) + b (the math and the gradients are in the module docstring).

    The columns built in forward are kept on the node for the weight gradient, then dropped."""

    @staticmethod
    def forward(ctx, x, w, b=None, geom=None):
        y, cols = _conv3d_forward(x, w, geom)
        if b is not None:
            y += b.reshape(1, -1, 1, 1, 1)
        ctx.geom = geom
        needs = ctx.needs_input_grad
        ctx.cols = cols if len(needs) > 1 and needs[1] else None
        ctx.save_for_backward(x, w)
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need_x, need_w = ctx.needs_input_grad[:2]
        cols, ctx.cols = ctx.cols, None
        gx = Conv3dInputGrad.apply(g, w, geom=ctx.geom, channels=x.shape[1]) if need_x else None
        gw = Conv3dWeightGrad.apply(x, g, geom=ctx.geom, weight_shape=w.shape, cols=cols) \
            if need_w else None
        if len(ctx.needs_input_grad) == 2:      # applied as Conv3dFunction.apply(x, w): no bias input
            return gx, gw
        gb = g.sum((0, 2, 3, 4)) if ctx.needs_input_grad[2] else None
        return gx, gw, gb


class Conv3dInputGrad(Function):
    """gx = convᵀ(g, w), conv3d's input gradient (a transposed convolution).  Linear in g and w;
    given h = dL/dgx:  dL/dg = conv3d(h, w),  dL/dw = conv3d_weight_grad(h, g)."""

    @staticmethod
    def forward(ctx, g, w, geom=None, channels=None):
        ctx.geom = geom
        ctx.save_for_backward(g, w)
        return _conv3d_input_grad(g, w, geom, channels)

    @staticmethod
    def backward(ctx, h):
        g, w = ctx.saved_tensors
        need_g, need_w = ctx.needs_input_grad
        dg = Conv3dFunction.apply(h, w, geom=ctx.geom) if need_g else None
        dw = Conv3dWeightGrad.apply(h, g, geom=ctx.geom, weight_shape=w.shape) if need_w else None
        return dg, dw


class Conv3dWeightGrad(Function):
    """gw = Σ_n g[n] cols(x)[n]ᵀ, conv3d's weight gradient.  Linear in x and g; given
    v = dL/dgw:  dL/dx = convᵀ(g, v),  dL/dg = conv3d(x, v)."""

    @staticmethod
    def forward(ctx, x, g, geom=None, weight_shape=None, cols=None):
        ctx.geom = geom
        ctx.save_for_backward(x, g)
        return _conv3d_weight_grad(x, g, geom, weight_shape, cols)

    @staticmethod
    def backward(ctx, v):
        x, g = ctx.saved_tensors
        need_x, need_g = ctx.needs_input_grad
        dx = Conv3dInputGrad.apply(g, v, geom=ctx.geom, channels=x.shape[1]) if need_x else None
        dg = Conv3dFunction.apply(x, v, geom=ctx.geom) if need_g else None
        return dx, dg


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """3-D convolution, as ``torch.nn.functional.conv3d``: input (N, C, D, H, W) or unbatched
    (C, D, H, W), weight (O, C/groups, kd, kh, kw), bias (O,) -> (N, O, OD, OH, OW) with
    OD = ⌊(D + pad_front + pad_back − dd·(kd − 1) − 1) / sd⌋ + 1 (the same for OH, OW).
    ``padding``: an int, a triple, 'valid' or 'same'.  y = W2 @ vol2col(x) + b; gradients
    dL/dx = col2vol(W2ᵀ @ g), dL/dW2 = Σ_n g[n] @ cols[n]ᵀ, dL/db = Σ g (module docstring)."""
    op = "conv3d"
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{op}: input and weight must be Tensors, got {type(input).__name__} and "
                        f"{type(weight).__name__}")
    if weight.ndim != 5:
        raise ConvError(f"{op}: weight must be 5-D (out_channels, in_channels/groups, kd, kh, kw), "
                        f"got shape {tuple(weight.shape)}")
    if input.ndim not in (4, 5):
        raise ConvError(f"{op}: expected a 4-D (unbatched) or 5-D (batched) input of shape "
                        f"(N, C, D, H, W), got shape {tuple(input.shape)}")
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ConvError(f"{op}: groups must be a positive int, got {groups!r}")
    unbatched = input.ndim == 4
    if unbatched:
        input = input.unsqueeze(0)
    out_ch, in_per_group = weight.shape[:2]
    if out_ch % groups:
        raise ConvError(f"{op}: out_channels ({out_ch}, weight {tuple(weight.shape)}) must be "
                        f"divisible by groups={groups}")
    if input.shape[1] != in_per_group * groups:
        raise ConvError(f"{op}: given groups={groups}, weight of size {tuple(weight.shape)}, "
                        f"expected input {tuple(input.shape)} to have {in_per_group * groups} "
                        f"channels, but got {input.shape[1]} channels instead")
    if input.dtype != weight.dtype:
        raise TypeError(f"{op}: input dtype {input.dtype} and weight dtype {weight.dtype} differ; "
                        "convert one of them (e.g. input.to(weight.dtype))")
    if bias is not None and tuple(bias.shape) != (out_ch,):
        raise ConvError(f"{op}: bias must have shape ({out_ch},) to match weight "
                        f"{tuple(weight.shape)}, got {tuple(bias.shape)}")
    geom = conv3d_geometry(op, tuple(input.shape[2:]), tuple(weight.shape[2:]), stride, padding,
                           dilation, int(groups))
    out = Conv3dFunction.apply(input, weight, bias, geom=geom)
    return out.squeeze(0) if unbatched else out


# ---------------------------------------------------------------------------------------------
# modules (_ConvNd is also the base of ConvTranspose1d/2d in conv_transpose.py)
# ---------------------------------------------------------------------------------------------
# PyTorch's parameter names, shapes and initialisation (torch state_dicts load 1:1): weight ~
# kaiming_uniform(a=√5) = U(±1/√fan_in), bias ~ U(±1/√fan_in), fan_in = weight.shape[1]·prod(kernel); a
# transposed conv's weight is (in_channels, out_channels/groups, k…), see ``conv_transpose.py``.
def _tuple(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


class _ConvNd(Module):
    """Shared constructor: checks, parameters, PyTorch's initialisation."""

    def __init__(self, op, n, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, transposed, output_padding, device, dtype):
        super().__init__()
        if not isinstance(groups, int) or groups < 1:
            raise ConvError(f"{op}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups or out_channels % groups:
            raise ConvError(f"{op}: in_channels ({in_channels}) and out_channels ({out_channels}) must "
                            f"be divisible by groups ({groups})")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _tuple(kernel_size, n), _tuple(stride, n)
        self.padding = padding if isinstance(padding, str) else _tuple(padding, n)
        self.dilation, self.output_padding = _tuple(dilation, n), _tuple(output_padding, n)
        self.groups, self.transposed, self.padding_mode = groups, transposed, "zeros"
        shape = (in_channels, out_channels // groups) if transposed else \
            (out_channels, in_channels // groups)
        self.weight = Parameter(creation.empty(*shape, *self.kernel_size, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, " \
               f"stride={self.stride}"
        n = len(self.kernel_size)
        if self.padding != (0,) * n:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class _ConvNdWithPaddingMode(_ConvNd):
    """A forward convolution whose ``padding_mode`` may be 'zeros' (the op pads) or 'reflect',
    'replicate', 'circular': then the input is padded with F.pad in that mode first (the same widths;
    'same' splits an odd total with the extra entry at the end) and convolved without padding, as torch.
    Subclasses set ``_op`` (the functional form) and ``_n`` (the number of spatial dims)."""

    def __init__(self, name, n, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, padding_mode, device, dtype):
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"{name}: padding_mode must be one of 'zeros', 'reflect', 'replicate' or "
                             f"'circular', got {padding_mode!r}")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"{name}: invalid padding string {padding!r}; expected 'same' or 'valid'")
        if padding == "same" and _tuple(stride, n) != (1,) * n:
            raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
        super().__init__(name, n, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, False, 0, device, dtype)
        self._name, self.padding_mode = name, padding_mode

    def _mode_pad(self):
        """F.pad's widths (last dim first) for a non-'zeros' padding_mode."""
        if self.padding == "valid":
            return (0,) * (2 * self._n)
        if self.padding == "same":
            total = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            pairs = [(t // 2, t - t // 2) for t in total]
        else:
            pairs = [(p, p) for p in self.padding]
        return tuple(v for pair in reversed(pairs) for v in pair)

    def forward(self, input):  # noqa: A002
        op = type(self)._op
        if self.padding_mode == "zeros":
            return op(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        if input.ndim not in (self._n + 1, self._n + 2):
            raise ConvError(f"{self._name}: expected a {self._n + 1}-D (unbatched) or {self._n + 2}-D "
                            f"(batched) input, got shape {tuple(input.shape)}")
        return op(pad(input, self._mode_pad(), mode=self.padding_mode), self.weight, self.bias,
                  self.stride, 0, self.dilation, self.groups)


class Conv1d(_ConvNdWithPaddingMode):
    """y = conv1d(x, weight, bias); weight (out_channels, in_channels/groups, k)."""
    _op, _n = staticmethod(conv1d), 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__("Conv1d", 1, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)


class Conv3d(_ConvNdWithPaddingMode):
    """y = conv3d(x, weight, bias); weight (out_channels, in_channels/groups, kd, kh, kw)."""
    _op, _n = staticmethod(conv3d), 3

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__("Conv3d", 3, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)
