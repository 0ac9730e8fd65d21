"""The layers of a GPT block: ``CausalSelfAttention`` (multi-head, causal, with an optional KV
cache), the feed-forward ``MLP`` and the pre-LN residual ``Block`` that holds them.

``model.py`` stacks ``n_layer`` Blocks into the ``GPT``; the cache they may fill is
``generation.py``'s ``KVCache``.
"""
import numpy as np

from ... import creation, nn
from ...nn import functional as F
from ...nn.attention import attention_with_weights


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention.

    ``c_attn`` maps x (B, T, C) to queries, keys and values (3 × C) in one matmul; each is split
    into ``n_head`` heads of size C / n_head, giving (B, n_head, T, head_size).  Every head runs
    ``softmax(q kᵀ / √head_size + causal mask) v``; the heads are concatenated back to (B, T, C)
    and mixed by ``c_proj``.

    With a ``kv_cache`` the T new positions are appended to S - T cached ones: query i (at
    absolute position S - T + i) may see keys 0..S-T+i, a causal mask shifted by S - T.

    Two opt-in extras, for looking inside (``tinygrad_edu.explain.attention``); by default neither
    costs anything and the fused attention kernel runs:

    * ``head_mask`` (1, n_head, 1, 1) or None: head h's probabilities P_h are multiplied by ξ_h
      (Hugging Face's ``head_mask``; 0 removes the head).  ξ_h is one number per head, so
      (ξ_h P_h) V_h = ξ_h (P_h V_h): the mask multiplies each head's output.
    * ``return_attention=True``: return ``(y, weights)``, weights = the (masked) probabilities
      (B, n_head, T, S), computed by the readable composite ``attention_with_weights``.
    """

    def __init__(self, config):
        super().__init__()
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x, kv_cache=None, layer_idx=0, head_mask=None, return_attention=False):
        B, T, C = x.shape
        head_size = C // self.n_head
        qkv = self.c_attn(x).view(B, T, 3, self.n_head, head_size).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                                # each (B, nh, T, hs)
        if kv_cache is not None:
            k, v = kv_cache.update(layer_idx, k, v)                     # (B, nh, S, hs)
        S = k.shape[2]
        dropout_p = self.dropout if self.training else 0.0
        if S == T:        # no past: the plain causal mask
            masking = dict(is_causal=True)
        elif T == 1:      # one new token: it may see every cached position and itself
            masking = {}
        else:             # T new tokens after S - T cached ones: the causal mask shifted by S - T
            may_attend = np.tril(np.ones((T, S), dtype=bool), k=S - T)
            masking = dict(attn_mask=creation.tensor(may_attend))
        weights = None
        if return_attention:
            y, weights = attention_with_weights(q, k, v, dropout_p=dropout_p, training=self.training,
                                                **masking)
        else:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, **masking)
        if head_mask is not None:                                       # ξ_h (P_h V_h) = (ξ_h P_h) V_h
            y = y * head_mask
            weights = None if weights is None else weights * head_mask
        y = y.transpose(1, 2).reshape(B, T, C)                          # heads side by side
        y = self.resid_dropout(self.c_proj(y))
        return (y, weights) if return_attention else y


class MLP(nn.Module):
    """The position-wise feed-forward network: C → 4C, GELU (tanh approximation, GPT-2's
    "gelu_new"), → C, dropout."""

    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """A pre-LN Transformer block: x + attn(ln_1(x)), then + mlp(ln_2(x)).  The residual
    stream x passes through untouched; each sublayer reads a normalised copy and adds to it.
    ``head_mask`` and ``return_attention`` go to the attention (``CausalSelfAttention``); with
    ``return_attention=True`` the block returns ``(x, attention weights)``."""

    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, kv_cache=None, layer_idx=0, head_mask=None, return_attention=False):
        if head_mask is None and not return_attention:                  # the everyday path
            x = x + self.attn(self.ln_1(x), kv_cache=kv_cache, layer_idx=layer_idx)
            return x + self.mlp(self.ln_2(x))
        attended = self.attn(self.ln_1(x), kv_cache=kv_cache, layer_idx=layer_idx, head_mask=head_mask,
                             return_attention=return_attention)
        attended, weights = attended if return_attention else (attended, None)
        x = x + attended
        x = x + self.mlp(self.ln_2(x))
        return (x, weights) if return_attention else x
