"""Indexing: reading entries out (``x[idx]``, ``gather``) and scattering gradients back in.

``y = x[idx]`` copies some entries of x into y.  Its backward must put each entry of g back where
it came from, and *add* when one entry of x was read several times (``x[[0, 0]]``):

    dL/dx = zeros_like(x);  dL/dx[idx] += g        (a scatter-add)

The scatter-add is itself an op (``IndexAdd``) whose backward is reading ``g[idx]`` again, so
indexing is differentiable to any order.  Basic indexing (ints, slices with steps, None, ...) returns
a NumPy view; integer arrays and boolean masks ("advanced" indexing) copy.

Tests: tests/op_registry/indexing.py, tests/test_indexing_vs_torch.py
"""
import numpy as np

from ..autograd import grad_mode
from ..autograd.engine import SliceGradient
from ..autograd.function import Function
from ..backend import array_module
from .checks import normalize_dim


class GetItem(Function):
    """y = x[index].   dL/dx = scatter-add of g into zeros shaped like x at ``index``."""

    returns_view = True  # basic indexing returns a view; advanced indexing copies

    @staticmethod
    def forward(ctx, x, index=None, advanced=False):
        ctx.in_shape, ctx.index, ctx.advanced = x.shape, index, advanced
        first, second = split_int_selects(index) if advanced else (index, None)
        return x[index] if second is None else x[first][second]

    @staticmethod
    def backward(ctx, g):
        if not ctx.advanced and not grad_mode.state.enabled:
            # not recorded (no create_graph): let the engine add g into x's gradient at the slice,
            # instead of building a full-size zeros-with-g here (see autograd/engine.py, step 6)
            return SliceGradient(ctx.in_shape, ctx.index, g.array)
        return IndexAdd.apply(g, shape=ctx.in_shape, index=ctx.index, advanced=ctx.advanced)


class IndexAdd(Function):
    """y = zeros(shape) with g added at ``index`` (duplicates add up).   dL/dg = dL/dy[index]."""

    @staticmethod
    def forward(ctx, g, shape=None, index=None, advanced=False):
        ctx.index, ctx.advanced = index, advanced
        xp = array_module(g)
        out = xp.zeros(shape, dtype=g.dtype)
        if advanced:
            first, second = split_int_selects(index)
            if second is None:
                scatter_add(out, index, g)
            else:
                scatter_add(out[first], second, g)  # out[first] is a view: the adds land in out
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
    _check_bounds(x, out)
    return tuple(out), advanced


def _check_bounds(x, index):
    """An integer index (plain or in an integer tensor) outside ``[-size, size)`` of the dim it
    indexes raises IndexError naming the dimension, the index and the size, as in PyTorch (NumPy
    would say "axis" and count the dims differently once ints and arrays mix)."""
    def width(item):   # how many dims of x an index item consumes
        if item is None or isinstance(item, (bool, np.bool_)):
            return 0
        if hasattr(item, "dtype") and item.dtype == np.bool_:
            return max(item.ndim, 1)
        return 1
    used = sum(width(it) for it in index if it is not Ellipsis)
    dim = 0
    for item in index:
        if item is Ellipsis:
            dim += max(x.ndim - used, 0)
            continue
        if dim >= x.ndim:
            return  # too many indices: NumPy's own IndexError says so
        size = x.shape[dim]
        bad = None
        if isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)):
            bad = int(item) if not -size <= item < size else None
        elif hasattr(item, "dtype") and item.dtype.kind in "iu" and item.size and \
                array_module(item) is np:
            lo, hi = int(item.min()), int(item.max())
            bad = hi if hi >= size else (lo if lo < -size else None)
        if bad is not None:
            raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size} "
                             f"(indexing a tensor of shape {tuple(x.shape)})")
        dim += width(item)


def _is_int(item):
    """A plain int, or a 0-d integer tensor (PyTorch treats both as a select)."""
    if hasattr(item, "dtype") and getattr(item, "ndim", None) == 0:
        return item.dtype.kind in "iu"
    return isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_))


def split_int_selects(index):
    """PyTorch applies the plain ints of an index first, as ``select``s, so they never count as
    advanced indices (NumPy counts them, which moves the advanced dims to the front in
    ``x[1, :, idx]``).  Returns (first, second) with ``x[index] == x[first][second]`` in
    PyTorch's sense; ``second`` is None when there is nothing to split."""
    if not any(_is_int(it) for it in index) or \
            not any(hasattr(it, "dtype") and it.ndim > 0 for it in index):
        return index, None   # no ints, or no advanced index for them to be reordered against
    first, second = [], []
    for item in index:
        if item is Ellipsis:
            first.append(item)
            second.append(item)
        elif _is_int(item):
            first.append(int(item))
        elif item is None or isinstance(item, (bool, np.bool_)):
            second.append(item)   # adds a dim, consumes none
        else:
            ndim = item.ndim if hasattr(item, "dtype") and item.dtype == np.bool_ else 1
            first.extend([slice(None)] * ndim)
            second.append(item)
    return tuple(first), tuple(second)


def assign(arr, index, advanced, values):
    """``arr[index] = values`` with PyTorch's index order (see ``split_int_selects``)."""
    first, second = split_int_selects(index) if advanced else (index, None)
    if second is None:
        arr[index] = values
    else:
        arr[first][second] = values  # arr[first] is a view (basic indexing)


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
    """int64 tensor with a 1 in position ``indices[...]`` of a new last dim (no gradient).

    As torch: ``indices`` must be int64 (``.long()`` converts), ``num_classes=-1`` means
    ``max(indices) + 1`` (so it can't be inferred from an empty tensor), and every class value must
    be in ``[0, num_classes)``.  Each violation raises RuntimeError naming what was found."""
    idx = indices.array if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.dtype != np.int64:
        raise RuntimeError(f"one_hot: indices must be an int64 (long) tensor, got dtype {idx.dtype}; "
                           "convert with .long()")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or \
            num_classes < -1:
        raise RuntimeError(f"one_hot: num_classes must be a non-negative int or -1 (infer), got "
                           f"{num_classes!r}")
    if num_classes == -1:
        if idx.size == 0:
            raise RuntimeError("one_hot: can't infer the number of classes from an empty tensor; "
                               "pass num_classes explicitly")
        num_classes = int(idx.max()) + 1
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0:
            raise RuntimeError(f"one_hot: class values must be non-negative, got {lo}")
        if hi >= num_classes:
            raise RuntimeError(f"one_hot: class values must be smaller than num_classes={num_classes}, "
                               f"got {hi}")
    xp = array_module(idx)
    return Tensor._wrap((idx[..., None] == xp.arange(num_classes)).astype(np.int64))


from ..tensor import Tensor  # noqa: E402
