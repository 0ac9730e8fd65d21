"""The layers of a GPT block: ``CausalSelfAttention`` (multi-head, causal, with an optional KV
cache), the feed-forward ``MLP`` and the pre-LN residual ``Block`` that holds them.

``model.py`` stacks ``n_layer`` Blocks into the ``GPT``; the cache they may fill is
``generation.py``'s ``KVCache``.
"""
import numpy as np

from ... import creation, nn
from ...nn import functional as F


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention.

    ``c_attn`` maps x (B, T, C) to queries, keys and values (3 × C) in one matmul; each is split
    into ``n_head`` heads of size C / n_head, giving (B, n_head, T, head_size).  Every head runs
    ``softmax(q kᵀ / √head_size + causal mask) v``; the heads are concatenated back to (B, T, C)
    and mixed by ``c_proj``.

    With a ``kv_cache`` the T new positions are appended to S - T cached ones: query i (at
    absolute position S - T + i) may see keys 0..S-T+i, a causal mask shifted by S - T.
    """

    def __init__(self, config):
        super().__init__()
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x, kv_cache=None, layer_idx=0):
        B, T, C = x.shape
        head_size = C // self.n_head
        qkv = self.c_attn(x).view(B, T, 3, self.n_head, head_size).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                                # each (B, nh, T, hs)
        if kv_cache is not None:
            k, v = kv_cache.update(layer_idx, k, v)                     # (B, nh, S, hs)
        S = k.shape[2]
        dropout_p = self.dropout if self.training else 0.0
        if S == T:        # no past: the plain causal mask
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
        elif T == 1:      # one new token: it may see every cached position and itself
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
        else:             # T new tokens after S - T cached ones: the causal mask shifted by S - T
            may_attend = np.tril(np.ones((T, S), dtype=bool), k=S - T)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=creation.tensor(may_attend),
                                               dropout_p=dropout_p)
        y = y.transpose(1, 2).reshape(B, T, C)                          # heads side by side
        return self.resid_dropout(self.c_proj(y))


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
    stream x passes through untouched; each sublayer reads a normalised copy and adds to it."""

    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, kv_cache=None, layer_idx=0):
        x = x + self.attn(self.ln_1(x), kv_cache=kv_cache, layer_idx=layer_idx)
        return x + self.mlp(self.ln_2(x))
