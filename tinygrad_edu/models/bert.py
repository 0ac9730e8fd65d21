"""BERT (Devlin et al., 2018): a Transformer *encoder* pretrained to fill in blanks, then reused.

The idea
--------
GPT reads left to right and predicts the next token.  BERT reads the whole sentence at once —
every token attends to every other token, left and right — and is pretrained on a cloze task:
hide 15 % of the tokens and predict them from both sides (*masked language modelling*, MLM).
What it learns along the way (syntax, word senses, facts) sits in its hidden states, so the same
network, with a small new layer on top, is then *fine-tuned* for classification, named-entity
recognition, sentence embeddings…: that reuse is **transfer learning**.

The network, for input ids of shape (N, S) (N sentences of S tokens, H = hidden_size)::

    embeddings   x = LayerNorm(word[ids] + position[0..S-1] + token_type[segment])   (N, S, H)
    encoder      num_hidden_layers × BertLayer, each *post-LN* (normalise after adding):
                   a = LayerNorm(x + Dropout(Wₒ · MultiHeadSelfAttention(x, padding mask)))
                   x = LayerNorm(a + Dropout(W₂ · GELU(W₁ · a)))
    pooler       tanh(W_p · x[:, 0])        the [CLS] token's state, a summary of the sentence

Multi-head self-attention splits H into ``num_attention_heads`` heads of size d = H / heads; each
head computes ``softmax(q kᵀ / √d + mask) v`` (``nn.functional.scaled_dot_product_attention``).
Padding tokens (``attention_mask == 0``) get a huge negative number added to their scores, so no
query attends to them — but they still have hidden states of their own (ignore those).

Heads on top (the ``bert.`` prefix holds the encoder):

* ``BertForMaskedLM``: ``cls.predictions`` = dense → GELU → LayerNorm → a decoder to the
  vocabulary whose weight *is* the word-embedding matrix (weight tying) plus a per-token bias.
* ``BertForSequenceClassification``: dropout + ``classifier`` on the pooler output.
* ``BertForTokenClassification``: dropout + ``classifier`` on every token's hidden state (NER).

Every module and parameter has Hugging Face's name (``bert.encoder.layer.0.attention.self.query
.weight``…), so a Hugging Face ``model.safetensors`` loads directly: see ``from_pretrained``.
``mean_pooling`` + ``l2_normalize`` turn hidden states into sentence embeddings the way
sentence-transformers does (all-MiniLM-L6-v2 is a 6-layer, 384-wide BERT).
"""
import dataclasses
import inspect
import json
import os
import warnings
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from .. import nn
from ..backend import array_module
from ..nn import functional as F
from ..nn import init
from ..nn.attention import attention_with_weights
from ..serialization import load_state_dict_from_safetensors, save
from ..tensor import Tensor

__all__ = ["BertConfig", "BertModel", "BertForMaskedLM", "BertForSequenceClassification",
           "BertForTokenClassification", "BertPreTrainedModel", "BertModelOutput", "MaskedLMOutput",
           "SequenceClassifierOutput", "TokenClassifierOutput", "mean_pooling", "l2_normalize",
           "sentence_embeddings"]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
IGNORE_INDEX = -100      # label value that the losses skip (padding, [CLS]/[SEP], sub-word tails)


# =============================================================================================
# Configuration
# =============================================================================================
@dataclass
class BertConfig:
    """The hyper-parameters of a BERT, with Hugging Face's field names and defaults (BERT-base).

    ``from_json(path)`` / ``from_dict(d)`` read a Hugging Face ``config.json`` (unknown keys such
    as ``architectures`` or ``transformers_version`` are ignored); ``to_dict``/``to_json`` write
    one back.  ``hidden_act`` is ``"gelu"`` (the exact, erf-based GELU), ``"gelu_new"`` /
    ``"gelu_pytorch_tanh"`` (its tanh approximation), ``"relu"`` or ``"silu"``.
    """
    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    position_embedding_type: str = "absolute"
    classifier_dropout: Optional[float] = None   # None: use hidden_dropout_prob

    def __post_init__(self):
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"BertConfig: hidden_size ({self.hidden_size}) must be a multiple of "
                             f"num_attention_heads ({self.num_attention_heads})")
        if self.hidden_act not in _ACTIVATIONS:
            raise ValueError(f"BertConfig: unknown hidden_act {self.hidden_act!r}; supported: "
                             f"{', '.join(_ACTIVATIONS)}")
        if self.position_embedding_type != "absolute":
            raise ValueError(f"BertConfig: position_embedding_type {self.position_embedding_type!r} "
                             "is not supported (only 'absolute', learned positions)")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"BertConfig: {name} must be in [0, 1], got {getattr(self, name)}")

    @property
    def head_size(self):
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def from_dict(cls, d):
        """A config from a dict such as Hugging Face's ``config.json`` (unknown keys ignored)."""
        if not isinstance(d, dict):
            raise TypeError(f"BertConfig.from_dict: expected a dict, got {type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    @classmethod
    def from_json(cls, path):
        """Read a ``config.json`` file (or the ``config.json`` inside a folder)."""
        path = os.fspath(path)
        if os.path.isdir(path):
            path = os.path.join(path, CONFIG_NAME)
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))

    def to_dict(self):
        return {**dataclasses.asdict(self), "model_type": "bert"}

    def to_json(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2, sort_keys=True)
            f.write("\n")


