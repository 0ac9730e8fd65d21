"""Argument checks shared by the ops: each error names the op, the shapes and what was expected
(Chainer's ``type_check`` idea; a bare NumPy traceback teaches nothing)."""
import numpy as np


def normalize_dim(op, dim, ndim):
    """One dim index, negative counted from the end, checked against ``ndim``."""
    if type(dim) is int and -ndim <= dim < ndim:   # the usual case, decided in two comparisons
        return dim + ndim if dim < 0 else dim
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)  # a 0-d tensor accepts dim 0 / -1
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or not lo <= dim <= hi:
        raise IndexError(f"{op}: dim {dim!r} is out of range for a tensor with {ndim} dims "
                         f"(expected an int in [{lo}, {hi}])")
    return int(dim) % ndim if ndim else 0


def normalize_dims(op, dim, ndim):
    """``None`` or ``()`` (all dims, as PyTorch), an int or a tuple of ints -> a sorted tuple of
    non-negative dims."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    if type(dim) is int and -ndim <= dim < ndim:   # one plain dim: the usual case
        return (dim + ndim if dim < 0 else dim,)
    if isinstance(dim, (int, np.integer)):
        dim = (dim,)
    dims = tuple([normalize_dim(op, d, ndim) for d in dim])
    if len(set(dims)) != len(dims):
        raise ValueError(f"{op}: dim {dim} names a dimension twice")
    return tuple(sorted(dims)) if ndim else ()


def keepdim_shape(shape, dims):
    """``shape`` with every reduced dim set to 1 (where a keepdim=False result broadcasts back)."""
    return tuple(1 if i in dims else s for i, s in enumerate(shape))
