"""``tinygrad_edu.nn.functional`` (import it as ``F``): the stateless building blocks of networks.

Everything here has PyTorch's name, signature and semantics, so ``import torch.nn.functional as F``
becomes ``import tinygrad_edu.nn.functional as F``.  Three kinds of things live here:

* **Layers as functions**: ``linear`` (y = x Wᵀ + b), ``dropout``, ``embedding``.  ``linear`` is
  one fused ``Function`` because it sits on the hot path of every MLP step.
* **Losses** (defined in ``losses.py`` and re-exported): ``mse_loss``, ``l1_loss``, ``nll_loss``,
  ``cross_entropy``, ``binary_cross_entropy``, ``binary_cross_entropy_with_logits``.
* **Activations and friends**, re-exported from the op library with PyTorch's signatures:
  ``relu``, ``gelu``, ``silu``, ``tanh``, ``sigmoid``, ``leaky_relu``, ``elu``, ``softplus``,
  ``softmax``, ``log_softmax``, ``one_hot``.

Every backward is written in Tensor ops, so ``create_graph=True`` (double backward) works through
all of them.
"""
import numpy as np

from ..autograd.function import Function
from ..backend import array_module
from .. import creation
from ..ops import elementwise as _ew, reduce as _red
from ..ops.indexing import IndexAdd, one_hot  # noqa: F401  (one_hot is part of F's API)
from ..ops.inplace import apply_inplace
from ..ops.shape import pad  # noqa: F401  (F.pad: constant padding of the last dims)
from ..tensor import Tensor
from .losses import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: F401
                     cross_entropy, l1_loss, mse_loss, nll_loss)

__all__ = ["linear", "dropout", "embedding", "mse_loss", "l1_loss", "nll_loss", "cross_entropy",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "softmax", "log_softmax",
           "relu", "gelu", "silu", "tanh", "sigmoid", "leaky_relu", "elu", "softplus", "one_hot"]


