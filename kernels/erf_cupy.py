"""erf on the GPU: the CuPy tier of the ``erf`` kernel.

CuPy has no ``cupy.erf``, but ``cupyx.scipy.special.erf`` is an elementwise CUDA kernel (a CuPy ``ufunc``)
over the device's own ``erf``/``erff``.  It is registered as the "fast" tier for CuPy arrays.

The "reference" tier for CuPy arrays is the honest slow path: copy to the host, run the NumPy reference,
copy back.  It exists so that ``use_kernels(False)`` works on the GPU too and the tiers can be compared.

Nothing here touches the GPU at import time: the module registers only when CuPy is installed, and the
functions import ``cupyx`` on first use (a CuPy array reaching them means a GPU is there).
"""
import importlib.util

from tinygrad_edu.backend import register_kernel
from tinygrad_edu.ops.elementwise import _erf_reference


def erf_cupy(x):
    """erf of every entry of a CuPy array, on the device."""
    from cupyx.scipy.special import erf
    return erf(x)


def erf_cupy_reference(x):
    """erf of a CuPy array through the host: device → NumPy reference → device."""
    import cupy
    return cupy.asarray(_erf_reference(cupy.asnumpy(x)))


if importlib.util.find_spec("cupy") is not None:
    register_kernel("erf", "cupy", erf_cupy_reference, tier="reference")
    register_kernel("erf", "cupy", erf_cupy, tier="fast")
