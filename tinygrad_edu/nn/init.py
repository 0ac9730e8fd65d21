"""``nn.init``: filling weights with starting values, in place (as ``torch.nn.init``).

Why the scale matters: a layer y = W x with fan_in inputs multiplies the variance of its input by
fan_in · Var(W).  Keep that product at 1 (times a *gain* that makes up for what the activation
removes: ReLU zeroes half its input, so gain √2) and signals neither explode nor vanish with depth.

* Xavier/Glorot (tanh, sigmoid): Var(W) = gain² · 2 / (fan_in + fan_out)
* Kaiming/He (ReLU family):      Var(W) = gain² / fan            (fan = fan_in by default)

A uniform U(-a, a) has variance a²/3, so the uniform versions use a = √3 · std.

Every function writes into the tensor's memory without recording a graph (like ``no_grad``),
bumps its version counter, and draws from the library's generator (``tinygrad_edu.manual_seed``)
unless a NumPy ``generator`` is passed.
"""
import math
import warnings

import numpy as np

from .. import creation
from ..backend import to_device
from ..tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "eye_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]


def _write(tensor, values):
    """tensor[...] = values, in place, outside the graph."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init: expected a Tensor, got {type(tensor).__name__}")
    values = np.asarray(values).astype(tensor.dtype, copy=False)
    tensor.array[...] = to_device(values, tensor.device)
    tensor._version_box[0] += 1
    return tensor


def _generator(generator):
    return creation.default_generator() if generator is None else generator


def calculate_gain(nonlinearity, param=None):
    """The gain that keeps activations at unit variance through ``nonlinearity``:
    linear/conv/sigmoid 1, tanh 5/3, relu √2, leaky_relu √(2/(1+slope²)), selu 3/4."""
    linear_like = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                   "conv_transpose3d", "sigmoid")
    if nonlinearity in linear_like:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    """fan_in = in_features · receptive field, fan_out = out_features · receptive field, for a
    weight of shape (out, in, *kernel)."""
    if tensor.ndim < 2:
        raise ValueError(f"nn.init: fan in and fan out can not be computed for a tensor with fewer "
                         f"than 2 dimensions (shape {tuple(tensor.shape)})")
    receptive_field = 1
    for s in tensor.shape[2:]:
        receptive_field *= s
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _calculate_correct_fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"nn.init: mode {mode!r} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _draw_dtype(tensor):
    """float32 weights get float32 draws: drawing float64 and converting made building VGG-16's
    138M weights about 3x slower than it needs to be."""
    return np.float32 if tensor.dtype == np.float32 else np.float64


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with draws from U(a, b):  a + (b - a)·u,  u ~ U(0, 1)."""
    u = _generator(generator).random(tensor.shape, dtype=_draw_dtype(tensor))
    u *= (b - a)
    u += a
    return _write(tensor, u)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with draws from N(mean, std²):  mean + std·z,  z ~ N(0, 1)."""
    z = _generator(generator).standard_normal(tensor.shape, dtype=_draw_dtype(tensor))
    z *= std
    z += mean
    return _write(tensor, z)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with draws from N(mean, std²) truncated to [a, b] (the bounds are absolute values, as in
    PyTorch).  Drawn by rejection: draw normals, redraw those outside [a, b] until none is left —
    exactly the truncated distribution (PyTorch uses the inverse CDF, which needs erfinv)."""
    if not a < b:
        raise ValueError(f"trunc_normal_: the lower bound a={a} must be below the upper bound b={b}")
    if std <= 0:
        raise ValueError(f"trunc_normal_: std must be positive, got {std}")
    rng = _generator(generator)
    dtype = _draw_dtype(tensor)
    z = rng.standard_normal(tensor.shape, dtype=dtype) * dtype(std) + dtype(mean)
    for _ in range(1000):
        outside = (z < a) | (z > b)
        count = int(outside.sum())
        if count == 0:
            break
        z[outside] = rng.standard_normal(count, dtype=dtype) * dtype(std) + dtype(mean)
    else:  # [a, b] holds almost none of the mass: clamp what is left, as PyTorch's clamp_ does
        np.clip(z, a, b, out=z)
    return _write(tensor, z)


def constant_(tensor, val):
    """Fill with the value ``val``."""
    return _write(tensor, np.full(tensor.shape, val))


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def eye_(tensor):
    """The identity matrix (a 2-D tensor only)."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tuple(tensor.shape)}")
    return _write(tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(-a, a) with a = gain · √(6 / (fan_in + fan_out))  (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, std²) with std = gain · √(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(-bound, bound) with bound = gain · √(3 / fan)  (He et al., 2015); ``a`` is the negative
    slope of the leaky ReLU that follows.  ``nn.Linear`` uses a = √5, which makes
    bound = 1/√fan_in."""
    if 0 in tensor.shape:
        warnings.warn("kaiming_uniform_: initializing a zero-element tensor is a no-op")
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std²) with std = gain / √fan."""
    if 0 in tensor.shape:
        warnings.warn("kaiming_normal_: initializing a zero-element tensor is a no-op")
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)