_ACTIVATIONS = {
    "gelu": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "silu": F.silu,
}


# =============================================================================================
# Outputs: small dataclasses with Hugging Face's field names
# =============================================================================================
class _ModelOutput:
    """``out.logits`` by name, or ``out[0]`` by position over the fields that are not None (as
    Hugging Face's ``ModelOutput``)."""

    def to_tuple(self):
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self)
                     if getattr(self, f.name) is not None)

    def __getitem__(self, index):
        return self.to_tuple()[index]


@dataclass
class BertModelOutput(_ModelOutput):
    """``last_hidden_state`` (N, S, H); ``pooler_output`` (N, H) or None without a pooler;
    ``hidden_states``: the embeddings and every layer's output when asked (num_layers + 1 of
    them); ``attentions``: every layer's attention weights (N, heads, S, S) when asked."""
    last_hidden_state: Tensor
    pooler_output: Optional[Tensor] = None
    hidden_states: Optional[Tuple[Tensor, ...]] = None
    attentions: Optional[Tuple[Tensor, ...]] = None


@dataclass
class _HeadOutput(_ModelOutput):
    """What every task head returns: ``loss`` (when labels are given) and ``logits``, plus the encoder's
    ``hidden_states`` / ``attentions`` when asked.  The subclasses only name the task (as Hugging Face
    does)."""
    loss: Optional[Tensor] = None
    logits: Optional[Tensor] = None
    hidden_states: Optional[Tuple[Tensor, ...]] = None
    attentions: Optional[Tuple[Tensor, ...]] = None


@dataclass
class MaskedLMOutput(_HeadOutput):
    """``logits`` (N, S, vocab_size)."""


@dataclass
class SequenceClassifierOutput(_HeadOutput):
    """``logits`` (N, num_labels)."""


