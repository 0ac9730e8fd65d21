"""Scaled dot-product attention: the one operation every Transformer is built around.

Each query asks "which keys look like me?"; the answer is a probability distribution over the keys, and the
output is the matching average of the values.  For q (..., L, E), k (..., S, E), v (..., S, Ev):

    scores  = q · kᵀ · scale                     (..., L, S)   scale = 1/√E by default
    scores  = scores + mask                      -inf (or a float bias) where a query may not look
    P       = softmax(scores, dim=-1)            each row sums to 1
    out     = P · v                              (..., L, Ev)

Why 1/√E: if the entries of q and k are independent with variance 1, q·k is a sum of E such products and
has variance E; dividing by √E brings it back to 1, so the softmax neither saturates (one-hot rows, vanishing
gradients) nor flattens as the head size grows.

A row whose keys are *all* masked has nothing to attend to; as PyTorch (≥ 2.5) does, its weights are 0 and
its output 0 (not the NaN a plain softmax of -inf's would give).

The gradient is the chain rule through those steps (G = dL/dout, M = the dropout mask scaled by 1/(1-p),
or 1 without dropout):

    dL/dv      = (P ⊙ M)ᵀ · G
    dL/dP      = (G · vᵀ) ⊙ M
    dL/dscores = P ⊙ (dL/dP − rowsum(dL/dP ⊙ P))          (softmax's Jacobian-vector product)
    dL/dq      = dL/dscores · k · scale,   dL/dk = dL/dscoresᵀ · q · scale,   dL/dmask = dL/dscores

Two implementations of the same math live here:

* ``attention_with_weights`` composes the engine's ops (matmul, masked_fill, softmax, dropout); autograd
  derives the gradients above by itself, and the weights come back as a differentiable tensor (for
  ``nn.MultiheadAttention(need_weights=True)`` and attention maps).
* ``scaled_dot_product_attention`` is one fused ``Function`` (``ScaledDotProductAttention``): the forward
  and the backward run on raw arrays (no intermediate graph nodes), and the softmax step — scale, mask,
  softmax, and its backward P ⊙ (dP − rowsum(dP ⊙ P)) — goes through the ``attention_softmax`` kernel
  (references ``_attention_softmax_reference`` / ``_attention_softmax_backward_reference`` below; the
  numba and CuPy tiers in ``kernels/attention_softmax.py``).  Measured on a GPT-sized case (B=12, H=4,
  T=64, head 32, causal, float32, forward+backward, one thread): 2.8 ms with the references, 1.3 ms with
  the kernels, 1.36 ms for PyTorch's CPU kernel.  For ``create_graph=True`` the backward recomputes P
  from q and k with Tensor ops (the composite path), so P is differentiable and higher-order gradients
  are exact.

Tests: tests/op_registry/attention.py, tests/test_attention.py, tests/test_kernels_attention_optim.py
"""
import functools
import math
from types import SimpleNamespace

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function, OpValueError, OpTypeError
from ..backend import array_module, kernel, register_kernel
from .. import creation
from ..random import uniform_like
from ..tensor import Tensor
from . import functional as F

__all__ = ["scaled_dot_product_attention", "attention_with_weights", "ScaledDotProductAttention"]

_OP = "scaled_dot_product_attention"