# ---------------------------------------------------------------------------------------------
# linear
# ---------------------------------------------------------------------------------------------
class Linear(Function):
    """y = x Wᵀ + b for x of shape (..., in), W of shape (out, in), b of shape (out,).

    Write X for x flattened to a matrix (n rows of length ``in``) and G for dL/dy flattened the
    same way (n rows of length ``out``).  Then

        dL/dx = G W                 (n, out) @ (out, in) -> (n, in), reshaped back to x's shape
        dL/dW = Gᵀ X                (out, n) @ (n, in)   -> (out, in)
        dL/db = Σ_rows G            the gradient summed over every leading dim

    Fusing the three ops (matmul, transpose, add) into one node saves two graph nodes and two
    temporaries per layer; dL/dW comes out of one BLAS call as a fresh array the engine can keep
    as ``W.grad`` without copying.
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        y = x @ weight.T
        if bias is not None:
            y += bias  # in place: y is a fresh array
        ctx.save_for_backward(x, weight)
        return y

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        grad_x = g @ weight if need_x else None
        grad_w = grad_b = None
        if need_w or need_b:
            g2 = g if g.ndim == 2 else g.reshape(-1, g.shape[-1])
            if need_w:
                x2 = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
                grad_w = g2.T @ x2
            if need_b:
                grad_b = g2.sum(0)
        return grad_x, grad_w, grad_b


def linear(input, weight, bias=None):  # noqa: A002  (PyTorch's argument name)
    """y = input @ weightᵀ + bias: an affine map applied to the last dim of ``input``.

    Shapes: input (..., in_features), weight (out_features, in_features), bias (out_features,)
    -> (..., out_features).  Gradients: see ``Linear``.
    """
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError(f"linear: weight must be a 2-D tensor (out_features, in_features), got "
                         f"shape {tuple(getattr(weight, 'shape', ()))}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {tuple(input.shape)} does not fit weight of shape "
                         f"{tuple(weight.shape)}: the input's last dim must be in_features="
                         f"{weight.shape[1]}")
    if input.dtype != weight.dtype:
        raise TypeError(f"linear: input dtype {input.dtype} and weight dtype {weight.dtype} differ; "
                        "convert one of them (e.g. input.to(weight.dtype))")
    if bias is not None and tuple(bias.shape) not in ((weight.shape[0],), ()):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},) to match weight "
                         f"{tuple(weight.shape)}, got {tuple(bias.shape)}")
    return Linear.apply(input, weight, bias)


# ---------------------------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------------------------
def dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Inverted dropout: zero each entry with probability ``p`` and scale the survivors by
    1/(1-p), so the expected value of every entry is unchanged and evaluation needs no rescaling.

        y = x · m / (1 - p),   m ~ Bernoulli(1 - p) drawn once per entry
        dL/dx = g · m / (1 - p)          (the same mask: a constant of the graph)

    With ``training=False`` (or p = 0) it is the identity.  The mask comes from the library's
    generator (``tinygrad_edu.manual_seed`` makes it reproducible).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    xp = array_module(input.array)
    if p == 1.0:
        scaled_mask = xp.zeros(input.shape, dtype=input.dtype)
    else:
        keep = creation.default_generator().random(input.shape) >= p
        scaled_mask = xp.asarray(keep * (1.0 / (1.0 - p)), dtype=input.dtype)
    mask = Tensor._wrap(scaled_mask)
    if inplace:
        return apply_inplace(input, "dropout_", lambda a: a * mask)
    return input * mask


# ---------------------------------------------------------------------------------------------
# embedding
# ---------------------------------------------------------------------------------------------
class Embedding(Function):
    """y[..., :] = weight[indices[...], :]  — a table lookup.

    Its gradient puts every row of g back into the row of the table it was read from, *adding*
    when an index occurs several times (a scatter-add):

        dL/dweight = zeros(V, D);  dL/dweight[indices[k]] += g[k]   for every position k

    The row ``padding_idx`` gets no gradient (its g rows are zeroed before the scatter); with
    ``scale_grad_by_freq`` each g row is divided by how often its index occurs in this batch.
    The scatter-add is the ``IndexAdd`` op, whose own backward is a lookup again, so the
    gradient is differentiable to any order.
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
        rows = g.reshape(-1, ctx.table_shape[1])
        if ctx.padding_idx is not None or ctx.scale_grad_by_freq:
            factor = xp.ones(flat.shape, dtype=g.dtype)
            if ctx.scale_grad_by_freq:
                factor /= xp.bincount(flat, minlength=ctx.table_shape[0])[flat]
            if ctx.padding_idx is not None:
                factor[flat == ctx.padding_idx] = 0
            rows = rows * Tensor._wrap(factor[:, None])
        return IndexAdd.apply(rows, shape=ctx.table_shape, index=(flat,), advanced=True)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,  # noqa: A002
              scale_grad_by_freq=False, sparse=False):
    """Look up rows of ``weight`` (num_embeddings, embedding_dim) at the integer ``input``
    indices: the result has shape input.shape + (embedding_dim,).  See ``Embedding`` for the
    gradient.  ``max_norm`` renormalises (in place, without gradient) every looked-up row whose
    ``norm_type``-norm exceeds it, as PyTorch does."""
    idx = input.array if isinstance(input, Tensor) else np.asarray(input)
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
    return Embedding.apply(weight, indices=idx, padding_idx=padding_idx,
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
# softmax, log_softmax and the activations, with PyTorch's signatures
# ---------------------------------------------------------------------------------------------
def softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """yᵢ = e^(xᵢ - m) / Σⱼ e^(xⱼ - m) along ``dim`` (m = the max, so nothing overflows).
    dL/dx = y · (g - Σ g·y)."""
    return _red.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """y = x - logsumexp(x) along ``dim`` (stable for any x).   dL/dx = g - softmax(x) · Σ g."""
    return _red.log_softmax(input, dim, dtype=dtype)


def _maybe_inplace(input, inplace, name, fn):
    if inplace:
        return apply_inplace(input, name + "_", fn)
    return fn(input)


def relu(input, inplace=False):  # noqa: A002
    """y = max(x, 0).   dL/dx = g · [x > 0]."""
    return _maybe_inplace(input, inplace, "relu", _ew.relu)


def gelu(input, approximate="none"):  # noqa: A002
    """y = x · Φ(x) (Φ the standard normal CDF; ``approximate='tanh'`` uses the tanh formula).
    dL/dx = g · (Φ(x) + x · φ(x))."""
    return _ew.gelu(input, approximate=approximate)


def silu(input, inplace=False):  # noqa: A002
    """y = x · σ(x).   dL/dx = g · σ(x) · (1 + x · (1 - σ(x)))."""
    return _maybe_inplace(input, inplace, "silu", _ew.silu)


def tanh(input):  # noqa: A002
    """y = tanh(x).   dL/dx = g · (1 - y²)."""
    return _ew.tanh(input)


def sigmoid(input):  # noqa: A002
    """y = σ(x) = 1 / (1 + e^-x).   dL/dx = g · y · (1 - y)."""
    return _ew.sigmoid(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002
    """y = x for x > 0, else slope · x.   dL/dx = g · (1 or slope)."""
    return _maybe_inplace(input, inplace, "leaky_relu",
                          lambda a: _ew.leaky_relu(a, negative_slope))


def elu(input, alpha=1.0, inplace=False):  # noqa: A002
    """y = x for x > 0, else α(eˣ - 1).   dL/dx = g · (1 or α eˣ)."""
    return _maybe_inplace(input, inplace, "elu", lambda a: _ew.elu(a, alpha))


def softplus(input, beta=1.0, threshold=20.0):  # noqa: A002
    """y = ln(1 + e^(βx)) / β (y = x where βx > threshold).   dL/dx = g · σ(βx)."""
    return _ew.softplus(input, beta=beta, threshold=threshold)

# convolution, pooling and normalisation (their math lives in conv.py, pooling.py, normalization.py)
from .conv import conv2d  # noqa: E402,F401
from .pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d  # noqa: E402,F401
from .normalization import batch_norm, group_norm, layer_norm  # noqa: E402,F401
__all__ += ["conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm", "layer_norm",
            "group_norm"]

# attention (its math lives in attention.py)
from .attention import scaled_dot_product_attention  # noqa: E402,F401
__all__ += ["scaled_dot_product_attention"]

# the convolution family: conv1d, transposed convs, pixel shuffle, and F.pad with every mode
# (padding.py's pad replaces ops/shape.py's constant-only pad imported above)
from .conv_nd import conv1d  # noqa: E402,F401
from .conv_transpose import conv_transpose1d, conv_transpose2d  # noqa: E402,F401
from .conv_layers_nd import pixel_shuffle, pixel_unshuffle  # noqa: E402,F401
from .padding import pad  # noqa: E402,F401,F811
__all__ += ["conv1d", "conv_transpose1d", "conv_transpose2d", "pixel_shuffle", "pixel_unshuffle", "pad"]
from .fold import fold, unfold  # noqa: E402,F401
__all__ += ["fold", "unfold"]
from .upsampling import interpolate  # noqa: E402,F401
__all__ += ["interpolate"]
from .pooling_nd import avg_pool1d, max_pool1d  # noqa: E402,F401
__all__ += ["avg_pool1d", "max_pool1d"]
# more activations, distances, losses and the bilinear layer (activation.py, distance.py,
# losses_extra.py, linear_extra.py)
from .activation import (celu, glu, hardshrink, hardsigmoid, hardswish, hardtanh,  # noqa: E402,F401
                         logsigmoid, mish, prelu, relu6, selu, softmin, softshrink, softsign, tanhshrink)
from .distance import cosine_similarity, normalize, pairwise_distance  # noqa: E402,F401
from .losses_extra import huber_loss, kl_div, smooth_l1_loss  # noqa: E402,F401
from .linear_extra import bilinear  # noqa: E402,F401
__all__ += ["celu", "glu", "hardshrink", "hardsigmoid", "hardswish", "hardtanh", "logsigmoid", "mish",
            "prelu", "relu6", "selu", "softmin", "softshrink", "softsign", "tanhshrink", "cosine_similarity",
            "normalize", "pairwise_distance", "huber_loss", "kl_div", "smooth_l1_loss", "bilinear"]
# 3-D convolution and pooling, max unpooling (conv_nd.py, pooling_nd.py)
from .conv_nd import conv3d  # noqa: E402,F401
from .pooling_nd import avg_pool3d, max_pool3d, max_unpool1d, max_unpool2d, max_unpool3d  # noqa: E402,F401
__all__ += ["conv3d", "avg_pool3d", "max_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d"]