@dataclass
class TokenClassifierOutput(_HeadOutput):
    """``logits`` (N, S, num_labels)."""


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
    The output projection lives in ``BertSelfOutput`` (Hugging Face's split)."""

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

    def forward(self, hidden_states, attention_mask=None, output_attentions=False):
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

    def forward(self, hidden_states, attention_mask=None, output_attentions=False):
        context, weights = self.self(hidden_states, attention_mask, output_attentions)
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

    def forward(self, hidden_states, attention_mask=None, output_attentions=False):
        attended, weights = self.attention(hidden_states, attention_mask, output_attentions)
        return self.output(self.intermediate(attended), attended), weights


class BertEncoder(nn.Module):
    """``layer``: a ModuleList of ``num_hidden_layers`` BertLayers applied in turn."""

    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, hidden_states, attention_mask=None, output_attentions=False,
                output_hidden_states=False):
        all_hidden = (hidden_states,) if output_hidden_states else None
        all_weights = () if output_attentions else None
        for layer in self.layer:
            hidden_states, weights = layer(hidden_states, attention_mask, output_attentions)
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
# The shared base: initialisation, loading and saving
# =============================================================================================
class BertPreTrainedModel(nn.Module):
    """What every BERT model shares: Hugging Face's initialisation (``init_weights``), weight
    tying, and ``from_pretrained`` / ``save_pretrained`` for Hugging Face folders
    (``config.json`` + ``model.safetensors``)."""

    base_model_prefix = "bert"
    # keys that old checkpoints hold but that are not parameters (HF ignores them too)
    _ignored_checkpoint_keys = ("embeddings.position_ids", "embeddings.token_type_ids")
    # tied names: a key that may be absent from a file because its twin is there
    _tied_keys = {}

    def _init_module(self, module):
        """Hugging Face's ``_init_weights``: Linear and Embedding weights ~ N(0, initializer_range²),
        biases 0 (and the padding row of an Embedding 0), LayerNorm weight 1 and bias 0."""
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, 0.0, std)
            if module.padding_idx is not None:
                module.weight.array[module.padding_idx] = 0
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, BertLMPredictionHead):
            init.zeros_(module.bias)

    def init_weights(self):
        """(Re)initialise every parameter as Hugging Face does, then tie the tied weights."""
        for module in self.modules():
            self._init_module(module)
        self.tie_weights()
        for module in self.modules():      # a tied decoder redraws the embedding: re-zero padding
            if isinstance(module, nn.Embedding) and module.padding_idx is not None:
                module.weight.array[module.padding_idx] = 0

    def tie_weights(self):
        """Point tied parameters at one another (nothing to tie in the base class)."""

    # ---- loading ----------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, folder, *args, output_loading_info=False, **kwargs):
        """Build the model from a Hugging Face folder: ``config.json`` for the shape and
        ``model.safetensors`` for the weights (read by ``tinygrad_edu.serialization``; no pickle).

        The checkpoint may be for the bare encoder (``embeddings.…``) or for a model with heads
        (``bert.embeddings.…``): the prefix is added or removed as needed.  Parameters the file
        lacks (a new classification head) keep their fresh initialisation and are reported as
        *missing*; tensors the model has no place for (another model's heads) are reported as
        *unexpected* — in a warning, and in the returned info with ``output_loading_info=True``:
        ``model, {"missing_keys": [...], "unexpected_keys": [...]}``.  Extra positional and keyword
        arguments go to the constructor (``num_labels=…``)."""
        folder = os.fspath(folder)
        with open(os.path.join(folder, CONFIG_NAME), encoding="utf-8") as f:
            raw_config = json.load(f)
        config = kwargs.pop("config", None) or BertConfig.from_dict(raw_config)
        if "num_labels" in inspect.signature(cls.__init__).parameters and "num_labels" not in kwargs \
                and not args and isinstance(raw_config.get("id2label"), dict):
            kwargs["num_labels"] = len(raw_config["id2label"])   # a fine-tuned head keeps its size
        weights = os.path.join(folder, WEIGHTS_NAME)
        if not os.path.exists(weights):
            raise FileNotFoundError(f"{cls.__name__}.from_pretrained: no {WEIGHTS_NAME} in {folder} "
                                    "(only safetensors checkpoints are read, never pickles)")
        model = cls(config, *args, **kwargs)
        state = load_state_dict_from_safetensors(weights)
        missing, unexpected = model.load_hf_state_dict(state)
        if missing or unexpected:
            lines = [f"{cls.__name__}.from_pretrained({folder!r}):"]
            if missing:
                lines.append(f"newly initialised (not in the checkpoint): {missing}")
            if unexpected:
                lines.append(f"unused (in the checkpoint, not in the model): {unexpected}")
            warnings.warn(" ".join(lines), stacklevel=2)
        model.eval()
        if output_loading_info:
            return model, {"missing_keys": missing, "unexpected_keys": unexpected}
        return model

    def load_hf_state_dict(self, state):
        """Copy a Hugging Face state dict (name → Tensor/array) into this model, adapting the
        ``bert.`` prefix and legacy names; returns ``(missing_keys, unexpected_keys)``.  Shape
        mismatches raise."""
        own = self.state_dict(keep_vars=True)
        has_prefix = any(k.startswith(self.base_model_prefix + ".") for k in own)
        prefix = self.base_model_prefix + "."
        mapped = {}
        for key, value in state.items():
            key = _legacy_name(key)
            if has_prefix and not key.startswith(prefix) and prefix + key in own:
                key = prefix + key                       # bare encoder file → model with heads
            elif not has_prefix and key.startswith(prefix):
                key = key[len(prefix):]                  # model-with-heads file → bare encoder
            mapped[key] = value
        mapped = {k: v for k, v in mapped.items()          # buffers, not parameters: drop quietly
                  if k.removeprefix(prefix) not in self._ignored_checkpoint_keys}
        self.load_state_dict(mapped, strict=False)
        missing = [k for k in own if k not in mapped
                   and not (k in self._tied_keys and self._tied_keys[k] in mapped)]
        unexpected = [k for k in mapped if k not in own]
        return missing, unexpected

    # ---- saving -----------------------------------------------------------------------------
    def save_pretrained(self, folder):
        """Write ``config.json`` and ``model.safetensors`` (tied copies left out, as Hugging Face
        does) so that ``from_pretrained`` — ours or Hugging Face's — reads them back."""
        folder = os.fspath(folder)
        os.makedirs(folder, exist_ok=True)
        config = self.config.to_dict()
        if hasattr(self, "num_labels"):       # Hugging Face sizes a classification head by id2label
            config["id2label"] = {str(i): f"LABEL_{i}" for i in range(self.num_labels)}
            config["label2id"] = {f"LABEL_{i}": i for i in range(self.num_labels)}
        with open(os.path.join(folder, CONFIG_NAME), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2, sort_keys=True)
            f.write("\n")
        state = {k: v for k, v in self.state_dict().items() if k not in self._tied_keys}
        save(state, os.path.join(folder, WEIGHTS_NAME))


