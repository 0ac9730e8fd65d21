"""What text generation needs besides the network: the ``KVCache`` (keys and values of the positions
already seen, so each new token costs one position's work) and ``sample_next_token`` (temperature,
top-k and top-p sampling, or greedy decoding, from one row of logits per sequence).

The loop that uses them is ``GPT.generate`` / ``GPT.generate_stream`` in ``model.py``.
"""
import numpy as np

from ... import creation
from ... import random as _random
from ...ops.shape import cat


# ---------------------------------------------------------------------------------------------
# The KV cache
# ---------------------------------------------------------------------------------------------
class KVCache:
    """The keys and values every layer has computed so far, for incremental decoding.

    Attention at a new position t needs the keys and values of positions 0..t; those of 0..t-1
    do not change when a token is appended (causal masking: earlier positions never see later
    ones), so they are computed once and kept here.  Each layer ``i`` holds ``keys[i]`` and
    ``values[i]`` of shape (B, n_head, length, head_size); ``update`` appends the new positions'
    and returns everything so far.  ``length`` is the number of positions cached (the position
    the next token will have).
    """

    def __init__(self, n_layer):
        self.keys = [None] * n_layer
        self.values = [None] * n_layer

    @property
    def length(self):
        return 0 if self.keys[0] is None else self.keys[0].shape[2]

    def update(self, layer, k, v):
        """Append this step's (B, n_head, T, head_size) keys and values for ``layer``; return
        the layer's keys and values of all positions so far."""
        if self.keys[layer] is not None:
            k = cat([self.keys[layer], k], dim=2)
            v = cat([self.values[layer], v], dim=2)
        self.keys[layer], self.values[layer] = k, v
        return k, v

    def __repr__(self):
        return f"KVCache(n_layer={len(self.keys)}, length={self.length})"


# ---------------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------------
def _as_generator(generator):
    if generator is None:
        return creation.default_generator()
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, _random.Generator):      # tg.Generator(): draw from its NumPy generator
        return _random.numpy_rng(generator)
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(f"GPT.generate: generator must be a tinygrad_edu.Generator, a "
                    f"numpy.random.Generator, an int seed or None, got {type(generator).__name__}")


def sample_next_token(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    """Draw one token per row of ``logits`` (B, V) (a NumPy array); returns (B,) int64.

        p = softmax(logits / temperature)
        top_k: logits below the k-th largest → -inf (ties with the k-th are kept)
        top_p: sort p descending, keep the shortest prefix whose sum reaches top_p (the most
               likely token always stays), renormalise
        draw:  u ~ U(0, 1); the token is the first index whose cumulative probability exceeds
               u · Σp (inverse-CDF sampling: one uniform per row)

    ``temperature=0`` is greedy decoding (argmax, no random number drawn).
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2:
        raise ValueError(f"sample_next_token: logits must have shape (batch, vocab), got {logits.shape}")
    if temperature == 0:
        return logits.argmax(axis=-1).astype(np.int64)
    logits = logits / temperature
    vocab = logits.shape[-1]
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"sample_next_token: top_k must be >= 1, got {top_k}")
        k = min(int(top_k), vocab)
        kth = np.partition(logits, vocab - k, axis=-1)[:, vocab - k:vocab - k + 1]
        logits = np.where(logits < kth, -np.inf, logits)
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    if top_p is not None:
        if not 0.0 < top_p <= 1.0:
            raise ValueError(f"sample_next_token: top_p must be in (0, 1], got {top_p}")
        order = np.argsort(-probs, axis=-1, kind="stable")
        sorted_probs = np.take_along_axis(probs, order, axis=-1)
        mass_before = np.cumsum(sorted_probs, axis=-1) - sorted_probs
        drop_sorted = mass_before >= top_p            # the prefix already reached top_p
        drop = np.empty_like(drop_sorted)
        np.put_along_axis(drop, order, drop_sorted, axis=-1)
        probs = np.where(drop, 0.0, probs)
    cdf = np.cumsum(probs, axis=-1)
    u = _as_generator(generator).random((logits.shape[0], 1)) * cdf[:, -1:]
    return np.minimum((cdf <= u).sum(axis=-1), vocab - 1).astype(np.int64)
