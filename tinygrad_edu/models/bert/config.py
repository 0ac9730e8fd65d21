"""BERT's plain data: ``BertConfig`` (the hyper-parameters, read from and written to Hugging Face's
``config.json``) and the small output dataclasses the models return, with Hugging Face's field names.

Also the file names of a Hugging Face model folder (``config.json``, ``model.safetensors``), the label
value the losses skip (-100) and the table of activation functions ``hidden_act`` may name.  The
modules that use them are in ``layers.py``; the models in ``model.py``.
"""
import dataclasses
import json
import os
from dataclasses import dataclass
from typing import Optional, Tuple

from ...nn import functional as F
from ...tensor import Tensor


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
