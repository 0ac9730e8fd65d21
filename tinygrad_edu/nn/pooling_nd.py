"""1-D and 3-D pooling.

1-D: max_pool1d and avg_pool1d, as the 2-D pools of ``pooling.py`` on a height-1 image.

A window of size k (stride s, padding p, dilation d) sliding along the length of (N, C, L) is a
(1, k) window sliding over (N, C, 1, L).  So the math and gradients are those of pooling.py:
max pooling routes each g to the arg-max of its window (dL/dx = scatter-add of g at the
indices), average pooling spreads g[o]/divisor evenly over its window.  Indices returned by
max_pool1d are positions along L (the flat index h·L + w with h = 0).

3-D: max_pool3d and avg_pool3d slide a kd × kh × kw window over (N, C, D, H, W).  The output size
per dim is pooling.py's (ceil_mode included), and the code is pooling.py's with one more dim: a
loop over the kd·kh·kw window *taps*, tap (a, i, j) of every window at once being the strided
slice xpad[:, :, a·dd :: sd, i·dh :: sh, j·dw :: sw].

* max:  y = the window's maximum (the first one in (a, i, j) order wins ties; NaN wins).
        dL/dx[argmax of window] += g[window]   (a scatter-add, ``ScatterAddFlat``; its own
        derivative is a gather, so max pooling is twice differentiable).  ``return_indices``
        gives the flat index (d·H + h)·W + w of each maximum in its (D, H, W) input plane.
* avg:  y = Σ window / divisor (the window clipped to the padded volume, or to the volume itself
        with ``count_include_pad=False``, or ``divisor_override``).  Linear, so
        dL/dx = g/divisor spread back over each window (``AvgPool3dTranspose``), whose own
        backward is average pooling again.

Max unpooling lives in ``unpooling.py``.

Tests: tests/op_registry/pooling_nd.py, tests/test_conv_pool_3d.py"""
import itertools

import numpy as np

from ..autograd.function import Function
from ..backend import array_module
from ..tensor import Tensor
from .module import Module
from .pooling import ScatterAddFlat, _AvgPoolNd, _MaxPoolNd, _first_taps, avg_pool2d, max_pool2d
from .pooling_args import PoolError, _as_tuple, _check, _one, pool3d_geometry

__all__ = ["max_pool1d", "avg_pool1d", "max_pool3d", "avg_pool3d", "MaxPool3dFunction",
           "AvgPool3dFunction", "MaxPool1d", "MaxPool3d", "AvgPool1d", "AvgPool3d"]


# ---------------------------------------------------------------------------------------------
# 1-D: the 2-D pools on a height-1 image
# ---------------------------------------------------------------------------------------------
def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """Max pooling over (N, C, L) or (C, L), as ``torch.nn.functional.max_pool1d``."""
    op = "max_pool1d"
    k = _one(op, "kernel_size", kernel_size)
    s = k if stride is None or stride == () or stride == [] else _one(op, "stride", stride)
    _check(op, input, k, s, _one(op, "padding", padding), _one(op, "dilation", dilation), ceil_mode)
    out = max_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _one(op, "padding", padding)),
                     (1, _one(op, "dilation", dilation)), ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True):
    """Average pooling over (N, C, L) or (C, L), as ``torch.nn.functional.avg_pool1d``."""
    op = "avg_pool1d"
    k = _one(op, "kernel_size", kernel_size)
    s = k if stride is None or stride == () or stride == [] else _one(op, "stride", stride)
    _check(op, input, k, s, _one(op, "padding", padding), 1, ceil_mode)
    return avg_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _one(op, "padding", padding)),
                      ceil_mode, count_include_pad).squeeze(-2)


# ---------------------------------------------------------------------------------------------
# 3-D pooling: window taps
# ---------------------------------------------------------------------------------------------
def _as_batched3d(op, input):  # noqa: A002
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if input.ndim not in (4, 5):
        raise PoolError(f"{op}: expected a 4-D (C, D, H, W) or 5-D (N, C, D, H, W) input, got "
                        f"shape {tuple(input.shape)}")
    return (input.unsqueeze(0), True) if input.ndim == 4 else (input, False)


def _padded3d(x, pads, value):
    if not any(lo or hi for lo, hi in pads):
        return x
    shape = x.shape[:2] + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads))
    out = array_module(x).full(shape, value, dtype=x.dtype)
    out[_inner(x.shape[2:], pads)] = x
    return out


def _inner(size, pads):
    """The index of the in-volume part of a padded (N, C, Dp, Hp, Wp) array."""
    return (slice(None), slice(None)) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(size, pads))


def _taps(kernel):
    """Every window tap (a, i, j), in row-major order (the order ties are broken in)."""
    return itertools.product(*map(range, kernel))