# ---------------------------------------------------------------------------------------------
# checking the inputs and turning every mask into one "blocked" bool array or one float bias
# ---------------------------------------------------------------------------------------------
def _check_qkv(q, k, v):
    for name, t in (("query", q), ("key", k), ("value", v)):
        if not isinstance(t, Tensor):
            raise OpTypeError(f"{_OP}: {name} must be a Tensor, got {type(t).__name__}")
        if t.ndim < 2:
            raise OpValueError(f"{_OP}: query, key and value must have at least 2 dims (..., length, "
                               f"features), got query {tuple(q.shape)}, key {tuple(k.shape)}, value "
                               f"{tuple(v.shape)}")
    if q.shape[-1] != k.shape[-1]:
        raise OpValueError(f"{_OP}: query and key must have the same feature size (dim -1), got query "
                           f"{tuple(q.shape)} and key {tuple(k.shape)}")
    if k.shape[-2] != v.shape[-2]:
        raise OpValueError(f"{_OP}: key and value must have the same length (dim -2), got key "
                           f"{tuple(k.shape)} and value {tuple(v.shape)}")
    if not (q.dtype == k.dtype == v.dtype) or q.dtype.kind != "f":
        raise OpTypeError(f"{_OP}: query, key and value must share one float dtype, got {q.dtype}, "
                          f"{k.dtype} and {v.dtype}")
    try:
        np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise OpValueError(f"{_OP}: the batch dims of query {tuple(q.shape)}, key {tuple(k.shape)} and "
                           f"value {tuple(v.shape)} do not broadcast together") from None


@functools.lru_cache(maxsize=64)
def _causal_blocked(L, S):
    """(L, S) bool, True above the diagonal: query i may not see keys j > i (top-left aligned, as
    PyTorch's ``is_causal``).  Cached and read-only: every call with the same sizes shares it."""
    blocked = np.triu(np.ones((L, S), dtype=bool), k=1)
    blocked.flags.writeable = False
    return blocked


def _masks(q, k, attn_mask, is_causal):
    """Split the user's mask into ``blocked`` (a bool array, True = may NOT attend, or None) and
    ``bias`` (a float Tensor added to the scores, or None), checking shapes and dtypes."""
    L, S = q.shape[-2], k.shape[-2]
    xp = array_module(q.array)
    if is_causal:
        if attn_mask is not None:
            raise OpValueError(f"{_OP}: pass either attn_mask or is_causal=True, not both (PyTorch: "
                               "'Explicit attn_mask should not be set when is_causal=True')")
        blocked = _causal_blocked(L, S)
        return (blocked if xp is np else xp.asarray(blocked)), None
    if attn_mask is None:
        return None, None
    mask = attn_mask if isinstance(attn_mask, Tensor) else creation.tensor(attn_mask)
    scores_shape = np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (L, S)
    if mask.ndim == 0 or not _broadcastable(mask.shape, scores_shape):
        raise OpValueError(f"{_OP}: attn_mask of shape {tuple(mask.shape)} does not broadcast to the "
                           f"scores' shape {scores_shape} (..., L={L}, S={S}) of query "
                           f"{tuple(q.shape)} and key {tuple(k.shape)}")
    if mask.dtype == np.bool_:            # PyTorch: True = may attend
        return ~mask.array, None
    if mask.dtype != q.dtype:
        raise OpTypeError(f"{_OP}: attn_mask must be bool or have the query's dtype {q.dtype}, got "
                          f"{mask.dtype}")
    return None, mask                     # a float mask is added to the scores (0/-inf, or any bias)


def _broadcastable(small, big):
    if len(small) > len(big):
        return False
    return all(s == b or s == 1 for s, b in zip(reversed(small), reversed(big)))


def _dropout_keep(shape, p, dtype, xp):
    """The dropout mask of the weights, already scaled: 1/(1-p) where kept, 0 where dropped."""
    if p >= 1.0:
        return xp.zeros(shape, dtype=dtype)
    return kernel("dropout", xp)(uniform_like(shape, xp), p, dtype)    # F.dropout's mask, made where xp lives


def _check_dropout(p):
    if not 0.0 <= p <= 1.0:
        raise OpValueError(f"{_OP}: dropout_p has to be between 0 and 1, but got {p}")


