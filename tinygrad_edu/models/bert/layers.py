"""BERT's building blocks, each an ``nn.Module`` with Hugging Face's name: the embeddings, multi-head
self-attention and the rest of one post-LN encoder layer, the encoder stack, the pooler, and the
layers of the masked-LM head (``cls.predictions``).

``model.py`` assembles them into ``BertModel`` and the task models; the input checks at the top
(integer ids, 0/1 attention masks) are shared with it and with ``sentence.py``.
"""
import numpy as np

from ... import nn
from ...backend import array_module
from ...nn import functional as F
from ...nn.attention import attention_with_weights
from ...tensor import Tensor
from .config import _ACTIVATIONS


# =============================================================================================
# Input checks
# =============================================================================================
def _int_array(who, name, value, xp):
    """``value`` (Tensor, array or nested list) as an integer array of the weights' array module."""
    array = value.array if isinstance(value, Tensor) else value
    array = xp.asarray(array)
    if array.dtype.kind == "b":
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{who}: {name} must hold integers, got dtype {array.dtype} and shape "
                        f"{tuple(array.shape)}")
    return array


def _check_ids(who, name, ids, shape, upper):
    """``ids`` must have ``shape`` (when given) and values in [0, upper)."""
    if shape is not None and tuple(ids.shape) != tuple(shape):
        raise ValueError(f"{who}: {name} has shape {tuple(ids.shape)} but input_ids has shape "
                         f"{tuple(shape)}; they must match (batch, sequence_length)")
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= upper):
        raise IndexError(f"{who}: {name} holds values from {int(ids.min())} to {int(ids.max())}, "
                         f"expected 0 <= value < {upper}")


def _mask_array(who, attention_mask, shape, xp):
    """An attention mask (1 = real token, 0 = padding; bool, int or float) of shape ``shape``."""
    array = attention_mask.array if isinstance(attention_mask, Tensor) else attention_mask
    mask = xp.asarray(array)
    if tuple(mask.shape) != tuple(shape):
        raise ValueError(f"{who}: attention_mask has shape {tuple(mask.shape)}, expected "
                         f"{tuple(shape)} (batch, sequence_length)")
    if mask.dtype.kind not in "biuf" or (mask.size and not bool(((mask == 0) | (mask == 1)).all())):
        raise ValueError(f"{who}: attention_mask must hold only 0 (padding) and 1 (real token), got "
                         f"dtype {mask.dtype}")
    return mask


