"""``get_batch``: random language-modelling windows (x, y = x shifted by one) from a 1-D array of
token ids, as nanoGPT draws them.

The model that trains on them is in ``model.py``; the seed handling is ``generation.py``'s.
"""
import numpy as np

from ... import creation
from .generation import _as_generator


def get_batch(data, block_size, batch_size, rng=None):
    """A random batch of language-modelling examples from a 1-D array of token ids, as nanoGPT
    draws them: ``batch_size`` windows of ``block_size + 1`` consecutive tokens at random
    offsets; x is each window without its last token, y without its first (y[i] is the token
    that follows x[..i]).  Returns (x, y) as int64 Tensors of shape (batch_size, block_size)."""
    data = np.asarray(data)
    if data.ndim != 1 or data.shape[0] <= block_size:
        raise ValueError(f"get_batch: data must be a 1-D array longer than block_size ({block_size}), "
                         f"got shape {data.shape}")
    rng = _as_generator(rng)
    starts = rng.integers(0, data.shape[0] - block_size, size=batch_size)
    windows = np.lib.stride_tricks.sliding_window_view(data, block_size + 1)[starts]
    windows = windows.astype(np.int64)
    return creation.tensor(windows[:, :-1].copy()), creation.tensor(windows[:, 1:].copy())