def _legacy_name(key):
    """Old (TensorFlow-converted) checkpoints call LayerNorm's weight/bias gamma/beta."""
    if key.endswith(".gamma"):
        return key[:-len("gamma")] + "weight"
    if key.endswith(".beta"):
        return key[:-len("beta")] + "bias"
    return key


def _padding_bias(attention_mask, batch, length, dtype, xp):
    """The (N, 1, 1, S) additive mask: 0 where a key may be attended to, the most negative float
    where it is padding.  Added to every head's scores, it makes softmax give padding a weight of
    exactly 0 (exp(min - max) underflows), and a row with no real key gets uniform weights instead
    of NaN (Hugging Face's "extended attention mask")."""
    mask = _mask_array("BertModel", attention_mask, (batch, length), xp)
    bias = (1 - mask.astype(dtype)) * np.finfo(dtype).min
    return Tensor._wrap(bias[:, None, None, :])


# =============================================================================================
# The encoder and the task models
# =============================================================================================
class BertModel(BertPreTrainedModel):
    """The bare encoder: ``embeddings`` → ``encoder`` → ``pooler`` (omitted with
    ``add_pooling_layer=False``, as in Hugging Face's MLM and token-classification models).

    ``forward(input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
    output_attentions=False, output_hidden_states=False)`` → ``BertModelOutput``.  Inputs are
    integer Tensors, arrays or lists of shape (N, S); ``attention_mask`` is 1 for real tokens and 0
    for padding."""

    def __init__(self, config, add_pooling_layer=True):
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(f"BertModel: config must be a BertConfig, got {type(config).__name__}")
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.init_weights()

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions=False, output_hidden_states=False):
        x = self.embeddings(input_ids, token_type_ids, position_ids)
        bias = None
        if attention_mask is not None:
            xp = array_module(x.array)
            bias = _padding_bias(attention_mask, x.shape[0], x.shape[1], x.dtype, xp)
        x, hidden_states, attentions = self.encoder(x, bias, output_attentions, output_hidden_states)
        pooled = self.pooler(x) if self.pooler is not None else None
        return BertModelOutput(x, pooled, hidden_states, attentions)


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


def _as_labels(labels, like):
    """Labels as a Tensor on ``like``'s device."""
    if isinstance(labels, Tensor):
        return labels
    return Tensor._wrap(array_module(like.array).asarray(labels))


def _token_loss(logits, labels, num_classes):
    """Mean cross entropy over the tokens whose label is not -100."""
    target = _as_labels(labels, logits)
    if tuple(target.shape) != tuple(logits.shape[:-1]):
        raise ValueError(f"labels have shape {tuple(target.shape)}, expected {tuple(logits.shape[:-1])} "
                         "(one label per token, -100 for tokens to ignore)")
    return F.cross_entropy(logits.reshape(-1, num_classes), target.reshape(-1),
                           ignore_index=IGNORE_INDEX)


class BertForMaskedLM(BertPreTrainedModel):
    """BERT's pretraining objective: predict the hidden tokens.  ``bert`` (no pooler) → ``cls``
    (the tied MLM head) → logits (N, S, vocab_size).  With ``labels`` (N, S) — the original token
    where one was masked, -100 elsewhere — ``loss`` is the mean cross entropy over masked tokens."""

    _tied_keys = {"cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
                  "cls.predictions.decoder.bias": "cls.predictions.bias"}

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)
        self.init_weights()

    def tie_weights(self):
        head = self.cls.predictions
        head.decoder.weight = self.bert.embeddings.word_embeddings.weight
        head.decoder.bias = head.bias

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                labels=None, output_attentions=False, output_hidden_states=False):
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                        output_hidden_states)
        logits = self.cls(out.last_hidden_state)
        loss = None if labels is None else _token_loss(logits, labels, self.config.vocab_size)
        return MaskedLMOutput(loss, logits, out.hidden_states, out.attentions)


