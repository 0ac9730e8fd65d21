"""Pooling: summarise each window of an image by its maximum or its average.

A pooling window of kh × kw pixels slides over each channel with a stride (by default the
window size, so windows tile the image), after ``padding`` on every side.  The output size is
the convolution's

    out = ⌊(in + 2·pad − d·(k − 1) − 1) / s⌋ + 1          (⌈…⌉ with ``ceil_mode``; a last
                                                          window that would start in the
                                                          right padding is dropped)

Nothing loops over pixels here: a loop over the kh·kw *offsets* of the window visits offset
(i, j) of every window at once as the strided slice xpad[:, :, i·d :: s, j·d :: s].

* **max pooling**   y = max of the window.  The gradient flows only to the entry that was the
  maximum (PyTorch's tie rule: the first maximum in row-major window order; a NaN wins):
      dL/dx[argmax of window] += g[window]
  a scatter-add (windows may overlap when stride < kernel).  Its own derivative is a gather, so
  max pooling is differentiable twice (``ScatterAddFlat`` and ``GatherFlat``).
* **average pooling**   y = (Σ window) / divisor, the divisor being the window size (or only its
  in-image part with ``count_include_pad=False``).  It is linear: dL/dx spreads g/divisor back
  over each window (``AvgPool2dTranspose``), and that op's backward is average pooling again.
* **adaptive average pooling**   output cell i averages input rows start..end−1 with
  start = ⌊i·H/OH⌋, end = ⌈(i+1)·H/OH⌉ (PyTorch's formula), the same for columns.  Averaging rows
  is multiplying by a (OH, H) matrix A_H with 1/(end − start) on each window, so
      y = A_H · x · A_Wᵀ         and   dL/dx = A_Hᵀ · g · A_W
  two matmuls of Tensors: autograd gives every derivative.

Tests: tests/op_registry/pooling.py, tests/test_conv_layers.py
"""
import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from ..backend import array_module, kernel
from ..tensor import Tensor
from .module import Module
from .pooling_args import PoolError, pool_geometry
from .pooling_arrays import (_cropped, _first_taps, _no_overlap, _padded, _padded_flat_indices,  # noqa: F401
                             _plane_indices, _scatter_add_flat, _window_offset)

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "MaxPool2dFunction",
           "AvgPool2dFunction", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]


def _as_batched(op, input):  # noqa: A002
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if input.ndim not in (3, 4):
        raise PoolError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                        f"{tuple(input.shape)}")
    return (input.unsqueeze(0), True) if input.ndim == 3 else (input, False)


# ---------------------------------------------------------------------------------------------
# max pooling (its array code and reference kernels: pooling_arrays.py)
# ---------------------------------------------------------------------------------------------
class MaxPool2dFunction(Function):
    """y = max over each window.   dL/dx = g scattered to each window's argmax (added up where
    windows overlap).  See the module docstring.

    The forward keeps only the winning tap of each window (``arg``, int8).  A plain backward is one
    kernel on arrays (``max_pool2d_backward``); a recorded one (``create_graph=True``) scatters in the
    coordinates of the *padded* input with ``ScatterAddFlat`` (differentiable: its backward is a
    gather) and crops the padding after: a window made only of padding (possible with dilation on
    a tiny image) outputs −∞ and its gradient lands in the padding, i.e. nowhere."""

    @staticmethod
    def forward(ctx, x, geom=None, indices_out=None):
        y, arg = kernel("max_pool2d_forward", array_module(x))(x, geom)
        if indices_out is not None:        # max_pool2d(..., return_indices=True) wants them
            indices_out.append(_plane_indices(arg, geom))
        if ctx.needs_input_grad:           # only a recorded graph needs the argmax positions
            ctx.geom, ctx.arg, ctx.batch_shape = geom, arg, x.shape[:2]
        return y

    @staticmethod
    def backward(ctx, g):
        if not grad_mode.is_grad_enabled():   # the usual case: no graph of the backward
            return Tensor._wrap(kernel("max_pool2d_backward", array_module(g.array))(g.array, ctx.arg,
                                                                                     ctx.geom))
        flat_index, padded_shape = _padded_flat_indices(ctx.arg, ctx.geom, ctx.batch_shape)
        dxpad = ScatterAddFlat.apply(g, index=flat_index, shape=padded_shape,
                                     unique=_no_overlap(ctx.geom))
        return _cropped(dxpad, ctx.geom)