# ---------------------------------------------------------------------------------------------
# the composite: engine ops, autograd does the rest
# ---------------------------------------------------------------------------------------------
def _weights(query, key, scale, blocked, bias):
    """P = softmax(q·kᵀ·scale + bias, masked where ``blocked``) in Tensor ops; rows with every key
    blocked get weights 0 (their scores are set to 0 before the softmax, so no NaN appears in the
    forward or the backward, then the row is zeroed)."""
    scores = (query @ key.transpose(-2, -1)) * scale
    if bias is not None:
        scores = scores + bias
    xp = array_module(scores.array)
    dead = None
    if blocked is not None:
        scores = scores.masked_fill(Tensor._wrap(xp.asarray(blocked)), float("-inf"))
    if blocked is not None or bias is not None:
        dead_rows = xp.isneginf(scores.array).all(axis=-1, keepdims=True)
        if dead_rows.any():
            dead = Tensor._wrap(dead_rows)
            scores = scores.masked_fill(dead, 0.0)
    weights = F.softmax(scores, dim=-1)
    return weights if dead is None else weights.masked_fill(dead, 0.0)


def attention_with_weights(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                           training=True):
    """``scaled_dot_product_attention`` that also returns the attention weights: ``(output, weights)``.

    The weights are P after dropout (what multiplies v, as PyTorch's ``MultiheadAttention`` and Hugging
    Face's ``output_attentions`` return them), shape (..., L, S), differentiable.  Written as a composition
    of engine ops: the readable reference the fused ``ScaledDotProductAttention`` is tested against."""
    _check_qkv(query, key, value)
    _check_dropout(dropout_p)
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    blocked, bias = _masks(query, key, attn_mask, is_causal)
    weights = _weights(query, key, scale, blocked, bias)
    if dropout_p > 0 and training:
        weights = F.dropout(weights, p=dropout_p, training=True)
    return weights @ value, weights


# ---------------------------------------------------------------------------------------------
# the softmax step on raw arrays: the NumPy references of the ``attention_softmax`` kernels
# ---------------------------------------------------------------------------------------------
def _attention_softmax_reference(scores, scale, bias=None, blocked=None):
    """P = softmax(scores·scale + bias, -inf where ``blocked``) over the last dim, rows with every key
    blocked all 0.  ``scores`` is a fresh array (q·kᵀ) and may be overwritten; ``bias`` (float) and
    ``blocked`` (bool) broadcast against it.  NaN or +inf in a row makes that row NaN, as in PyTorch."""
    xp = array_module(scores)
    scores *= scale
    if bias is not None:
        scores = scores + bias
    if blocked is not None:
        scores = xp.where(blocked, -np.inf, scores).astype(scores.dtype, copy=False)
    if scores.size:                                  # a stable softmax, in place
        row_max = scores.max(axis=-1, keepdims=True)
        dead = xp.isneginf(row_max)                  # every key masked: weights 0
        if dead.any():
            row_max[dead] = 0.0
        scores -= row_max
        xp.exp(scores, out=scores)
        total = scores.sum(axis=-1, keepdims=True)
        if dead.any():
            total[dead] = 1.0
        scores /= total
    return scores


def _attention_softmax_backward_reference(p, grad_p):
    """dL/dscores = P ⊙ (dL/dP − rowsum(dL/dP ⊙ P)), the softmax's Jacobian-vector product (rows over
    the last dim).  ``grad_p`` is a fresh array and may be overwritten."""
    return p * (grad_p - (grad_p * p).sum(axis=-1, keepdims=True))


# one kernel name, two directions: ``kernel("attention_softmax", xp).forward(...)`` / ``.backward(...)``
ATTENTION_SOFTMAX_REFERENCE = SimpleNamespace(forward=_attention_softmax_reference,
                                              backward=_attention_softmax_backward_reference)
register_kernel("attention_softmax", "numpy", ATTENTION_SOFTMAX_REFERENCE)


