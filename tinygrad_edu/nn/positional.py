"""Positional embeddings: telling attention *where* each token is.

Attention is permutation-equivariant: shuffle the tokens and the outputs shuffle the same way, because
q·kᵀ compares contents only.  "dog bites man" and "man bites dog" would look alike.  The fix is to add a
vector that depends on the position to each token's embedding before the first layer:

    x[t] = token_embedding(token[t]) + positional_embedding(t)

Two ways to get those vectors, both used by famous models:

* **Sinusoidal** (Vaswani et al., 2017, the original Transformer): a fixed formula, no parameters.  For
  position ``pos`` and feature pair ``i`` (0 ≤ 2i < dim)

      PE[pos, 2i]   = sin(pos / 10000^(2i/dim))
      PE[pos, 2i+1] = cos(pos / 10000^(2i/dim))

  Each pair is a clock hand turning at its own speed, from one turn every 2π positions (i = 0) to one
  every 2π·10000 positions; together they give each position a unique code, and PE[pos + k] is a fixed
  rotation of PE[pos], so "k tokens back" is a linear function the model can learn.
* **Learned** (BERT, GPT-2): an ``Embedding`` table with one trainable row per position, learned like any
  weight.  Simple and strong, but it knows nothing about positions beyond ``max_len``.

Both modules here take integer **position ids** of any shape (typically ``arange(T)``) and return their
vectors, shape ``positions.shape + (dim,)``, like ``nn.Embedding``:

    pos = tg.arange(T)                        # (T,)
    x = tok_emb(idx) + pos_emb(pos)           # (N, T, dim) + (T, dim): broadcast over the batch
"""
import math

import numpy as np

from .. import creation
from .. import dtypes as _dt
from ..autograd.function import OpIndexError, OpTypeError
from ..tensor import Tensor
from . import functional as F
from .embedding import Embedding
from .module import Module

__all__ = ["SinusoidalPositionalEmbedding", "LearnedPositionalEmbedding", "sinusoidal_table"]


def sinusoidal_table(max_len, dim):
    """The (max_len, dim) float64 table of the Vaswani formula (see the module docstring); an odd ``dim``
    ends with a sine column."""
    position = np.arange(max_len, dtype=np.float64)[:, None]                       # (max_len, 1)
    inv_freq = np.exp(-math.log(10000.0) * np.arange(0, dim, 2, dtype=np.float64) / dim)  # 10000^(-2i/dim)
    angles = position * inv_freq                                                   # (max_len, ceil(dim/2))
    table = np.zeros((max_len, dim), dtype=np.float64)
    table[:, 0::2] = np.sin(angles)
    table[:, 1::2] = np.cos(angles[:, :dim // 2])
    return table


def _check_positions(who, positions, max_len):
    """Integer ids within 0..max_len-1, else an error that says the sequence is too long."""
    ids = positions.array if isinstance(positions, Tensor) else np.asarray(positions)
    if ids.dtype.kind not in "iu":
        raise OpTypeError(f"{who}: expects integer position ids (e.g. tg.arange(seq_len)), got dtype "
                          f"{ids.dtype} and shape {tuple(ids.shape)}")
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= max_len):
        raise OpIndexError(f"{who}: position ids range over {int(ids.min())}..{int(ids.max())}, but "
                           f"max_len={max_len} allows 0..{max_len - 1}: the sequence is longer than "
                           f"max_len ({int(ids.max()) + 1} > {max_len}); build the module with a larger "
                           f"max_len or feed shorter sequences")
    return positions if isinstance(positions, Tensor) else creation.tensor(ids)


class SinusoidalPositionalEmbedding(Module):
    """Fixed sine/cosine position vectors (Vaswani et al., 2017; formula in the module docstring).

    The table is a **buffer** ``pe`` of shape (max_len, dim), not a parameter: it is never trained, moves
    with ``.to()``, and is left out of ``state_dict`` (it is a formula, so there is nothing to save, and a
    checkpoint stays loadable into a module with another ``max_len``).  ``forward(positions)`` returns
    ``pe[positions]``, shape ``positions.shape + (dim,)``."""

    def __init__(self, max_len, dim, device=None, dtype=None):
        super().__init__()
        if max_len <= 0 or dim <= 0:
            raise ValueError(f"SinusoidalPositionalEmbedding: max_len and dim must be positive, got "
                             f"max_len={max_len}, dim={dim}")
        self.max_len, self.dim = max_len, dim
        table = sinusoidal_table(max_len, dim).astype(_dt.as_dtype(dtype) if dtype is not None
                                                      else _dt.get_default_dtype())
        self.register_buffer("pe", creation.tensor(table, device=device), persistent=False)

    def forward(self, positions):
        positions = _check_positions("SinusoidalPositionalEmbedding", positions, self.max_len)
        return F.embedding(positions, self.pe)

    def extra_repr(self):
        return f"{self.max_len}, {self.dim}"


class LearnedPositionalEmbedding(Embedding):
    """A trainable vector per position (BERT, GPT-2): an ``nn.Embedding(max_len, dim)`` indexed by the
    position ids, initialised N(0, 1) like any Embedding (GPT-2 and BERT re-initialise theirs with
    std 0.02).  Its one parameter is ``weight`` (max_len, dim).  Position ids ≥ max_len raise an error
    saying the sequence is longer than max_len."""

    def __init__(self, max_len, dim, device=None, dtype=None):
        if max_len <= 0 or dim <= 0:
            raise ValueError(f"LearnedPositionalEmbedding: max_len and dim must be positive, got "
                             f"max_len={max_len}, dim={dim}")
        super().__init__(max_len, dim, dtype=dtype, device=device)
        self.max_len, self.dim = max_len, dim

    def forward(self, positions):
        positions = _check_positions("LearnedPositionalEmbedding", positions, self.max_len)
        return super().forward(positions)
