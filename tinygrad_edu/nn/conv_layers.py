"""The layers of a convolutional network: ``Conv2d``, pooling, and normalisation ``Module``s.

Each wraps a function of ``conv.py``, ``pooling.py`` or ``normalization.py`` (where the math and
the gradients are explained) and owns its parameters and buffers, with PyTorch's constructor
arguments, default initialisation, attribute names (so ``state_dict`` keys match:
``conv1.weight``, ``bn1.running_mean``, ``bn1.num_batches_tracked``) and ``repr``.
"""
import math

import numpy as np

from .. import creation
from .. import dtypes as _dt
from ..autograd.function import OpValueError
from . import init
from .conv import ConvError, conv2d, conv_pads, _pair as _conv_pair
from .module import Module, Parameter
from .normalization import batch_norm, group_norm, layer_norm
from .pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d

__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d",
           "LayerNorm", "GroupNorm"]


# ---------------------------------------------------------------------------------------------
# Conv2d
# ---------------------------------------------------------------------------------------------
_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _mode_index(size, before, after, mode):
    """Source indices for padding one dim by (before, after) entries:
    reflect  … 2 1 | 0 1 2 … n−1 | n−2 …   (the edge is not repeated)
    replicate  0 0 | 0 1 2 … n−1 | n−1 …
    circular … n−1 | 0 1 2 … n−1 | 0 1 …"""
    idx = np.arange(-before, size + after)
    if mode == "reflect":
        idx = np.abs(idx)
        idx = np.where(idx > size - 1, 2 * (size - 1) - idx, idx)
    elif mode == "replicate":
        idx = np.clip(idx, 0, size - 1)
    else:  # circular
        idx = idx % size
    return idx


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
            raise ConvError(f"{op}: in_channels ({in_channels}) must be divisible by groups "
                            f"({groups})")
        if out_channels % groups:
            raise ConvError(f"{op}: out_channels ({out_channels}) must be divisible by groups "
                            f"({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{op}: padding_mode must be one of {list(_PADDING_MODES)}, but got "
                             f"padding_mode={padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _conv_pair(op, "kernel_size", kernel_size, 1)
        self.stride = _conv_pair(op, "stride", stride, 1)
        self.dilation = _conv_pair(op, "dilation", dilation, 1)
        if isinstance(padding, str):
            conv_pads(op, padding, self.kernel_size, self.stride, self.dilation)  # validates
            self.padding = padding
        else:
            self.padding = _conv_pair(op, "padding", padding, 0)
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
        return conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups)

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


# ---------------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------------
class MaxPool2d(Module):
    """Max pooling over kernel_size windows (``stride`` defaults to ``kernel_size``)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):  # noqa: A002
        return max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, " \
               f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"


class AvgPool2d(Module):
    """Average pooling over kernel_size windows (``stride`` defaults to ``kernel_size``)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):  # noqa: A002
        return avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size`` whatever the input size (PyTorch's windows)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):  # noqa: A002
        return adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


# ---------------------------------------------------------------------------------------------
# Batch norm
# ---------------------------------------------------------------------------------------------
def _register_affine(module, shape, affine, bias, dtype, device):
    """The per-feature scale ``weight`` (ones) and shift ``bias`` (zeros) of a normalisation layer,
    or both registered as None when it is not ``affine`` (``bias=False`` drops only the shift)."""
    if affine:
        module.weight = Parameter(creation.ones(*shape, dtype=dtype, device=device))
        if bias:
            module.bias = Parameter(creation.zeros(*shape, dtype=dtype, device=device))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _reset_affine(module):
    """weight back to ones and bias back to zeros (where they exist)."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class _BatchNorm(Module):
    """Shared by BatchNorm1d and BatchNorm2d (they differ only in the input dims they accept).

    Parameters ``weight`` (γ, ones) and ``bias`` (β, zeros; none with ``bias=False``) when
    ``affine``; buffers
    ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked`` (int64 0) when
    ``track_running_stats``.  In ``train()`` mode a batch is normalised with its own statistics
    and the running ones are updated (``momentum=None``: a cumulative average over all batches
    seen); in ``eval()`` mode the running statistics are used (or the batch's, if none are
    tracked)."""

    _accepted_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _register_affine(self, (num_features,), affine, bias, dtype, device)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, dtype=dtype,
                                                                device=device))
            self.register_buffer("running_var", creation.ones(num_features, dtype=dtype,
                                                              device=device))
            self.register_buffer("num_batches_tracked", creation.tensor(0, dtype=_dt.int64,
                                                                        device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0
            for b in (self.running_mean, self.running_var, self.num_batches_tracked):
                b._version_box[0] += 1

    def reset_parameters(self):
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input_dim(self, input):  # noqa: A002
        if input.ndim not in self._accepted_dims:
            dims = " or ".join(f"{d}D" for d in self._accepted_dims)
            raise OpValueError(f"{type(self).__name__}: expected {dims} input (got {input.ndim}D "
                               f"input of shape {tuple(input.shape)})")
        if input.shape[1] != self.num_features:
            raise OpValueError(f"{type(self).__name__}: expected an input with "
                               f"{self.num_features} channels (dim 1), got shape "
                               f"{tuple(input.shape)}")

    def forward(self, input):  # noqa: A002
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array[...] += 1
            self.num_batches_tracked._version_box[0] += 1
            if self.momentum is None:  # a cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.array)
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        keep_stats = not self.training or self.track_running_stats
        return batch_norm(input, self.running_mean if keep_stats else None,
                          self.running_var if keep_stats else None, self.weight, self.bias,
                          use_batch_stats, factor, self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, " \
               f"affine={self.affine}, bias={self.bias is not None}, " \
               f"track_running_stats={self.track_running_stats}"


class BatchNorm1d(_BatchNorm):
    """Batch norm of (N, C) or (N, C, L) inputs, per channel C."""
    _accepted_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm of (N, C, H, W) inputs, per channel C."""
    _accepted_dims = (4,)


# ---------------------------------------------------------------------------------------------
# Layer norm and group norm
# ---------------------------------------------------------------------------------------------
class LayerNorm(Module):
    """Normalise over the last dims (``normalized_shape``) of each sample; weight (ones) and
    bias (zeros) of that shape when ``elementwise_affine`` (``bias=False``: no bias)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        _register_affine(self, self.normalized_shape, elementwise_affine, bias, dtype, device)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):  # noqa: A002
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, " \
               f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"


class GroupNorm(Module):
    """Normalise each of ``num_groups`` groups of channels of each sample; per-channel weight
    (ones) and bias (zeros) when ``affine``."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None,
                 *, bias=True):
        super().__init__()
        if num_channels % num_groups:
            raise OpValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                               f"num_groups ({num_groups})")
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        _register_affine(self, (num_channels,), affine, bias, dtype, device)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):  # noqa: A002
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, " \
               f"bias={self.bias is not None}"