# ---------------------------------------------------------------------------------------------
# the fused Function
# ---------------------------------------------------------------------------------------------
class ScaledDotProductAttention(Function):
    """out = dropout(softmax(q·kᵀ·scale + bias, blocked → -inf)) · v in one graph node.

    Positional inputs: q, k, v and the float ``bias`` (a float attn_mask, or None); options: ``blocked``
    (bool array, True = may not attend), ``scale``, ``keep`` (the scaled dropout mask, or None).
    Gradients: see the module docstring.  The forward saves P (the weights before dropout); the backward
    uses it as a constant, except under ``create_graph=True``, where it recomputes P from q and k with
    Tensor ops so the gradient is itself differentiable."""

    @staticmethod
    def forward(ctx, q, k, v, bias=None, blocked=None, scale=1.0, keep=None):
        xp = array_module(q)
        scores = q @ xp.swapaxes(k, -1, -2)              # a fresh array: the softmax may work in place
        p = kernel("attention_softmax", xp).forward(scores, scale, bias, blocked)
        out = _product_like(p * keep if keep is not None else p, v, q)   # laid out as q: see there
        ctx.scale, ctx.blocked = scale, blocked
        ctx.has_bias, ctx.has_keep = bias is not None, keep is not None
        ctx.save_for_backward(q, k, v, p, *(x for x in (bias, keep) if x is not None))
        return out

    @staticmethod
    def backward(ctx, g):
        q, k, v, p, *extra = ctx.saved_tensors
        bias = extra.pop(0) if ctx.has_bias else None
        keep = extra.pop(0) if ctx.has_keep else None
        needs = ctx.needs_input_grad
        if grad_mode.is_grad_enabled():                   # create_graph: P as a function of q, k, bias
            return _backward_differentiable(ctx, g, q, k, v, _weights(q, k, ctx.scale, ctx.blocked, bias),
                                            keep, needs)
        return _backward_arrays(ctx.scale, g.array, q.array, k.array, v.array, p.array,
                                None if keep is None else keep.array, needs)


def _backward_arrays(scale, g, q, k, v, p, keep, needs):
    """The gradients on raw arrays (an ordinary backward): the softmax step through the
    ``attention_softmax`` kernel's backward."""
    need_q, need_k, need_v, need_bias = needs
    xp = array_module(p)
    attended = p * keep if keep is not None else p
    grad_v = _product_like(xp.swapaxes(attended, -1, -2), g, v, whole=True) if need_v else None
    if not (need_q or need_k or need_bias):
        return None, None, grad_v, None
    grad_p = g @ xp.swapaxes(v, -1, -2)                   # fresh: the kernel may overwrite it
    if keep is not None:
        grad_p = grad_p * keep
    grad_scores = kernel("attention_softmax", xp).backward(p, grad_p)
    grad_q = grad_k = None
    if need_q:
        grad_q = _product_like(grad_scores, k, q, whole=True)
        grad_q *= scale                                   # in place: the same rounding as (dS·k)·scale
    if need_k:
        grad_k = _product_like(xp.swapaxes(grad_scores, -1, -2), q, k, whole=True)
        grad_k *= scale
    return grad_q, grad_k, grad_v, (grad_scores if need_bias else None)


def _product_like(a, b, like, whole=False):
    """a @ b (batched) written into a fresh array laid out in memory as ``like`` is (NumPy only).

    Why: the heads of q, k and v are usually a transposed view, (N, S, H, d) memory seen as
    (N, H, S, d), and right after attention the output goes back to that order
    (``y.transpose(1, 2).reshape(N, S, H·d)``) for the output projection.  Written in (N, H, S, d)
    order, that reshape must copy the whole output; written in ``like``'s order (``empty_like``
    with ``order='K'``: the same order of strides) the transpose is already contiguous and the
    reshape is a view.  BLAS writes the product into strided rows at the same speed, and the
    numbers are the same: only the layout changes (PyTorch's CPU attention kernel allocates its
    output the same way).

    ``whole=True`` (the gradients dq, dk, dv): only when ``like`` is a permutation of one whole
    block of memory (BERT's heads of a (N, S, H·d) projection), whose gradient then goes back to
    that block through views, with no copy.  A head that is a slice of a larger block (GPT's q, k,
    v from one (N, S, 3, H, d) projection) gets a C-ordered gradient, the order its slice gradient
    is accumulated in.  On BERT's (16, 12, 64, 32) heads this removed four 1.5 MB copies a layer."""
    xp = array_module(a)
    shape = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2])) + (a.shape[-2], b.shape[-1])
    if xp is not np or len(shape) != like.ndim or like.flags.c_contiguous or a.dtype != like.dtype:
        return a @ b
    out = np.empty_like(like, shape=shape)
    if whole and (shape != like.shape or out.strides != like.strides):
        return a @ b
    return np.matmul(a, b, out=out)


