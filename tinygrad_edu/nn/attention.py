"""Scaled dot-product attention: the one operation every Transformer is built around.

Each query asks "which keys look like me?"; the answer is a probability distribution over the keys, and the
output is the matching average of the values:

    scores  = q · kᵀ · scale                     (..., L, S)   scale = 1/√E by default
    scores  = scores + mask                      -inf (or a float bias) where a query may not look
    weights = softmax(scores, dim=-1)            each row sums to 1
    out     = weights · v                        (..., L, Ev)

Its gradient is the chain rule through those three steps (with P = weights, G = dL/dout):

    dL/dv      = Pᵀ · G
    dL/dP      = G · vᵀ
    dL/dscores = P ⊙ (dL/dP − rowsum(dL/dP ⊙ P))          (softmax's Jacobian-vector product)
    dL/dq      = dL/dscores · k · scale,   dL/dk = dL/dscoresᵀ · q · scale

Here it is written as a composition of the engine's ops (matmul, masked_fill, softmax, dropout), so the
gradients above are exactly what autograd derives, higher-order gradients included.
"""
import math

import numpy as np

from .. import creation
from ..tensor import Tensor
from . import functional as F

__all__ = ["scaled_dot_product_attention", "attention_with_weights"]


def _check_qkv(q, k, v):
    op = "scaled_dot_product_attention"
    for name, t in (("query", q), ("key", k), ("value", v)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t.ndim < 2:
            raise ValueError(f"{op}: {name} must have at least 2 dims (..., length, features), got shape "
                             f"{tuple(t.shape)}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"{op}: query and key must have the same feature size, got query {tuple(q.shape)} "
                         f"and key {tuple(k.shape)}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{op}: key and value must have the same length (dim -2), got key {tuple(k.shape)} "
                         f"and value {tuple(v.shape)}")


def attention_with_weights(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                           training=True):
    """Like ``scaled_dot_product_attention`` but returns ``(output, weights)``; the weights (before dropout)
    are what attention maps and ``nn.MultiheadAttention(need_weights=True)`` show."""
    _check_qkv(query, key, value)
    op = "scaled_dot_product_attention"
    L, S = query.shape[-2], key.shape[-2]
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    scores = (query @ key.transpose(-2, -1)) * scale
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{op}: pass either attn_mask or is_causal=True, not both")
        causal_blocked = np.triu(np.ones((L, S), dtype=bool), k=1)   # query i may not see keys j > i
        scores = scores.masked_fill(creation.tensor(causal_blocked), float("-inf"))
    elif attn_mask is not None:
        mask = attn_mask if isinstance(attn_mask, Tensor) else creation.tensor(attn_mask)
        if mask.shape[-2:] != (L, S) and not _broadcastable(mask.shape, scores.shape):
            raise ValueError(f"{op}: attn_mask of shape {tuple(mask.shape)} does not broadcast to the scores' "
                             f"shape {tuple(scores.shape)} (..., L={L}, S={S})")
        if mask.dtype == np.bool_:     # PyTorch: True = may attend
            scores = scores.masked_fill(~mask, float("-inf"))
        else:                          # a float mask is added to the scores (0 or -inf, or any bias)
            scores = scores + mask
    weights = F.softmax(scores, dim=-1)
    attended = F.dropout(weights, p=dropout_p, training=training) if dropout_p > 0 else weights
    return attended @ value, weights


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                                 scale=None):
    """``softmax(q·kᵀ·scale + mask) · v`` with ``torch.nn.functional.scaled_dot_product_attention``'s
    signature.  ``attn_mask``: a bool mask (True = may attend) or a float mask added to the scores;
    ``is_causal=True`` lets query i see keys 0..i only.  Dropout on the weights is applied whenever
    ``dropout_p > 0`` (as in PyTorch, pass ``dropout_p=0`` at evaluation)."""
    out, _ = attention_with_weights(query, key, value, attn_mask, dropout_p, is_causal, scale)
    return out


def _broadcastable(a, b):
    for x, y in zip(reversed(a), reversed(b)):
        if x != 1 and y != 1 and x != y:
            return False
    return len(a) <= len(b)
