"""The arguments of a convolution: checking ``stride``, ``padding``, ``dilation`` and ``groups``, and
the output size.

    out = ⌊(in + pad_before + pad_after − d·(k − 1) − 1) / s⌋ + 1

(d·(k − 1) + 1 is the *effective* kernel size; the formula counts how many steps of s fit).  A
``ConvGeometry`` (2-D) or ``Conv3dGeometry`` (3-D) holds everything about a convolution except the
numbers; ``conv.py``, ``conv_nd.py``, ``conv_transpose.py`` and ``fold.py`` compute with it.
"""
from collections import namedtuple

import numpy as np

from ..autograd.function import OpValueError


# ---------------------------------------------------------------------------------------------
# 2-D
# ---------------------------------------------------------------------------------------------
ConvGeometry = namedtuple("ConvGeometry", "kernel stride dilation pads groups in_hw out_hw")
ConvGeometry.__doc__ = """Everything about a convolution except the numbers: kernel (kh, kw),
stride (sh, sw), dilation (dh, dw), pads (top, bottom, left, right), groups, the input's (H, W)
and the output's (OH, OW)."""


def conv_output_size(size, kernel, stride=1, pad_total=0, dilation=1):
    """⌊(size + pad_total − dilation·(kernel − 1) − 1) / stride⌋ + 1: how many kernel
    positions, ``stride`` apart, fit in the padded input."""
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


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


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


# ---------------------------------------------------------------------------------------------
# 3-D
# ---------------------------------------------------------------------------------------------
Conv3dGeometry = namedtuple("Conv3dGeometry", "kernel stride dilation pads groups in_size out_size")
Conv3dGeometry.__doc__ = """kernel (kd, kh, kw), stride, dilation, pads ((front, back), (top, bottom),
(left, right)), groups, the input's (D, H, W) and the output's (OD, OH, OW)."""


def _triple(op, name, value, minimum):
    """An int or a tuple of 3 ints (each ≥ ``minimum``) -> a tuple of 3 ints."""
    t = (value,) * 3 if isinstance(value, (int, np.integer)) else tuple(value)
    if len(t) != 3 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in t):
        raise ConvError(f"{op}: {name} must be an int or a tuple of 3 ints, got {value!r}")
    if any(v < minimum for v in t):
        raise ConvError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in t)


def conv3d_geometry(op, in_size, kernel, stride, padding, dilation, groups):
    """Check the sizes and compute the output size: a ``Conv3dGeometry``.  ``padding``: an int,
    a triple, 'valid' (none) or 'same' (total d·(k − 1) per dim, the odd one at the end; stride 1)."""
    stride, dilation = _triple(op, "stride", stride, 1), _triple(op, "dilation", dilation, 1)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ConvError(f"{op}: invalid padding string {padding!r}; expected 'same' or 'valid'")
        if padding == "same" and stride != (1, 1, 1):
            raise ConvError(f"{op}: padding='same' is not supported for strided convolutions "
                            f"(stride={stride})")
        total = [d * (k - 1) if padding == "same" else 0 for d, k in zip(dilation, kernel)]
        pads = tuple((t // 2, t - t // 2) for t in total)
    else:
        pads = tuple((p, p) for p in _triple(op, "padding", padding, 0))
    padded = tuple(i + lo + hi for i, (lo, hi) in zip(in_size, pads))
    effective = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if any(e > p for e, p in zip(effective, padded)):
        raise ConvError(f"{op}: calculated padded input size per channel: "
                        f"({' x '.join(map(str, padded))}). Kernel size: "
                        f"({' x '.join(map(str, effective))}) (dilated). Kernel size can't be greater "
                        "than actual input size")
    out = tuple(conv_output_size(i, k, s, lo + hi, d) for i, k, s, (lo, hi), d in
                zip(in_size, kernel, stride, pads, dilation))
    return Conv3dGeometry(tuple(kernel), stride, dilation, pads, groups, tuple(in_size), out)
