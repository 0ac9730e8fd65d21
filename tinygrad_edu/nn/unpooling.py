"""Max unpooling: ``F.max_unpool1d/2d/3d`` and ``nn.MaxUnpool1d/2d/3d``.

Max unpooling (max_unpool1d/2d/3d) is a partial inverse of max pooling: given the maxima x and
the indices max_pool*d(return_indices=True) returned, it writes each x back at its index into a
zero output plane (N, C, *output_size), default size (in − 1)·s − 2p + k per dim:

    y.flat_plane[indices[k]] = x[k]        dL/dx[k] = g.flat_plane[indices[k]]   (a gather)

It is linear in x; the gather's own derivative is the scatter again.

Tests: tests/op_registry/unpooling.py, tests/test_conv_pool_3d.py
"""
import numpy as np

from ..autograd.function import Function
from ..backend import array_module
from ..tensor import Tensor
from .module import Module
from .pooling import GatherFlat
from .pooling_args import PoolError, _as_tuple, _no_stride, _ntuple

__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d", "MaxUnpool1d", "MaxUnpool2d",
           "MaxUnpool3d"]


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


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
class _MaxUnpoolNd(Module):
    _unpool, dims = None, 1

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _as_tuple(kernel_size, self.dims)
        self.stride = _as_tuple(stride if stride is not None else kernel_size, self.dims)
        self.padding = _as_tuple(padding, self.dims)

    def forward(self, input, indices, output_size=None):  # noqa: A002
        return type(self)._unpool(input, indices, self.kernel_size, self.stride, self.padding,
                                  output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of ``MaxPool1d``: forward(input, indices, output_size=None)."""
    _unpool, dims = staticmethod(max_unpool1d), 1


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of ``MaxPool2d``: forward(input, indices, output_size=None)."""
    _unpool, dims = staticmethod(max_unpool2d), 2


class MaxUnpool3d(_MaxUnpoolNd):
    """Partial inverse of ``MaxPool3d``: forward(input, indices, output_size=None)."""
    _unpool, dims = staticmethod(max_unpool3d), 3
