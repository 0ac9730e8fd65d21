"""Transformer layers: multi-head attention and the encoder block, with PyTorch's names and semantics.

**Multi-head attention.**  One attention head compares every query with every key in one
``head_dim``-sized space.  Multi-head attention projects the inputs into ``num_heads`` smaller spaces
at once (one big linear map, then a reshape: the heads are slices of the projection), runs scaled
dot-product attention in each head in parallel, and concatenates the heads back before a final linear
map.  Different heads can learn to look for different things (the previous token, the matching bracket,
the subject of the verb) at the cost of one attention of full width:

    q, k, v   = query·W_qᵀ + b_q,  key·W_kᵀ + b_k,  value·W_vᵀ + b_v         (N, L|S, E)
    q_h ...   = split E into num_heads × head_dim:                            (N, H, L|S, head_dim)
    o_h       = softmax(q_h·k_hᵀ/√head_dim + mask) · v_h                      (N, H, L, head_dim)
    out       = concat_h(o_h)·W_oᵀ + b_o                                      (N, L, E)

**The encoder block** wraps attention and a position-wise MLP in residual connections and layer norm.
Where the norm sits is the one real design choice:

* post-LN (``norm_first=False``; the original Transformer and BERT): ``x = norm(x + sublayer(x))``;
* pre-LN (``norm_first=True``; GPT-2 and most large models): ``x = x + sublayer(norm(x))``.  The residual
  path is then a clean identity from the input to the output, which keeps deep stacks trainable without
  learning-rate warm-up (Xiong et al., 2020, "On Layer Normalization in the Transformer Architecture").

Parameter names equal PyTorch's (``in_proj_weight``, ``out_proj.weight``, ``self_attn``, ``linear1``,
``norm1``...), so ``load_state_dict(torch_module.state_dict())`` works unchanged.
"""
import copy

import numpy as np

from .. import creation
from ..autograd.function import OpTypeError, OpValueError
from ..backend import array_module
from ..tensor import Tensor
from . import functional as F
from . import init
from .attention import _causal_blocked, attention_with_weights, scaled_dot_product_attention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module, Parameter
from .normalization import LayerNorm

__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder",
           "generate_square_subsequent_mask"]


def generate_square_subsequent_mask(sz, dtype=None, device=None):
    """The (sz, sz) float causal mask: 0 on and below the diagonal, -inf above (position i may look at
    positions 0..i).  PyTorch: ``nn.Transformer.generate_square_subsequent_mask``."""
    blocked = np.triu(np.ones((sz, sz), dtype=bool), k=1)
    mask = creation.zeros(sz, sz, dtype=dtype, device=device)
    mask.array[array_module(mask.array).asarray(blocked)] = -np.inf
    return mask


def _as_tensor(mask):
    return mask if mask is None or isinstance(mask, Tensor) else creation.tensor(mask)


