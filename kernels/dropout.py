"""The ``dropout`` kernel: the scaled keep mask of inverted dropout, in one pass over the draws.

The math: each entry is kept with probability 1 − p and scaled so that its expectation is unchanged,

    mask = [u ≥ p] / (1 − p),   u ~ Uniform[0, 1) one draw per entry,   y = x · mask,   dL/dx = g · mask.

The draws stay those of tinygrad_edu's generator (``creation.default_generator().random``, float64),
so a seeded run gives the same masks with the kernels on or off; only what happens to the draws is
compiled.

Why the fast tier is faster
---------------------------
The reference ``np.asarray((u >= p) * (1 / (1 - p)), dtype)`` makes three passes and two temporaries
(a bool array, a float64 array, then the cast copy); here one numba pass reads u and writes the mask
in the input's dtype.  The draws themselves (NumPy's generator, ~5 ns an entry) are most of the
cost and are untouched, so the gain on the whole op is modest.

Measured (1 thread, (1024, 1536) float32, p = 0.1, ms): the mask from the draws 2.00 → 0.66; with
the draws (2.7) and the multiply (0.44) the whole op goes from about 5.1 to 3.8.

No CuPy tier: the draws are made on the host (to keep the generator's numbers), so the mask is
built there and copied to the device (4 bytes an entry instead of the draws' 8); the multiply is
one CuPy elementwise kernel already.
"""
import numba
import numpy as np

from tinygrad_edu.backend import register_kernel
from tinygrad_edu.nn.dropout import _dropout_mask_reference

_FAST_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


@numba.njit(cache=True, fastmath=False)
def _scaled_keep_mask(uniform, p, scale, zero, mask):
    for i in range(uniform.shape[0]):
        mask[i] = scale if uniform[i] >= p else zero


def dropout_mask_numba(uniform, p, dtype):
    """[u ≥ p] / (1 − p) in ``dtype`` (float32/float64; others, and non-float64 draws: the reference)."""
    dtype = np.dtype(dtype)
    if dtype not in _FAST_DTYPES or uniform.dtype != np.float64:
        return _dropout_mask_reference(uniform, p, dtype)
    mask = np.empty(uniform.size, dtype=dtype)
    _scaled_keep_mask(np.ascontiguousarray(uniform).reshape(-1), float(p), dtype.type(1.0 / (1.0 - p)),
                      dtype.type(0), mask)
    return mask.reshape(uniform.shape)


register_kernel("dropout", "numpy", dropout_mask_numba, tier="fast")