class ScatterAddFlat(Function):
    """y = zeros(shape) with y.flat[index[k]] += g.flat[k].   dL/dg = h.flat[index] (a gather).

    When no index repeats (non-overlapping pooling windows) the scatter is a plain assignment;
    otherwise ``bincount`` adds the repeats."""

    @staticmethod
    def forward(ctx, g, index=None, shape=None, unique=False):
        ctx.index = index
        return _scatter_add_flat(g, index, shape, unique)

    @staticmethod
    def backward(ctx, h):
        return GatherFlat.apply(h, index=ctx.index)


class GatherFlat(Function):
    """y = x.flat[index] (shaped like ``index``).   dL/dx = scatter-add of h at ``index``."""

    @staticmethod
    def forward(ctx, x, index=None):
        ctx.index, ctx.shape = index, x.shape
        return x.reshape(-1)[index]

    @staticmethod
    def backward(ctx, h):
        return ScatterAddFlat.apply(h, index=ctx.index, shape=ctx.shape, unique=False)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """Max pooling, as ``torch.nn.functional.max_pool2d``: input (N, C, H, W) or (C, H, W);
    ``stride`` defaults to ``kernel_size``; ``padding`` (at most half the effective kernel) adds
    −∞ around the image.  With ``return_indices`` also returns, for each output, the flat index
    h·W + w of its maximum in the input plane (int64).  Math and gradient: module docstring."""
    op = "max_pool2d"
    x, unbatched = _as_batched(op, input)
    geom = pool_geometry(op, x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    found = [] if return_indices else None
    out = MaxPool2dFunction.apply(x, geom=geom, indices_out=found)
    if not return_indices:
        return out.squeeze(0) if unbatched else out
    indices = Tensor._wrap(found[0])
    return (out.squeeze(0), indices.squeeze(0)) if unbatched else (out, indices)


# ---------------------------------------------------------------------------------------------
# average pooling
# ---------------------------------------------------------------------------------------------
def _avg_divisor(geom, count_include_pad, divisor_override, xp, dtype):
    """The (OH, OW) array each window sum is divided by (PyTorch's rule): the window clipped to
    the padded image, or to the image itself when padding is not counted."""
    if divisor_override is not None:
        return xp.full(geom.out_hw, divisor_override, dtype=dtype)
    sizes = []
    for o, k, s, p, size in zip(geom.out_hw, geom.kernel, geom.stride, geom.pads[::2], geom.in_hw):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, size + p)
        if count_include_pad:
            sizes.append(end - start)
        else:
            sizes.append(np.minimum(end, size) - np.maximum(start, 0))
    return xp.asarray(np.outer(sizes[0], sizes[1]), dtype=dtype)


class AvgPool2dFunction(Function):
    """y = (Σ window) / divisor.   dL/dx = ``AvgPool2dTranspose`` of g (linear: g/divisor spread
    back over each window)."""

    @staticmethod
    def forward(ctx, x, geom=None, divisor=None):
        ctx.geom, ctx.divisor = geom, divisor
        kh, kw = geom.kernel
        xpad = _padded(x, geom.pads, 0)
        total = _window_offset(xpad, geom, 0, 0).copy()
        for i in range(kh):
            for j in range(kw):
                if i or j:
                    total += _window_offset(xpad, geom, i, j)
        total /= divisor
        return total

    @staticmethod
    def backward(ctx, g):
        return AvgPool2dTranspose.apply(g, geom=ctx.geom, divisor=ctx.divisor)