# ---------------------------------------------------------------------------------------------
# MultiheadAttention
# ---------------------------------------------------------------------------------------------
class MultiheadAttention(Module):
    """Multi-head attention (see the module docstring) with ``torch.nn.MultiheadAttention``'s arguments,
    parameters and masks.

    Parameters: ``in_proj_weight`` (3E, E) holding W_q, W_k, W_v stacked (or ``q_proj_weight`` (E, E),
    ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim) when kdim/vdim differ from E),
    ``in_proj_bias`` (3E,), ``out_proj`` (a Linear E -> E).  Initialisation as PyTorch: Xavier-uniform
    projections, zero biases.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(output, weights)``:

    * shapes: (L, N, E) / (S, N, kdim) / (S, N, vdim) inputs, or (N, L, E)... with ``batch_first=True``,
      or unbatched (L, E); the output has the query's layout;
    * ``key_padding_mask`` (N, S): **True = padding, ignore this key** (note: the opposite of
      ``scaled_dot_product_attention``'s bool mask), or a float mask added to the scores;
    * ``attn_mask`` (L, S) or (N·num_heads, L, S): **True = may not attend**, or a float mask added;
    * ``is_causal=True``: a hint that ``attn_mask`` is the causal mask; PyTorch requires the mask too,
      here it is built when ``attn_mask`` is None;
    * ``weights``: None unless ``need_weights``; else the attention weights after dropout, averaged over
      the heads (N, L, S) or per head (N, num_heads, L, S) with ``average_attn_weights=False``.

    ``need_weights=False`` takes the fused ``scaled_dot_product_attention``; ``True`` the composite that
    also returns the weights.  A query whose keys are all masked gets weights 0 (PyTorch: 0 on its
    fused path, NaN on its need_weights path).
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        if add_bias_kv:
            raise ValueError("MultiheadAttention: add_bias_kv=True (a learned extra key/value) is not "
                             "supported; use add_bias_kv=False")
        if add_zero_attn:
            raise ValueError("MultiheadAttention: add_zero_attn=True (an extra all-zero key/value) is not "
                             "supported; use add_zero_attn=False")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout has to be between 0 and 1, but got {dropout}")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.head_dim = embed_dim // num_heads
        self.batch_first = batch_first
        self.add_zero_attn = False
        factory = dict(dtype=dtype, device=device)
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(creation.empty(3 * embed_dim, embed_dim, **factory))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(creation.empty(embed_dim, embed_dim, **factory))
            self.k_proj_weight = Parameter(creation.empty(embed_dim, self.kdim, **factory))
            self.v_proj_weight = Parameter(creation.empty(embed_dim, self.vdim, **factory))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(creation.empty(3 * embed_dim, **factory))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, **factory)
        self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, " \
               f"batch_first={self.batch_first}"

    # ---- the forward pass, step by step ------------------------------------------------------------
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        key_padding_mask, attn_mask = _as_tensor(key_padding_mask), _as_tensor(attn_mask)
        batched = self._check_shapes(query, key, value, key_padding_mask, attn_mask)
        # 1. everything batch-first (N, L, E): the heads are then split off the last dim
        if not batched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        N, L, S = query.shape[0], query.shape[1], key.shape[1]
        # 2. project, then split E into (num_heads, head_dim) and move the heads before the length
        q, k, v = self._in_projection(query, key, value)
        q, k, v = (self._split_heads(t) for t in (q, k, v))
        # 3. one mask in scaled_dot_product_attention's convention, shaped to broadcast over (N, H, L, S)
        causal = is_causal and attn_mask is None and key_padding_mask is None
        mask = None if causal else self._merge_masks(attn_mask, key_padding_mask, N, L, S, query, is_causal)
        p = self.dropout if self.training else 0.0
        if need_weights:
            out, weights = attention_with_weights(q, k, v, attn_mask=mask, dropout_p=p, is_causal=causal)
        else:
            out, weights = scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p,
                                                        is_causal=causal), None
        # 4. concatenate the heads and mix them with the output projection
        out = F.linear(out.transpose(1, 2).reshape(N, L, self.embed_dim), self.out_proj.weight,
                       self.out_proj.bias)
        if weights is not None and average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            out = out.squeeze(0)
            weights = None if weights is None else weights.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def _in_projection(self, query, key, value):
        """q, k, v = the three input projections.  Self-attention (query is key is value) with the packed
        weight is one matrix product with the (3E, E) weight, then a split."""
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            if query is key and key is value:
                return F.linear(query, w, b).split(E, dim=-1)
            wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def _split_heads(self, x):
        """(N, T, E) -> (N, num_heads, T, head_dim)."""
        N, T, _ = x.shape
        return x.reshape(N, T, self.num_heads, self.head_dim).transpose(1, 2)

    def _merge_masks(self, attn_mask, key_padding_mask, N, L, S, query, is_causal):
        """attn_mask (True = blocked, or float) and key_padding_mask (True = padding, or float) as one
        mask for ``scaled_dot_product_attention``: a bool mask (True = may attend) when both are bool,
        else a float mask (0 / -inf for the bool ones, summed).  Shape: broadcastable to (N, H, L, S)."""
        xp = array_module(query.array)
        if attn_mask is None and is_causal:
            attn_mask = Tensor._wrap(xp.asarray(_causal_blocked(L, S)))     # True above the diagonal
        masks = []
        if attn_mask is not None:
            if attn_mask.ndim == 3:   # (N·H, L, S), or (H, L, S) for an unbatched query
                attn_mask = attn_mask.reshape(N, self.num_heads, L, S)
            masks.append(attn_mask)
        if key_padding_mask is not None:
            masks.append(key_padding_mask.reshape(N, 1, 1, S))
        if not masks:
            return None
        if all(m.dtype == np.bool_ for m in masks):
            blocked = masks[0].array if len(masks) == 1 else masks[0].array | masks[1].array
            return Tensor._wrap(~blocked)
        total = None
        for m in masks:
            if m.dtype == np.bool_:
                m = Tensor._wrap(xp.where(m.array, -np.inf, 0.0).astype(query.dtype))
            total = m if total is None else total + m
        return total

    def _check_shapes(self, query, key, value, key_padding_mask, attn_mask):
        """Raise a clear error for inputs of the wrong rank, size or dtype; return whether batched."""
        name = "MultiheadAttention"
        for what, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise OpTypeError(f"{name}: {what} must be a Tensor, got {type(t).__name__}")
        shapes = f"query {tuple(query.shape)}, key {tuple(key.shape)}, value {tuple(value.shape)}"
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise OpValueError(f"{name}: query, key and value must all be 3-D (batched) or all 2-D "
                               f"(unbatched), got {shapes}")
        batched = query.ndim == 3
        layout = ("(N, L, E)" if self.batch_first else "(L, N, E)") if batched else "(L, E)"
        for what, t, size in (("query", query, self.embed_dim), ("key", key, self.kdim),
                              ("value", value, self.vdim)):
            if t.shape[-1] != size:
                raise OpValueError(f"{name}: {what} must have {size} features in its last dim (layout "
                                   f"{layout}), got {shapes}")
        lead = slice(0, 2) if batched else slice(0, 1)
        if key.shape[lead] != value.shape[lead]:
            raise OpValueError(f"{name}: key and value must have the same length and batch size, got "
                               f"{shapes}")
        if batched:
            batch_dim = 0 if self.batch_first else 1
            if query.shape[batch_dim] != key.shape[batch_dim]:
                raise OpValueError(f"{name}: query and key must have the same batch size (layout "
                                   f"{layout}), got {shapes}")
        N = query.shape[0 if self.batch_first else 1] if batched else 1
        L = query.shape[1 if self.batch_first else 0] if batched else query.shape[0]
        S = key.shape[1 if self.batch_first else 0] if batched else key.shape[0]
        for what, m in (("key_padding_mask", key_padding_mask), ("attn_mask", attn_mask)):
            if m is not None and m.dtype != np.bool_ and m.dtype != query.dtype:
                raise OpTypeError(f"{name}: {what} must be bool or have the query's dtype {query.dtype}, "
                                  f"got {m.dtype}")
        if key_padding_mask is not None:
            expected = (N, S) if batched else (S,)
            if tuple(key_padding_mask.shape) != expected:
                raise OpValueError(f"{name}: key_padding_mask must have shape {expected} (batch, source "
                                   f"length), got {tuple(key_padding_mask.shape)} for {shapes}")
        if attn_mask is not None:
            allowed = [(L, S), (N * self.num_heads, L, S)]
            if tuple(attn_mask.shape) not in allowed:
                raise OpValueError(f"{name}: attn_mask must have shape {allowed[0]} or {allowed[1]} "
                                   f"(batch·num_heads, target length, source length), got "
                                   f"{tuple(attn_mask.shape)} for {shapes}")
        return batched


# ---------------------------------------------------------------------------------------------
# TransformerEncoderLayer and TransformerEncoder
# ---------------------------------------------------------------------------------------------
_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


class TransformerEncoderLayer(Module):
    """One encoder block: self-attention and a feed-forward MLP, each inside a residual connection with
    layer norm (see the module docstring for post-LN vs pre-LN).  ``torch.nn.TransformerEncoderLayer``'s
    arguments and submodules (``self_attn``, ``linear1``, ``dropout``, ``linear2``, ``norm1``, ``norm2``,
    ``dropout1``, ``dropout2``):

        norm_first=False (post-LN, BERT):  x = norm1(x + dropout1(self_attn(x)))
                                           x = norm2(x + dropout2(linear2(dropout(act(linear1(x))))))
        norm_first=True  (pre-LN, GPT):    x = x + dropout1(self_attn(norm1(x)))
                                           x = x + dropout2(linear2(dropout(act(linear1(norm2(x))))))

    ``activation``: "relu", "gelu" or a callable.  ``forward(src, src_mask=None, src_key_padding_mask=None,
    is_causal=False)`` with MultiheadAttention's mask conventions (True = blocked / padding)."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True, device=None,
                 dtype=None):
        super().__init__()
        factory = dict(dtype=dtype, device=device)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **factory)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ValueError(f"TransformerEncoderLayer: activation should be relu/gelu, not "
                                 f"{activation!r}")
            activation = _ACTIVATIONS[activation]
        self.activation = activation

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer`` (deep copies: each layer has its own
    weights, as PyTorch's ``_get_clones``), then an optional final ``norm`` (pre-LN stacks need one: their
    residual stream is never normalised otherwise).  ``layers`` is a ModuleList, so state_dict keys are
    ``layers.0.self_attn.in_proj_weight``... as in PyTorch.  ``enable_nested_tensor`` and ``mask_check``
    are accepted for compatibility (they select PyTorch fast paths, not results)."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True):
        super().__init__()
        if not isinstance(encoder_layer, Module):
            raise TypeError(f"TransformerEncoder: encoder_layer must be a Module, got "
                            f"{type(encoder_layer).__name__}")
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers, self.norm = num_layers, norm
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                           is_causal=bool(is_causal))
        return output if self.norm is None else self.norm(output)