class BertForSequenceClassification(BertPreTrainedModel):
    """Sentence (or sentence-pair) classification: ``bert`` → pooler output → ``dropout`` →
    ``classifier`` (H → num_labels).  ``loss`` as Hugging Face picks it: mean squared error when
    ``num_labels == 1`` (regression), cross entropy for integer labels, binary cross entropy with
    logits for float multi-hot labels (multi-label)."""

    def __init__(self, config, num_labels=2):
        super().__init__()
        if not isinstance(num_labels, int) or num_labels < 1:
            raise ValueError(f"BertForSequenceClassification: num_labels must be a positive int, got "
                             f"{num_labels!r}")
        self.config, self.num_labels = config, num_labels
        self.bert = BertModel(config)
        p = config.classifier_dropout if config.classifier_dropout is not None \
            else config.hidden_dropout_prob
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(config.hidden_size, num_labels)
        self.init_weights()

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                labels=None, output_attentions=False, output_hidden_states=False):
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                        output_hidden_states)
        logits = self.classifier(self.dropout(out.pooler_output))
        loss = None if labels is None else self._loss(logits, labels)
        return SequenceClassifierOutput(loss, logits, out.hidden_states, out.attentions)

    def _loss(self, logits, labels):
        target = _as_labels(labels, logits)
        if self.num_labels == 1:
            return F.mse_loss(logits.reshape(-1), target.reshape(-1).to(logits.dtype))
        if target.dtype.kind in "iu":
            return F.cross_entropy(logits, target.reshape(-1))
        return F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype))


class BertForTokenClassification(BertPreTrainedModel):
    """One label per token (named-entity recognition): ``bert`` (no pooler) → ``dropout`` →
    ``classifier`` on every hidden state → logits (N, S, num_labels); ``loss`` is the mean cross
    entropy over tokens whose label is not -100 (padding, special tokens, word-piece tails)."""

    def __init__(self, config, num_labels=2):
        super().__init__()
        if not isinstance(num_labels, int) or num_labels < 1:
            raise ValueError(f"BertForTokenClassification: num_labels must be a positive int, got "
                             f"{num_labels!r}")
        self.config, self.num_labels = config, num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        p = config.classifier_dropout if config.classifier_dropout is not None \
            else config.hidden_dropout_prob
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(config.hidden_size, num_labels)
        self.init_weights()

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                labels=None, output_attentions=False, output_hidden_states=False):
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                        output_hidden_states)
        logits = self.classifier(self.dropout(out.last_hidden_state))
        loss = None if labels is None else _token_loss(logits, labels, self.num_labels)
        return TokenClassifierOutput(loss, logits, out.hidden_states, out.attentions)


# =============================================================================================
# Sentence embeddings
# =============================================================================================
def mean_pooling(last_hidden_state, attention_mask):
    """The average of the real tokens' hidden states (padding excluded), one vector per sentence:

        e[n] = Σₛ m[n, s] · h[n, s, :] / max(Σₛ m[n, s], 1e-9)        (N, S, H), (N, S) → (N, H)

    It is how sentence-transformers pools all-MiniLM-L6-v2."""
    if attention_mask is None:
        return last_hidden_state.mean(dim=1)
    xp = array_module(last_hidden_state.array)
    mask = _mask_array("mean_pooling", attention_mask, last_hidden_state.shape[:2], xp)
    weights = mask.astype(last_hidden_state.dtype)
    counts = xp.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
    summed = (last_hidden_state * Tensor._wrap(weights[:, :, None])).sum(dim=1)
    return summed / Tensor._wrap(counts)


def l2_normalize(x, dim=-1, eps=1e-12):
    """x / max(‖x‖₂, eps) along ``dim`` (``torch.nn.functional.normalize``): unit vectors, so a
    dot product of two of them is their cosine similarity."""
    norm = (x * x).sum(dim=dim, keepdim=True).sqrt()
    return x / norm.clamp(min=eps)


def sentence_embeddings(model, input_ids, attention_mask, token_type_ids=None):
    """Unit-length sentence vectors from a ``BertModel``: mean pooling over the real tokens, then L2
    normalisation (the sentence-transformers pipeline of all-MiniLM-L6-v2)."""
    out = model(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
    return l2_normalize(mean_pooling(out.last_hidden_state, attention_mask))
