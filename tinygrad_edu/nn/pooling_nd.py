"""1-D and 3-D pooling, and max unpooling.

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

Max unpooling (max_unpool1d/2d/3d) is a partial inverse of max pooling: given the maxima x and
the indices max_pool*d(return_indices=True) returned, it writes each x back at its index into a
zero output plane (N, C, *output_size), default size (in − 1)·s − 2p + k per dim:

    y.flat_plane[indices[k]] = x[k]        dL/dx[k] = g.flat_plane[indices[k]]   (a gather)

It is linear in x; the gather's own derivative is the scatter again."""
import itertools
from collections import namedtuple

import numpy as np

from ..autograd.function import Function
from ..backend import array_module
from ..tensor import Tensor
from .pooling import (GatherFlat, PoolError, ScatterAddFlat, _first_taps, avg_pool2d, max_pool2d,
                      pool_output_size)

__all__ = ["max_pool1d", "avg_pool1d", "max_pool3d", "avg_pool3d", "max_unpool1d", "max_unpool2d",
           "max_unpool3d"]


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
# 3-D pooling: geometry and window taps
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


class MaxPool3d(Function):
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
    out = MaxPool3d.apply(x, geom=geom, indices_out=found)
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


class AvgPool3d(Function):
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
        return AvgPool3d.apply(h, geom=ctx.geom, divisor=ctx.divisor)


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
    out = AvgPool3d.apply(x, geom=geom, divisor=divisor)
    return out.squeeze(0) if unbatched else out


# ---------------------------------------------------------------------------------------------
# max unpooling
# ---------------------------------------------------------------------------------------------
class MaxUnpool(Function):
    """y = zeros(N, C, *output_size) with y.flat[index[k]] = x.flat[k] (``index`` already holds
    each plane's offset).   dL/dx = h.flat[index], a gather (``GatherFlat``)."""

    @staticmethod
    def forward(ctx, x, index=None, shape=None):
        ctx.index = index
        out = array_module(x).zeros(int(np.prod(shape)), dtype=x.dtype)
        out[index.reshape(-1)] = x.reshape(-1)
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, h):
        return GatherFlat.apply(h, index=ctx.index)


def unpool_output_size(op, in_size, kernel, stride, padding, output_size):
    """The default (in − 1)·s − 2p + k per dim, or ``output_size`` (its last len(kernel) entries
    when it also names N and C), which must lie strictly within default ± stride."""
    default = tuple((i - 1) * s + k - 2 * p for i, k, s, p in zip(in_size, kernel, stride, padding))
    if output_size is None:
        return default
    size = tuple(int(v) for v in output_size)
    n = len(kernel)
    if len(size) == n + 2:
        size = size[2:]
    if len(size) != n:
        raise PoolError(f"{op}: output_size should be a sequence of {n} or {n + 2} ints, got "
                        f"{tuple(output_size)!r}")
    for k, (v, dflt, s) in enumerate(zip(size, default, stride)):
        if not dflt - s < v < dflt + s:
            raise PoolError(f"{op}: invalid output_size {tuple(output_size)} (dim {k} must be "
                            f"between {dflt - s} and {dflt + s}, exclusive)")
    return size


def _max_unpool(op, n, input, indices, kernel_size, stride, padding, output_size):  # noqa: A002
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor input, got {type(input).__name__}")
    if input.ndim not in (n + 1, n + 2):
        raise PoolError(f"{op}: expected a {n + 1}-D (unbatched) or {n + 2}-D (batched) input, got "
                        f"shape {tuple(input.shape)}")
    idx = indices.array if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.dtype.kind not in "iu" or tuple(idx.shape) != tuple(input.shape):
        raise PoolError(f"{op}: indices must be an integer tensor of the input's shape "
                        f"{tuple(input.shape)}, got dtype {idx.dtype} and shape {tuple(idx.shape)}")
    kernel = _ntuple(op, "kernel_size", kernel_size, n, 1)
    stride = kernel if _no_stride(stride) else _ntuple(op, "stride", stride, n, 1)
    padding = _ntuple(op, "padding", padding, n, 0)
    size = unpool_output_size(op, tuple(input.shape[-n:]), kernel, stride, padding, output_size)
    if min(size) < 0:
        raise PoolError(f"{op}: the output size {size} has a negative dim")
    x = input if input.ndim == n + 2 else input.unsqueeze(0)
    idx = idx.reshape(x.shape).astype(np.int64)
    plane = int(np.prod(size))
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
        raise PoolError(f"{op}: found an invalid max index {bad}: an output plane of size "
                        f"{' x '.join(map(str, size))} holds indices 0..{plane - 1} "
                        f"(input shape {tuple(input.shape)})")
    xp = array_module(x.array)
    planes = xp.arange(x.shape[0] * x.shape[1], dtype=np.int64).reshape(
        (x.shape[0], x.shape[1]) + (1,) * n) * plane
    out = MaxUnpool.apply(x, index=xp.asarray(idx) + planes, shape=tuple(x.shape[:2]) + size)
    return out if input.ndim == n + 2 else out.squeeze(0)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    """Partial inverse of max_pool1d, as ``torch.nn.functional.max_unpool1d``: input and indices
    (N, C, L) or (C, L) -> (N, C, L_out), L_out = (L − 1)·s − 2p + k or ``output_size``.
    y[indices[l]] = x[l] (zeros elsewhere); gradient dL/dx[l] = g[indices[l]]."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    """Partial inverse of max_pool2d, as ``torch.nn.functional.max_unpool2d``: indices are flat
    h·W_out + w positions in each output plane.  y.flat[indices[k]] = x[k] (zeros elsewhere);
    gradient dL/dx[k] = g.flat[indices[k]]."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    """Partial inverse of max_pool3d, as ``torch.nn.functional.max_unpool3d``: indices are flat
    (d·H_out + h)·W_out + w positions in each output plane.  y.flat[indices[k]] = x[k] (zeros
    elsewhere); gradient dL/dx[k] = g.flat[indices[k]]."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)
