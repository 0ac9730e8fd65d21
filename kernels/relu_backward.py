"""The ``relu_backward`` kernel: the ReLU's backward on the CPU, compiled by numba (its "fast" tier).

dL/dx = g where y > 0, else 0.  The reference is ``np.where(y > 0, g, 0)``: it builds the boolean
mask ``y > 0`` in one pass, then selects in a second, general-purpose pass (about 4 ms per million
entries here).  Compiled, it is one pass that reads g and y and writes the result (about 0.4 ms per
million) — and, unlike the tempting ``g * (y > 0)``, it still gives 0 (not NaN) where g is inf or
NaN and y ≤ 0, exactly as PyTorch's ``threshold_backward``.
"""
import numba
import numpy as np

from tinygrad_edu.backend import register_kernel
from tinygrad_edu.ops.elementwise import _relu_backward_reference


@numba.vectorize(["float32(float32, float32)", "float64(float64, float64)"], cache=True)
def _relu_backward_ufunc(g, y):
    return g if y > 0 else 0.0


_COMPILED = (np.dtype(np.float32), np.dtype(np.float64))


def relu_backward_numba(g, y):
    """g where y > 0 else 0, entry by entry (same shape and dtype as g)."""
    if g.dtype not in _COMPILED or y.dtype != g.dtype or g.shape != y.shape:
        return _relu_backward_reference(g, y)
    return _relu_backward_ufunc(g, y, out=np.empty(g.shape, dtype=g.dtype))


register_kernel("relu_backward", "numpy", relu_backward_numba, tier="fast")
