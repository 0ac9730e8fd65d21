"""The ``erf`` kernel, both fast tiers: numba on the CPU, CuPy on the GPU.

The reference (``_erf_reference`` in ``tinygrad_edu/ops/elementwise.py``) calls Python's ``math.erf``
once per entry through ``np.vectorize``: about a microsecond of interpreter work per number.

numba tier: ``numba.vectorize`` compiles the very same scalar function into a NumPy *ufunc*: one loop in
machine code that calls the C library's erf, with broadcasting, strides and 0-d/empty arrays handled by
NumPy.  Two signatures are compiled eagerly (float32 and float64) and cached on disk (``cache=True``), so
only the first import on a machine pays the compile (~1 s); later imports load the machine code.

CuPy tier: CuPy has no ``cupy.erf``, but ``cupyx.scipy.special.erf`` is an elementwise CUDA kernel (a CuPy
``ufunc``) over the device's own ``erf``/``erff``.  The CuPy *reference* is the honest slow path (copy to
the host, run the NumPy reference, copy back), so ``use_kernels(False)`` works on the GPU too.  Nothing
here touches the GPU at import time: the CuPy functions import ``cupyx`` on first use.

erf is used by ``tinygrad_edu.erf``.
"""
import importlib.util
import math

import numba
import numpy as np

from tinygrad_edu.backend import register_kernel
from tinygrad_edu.ops.elementwise import _erf_reference


# ----------------------------------------------------------------------------- numba (CPU)
@numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)
def _erf_ufunc(x):
    return math.erf(x)


_COMPILED = (np.dtype(np.float32), np.dtype(np.float64))


def erf_numba(x):
    """erf of every entry of ``x``, same shape and dtype.  Other dtypes (float16) go to the reference."""
    if x.dtype not in _COMPILED:
        return _erf_reference(x)
    return _erf_ufunc(x, out=np.empty(x.shape, dtype=x.dtype))  # out= keeps 0-d inputs 0-d arrays


# ----------------------------------------------------------------------------- CuPy (GPU)
def erf_cupy(x):
    """erf of every entry of a CuPy array, on the device."""
    from cupyx.scipy.special import erf
    return erf(x)


def erf_cupy_reference(x):
    """erf of a CuPy array through the host: device → NumPy reference → device."""
    import cupy
    return cupy.asarray(_erf_reference(cupy.asnumpy(x)))


register_kernel("erf", "numpy", erf_numba, tier="fast")
if importlib.util.find_spec("cupy") is not None:
    register_kernel("erf", "cupy", erf_cupy_reference, tier="reference")
    register_kernel("erf", "cupy", erf_cupy, tier="fast")