def _tap_view(xpad, geom, tap):
    """Tap (a, i, j) of every window: a strided slice of shape (N, C, OD, OH, OW)."""
    return xpad[(slice(None), slice(None)) + tuple(
        slice(t * d, t * d + s * (o - 1) + 1, s)
        for t, d, s, o in zip(tap, geom.dilation, geom.stride, geom.out_size))]


# ---------------------------------------------------------------------------------------------
# max_pool3d
# ---------------------------------------------------------------------------------------------
def _max_pool3d_forward(x, geom):
    """The window maxima and which tap (flat over the kernel) won each.  As torch: the running
    maximum starts at −∞ pointing at the window's first in-volume tap, and a tap replaces it when
    strictly greater or NaN."""
    xp = array_module(x)
    kd, kh, kw = geom.kernel
    xpad = _padded3d(x, geom.pads, -np.inf)
    best = xp.full(x.shape[:2] + geom.out_size, -np.inf, dtype=x.dtype)
    fd, fh, fw = (_first_taps(o, s, lo, d, xp) for o, s, (lo, _), d in
                  zip(geom.out_size, geom.stride, geom.pads, geom.dilation))
    first = (fd[:, None, None] * kh + fh[None, :, None]) * kw + fw[None, None, :]
    arg = xp.broadcast_to(first.astype(np.int32), best.shape).copy()
    take = xp.empty(best.shape, dtype=bool)
    has_nan = x.size > 0 and bool(xp.isnan(x.max()))
    for flat, tap in enumerate(_taps(geom.kernel)):
        v = _tap_view(xpad, geom, tap)
        xp.greater(v, best, out=take)
        if has_nan:
            take |= xp.isnan(v)
        xp.copyto(best, v, where=take)
        xp.copyto(arg, flat, where=take)
    return best, arg


def _winner_positions(arg, geom, padded):
    """Per spatial dim, the padded-volume coordinate of each window's maximum (minus the leading
    padding unless ``padded``): window origin o·s plus the winning tap's offset t·d."""
    xp = array_module(arg)
    taps = np.unravel_index(np.arange(int(np.prod(geom.kernel))), geom.kernel)
    pos = []
    for k, (o, s, d, (lo, _)) in enumerate(zip(geom.out_size, geom.stride, geom.dilation, geom.pads)):
        shape = [1, 1, 1]
        shape[k] = o
        origin = (xp.arange(o, dtype=np.int64) * s - (0 if padded else lo)).reshape(shape)
        pos.append(origin + xp.asarray(taps[k], dtype=np.int64)[arg] * d)
    return pos


def _plane_index(pos, size):
    return (pos[0] * size[1] + pos[1]) * size[2] + pos[2]


class MaxPool3dFunction(Function):
    """y = max over each (kd, kh, kw) window.   dL/dx = g scattered to each window's argmax (added
    up where windows overlap), computed in the padded volume's coordinates and then cropped."""

    @staticmethod
    def forward(ctx, x, geom=None, indices_out=None):
        y, arg = _max_pool3d_forward(x, geom)
        if indices_out is not None:
            indices_out.append(_plane_index(_winner_positions(arg, geom, False), geom.in_size))
        if ctx.needs_input_grad:
            ctx.geom = geom
            padded = tuple(i + lo + hi for i, (lo, hi) in zip(geom.in_size, geom.pads))
            planes = array_module(x).arange(x.shape[0] * x.shape[1], dtype=np.int64) \
                .reshape(x.shape[0], x.shape[1], 1, 1, 1) * int(np.prod(padded))
            ctx.flat_index = planes + _plane_index(_winner_positions(arg, geom, True), padded)
            ctx.padded_shape = x.shape[:2] + padded
            ctx.unique = all(s >= d * (k - 1) + 1 for k, s, d in
                             zip(geom.kernel, geom.stride, geom.dilation))
        return y

    @staticmethod
    def backward(ctx, g):
        dxpad = ScatterAddFlat.apply(g, index=ctx.flat_index, shape=ctx.padded_shape,
                                     unique=ctx.unique)
        return dxpad[_inner(ctx.geom.in_size, ctx.geom.pads)]


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """Max pooling over (N, C, D, H, W) or (C, D, H, W), as ``torch.nn.functional.max_pool3d``;
    ``stride`` defaults to ``kernel_size``, ``padding`` (at most half the kernel) adds −∞.  With
    ``return_indices`` also returns the flat index (d·H + h)·W + w of each maximum (int64).
    Gradient: dL/dx[argmax of a window] += g[window] (every other entry gets 0)."""
    op = "max_pool3d"
    x, unbatched = _as_batched3d(op, input)
    geom = pool3d_geometry(op, x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    found = [] if return_indices else None
    out = MaxPool3dFunction.apply(x, geom=geom, indices_out=found)
    if not return_indices:
        return out.squeeze(0) if unbatched else out
    indices = Tensor._wrap(found[0])
    return (out.squeeze(0), indices.squeeze(0)) if unbatched else (out, indices)


# ---------------------------------------------------------------------------------------------
# avg_pool3d
# ---------------------------------------------------------------------------------------------
def _avg3d_divisor(geom, count_include_pad, divisor_override, xp, dtype):
    """The (OD, OH, OW) array each window sum is divided by: the product over the dims of the
    window's length clipped to the padded volume (or to the volume without the padding)."""
    if divisor_override is not None:
        return xp.full(geom.out_size, divisor_override, dtype=dtype)
    total = np.ones((), dtype=np.int64)
    for o, k, s, (p, _), size in zip(geom.out_size, geom.kernel, geom.stride, geom.pads, geom.in_size):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, size + p)
        length = end - start if count_include_pad else np.minimum(end, size) - np.maximum(start, 0)
        total = np.multiply.outer(total, length)
    return xp.asarray(total, dtype=dtype)