def _backward_differentiable(ctx, g, q, k, v, p, keep, needs):
    """The same gradients in Tensor ops, with P recomputed from q and k: differentiable again
    (``create_graph=True``)."""
    need_q, need_k, need_v, need_bias = needs
    attended = p * keep if keep is not None else p
    grad_v = attended.transpose(-2, -1) @ g if need_v else None
    if not (need_q or need_k or need_bias):
        return None, None, grad_v, None
    grad_p = g @ v.transpose(-2, -1)
    if keep is not None:
        grad_p = grad_p * keep
    grad_scores = p * (grad_p - (grad_p * p).sum(-1, keepdim=True))
    grad_q = (grad_scores @ k) * ctx.scale if need_q else None
    grad_k = (grad_scores.transpose(-2, -1) @ q) * ctx.scale if need_k else None
    return grad_q, grad_k, grad_v, (grad_scores if need_bias else None)


def _repeat_kv_heads(query, key, value):
    """Grouped-query attention (``enable_gqa=True``): query has Hq heads on dim -3, key and value have
    fewer (H dividing Hq); each key/value head serves Hq/H consecutive query heads, so it is repeated
    that many times (``repeat_interleave`` on dim -3).  The gradient of a repeated head is the sum of
    the gradients of its copies, which autograd of ``repeat_interleave`` gives."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        if t.ndim < 3:
            raise IndexError(f"{_OP}: enable_gqa=True needs a heads dim (-3): {name} has shape "
                             f"{tuple(t.shape)}")
    heads = query.shape[-3]
    repeated = []
    for name, t in (("key", key), ("value", value)):
        h = t.shape[-3]
        if h != heads and (h == 0 or heads % h):
            raise OpValueError(f"{_OP}: number of heads in {name} ({h}, shape {tuple(t.shape)}) must "
                               f"divide the number of heads in query ({heads}, shape {tuple(query.shape)})")
        repeated.append(t if h == heads else t.repeat_interleave(heads // h, dim=-3))
    return repeated


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                                 scale=None, enable_gqa=False):
    """``softmax(q·kᵀ·scale + mask) · v`` with ``torch.nn.functional.scaled_dot_product_attention``'s
    signature and semantics.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); batch dims broadcast.
    ``attn_mask``: a bool mask (True = may attend) or a float mask added to the scores, broadcastable to
    (..., L, S).  ``is_causal=True`` lets query i see keys 0..i only (not together with attn_mask).
    ``scale`` defaults to 1/√E.  Dropout on the weights is applied whenever ``dropout_p > 0``: as in
    PyTorch, pass ``dropout_p=0`` at evaluation (``dropout_p=self.p if self.training else 0``).
    ``enable_gqa=True``: grouped-query attention, key/value heads (dim -3) repeated to match query's.
    See the module docstring for the math and the gradient."""
    if enable_gqa:
        key, value = _repeat_kv_heads(query, key, value)
    _check_qkv(query, key, value)
    _check_dropout(dropout_p)
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    blocked, bias = _masks(query, key, attn_mask, is_causal)
    keep = None
    if dropout_p > 0:
        shape = np.broadcast_shapes(query.shape[:-2], key.shape[:-2],
                                    () if bias is None else bias.shape[:-2],
                                    () if blocked is None else blocked.shape[:-2]) + \
            (query.shape[-2], key.shape[-2])
        keep = _dropout_keep(shape, dropout_p, query.dtype, array_module(query.array))
    return ScaledDotProductAttention.apply(query, key, value, bias, blocked=blocked, scale=scale, keep=keep)
