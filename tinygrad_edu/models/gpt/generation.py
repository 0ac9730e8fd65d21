"""What text generation needs besides the network: the ``KVCache`` (keys and values of the positions
already seen, so each new token costs one position's work) and ``sample_next_token`` (temperature,
top-k and top-p sampling, or greedy decoding, from one row of logits per sequence).

The loop that uses them is ``GPT.generate`` / ``GPT.generate_stream`` in ``model.py``.
"""
import numpy as np

from ... import creation
from ... import random as _random
from ...autograd import grad_mode
from ...backend import array_module
from ...ops.shape import cat
from ...tensor import Tensor


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

    Two ways to keep them:

    * ``KVCache(n_layer)``: each ``update`` concatenates the new positions to the old tensors
      (a new (B, n_head, length, head_size) copy per step: O(length) work, but differentiable).
    * ``KVCache(n_layer, max_length=block_size)``: **preallocated** for inference.  The first
      ``update`` of a layer allocates one (B, n_head, max_length, head_size) buffer for its keys and
      one for its values; every step writes its new positions into the next free slots and hands
      out views ``buffer[:, :, :length]`` (no copy of the past).  A sequence longer than
      ``max_length`` still fits: the buffer is then reallocated at twice the size (the model's own
      ``block_size`` check refuses a too-long context first, as without preallocation).  The views
      are constants: under grad mode, tensors that require grad are refused (use the first kind).
      ``GPT.generate`` uses this kind; its raw-array fast path (``decode.py``) writes into the same
      buffers through ``write``.
    """

    def __init__(self, n_layer, max_length=None):
        if max_length is not None and (isinstance(max_length, bool) or int(max_length) != max_length
                                       or max_length < 1):
            raise ValueError(f"KVCache: max_length must be a positive integer or None, got {max_length!r}")
        self._keys = [None] * n_layer          # the concatenating kind's tensors
        self._values = [None] * n_layer
        self.max_length = None if max_length is None else int(max_length)
        self._buffers = None if max_length is None else [None] * n_layer   # (keys, values) per layer
        self._lengths = [0] * n_layer

    @property
    def preallocated(self):
        """True for the preallocated kind (``max_length`` given)."""
        return self._buffers is not None

    @property
    def keys(self):
        """Per layer: the cached keys (B, n_head, length, head_size) as a Tensor, or None."""
        return self._keys if self._buffers is None else self._views(0)

    @property
    def values(self):
        """Per layer: the cached values (B, n_head, length, head_size) as a Tensor, or None."""
        return self._values if self._buffers is None else self._views(1)

    def _views(self, which):
        return [None if b is None else Tensor._wrap(b[which][:, :, :n])
                for b, n in zip(self._buffers, self._lengths)]

    @property
    def length(self):
        if self._buffers is not None:
            return self._lengths[0]
        return 0 if self._keys[0] is None else self._keys[0].shape[2]

    def update(self, layer, k, v):
        """Append this step's (B, n_head, T, head_size) keys and values for ``layer``; return
        the layer's keys and values of all positions so far."""
        if self._buffers is not None:
            if grad_mode.is_grad_enabled() and (k.requires_grad or v.requires_grad):
                raise RuntimeError("KVCache: a preallocated cache (max_length=...) holds constants, for "
                                   "inference under no_grad; these keys/values require grad: use "
                                   "KVCache(n_layer) (concatenating, differentiable) instead")
            keys, values = self.write(layer, k.array, v.array)
            return Tensor._wrap(keys), Tensor._wrap(values)
        if self._keys[layer] is not None:
            k = cat([self._keys[layer], k], dim=2)
            v = cat([self._values[layer], v], dim=2)
        self._keys[layer], self._values[layer] = k, v
        return k, v

    def write(self, layer, k, v):
        """The preallocated cache on raw arrays: write (B, n_head, T, head_size) ``k`` and ``v``
        after the ``layer``'s cached positions; return views of all its positions so far."""
        start = self._lengths[layer]
        stop = start + k.shape[2]
        buffers = self._buffers[layer]
        if buffers is None or stop > buffers[0].shape[2]:
            buffers = self._buffers[layer] = self._allocate(layer, k, v, stop)
        elif buffers[0].shape[:2] != k.shape[:2] or buffers[0].shape[3] != k.shape[3] \
                or k.shape != v.shape or k.dtype != buffers[0].dtype or v.dtype != buffers[1].dtype:
            raise ValueError(f"KVCache: layer {layer} caches {buffers[0].dtype} keys/values of shape (B, "
                             f"n_head, *, head_size) = {tuple(buffers[0].shape[:2])} + (*, "
                             f"{buffers[0].shape[3]}), got keys {tuple(k.shape)} {k.dtype} and values "
                             f"{tuple(v.shape)} {v.dtype}")
        key_buffer, value_buffer = buffers
        key_buffer[:, :, start:stop] = k
        value_buffer[:, :, start:stop] = v
        self._lengths[layer] = stop
        return key_buffer[:, :, :stop], value_buffer[:, :, :stop]

    def _allocate(self, layer, k, v, needed):
        """New buffers for ``layer`` holding at least ``needed`` positions (max_length at first,
        twice the old size when a sequence outgrows it), the cached positions copied over."""
        if k.shape != v.shape:
            raise ValueError(f"KVCache: keys {tuple(k.shape)} and values {tuple(v.shape)} must have one "
                             "shape")
        old = self._buffers[layer]
        capacity = max(needed, self.max_length if old is None else 2 * old[0].shape[2])
        xp = array_module(k)
        shape = (k.shape[0], k.shape[1], capacity, k.shape[3])
        fresh = (xp.empty(shape, dtype=k.dtype), xp.empty(shape, dtype=v.dtype))
        if old is not None:
            cached = self._lengths[layer]
            if old[0].shape[:2] != k.shape[:2] or old[0].shape[3] != k.shape[3]:
                raise ValueError(f"KVCache: layer {layer} caches keys/values of shape {tuple(old[0].shape)} "
                                 f"(B, n_head, *, head_size), got {tuple(k.shape)}")
            fresh[0][:, :, :cached] = old[0][:, :, :cached]
            fresh[1][:, :, :cached] = old[1][:, :, :cached]
        return fresh

    def __repr__(self):
        kind = f", max_length={self.max_length}" if self._buffers is not None else ""
        return f"KVCache(n_layer={len(self._lengths)}, length={self.length}{kind})"


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
    if temperature != 1:           # (dividing by 1 changes nothing: skipped, as the ufunc wrappers below
        logits = logits / temperature  # are: this runs once per generated token)
    vocab = logits.shape[-1]
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"sample_next_token: top_k must be >= 1, got {top_k}")
        k = min(int(top_k), vocab)
        kth = np.partition(logits, vocab - k, axis=-1)[:, vocab - k:vocab - k + 1]
        logits = np.where(logits < kth, -np.inf, logits)
    probs = np.exp(logits - np.maximum.reduce(logits, axis=-1, keepdims=True))
    probs /= np.add.reduce(probs, axis=-1, keepdims=True)
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
    cdf = np.add.accumulate(probs, axis=-1)
    u = _as_generator(generator).random((logits.shape[0], 1)) * cdf[:, -1:]
    return np.minimum(np.count_nonzero(cdf <= u, axis=-1), vocab - 1).astype(np.int64)
