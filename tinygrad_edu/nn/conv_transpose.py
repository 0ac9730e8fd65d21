"""Transposed convolution ("deconvolution"): the gradient of a convolution w.r.t. its input.

A convolution y = conv(x, w) with stride s, padding p, dilation d is linear in x: y = A x.
Its input gradient is dL/dx = Aᵀ g.  The *transposed convolution* is that map Aᵀ applied to a
new input: conv_transpose(x, w) = Aᵀ x.  Each input pixel x[n, c, i] scatters the whole kernel,
scaled by x, into the output around position i·s − p:

    y[n, o, i·s − p + j·d] += x[n, c, i] · w[c, o', j]

so the output is larger: out = (in − 1)·s − 2p + d·(k − 1) + output_padding + 1.  Several output
sizes give the same conv output size when s > 1; ``output_padding`` (< s or < d) picks one.

The weight has shape (C_in, C_out/groups, k…): the conv it transposes maps C_out channels to
C_in, so its weight is the very same array.  Hence one node does it all — ``Conv2dInputGrad``
of ``conv.py`` (col2im fused with the matmul), with a geometry whose "input" is our output.
Its gradients are the ones derived there:
    dL/dx = conv(g, w)            (the forward convolution of the output gradient)
    dL/dw = conv_weight_grad(g, x) (the correlation, with the roles of input and output swapped)
    dL/db = Σ g over batch and space.
conv_transpose1d is conv_transpose2d on a height-1 image.

Tests: tests/op_registry/conv_transpose.py, tests/test_conv_family.py"""
import numpy as np

from ..tensor import Tensor
from .conv import Conv2dInputGrad
from .conv_args import ConvError, ConvGeometry, _pair
from .conv_nd import _ConvNd

__all__ = ["conv_transpose1d", "conv_transpose2d", "ConvTranspose1d", "ConvTranspose2d"]


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,  # noqa: A002
                     groups=1, dilation=1):
    """2-D transposed convolution, as ``torch.nn.functional.conv_transpose2d``: input
    (N, C_in, H, W) or (C_in, H, W), weight (C_in, C_out/groups, kh, kw), bias (C_out,)
    -> (N, C_out, OH, OW), OH = (H − 1)·sh − 2·ph + dh·(kh − 1) + oph + 1.  Math in the module
    docstring."""
    op = "conv_transpose2d"
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{op}: input and weight must be Tensors")
    if weight.ndim != 4:
        raise ConvError(f"{op}: weight must be 4-D (in_channels, out_channels/groups, kh, kw), "
                        f"got shape {tuple(weight.shape)}")
    if input.ndim not in (3, 4):
        raise ConvError(f"{op}: expected a 3-D (unbatched) or 4-D (batched) input, got shape "
                        f"{tuple(input.shape)}")
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ConvError(f"{op}: groups must be a positive int, got {groups!r}")
    if isinstance(padding, str):
        raise ConvError(f"{op}: padding must be an int or a tuple of ints, got {padding!r}")
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    c_in, out_per_group = weight.shape[:2]
    if input.shape[1] != c_in:
        raise ConvError(f"{op}: weight of size {tuple(weight.shape)} expects input with {c_in} "
                        f"channels, got input of shape {tuple(input.shape)}")
    if c_in % groups:
        raise ConvError(f"{op}: in_channels ({c_in}) must be divisible by groups={groups}")
    if input.dtype != weight.dtype:
        raise TypeError(f"{op}: input dtype {input.dtype} and weight dtype {weight.dtype} differ")
    channels = out_per_group * groups
    if bias is not None and tuple(bias.shape) != (channels,):
        raise ConvError(f"{op}: bias must have shape ({channels},), got {tuple(bias.shape)}")
    s = _pair(op, "stride", stride, 1)
    d = _pair(op, "dilation", dilation, 1)
    p = _pair(op, "padding", padding, 0)
    opad = _pair(op, "output_padding", output_padding, 0)
    if any(o >= si and o >= di for o, si, di in zip(opad, s, d)):
        raise ConvError(f"{op}: output padding {opad} must be smaller than either stride {s} or "
                        f"dilation {d}")
    kernel = tuple(weight.shape[2:])
    in_hw = tuple(input.shape[2:])
    out_hw = tuple((i - 1) * si - 2 * pi + di * (k - 1) + o + 1
                   for i, si, pi, di, k, o in zip(in_hw, s, p, d, kernel, opad))
    if any(o <= 0 for o in out_hw):
        raise ConvError(f"{op}: the output size {out_hw} is not positive (input {tuple(input.shape)}, "
                        f"weight {tuple(weight.shape)}, stride {s}, padding {p})")
    # the convolution being transposed maps an image of size out_hw to one of size in_hw
    geom = ConvGeometry(kernel, s, d, (p[0], p[0], p[1], p[1]), int(groups), out_hw, in_hw)
    out = Conv2dInputGrad.apply(input, weight, geom=geom, channels=channels)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out.squeeze(0) if unbatched else out


def _one(value):
    return value[0] if isinstance(value, (tuple, list)) else value


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,  # noqa: A002
                     groups=1, dilation=1):
    """1-D transposed convolution, as ``torch.nn.functional.conv_transpose1d``: input
    (N, C_in, L) or (C_in, L), weight (C_in, C_out/groups, k) -> (N, C_out, L_out) with
    L_out = (L − 1)·s − 2p + d·(k − 1) + output_padding + 1; conv_transpose2d at height 1."""
    op = "conv_transpose1d"
    if weight.ndim != 3 or input.ndim not in (2, 3):
        raise ConvError(f"{op}: expected input (N, C_in, L) or (C_in, L) and weight (C_in, C_out/groups, k),"
                        f" got shapes {tuple(input.shape)} and {tuple(weight.shape)}")
    out = conv_transpose2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, _one(stride)),
                           (0, _one(padding)), (0, _one(output_padding)), groups, (1, _one(dilation)))
    return out.squeeze(-2)


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
class ConvTranspose1d(_ConvNd):
    """y = conv_transpose1d(x, weight, bias); weight (in_channels, out_channels/groups, k)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f"ConvTranspose1d: only 'zeros' padding mode is supported, got "
                             f"{padding_mode!r}")
        super().__init__("ConvTranspose1d", 1, in_channels, out_channels, kernel_size, stride, padding,
                         dilation, groups, bias, True, output_padding, device, dtype)

    def forward(self, input):  # noqa: A002
        return conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                self.output_padding, self.groups, self.dilation)


class ConvTranspose2d(_ConvNd):
    """y = conv_transpose2d(x, weight, bias); weight (in_channels, out_channels/groups, kh, kw)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f"ConvTranspose2d: only 'zeros' padding mode is supported, got "
                             f"{padding_mode!r}")
        super().__init__("ConvTranspose2d", 2, in_channels, out_channels, kernel_size, stride, padding,
                         dilation, groups, bias, True, output_padding, device, dtype)

    def forward(self, input):  # noqa: A002
        return conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                self.output_padding, self.groups, self.dilation)
