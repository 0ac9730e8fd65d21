"""Convolution written as the definition: nested loops, one multiply-add at a time (for teaching).

Read this first, then ``conv.py``: both compute

    y[n, o, p, q] = b[o] + Σ_c Σ_i Σ_j  w[o, c, i, j] · xpad[n, g·(C/G) + c, p·sh + i·dh, q·sw + j·dw]

(g = the group of filter o).  Here every index of that formula is a Python loop, so the code is
the formula; ``conv.py`` computes exactly the same numbers with one matrix product, orders of
magnitude faster (every multiply-add here is a trip through the Python interpreter).  The tests
check that the two agree.

Forward only, on NumPy arrays: the gradients live in ``conv.py``.
"""
import numpy as np

from .conv import conv_geometry


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