class AvgPool3dFunction(Function):
    """y = Σ window / divisor.   dL/dx = ``AvgPool3dTranspose`` of g."""

    @staticmethod
    def forward(ctx, x, geom=None, divisor=None):
        ctx.geom, ctx.divisor = geom, divisor
        xpad = _padded3d(x, geom.pads, 0)
        total = array_module(x).zeros(x.shape[:2] + geom.out_size, dtype=x.dtype)
        for tap in _taps(geom.kernel):
            total += _tap_view(xpad, geom, tap)
        total /= divisor
        return total

    @staticmethod
    def backward(ctx, g):
        return AvgPool3dTranspose.apply(g, geom=ctx.geom, divisor=ctx.divisor)


class AvgPool3dTranspose(Function):
    """dx = g/divisor added into every tap of its window, the padding cropped after: the adjoint
    of average pooling.  Its own backward is average pooling."""

    @staticmethod
    def forward(ctx, g, geom=None, divisor=None):
        ctx.geom, ctx.divisor = geom, divisor
        share = g / divisor
        padded = tuple(i + lo + hi for i, (lo, hi) in zip(geom.in_size, geom.pads))
        dxpad = array_module(g).zeros(g.shape[:2] + padded, dtype=g.dtype)
        for tap in _taps(geom.kernel):
            _tap_view(dxpad, geom, tap)[...] += share
        return dxpad[_inner(geom.in_size, geom.pads)]

    @staticmethod
    def backward(ctx, h):
        return AvgPool3dFunction.apply(h, geom=ctx.geom, divisor=ctx.divisor)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    """Average pooling over (N, C, D, H, W) or (C, D, H, W), as ``torch.nn.functional.avg_pool3d``:
    zero padding, ``stride`` defaults to ``kernel_size``, the divisor as in the module docstring.
    y = Σ window / divisor; gradient: dL/dx = Σ over the windows holding x of g / divisor."""
    op = "avg_pool3d"
    x, unbatched = _as_batched3d(op, input)
    if divisor_override is not None and divisor_override == 0:
        raise PoolError(f"{op}: divisor_override must be non-zero")
    geom = pool3d_geometry(op, x.shape, kernel_size, stride, padding, 1, ceil_mode)
    divisor = _avg3d_divisor(geom, count_include_pad, divisor_override, array_module(x.array), x.dtype)
    out = AvgPool3dFunction.apply(x, geom=geom, divisor=divisor)
    return out.squeeze(0) if unbatched else out


# ---------------------------------------------------------------------------------------------
# modules (torch keeps kernel_size / stride / padding as given; AvgPool1d makes them tuples)
# ---------------------------------------------------------------------------------------------
class MaxPool1d(_MaxPoolNd):
    """Max pooling over (N, C, L) or (C, L) (``F.max_pool1d``)."""
    _pool = staticmethod(max_pool1d)


class MaxPool3d(_MaxPoolNd):
    """Max pooling over (N, C, D, H, W) or (C, D, H, W) (``F.max_pool3d``)."""
    _pool = staticmethod(max_pool3d)


class AvgPool1d(Module):
    """Average pooling over (N, C, L) or (C, L) (``F.avg_pool1d``)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        self.kernel_size = _as_tuple(kernel_size, 1)
        self.stride = _as_tuple(stride if stride is not None else kernel_size, 1)
        self.padding = _as_tuple(padding, 1)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input):  # noqa: A002
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool3d(_AvgPoolNd):
    """Average pooling over (N, C, D, H, W) or (C, D, H, W) (``F.avg_pool3d``)."""
    _pool = staticmethod(avg_pool3d)
