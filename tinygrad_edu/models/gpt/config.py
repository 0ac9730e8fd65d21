"""``GPTConfig``: the shape of a mini-GPT (layers, heads, width, context length, vocabulary,
dropout, biases), checked when it is made, and ``from_hf_config`` for a Hugging Face ``GPT2Config``.

The model it describes is in ``model.py``; its blocks in ``blocks.py``.
"""
from dataclasses import dataclass

import numpy as np


@dataclass
class GPTConfig:
    """The shape of a GPT.  Defaults: nanoGPT's Shakespeare-char CPU configuration (0.8M
    parameters with 65 characters).  ``bias=False`` drops every Linear and LayerNorm bias."""
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    vocab_size: int = 65
    dropout: float = 0.0
    bias: bool = True

    def __post_init__(self):
        for name in ("n_layer", "n_head", "n_embd", "block_size", "vocab_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"GPTConfig: {name} must be a positive integer, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig: n_embd ({self.n_embd}) must be divisible by n_head "
                             f"({self.n_head}): each head gets n_embd / n_head features")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig: dropout must be in [0, 1), got {self.dropout}")

    @classmethod
    def from_hf_config(cls, hf_config, **overrides):
        """The config matching a Hugging Face ``GPT2Config`` (read by attribute name, so
        ``transformers`` is not imported): n_layer, n_head, n_embd, n_positions → block_size,
        vocab_size, resid_pdrop → dropout.  Only what this model computes is accepted:
        ``activation_function`` "gelu_new" and LayerNorm eps 1e-5, attention scaled by
        1/sqrt(head_size) only (no per-layer scaling, no reordered upcast).  ``hf_config`` may
        also be a plain dict (``GPT2Config.to_dict()``)."""
        if isinstance(hf_config, dict):
            from types import SimpleNamespace
            hf_config = SimpleNamespace(**hf_config)
        activation = getattr(hf_config, "activation_function", "gelu_new")
        if activation not in ("gelu_new", "gelu_pytorch_tanh"):
            raise ValueError(f"GPTConfig.from_hf_config: activation_function {activation!r} is not "
                             "supported; this GPT uses GPT-2's 'gelu_new' (tanh approximation)")
        unsupported = {"scale_attn_weights": (True, "attention scores are always divided by "
                                                    "sqrt(head_size)"),
                       "scale_attn_by_inverse_layer_idx": (False, "no per-layer 1/(layer+1) scaling"),
                       "reorder_and_upcast_attn": (False, "attention is not reordered/upcast")}
        for name, (computed, what) in unsupported.items():
            value = getattr(hf_config, name, computed)
            if bool(value) != computed:
                raise ValueError(f"GPTConfig.from_hf_config: {name}={value!r} is not supported; this "
                                 f"GPT computes only {name}={computed} ({what})")
        eps = getattr(hf_config, "layer_norm_epsilon", 1e-5)
        if abs(eps - 1e-5) > 1e-12:
            raise ValueError(f"GPTConfig.from_hf_config: layer_norm_epsilon {eps} is not supported "
                             "(this GPT's LayerNorms use 1e-5, as GPT-2)")
        values = dict(n_layer=hf_config.n_layer, n_head=hf_config.n_head, n_embd=hf_config.n_embd,
                      block_size=hf_config.n_positions, vocab_size=hf_config.vocab_size,
                      dropout=float(getattr(hf_config, "resid_pdrop", 0.0)), bias=True)
        values.update(overrides)
        return cls(**values)
