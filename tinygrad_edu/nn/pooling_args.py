"""The arguments of a pooling op: checking ``kernel_size``, ``stride``, ``padding`` and ``dilation``
against the input, and the output size (the convolution's, with ``ceil_mode``; see ``pooling.py``).
A ``PoolGeometry`` (2-D) or ``PoolGeometry3d`` holds everything about a pooling except the numbers.
"""
from collections import namedtuple

import numpy as np

from ..autograd.function import OpValueError
from ..tensor import Tensor


PoolGeometry = namedtuple("PoolGeometry", "kernel stride dilation pads in_hw out_hw")
PoolGeometry.__doc__ = """kernel (kh, kw), stride, dilation, pads (top, bottom, left, right: the
bottom/right ones include the extra room a ceil_mode window needs), input (H, W), output (OH, OW)."""


class PoolError(OpValueError):
    """A pooling argument does not fit (the message names the op and the shapes)."""


# ---------------------------------------------------------------------------------------------
# 2-D
# ---------------------------------------------------------------------------------------------
def _pair(op, name, value, minimum):
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) == 1:
        pair = pair * 2
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                 for v in pair):
        raise PoolError(f"{op}: {name} must be an int or a tuple of 2 ints, got {value!r}")
    if any(v < minimum for v in pair):
        raise PoolError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def pool_output_size(size, kernel, stride, pad, dilation, ceil_mode):
    """PyTorch's pooling output size (see ``pooling.py``'s docstring)."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1  # the last window would start inside the right padding
    return out


def pool_geometry(op, shape, kernel_size, stride, padding, dilation, ceil_mode):
    kernel = _pair(op, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) \
        else _pair(op, "stride", stride, 1)
    pad = _pair(op, "padding", padding, 0)
    dilation = _pair(op, "dilation", dilation, 1)
    for p, k in zip(pad, kernel):
        if p > k // 2:
            raise PoolError(f"{op}: pad should be at most half of the kernel size, but got "
                            f"padding={pad} and kernel_size={kernel}")
    in_hw = tuple(shape[-2:])
    out_hw = tuple(pool_output_size(i, k, s, p, d, ceil_mode)
                   for i, k, s, p, d in zip(in_hw, kernel, stride, pad, dilation))
    if out_hw[0] < 1 or out_hw[1] < 1:
        raise PoolError(f"{op}: given input size {tuple(shape[1:])}, the calculated output size "
                        f"is {(shape[-3],) + out_hw}: too small (kernel_size={kernel}, "
                        f"stride={stride}, padding={pad}, dilation={dilation})")
    # room at the bottom/right: what the last window needs (ceil_mode may ask for more than pad)
    extra = [max(p, (o - 1) * s + d * (k - 1) + 1 - i - p)
             for i, o, k, s, p, d in zip(in_hw, out_hw, kernel, stride, pad, dilation)]
    pads = (pad[0], extra[0], pad[1], extra[1])
    return PoolGeometry(kernel, stride, dilation, pads, in_hw, out_hw)


# ---------------------------------------------------------------------------------------------
# 1-D
# ---------------------------------------------------------------------------------------------
def _one(op, name, value):
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise PoolError(f"{op}: {name} must be an int or a tuple of 1 int, got {value!r}")
        return value[0]
    return value


def _check(op, input, k=None, s=None, p=0, d=1, ceil_mode=False):  # noqa: A002
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if input.ndim not in (2, 3):
        raise PoolError(f"{op}: expected a 2-D (unbatched) or 3-D (batched) input of shape (N, C, L), "
                        f"got shape {tuple(input.shape)}")
    if all(isinstance(v, (int, np.integer)) for v in (k, s, p, d)) and k >= 1 and s >= 1 \
            and 0 <= p <= k // 2 and d >= 1 and pool_output_size(input.shape[-1], k, s, p, d, ceil_mode) < 1:
        raise PoolError(f"{op}: given input length {input.shape[-1]}, the calculated output length "
                        f"is {pool_output_size(input.shape[-1], k, s, p, d, ceil_mode)}: too small "
                        f"(kernel_size={k}, stride={s}, padding={p}, dilation={d}); the kernel is "
                        "larger than the padded input")


# ---------------------------------------------------------------------------------------------
# 3-D
# ---------------------------------------------------------------------------------------------
PoolGeometry3d = namedtuple("PoolGeometry3d", "kernel stride dilation pads in_size out_size")
PoolGeometry3d.__doc__ = """kernel (kd, kh, kw), stride, dilation, pads ((before, after) per dim; the
after one includes the room a ceil_mode window needs), input (D, H, W), output (OD, OH, OW)."""


def _ntuple(op, name, value, n, minimum):
    """An int or a tuple of 1 or ``n`` ints (each ≥ ``minimum``) -> a tuple of ``n`` ints."""
    t = (value,) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(t) == 1:
        t = t * n
    if len(t) != n or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in t):
        raise PoolError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in t):
        raise PoolError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in t)


def _no_stride(stride):
    return stride is None or (isinstance(stride, (tuple, list)) and not stride)


def pool3d_geometry(op, shape, kernel_size, stride, padding, dilation, ceil_mode):
    """Check the arguments against the input shape (N, C, D, H, W): a ``PoolGeometry3d``."""
    kernel = _ntuple(op, "kernel_size", kernel_size, 3, 1)
    stride = kernel if _no_stride(stride) else _ntuple(op, "stride", stride, 3, 1)
    pad = _ntuple(op, "padding", padding, 3, 0)
    dilation = _ntuple(op, "dilation", dilation, 3, 1)
    if any(p > k // 2 for p, k in zip(pad, kernel)):
        raise PoolError(f"{op}: pad should be at most half of the kernel size, but got "
                        f"padding={pad} and kernel_size={kernel}")
    in_size = tuple(shape[2:])
    out = tuple(pool_output_size(i, k, s, p, d, ceil_mode)
                for i, k, s, p, d in zip(in_size, kernel, stride, pad, dilation))
    if min(out) < 1:
        raise PoolError(f"{op}: given input size {tuple(shape[1:])}, the calculated output size "
                        f"is {(shape[1],) + out}: too small (kernel_size={kernel}, stride={stride}, "
                        f"padding={pad}, dilation={dilation}); the kernel is larger than the "
                        "padded input")
    pads = tuple((p, max(p, (o - 1) * s + d * (k - 1) + 1 - i - p))
                 for i, o, k, s, p, d in zip(in_size, out, kernel, stride, pad, dilation))
    return PoolGeometry3d(kernel, stride, dilation, pads, in_size, out)


# ---------------------------------------------------------------------------------------------
# the modules' arguments: an int or a tuple -> a tuple
# ---------------------------------------------------------------------------------------------
def _as_tuple(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
