"""Embeddings: ``F.embedding`` / ``nn.Embedding``, a table of vectors looked up by integer index.

A lookup is a copy of rows, so its gradient puts every row of g back into the row it was read from,
adding where an index repeats (a scatter-add, see ``EmbeddingFunction``).

Tests: tests/op_registry/embedding.py, tests/test_kernels_attention_optim.py
"""
import numpy as np

from .. import creation
from ..autograd import grad_mode
from ..autograd.function import Function
from ..backend import array_module, kernel, register_kernel, to_device
from ..ops.indexing import IndexAdd, scatter_add
from ..tensor import Tensor
from . import init
from .module import Module, Parameter

__all__ = ["embedding", "EmbeddingFunction", "Embedding"]


class EmbeddingFunction(Function):
    """y[..., :] = weight[indices[...], :]  — a table lookup.

    Its gradient puts every row of g back into the row of the table it was read from, *adding*
    when an index occurs several times (a scatter-add):

        dL/dweight = zeros(V, D);  dL/dweight[indices[k]] += g[k]   for every position k

    The row ``padding_idx`` gets no gradient (its g rows are left out of the scatter); with
    ``scale_grad_by_freq`` each g row is divided by how often its index occurs in this batch.
    An ordinary backward runs the scatter-add as the ``embedding_backward`` kernel (reference:
    ``np.add.at``; fast tier: ``kernels/embedding_backward.py``).  Under ``create_graph=True`` it is
    the ``IndexAdd`` op, whose own backward is a lookup again, so the gradient is differentiable to
    any order.
    """

    @staticmethod
    def forward(ctx, weight, indices=None, padding_idx=None, scale_grad_by_freq=False):
        ctx.indices, ctx.table_shape = indices, weight.shape
        ctx.padding_idx, ctx.scale_grad_by_freq = padding_idx, scale_grad_by_freq
        return weight[indices]

    @staticmethod
    def backward(ctx, g):
        xp = array_module(ctx.indices)
        flat = ctx.indices.reshape(-1)
        factor = None
        if ctx.scale_grad_by_freq:
            factor = xp.ones(flat.shape, dtype=g.dtype)
            factor /= xp.bincount(flat, minlength=ctx.table_shape[0])[flat]
        if grad_mode.is_grad_enabled():                   # create_graph: stay differentiable
            rows = g.reshape(-1, ctx.table_shape[1])
            if factor is not None:
                rows = rows * Tensor._wrap(factor[:, None])
            if ctx.padding_idx is not None:
                rows = rows.masked_fill(Tensor._wrap((flat == ctx.padding_idx)[:, None]), 0.0)
            return IndexAdd.apply(rows, shape=ctx.table_shape, index=(flat,), advanced=True)
        rows = g.array.reshape(-1, ctx.table_shape[1])
        if factor is not None:
            rows = rows * factor[:, None]
        return kernel("embedding_backward", xp)(flat, rows, ctx.table_shape[0], ctx.padding_idx)


def _embedding_backward_reference(indices, rows, num_embeddings, padding_idx=None):
    """dL/dweight: a (num_embeddings, D) table of zeros with ``rows[k]`` added into row ``indices[k]``
    for every k (repeats add up, in order), except where ``indices[k] == padding_idx``: that row of the
    table stays 0 (even where g is inf or NaN, as in PyTorch).  ``indices`` is 1-d, ``rows`` (K, D)."""
    xp = array_module(rows)
    out = xp.zeros((num_embeddings, rows.shape[1]), dtype=rows.dtype)
    if padding_idx is not None:
        keep = indices != padding_idx
        indices, rows = indices[keep], rows[keep]
    scatter_add(out, (indices,), rows)
    return out


register_kernel("embedding_backward", "numpy", _embedding_backward_reference)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,  # noqa: A002
              scale_grad_by_freq=False, sparse=False):
    """Look up rows of ``weight`` (num_embeddings, embedding_dim) at the integer ``input``
    indices: the result has shape input.shape + (embedding_dim,).  See ``EmbeddingFunction`` for the
    gradient.  ``max_norm`` renormalises (in place, without gradient) every looked-up row whose
    ``norm_type``-norm exceeds it, as PyTorch does."""
    if isinstance(input, Tensor):
        idx = input.array
    else:                                         # a list or a NumPy array; a CuPy array stays as it is
        idx = np.asarray(input) if array_module(input) is np else input
    idx = to_device(idx, weight.device)           # host positions (np.arange) with a GPU table: move them
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor (int64), got dtype "
                        f"{idx.dtype} and shape {tuple(idx.shape)}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"shape {tuple(weight.shape)}")
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported; use sparse=False")
    num = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        raise IndexError(f"embedding: index out of range: indices (shape {tuple(idx.shape)}) hold "
                         f"values from {int(idx.min())} to {int(idx.max())}, but weight "
                         f"{tuple(weight.shape)} has rows 0..{num - 1}")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within num_embeddings "
                             f"({num})")
        padding_idx %= num
    if max_norm is not None:
        _renorm_rows_(weight, idx, max_norm, norm_type)
    return EmbeddingFunction.apply(weight, indices=idx, padding_idx=padding_idx,
                                   scale_grad_by_freq=scale_grad_by_freq)


def _renorm_rows_(weight, idx, max_norm, norm_type):
    """Scale (in place) each row named in ``idx`` whose norm exceeds ``max_norm`` down to it."""
    xp = array_module(weight.array)
    rows = xp.unique(idx.reshape(-1))
    norms = xp.linalg.norm(weight.array[rows].astype(np.float64), ord=norm_type, axis=1)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    weight.array[rows] = (weight.array[rows] * scale[:, None]).astype(weight.dtype)
    weight._version_box[0] += 1


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors of size ``embedding_dim``, initialised
    N(0, 1) with the ``padding_idx`` row zeroed (PyTorch's default)."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within "
                                 f"num_embeddings ({num_embeddings})")
            padding_idx %= num_embeddings
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(creation.empty(num_embeddings, embedding_dim, dtype=dtype,
                                                   device=device), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {tuple(_weight.shape)}, expected "
                                 f"({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.array[self.padding_idx] = 0

    def forward(self, input):  # noqa: A002
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += ", scale_grad_by_freq=True"
        if self.sparse:
            text += ", sparse=True"
        return text
