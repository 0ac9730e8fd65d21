"""erf on the CPU, compiled by numba: the "fast" tier of the ``erf`` kernel.

The reference (``_erf_reference`` in ``tinygrad_edu/ops/unary_math.py``) calls Python's ``math.erf``
once per entry through ``np.vectorize``: about a microsecond of interpreter work per number.  Here
``numba.vectorize`` compiles the very same scalar function into a NumPy *ufunc*: one loop in machine
code that calls the C library's erf, with broadcasting, strides and 0-d/empty arrays handled by NumPy.

Two signatures are compiled eagerly (float32 and float64) and cached on disk (``cache=True``), so only
the first import on a machine pays the compile (~1 s); later imports load the machine code.

erf is used by ``tinygrad_edu.erf`` and by the exact GELU, ½x(1 + erf(x/√2)).
"""
import math

import numba
import numpy as np

from tinygrad_edu.backend import register_kernel
from tinygrad_edu.ops.elementwise import _erf_reference


@numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)
def _erf_ufunc(x):
    return math.erf(x)


_COMPILED = (np.dtype(np.float32), np.dtype(np.float64))


def erf_numba(x):
    """erf of every entry of ``x``, same shape and dtype.  Other dtypes (float16) go to the reference."""
    if x.dtype not in _COMPILED:
        return _erf_reference(x)
    return _erf_ufunc(x, out=np.empty(x.shape, dtype=x.dtype))  # out= keeps 0-d inputs 0-d arrays


register_kernel("erf", "numpy", erf_numba, tier="fast")
