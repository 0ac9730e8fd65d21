"""More convolution-family layers: ``Conv1d``, ``Conv3d``, ``ConvTranspose1d``, ``ConvTranspose2d``,
``PixelShuffle`` / ``PixelUnshuffle`` (the padding layers live in ``padding_layers.py`` and are
re-exported here).

Parameter names, shapes and PyTorch's default initialisation are kept, so torch state_dicts load
1:1: weight ~ kaiming_uniform(a=√5) = U(±1/√fan_in), bias ~ U(±1/√fan_in), fan_in =
weight.shape[1]·prod(kernel).  A transposed conv's weight is (in_channels, out_channels/groups, k…)
(the weight of the convolution it transposes, see ``conv_transpose.py``)."""
import math

from .. import creation
from . import init
from .conv import ConvError
from .conv_nd import conv1d, conv3d
from .conv_transpose import conv_transpose1d, conv_transpose2d
from .module import Module, Parameter
from .padding import pad
from .padding_layers import (CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d,  # noqa: F401
                             ConstantPad2d, ConstantPad3d, ReflectionPad1d, ReflectionPad2d,
                             ReflectionPad3d, ReplicationPad1d, ReplicationPad2d, ReplicationPad3d,
                             ZeroPad1d, ZeroPad2d, ZeroPad3d)

__all__ = ["Conv1d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "PixelShuffle", "PixelUnshuffle",
           "pixel_shuffle", "pixel_unshuffle", "ReflectionPad2d", "ReplicationPad2d", "ZeroPad2d",
           "ConstantPad2d", "ReflectionPad1d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad3d",
           "ZeroPad1d", "ZeroPad3d", "ConstantPad1d", "ConstantPad3d", "CircularPad1d", "CircularPad2d",
           "CircularPad3d"]


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


class Conv1d(_ConvNd):
    """y = conv1d(x, weight, bias); weight (out_channels, in_channels/groups, k)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv1d: padding_mode {padding_mode!r} is not supported; "
                                      "only 'zeros'")
        super().__init__("Conv1d", 1, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, False, 0, device, dtype)

    def forward(self, input):  # noqa: A002
        return conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups)


class Conv3d(_ConvNd):
    """y = conv3d(x, weight, bias); weight (out_channels, in_channels/groups, kd, kh, kw).

    ``padding_mode`` other than 'zeros' ('reflect', 'replicate', 'circular') pads the input with
    F.pad in that mode first (the same widths, 'same' split with the odd one at the end) and
    convolves without padding, as torch."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"Conv3d: padding_mode must be one of 'zeros', 'reflect', 'replicate' or "
                             f"'circular', got {padding_mode!r}")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"Conv3d: invalid padding string {padding!r}; expected 'same' or 'valid'")
        if padding == "same" and _tuple(stride, 3) != (1, 1, 1):
            raise ValueError("Conv3d: padding='same' is not supported for strided convolutions")
        super().__init__("Conv3d", 3, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, False, 0, device, dtype)
        self.padding_mode = padding_mode

    def _mode_pad(self):
        """F.pad's widths (last dim first) for a non-'zeros' padding_mode."""
        if self.padding == "valid":
            return (0,) * 6
        if self.padding == "same":
            total = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            pairs = [(t // 2, t - t // 2) for t in total]
        else:
            pairs = [(p, p) for p in self.padding]
        return tuple(v for pair in reversed(pairs) for v in pair)

    def forward(self, input):  # noqa: A002
        if self.padding_mode == "zeros":
            return conv3d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                          self.groups)
        if input.ndim not in (4, 5):
            raise ConvError(f"Conv3d: expected a 4-D (unbatched) or 5-D (batched) input, got shape "
                            f"{tuple(input.shape)}")
        return conv3d(pad(input, self._mode_pad(), mode=self.padding_mode), self.weight, self.bias,
                      self.stride, 0, self.dilation, self.groups)


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


# ---------------------------------------------------------------------------------------------
# pixel shuffle: a pure reshape / permute (its gradient is the inverse permutation)
# ---------------------------------------------------------------------------------------------
def pixel_shuffle(input, upscale_factor):  # noqa: A002
    """(*, C·r², H, W) -> (*, C, H·r, W·r): y[c, h·r + i, w·r + j] = x[c·r² + i·r + j, h, w].
    Only a reshape and a permute, so dL/dx is g moved back by the inverse permutation."""
    r = int(upscale_factor)
    *lead, c, h, w = input.shape
    if input.ndim < 3 or r < 1 or c % (r * r):
        raise ValueError(f"pixel_shuffle: expected input (*, C·r², H, W) with C divisible by "
                         f"upscale_factor²={r * r}, got shape {tuple(input.shape)}")
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    k = len(lead)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):  # noqa: A002
    """The inverse of pixel_shuffle: (*, C, H·r, W·r) -> (*, C·r², H, W)."""
    r = int(downscale_factor)
    *lead, c, h, w = input.shape
    if input.ndim < 3 or r < 1 or h % r or w % r:
        raise ValueError(f"pixel_unshuffle: expected input (*, C, H, W) with H and W divisible by "
                         f"downscale_factor={r}, got shape {tuple(input.shape)}")
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    k = len(lead)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


class PixelShuffle(Module):
    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):  # noqa: A002
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):  # noqa: A002
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


# ---------------------------------------------------------------------------------------------
# Fold / Unfold (im2col / col2im, see fold.py)
# ---------------------------------------------------------------------------------------------
class Unfold(Module):
    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input):  # noqa: A002
        from .fold import unfold
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, " \
               f"stride={self.stride}"


class Fold(Module):
    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input):  # noqa: A002
        from .fold import fold
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return f"output_size={self.output_size}, kernel_size={self.kernel_size}, " \
               f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}"


__all__ += ["Fold", "Unfold"]
