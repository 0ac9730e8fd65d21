"""A stand-in for CuPy on a machine without a GPU: an array type that, like ``cupy.ndarray``, has
``__cuda_array_interface__``, ``get()`` (to a NumPy array) and ``set(numpy_array)``, and is *not*
a NumPy array — enough to exercise the collectives' host staging.  Its memory is host memory."""
import numpy as np


class ndarray:
    def __init__(self, host):
        self._host = np.array(host)

    @property
    def __cuda_array_interface__(self):   # the attribute the collectives look for
        return {"shape": self._host.shape, "typestr": self._host.dtype.str, "version": 3,
                "data": (self._host.ctypes.data, False)}

    shape = property(lambda self: self._host.shape)
    dtype = property(lambda self: self._host.dtype)
    ndim = property(lambda self: self._host.ndim)

    def get(self):
        return self._host.copy()

    def set(self, host):
        assert host.shape == self._host.shape and host.dtype == self._host.dtype
        self._host[...] = host

    def __getitem__(self, index):
        return ndarray(self._host[index])


def asarray(host):
    return ndarray(host)
