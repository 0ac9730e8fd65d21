"""Indexing: reading entries out (``x[idx]``, ``gather``) and scattering gradients back in.

``y = x[idx]`` copies some entries of x into y.  Its backward must put each entry of g back where
it came from, and *add* when one entry of x was read several times (``x[[0, 0]]``):

    dL/dx = zeros_like(x);  dL/dx[idx] += g        (a scatter-add)

The scatter-add is itself an op (``IndexAdd``) whose backward is reading ``g[idx]`` again, so
indexing is differentiable to any order.  Basic indexing (ints, slices with steps, None, ...) returns
a NumPy view; integer arrays and boolean masks ("advanced" indexing) copy.
"""
import numpy as np

from ..autograd.function import Function
from ..backend import array_module
from .checks import normalize_dim


class GetItem(Function):
    """y = x[index].   dL/dx = scatter-add of g into zeros shaped like x at ``index``."""

    returns_view = True  # basic indexing returns a view; advanced indexing copies

    @staticmethod
    def forward(ctx, x, index=None, advanced=False):
        ctx.in_shape, ctx.index, ctx.advanced = x.shape, index, advanced
        return x[index]

    @staticmethod
    def backward(ctx, g):
        return IndexAdd.apply(g, shape=ctx.in_shape, index=ctx.index, advanced=ctx.advanced)


class IndexAdd(Function):
    """y = zeros(shape) with g added at ``index`` (duplicates add up).   dL/dg = dL/dy[index]."""

    @staticmethod
    def forward(ctx, g, shape=None, index=None, advanced=False):
        ctx.index, ctx.advanced = index, advanced
        xp = array_module(g)
        out = xp.zeros(shape, dtype=g.dtype)
        if advanced:
            scatter_add(out, index, g)
        else:
            out[index] = g  # a basic index never names an entry twice
        return out

    @staticmethod
    def backward(ctx, gg):
        return GetItem.apply(gg, index=ctx.index, advanced=ctx.advanced)


def scatter_add(out, index, values):
    """``out[index] += values`` where repeated indices accumulate (NumPy: ``add.at``; CuPy:
    ``cupyx.scatter_add``).  This is the hot spot of embedding backward."""
    if array_module(out) is np:
        np.add.at(out, index, values)
    else:
        import cupyx
        cupyx.scatter_add(out, index, values)


def _normalize_index(x, index):
    """Turn an index into what NumPy wants, and tell whether it is 'advanced'.  Tensors and lists
    become arrays; bool tensors stay masks."""
    if not isinstance(index, tuple):
        index = (index,)
    out, advanced = [], False
    for item in index:
        if isinstance(item, Tensor):
            item = item.array
            if item.dtype.kind not in "biu":
                raise IndexError(f"getitem: tensors used as indices must be integer or bool, got "
                                 f"dtype {item.dtype}")
            advanced = True
        elif isinstance(item, (list, np.ndarray)) or (item is not None and array_module(item) is not np):
            item = array_module(item).asarray(item)
            if item.dtype.kind not in "biu":
                raise IndexError(f"getitem: index arrays must be integer or bool, got dtype "
                                 f"{item.dtype}")
            advanced = True
        elif isinstance(item, slice):
            if item.step is not None and item.step <= 0:
                raise ValueError(f"getitem: slice step must be positive, got {item.step}")
        elif not (item is None or item is Ellipsis or isinstance(item, (int, np.integer))):
            raise IndexError(f"getitem: unsupported index {item!r} of type {type(item).__name__}; "
                             "use ints, slices, None, ..., integer or bool tensors")
        out.append(item)
    return tuple(out), advanced


def getitem(x, index):
    index, advanced = _normalize_index(x, index)
    return GetItem.apply(x, index=index, advanced=advanced)


def gather(x, dim, index):
    """``out[i][j][k] = x[index[i][j][k]][j][k]`` for dim 0 (and likewise for other dims), as
    ``torch.gather``.  It is advanced indexing with ``index`` in the ``dim`` position and a
    plain ``arange`` everywhere else, so its gradient is the same scatter-add."""
    idx = index.array if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer tensor, got dtype {idx.dtype}")
    d = normalize_dim("gather", dim, x.ndim)
    if idx.ndim != x.ndim:
        raise ValueError(f"gather: index {tuple(idx.shape)} and input {tuple(x.shape)} must have the "
                         "same number of dims")
    for i, (si, sx) in enumerate(zip(idx.shape, x.shape)):
        if i != d and si > sx:
            raise ValueError(f"gather: index {tuple(idx.shape)} is larger than input "
                             f"{tuple(x.shape)} in dim {i}")
    if idx.size and (idx.min() < -x.shape[d] or idx.max() >= x.shape[d]):
        raise IndexError(f"gather: index out of range for dim {dim} of size {x.shape[d]} "
                         f"(values from {int(idx.min())} to {int(idx.max())})")
    xp = array_module(idx)
    grids = xp.ogrid[tuple(slice(0, s) for s in idx.shape)] if idx.ndim else []
    full = tuple(idx if i == d else grids[i] for i in range(idx.ndim))
    return GetItem.apply(x, index=full, advanced=True)


def one_hot(indices, num_classes=-1):
    """int64 tensor with a 1 in position ``indices[...]`` of a new last dim (no gradient)."""
    idx = indices.array if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: indices must be an integer tensor, got dtype {idx.dtype}")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got values from "
                         f"{int(idx.min())} to {int(idx.max())}")
    xp = array_module(idx)
    return Tensor._wrap((idx[..., None] == xp.arange(num_classes)).astype(np.int64))


from ..tensor import Tensor  # noqa: E402