# =============================================================================================
# Embeddings
# =============================================================================================
class BertEmbeddings(nn.Module):
    """x = Dropout(LayerNorm(word[ids] + position[pos] + token_type[segment])).

    Three lookup tables added together: *what* the token is, *where* it is (learned absolute
    positions, 0..max_position_embeddings-1) and *which segment* it belongs to (sentence A = 0,
    sentence B = 1 for sentence pairs).  The sum is normalised, as every sub-layer output is."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size,
                                            padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids=None, position_ids=None):
        who = "BertEmbeddings"
        xp = array_module(self.word_embeddings.weight.array)
        ids = _int_array(who, "input_ids", input_ids, xp)
        if ids.ndim != 2:
            raise ValueError(f"{who}: input_ids must have shape (batch, sequence_length), got "
                             f"{tuple(ids.shape)}")
        batch, length = ids.shape
        _check_ids(who, "input_ids", ids, None, self.config.vocab_size)
        if position_ids is None:
            if length > self.config.max_position_embeddings:
                raise ValueError(f"{who}: sequence length {length} exceeds max_position_embeddings "
                                 f"({self.config.max_position_embeddings}); truncate the input")
            positions = xp.arange(length)[None, :]                       # (1, S): broadcast
        else:
            positions = _int_array(who, "position_ids", position_ids, xp)
            if positions.ndim == 1:
                positions = positions[None, :]
            if positions.shape[-1] != length or positions.shape[0] not in (1, batch):
                raise ValueError(f"{who}: position_ids has shape {tuple(positions.shape)}, expected "
                                 f"(1, {length}) or ({batch}, {length})")
            _check_ids(who, "position_ids", positions, None, self.config.max_position_embeddings)
        if token_type_ids is None:
            segments = xp.zeros((1, length), dtype=np.int64)
        else:
            segments = _int_array(who, "token_type_ids", token_type_ids, xp)
            _check_ids(who, "token_type_ids", segments, ids.shape, self.config.type_vocab_size)
        x = self.word_embeddings(ids) + self.token_type_embeddings(segments)
        x = x + self.position_embeddings(positions)
        return self.dropout(self.LayerNorm(x))


# =============================================================================================
# One encoder layer: attention sub-layer, feed-forward sub-layer (post-LN)
# =============================================================================================
class BertSelfAttention(nn.Module):
    """Multi-head self-attention: ``query``, ``key`` and ``value`` projections of x, split into
    heads, ``softmax(q kᵀ/√d + mask) v`` per head, heads concatenated back to (N, S, H).

    Shapes: (N, S, H) → q, k, v (N, heads, S, d) → attention (N, heads, S, d) → (N, S, H).
    The output projection lives in ``BertSelfOutput`` (Hugging Face's split).

    ``head_mask`` (1, heads, 1, 1) or None: head h's probabilities P_h are multiplied by ξ_h
    (Hugging Face's semantics; 0 removes the head).  ξ_h is one number per head, so
    (ξ_h P_h) V_h = ξ_h (P_h V_h): the mask multiplies each head's output, and the fused attention
    kernel still runs.  The weights returned with ``output_attentions`` are the masked ξ_h P_h."""

    def __init__(self, config):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.head_size
        hidden = config.hidden_size
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.dropout_prob = config.attention_probs_dropout_prob

    def _split_heads(self, x):
        n, s, _ = x.shape
        return x.reshape(n, s, self.num_attention_heads, self.attention_head_size).transpose(1, 2)

    def forward(self, hidden_states, attention_mask=None, output_attentions=False, head_mask=None):
        q = self._split_heads(self.query(hidden_states))
        k = self._split_heads(self.key(hidden_states))
        v = self._split_heads(self.value(hidden_states))
        p = self.dropout_prob if self.training else 0.0
        if output_attentions:
            context, weights = attention_with_weights(q, k, v, attn_mask=attention_mask, dropout_p=p,
                                                      training=self.training)
        else:
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_mask, dropout_p=p)
            weights = None
        if head_mask is not None:
            context = context * head_mask
            weights = None if weights is None else weights * head_mask
        n, _, s, _ = context.shape
        context = context.transpose(1, 2).reshape(n, s, self.num_attention_heads *
                                                  self.attention_head_size)
        return context, weights


class BertSelfOutput(nn.Module):
    """LayerNorm(x + Dropout(dense(attention output))): the projection back to H, the residual
    connection and the post-LN normalisation."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states, input_tensor):
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


class BertAttention(nn.Module):
    """The attention sub-layer: ``self`` (multi-head attention) then ``output`` (projection,
    residual, LayerNorm)."""

    def __init__(self, config):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, hidden_states, attention_mask=None, output_attentions=False, head_mask=None):
        context, weights = self.self(hidden_states, attention_mask, output_attentions, head_mask)
        return self.output(context, hidden_states), weights


class BertIntermediate(nn.Module):
    """act(dense(x)): widen each token's vector to ``intermediate_size`` (4·H in BERT)."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = _ACTIVATIONS[config.hidden_act]

    def forward(self, hidden_states):
        return self.intermediate_act_fn(self.dense(hidden_states))


class BertOutput(nn.Module):
    """LayerNorm(x + Dropout(dense(h))): narrow back to H, residual, post-LN."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states, input_tensor):
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


class BertLayer(nn.Module):
    """One post-LN Transformer encoder block: attention sub-layer, then the position-wise
    feed-forward sub-layer (``intermediate`` + ``output``), each wrapped in residual + LayerNorm."""

    def __init__(self, config):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden_states, attention_mask=None, output_attentions=False, head_mask=None):
        attended, weights = self.attention(hidden_states, attention_mask, output_attentions, head_mask)
        return self.output(self.intermediate(attended), attended), weights


class BertEncoder(nn.Module):
    """``layer``: a ModuleList of ``num_hidden_layers`` BertLayers applied in turn.  ``head_mask``:
    None or one (1, heads, 1, 1) mask per layer (``models/head_mask.layer_head_masks``)."""

    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, hidden_states, attention_mask=None, output_attentions=False,
                output_hidden_states=False, head_mask=None):
        all_hidden = (hidden_states,) if output_hidden_states else None
        all_weights = () if output_attentions else None
        for i, layer in enumerate(self.layer):
            layer_mask = None if head_mask is None else head_mask[i]
            hidden_states, weights = layer(hidden_states, attention_mask, output_attentions, layer_mask)
            if output_hidden_states:
                all_hidden += (hidden_states,)
            if output_attentions:
                all_weights += (weights,)
        return hidden_states, all_hidden, all_weights


class BertPooler(nn.Module):
    """tanh(dense(x[:, 0])): the [CLS] token's final state, through one more layer.  Pretraining's
    next-sentence task trained it as a summary of the whole input."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states):
        return self.dense(hidden_states[:, 0]).tanh()


# =============================================================================================
# The masked-LM head's layers (BertForMaskedLM's ``cls``)
# =============================================================================================
class BertPredictionHeadTransform(nn.Module):
    """LayerNorm(act(dense(x))): one more layer before the vocabulary projection."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = _ACTIVATIONS[config.hidden_act]
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states):
        return self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))


class BertLMPredictionHead(nn.Module):
    """logits = decoder(transform(x)) with ``decoder.weight`` = the word-embedding matrix (V, H)
    and ``decoder.bias`` = ``bias`` (V,): scoring a hidden state against every word's input
    embedding ("weight tying": fewer parameters, and input and output share one word space)."""

    def __init__(self, config):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.bias = nn.Parameter(self.decoder.bias.array.copy())
        self.decoder.bias = self.bias

    def forward(self, hidden_states):
        return self.decoder(self.transform(hidden_states))


class BertOnlyMLMHead(nn.Module):
    """Holds ``predictions`` (the name that gives Hugging Face's ``cls.predictions.…`` keys)."""

    def __init__(self, config):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, sequence_output):
        return self.predictions(sequence_output)