class AvgPool2dTranspose(Function):
    """dx = g/divisor added into every window position (then the padding cropped): the adjoint of
    average pooling.  Its own backward is average pooling."""

    @staticmethod
    def forward(ctx, g, geom=None, divisor=None):
        ctx.geom, ctx.divisor = geom, divisor
        (kh, kw), (h, w) = geom.kernel, geom.in_hw
        top, bottom, left, right = geom.pads
        share = g / divisor
        n, c = g.shape[:2]
        dxpad = array_module(g).zeros((n, c, h + top + bottom, w + left + right), dtype=g.dtype)
        for i in range(kh):
            for j in range(kw):
                _window_offset(dxpad, geom, i, j)[...] += share
        return dxpad[:, :, top:top + h, left:left + w]

    @staticmethod
    def backward(ctx, h):
        return AvgPool2dFunction.apply(h, geom=ctx.geom, divisor=ctx.divisor)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    """Average pooling, as ``torch.nn.functional.avg_pool2d``: zero padding, ``stride`` defaults
    to ``kernel_size``; the divisor counts padded positions unless ``count_include_pad=False``,
    or is ``divisor_override``.  Math and gradient: module docstring."""
    op = "avg_pool2d"
    x, unbatched = _as_batched(op, input)
    if divisor_override is not None and divisor_override == 0:
        raise PoolError(f"{op}: divisor_override must be non-zero")
    geom = pool_geometry(op, x.shape, kernel_size, stride, padding, 1, ceil_mode)
    divisor = _avg_divisor(geom, count_include_pad, divisor_override, array_module(x.array), x.dtype)
    out = AvgPool2dFunction.apply(x, geom=geom, divisor=divisor)
    return out.squeeze(0) if unbatched else out


# ---------------------------------------------------------------------------------------------
# adaptive average pooling
# ---------------------------------------------------------------------------------------------
def adaptive_pool_matrix(in_size, out_size, dtype=np.float32):
    """The (out_size, in_size) averaging matrix: row i is 1/(end − start) on columns start..end−1,
    start = ⌊i·in/out⌋, end = ⌈(i+1)·in/out⌉."""
    a = np.zeros((out_size, in_size), dtype=np.float64)
    for i in range(out_size):
        start = (i * in_size) // out_size
        end = -((-(i + 1) * in_size) // out_size)
        a[i, start:end] = 1.0 / (end - start)
    return a.astype(dtype)


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    """Adaptive average pooling to ``output_size`` (an int, or a pair whose None entries keep the
    input's size), as ``torch.nn.functional.adaptive_avg_pool2d``: y = A_H · x · A_Wᵀ (module
    docstring).  ``output_size=1`` is the global average pool of ResNet's head."""
    op = "adaptive_avg_pool2d"
    x, unbatched = _as_batched(op, input)
    size = (output_size, output_size) if isinstance(output_size, (int, np.integer)) \
        else tuple(output_size)
    if len(size) != 2:
        raise PoolError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    size = tuple(x.shape[2 + k] if s is None else s for k, s in enumerate(size))
    if any(not isinstance(s, (int, np.integer)) or s < 0 for s in size):
        raise PoolError(f"{op}: output_size must hold non-negative ints (or None), got "
                        f"{output_size!r}")
    if 0 in x.shape[2:]:
        raise PoolError(f"{op}: expected an input with non-zero spatial size, got shape "
                        f"{tuple(input.shape)}")
    xp = array_module(x.array)
    rows = Tensor._wrap(xp.asarray(adaptive_pool_matrix(x.shape[2], size[0], x.dtype)))
    cols = Tensor._wrap(xp.asarray(adaptive_pool_matrix(x.shape[3], size[1], x.dtype).T))
    out = rows @ x @ cols if size != tuple(x.shape[2:]) else x * 1
    return out.squeeze(0) if unbatched else out


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
class _MaxPoolNd(Module):
    """The max-pooling modules' shared part (``_pool``: the functional form); ``stride`` defaults to
    ``kernel_size``, and the sizes stay as given, as in torch."""
    _pool = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):  # noqa: A002
        return type(self)._pool(input, self.kernel_size, self.stride, self.padding, self.dilation,
                                ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, " \
               f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"


class MaxPool2d(_MaxPoolNd):
    """Max pooling over kernel_size windows (``stride`` defaults to ``kernel_size``)."""
    _pool = staticmethod(max_pool2d)


class _AvgPoolNd(Module):
    """The 2-D and 3-D average-pooling modules' shared part (``_pool``: the functional form)."""
    _pool = None

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):  # noqa: A002
        return type(self)._pool(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    """Average pooling over kernel_size windows (``stride`` defaults to ``kernel_size``)."""
    _pool = staticmethod(avg_pool2d)


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size`` whatever the input size (PyTorch's windows)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):  # noqa: A002
        return adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
