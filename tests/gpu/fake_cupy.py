"""A fake CuPy for the CPU: proves the engine's CuPy code path without a GPU.

The engine writes every op once against ``xp`` (NumPy or CuPy, see ``tinygrad_edu/backend.py``).  An op
that calls ``np.something`` on a device array works on the CPU and fails only on a GPU, where CuPy
refuses to turn its arrays into NumPy arrays behind your back.  This module is a NumPy-backed stand-in
for ``cupy`` whose arrays refuse the same way:

* ``fake_cupy.ndarray`` wraps a NumPy array; ``__array__``, ``__array_ufunc__`` and
  ``__array_function__`` raise, so ``np.exp(x)``, ``np.asarray(x)`` or ``np.where(m, x, 0)`` on a device
  array raise ``TypeError`` here exactly where real CuPy would;
* mixing a NumPy array into a device op (``device + host``, ``xp.maximum(device, host)``) raises too
  (CuPy: "Unsupported type <class 'numpy.ndarray'>"); transfers go through ``xp.asarray`` / ``.get()``;
* reductions and scalar indexing give 0-d arrays, not NumPy scalars, as CuPy does;
* the module and its arrays offer only the names real CuPy has (``cupy_names.txt``, the ``dir()`` of
  CuPy 14), so a NumPy-only function (``np.vectorize``, ``x.flags.writeable``) fails here as well.

``installed()`` makes it *the* CUDA array module for a ``with`` block: ``device='cuda'`` then makes fake
arrays, ``import cupy`` inside the package finds this module, and the registered "cupy" kernel tiers are
hidden (they are real CUDA code), so every op runs its xp-generic reference, as on a GPU without a fast
tier.  Everything is restored on exit, so this also runs on the GPU machine next to the real tests.
"""
import contextlib
import os
import sys
import types

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))


def _read_names():
    sections, current = {}, None
    with open(os.path.join(_HERE, "cupy_names.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                current = line[1:-1]
                continue
            sections[current] = frozenset(line.split())
    return sections


NAMES = _read_names()


# ---------------------------------------------------------------------------------------------
# Crossing the boundary: device arrays in, device arrays out
# ---------------------------------------------------------------------------------------------
def _unwrap(x, who, allow_host=False):
    """The NumPy array under a fake array; a NumPy array is refused unless ``allow_host``."""
    if type(x) is ndarray:
        return x._a
    if isinstance(x, np.ndarray):
        if allow_host:
            return x
        raise TypeError(f"fake cupy: {who} got a NumPy array {x.shape}; device ops take device arrays "
                        "(CuPy: Unsupported type <class 'numpy.ndarray'>)")
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v, who, allow_host) for v in x)
    return x


def _unwrap_all(args, kwargs, who, allow_host=False):
    return (tuple(_unwrap(a, who, allow_host) for a in args),
            {k: _unwrap(v, who, allow_host) for k, v in kwargs.items()})


def _fakes_in(values):
    for v in values:
        if type(v) is ndarray:
            yield v
        elif isinstance(v, (list, tuple)):
            yield from _fakes_in(v)


def _wrap(x, sources=()):
    """NumPy results become device arrays (NumPy scalars become 0-d arrays, as CuPy returns).  A view
    of an input keeps that input's owner as ``.base`` (and an input returned as is stays itself)."""
    if isinstance(x, np.ndarray):
        for s in sources:
            if x is s._a:
                return s
        out = ndarray._of(x)
        if x.base is not None:
            for s in sources:
                if np.may_share_memory(x, s._a):
                    out._base = s if s._base is None else s._base
                    break
        return out
    if isinstance(x, np.generic):
        return ndarray._of(np.asarray(x))
    if isinstance(x, tuple):
        return tuple(_wrap(v, sources) for v in x)
    if isinstance(x, list):
        return [_wrap(v, sources) for v in x]
    return x


def _device_function(fn, who, allow_host=False, owner=None):
    def call(*args, **kwargs):
        sources = list(_fakes_in(args)) + list(_fakes_in(kwargs.values()))
        if owner is not None:
            sources.insert(0, owner)
        args, kwargs = _unwrap_all(args, kwargs, who, allow_host)
        return _wrap(fn(*args, **kwargs), sources)
    call.__name__ = who
    return call


class _Flags:
    """CuPy's flags: the three it has (no ``writeable``, no ``aligned``)."""

    def __init__(self, a):
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.flags.owndata


class _DeviceId:
    id = 0

    def synchronize(self):
        pass


# ---------------------------------------------------------------------------------------------
# The array
# ---------------------------------------------------------------------------------------------
class ndarray:
    """A device array of the fake GPU: a NumPy array inside, CuPy's manners outside."""

    __slots__ = ("_a", "_base")
    __array_priority__ = 100   # CuPy's; Tensor's 1000 wins, so device_array + tensor -> Tensor.__radd__
    __array_ufunc__ = None     # np.exp(device_array) raises TypeError
    __hash__ = None

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        """CuPy's constructor: an uninitialised array of ``shape`` (not a conversion: ``cupy.asarray``
        converts, and CuPy reads an array passed here as a shape and refuses floats)."""
        if memptr is not None or strides is not None:
            raise NotImplementedError("fake cupy: ndarray(memptr=, strides=) is not faked")
        dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
        if not isinstance(dims, (tuple, list)) or not all(isinstance(d, (int, np.integer)) for d in dims):
            raise TypeError(f"fake cupy: ndarray() takes a shape, got {type(shape).__name__} (CuPy: 'only "
                            "integer scalar arrays can be converted to a scalar index'); use cupy.asarray")
        self._a = np.empty(tuple(int(d) for d in dims), dtype=dtype, order=order)
        self._base = None

    @classmethod
    def _of(cls, a):
        """The device array holding the NumPy array ``a`` (the fake's own constructor)."""
        out = cls.__new__(cls)
        out._a = a
        out._base = None
        return out

    def __array__(self, dtype=None, copy=None):
        raise TypeError("fake cupy: implicit conversion to a NumPy array is not allowed; "
                        "use .get() or cupy.asnumpy()")

    def __array_function__(self, func, types, args, kwargs):
        raise TypeError(f"fake cupy: numpy.{func.__name__} was called on a device array; "
                        "use the array module of the inputs (xp)")

    # ---- attributes: exactly CuPy's ----------------------------------------------------------
    def __getattr__(self, name):
        if name not in NAMES["cupy.ndarray"]:
            raise AttributeError(f"'cupy.ndarray' object has no attribute {name!r}")
        value = getattr(self._a, name)
        if callable(value):
            return _device_function(value, f"ndarray.{name}", owner=self)
        return _wrap(value, (self,))

    @property
    def base(self):
        return self._base

    @property
    def T(self):
        return _wrap(self._a.T, (self,))

    @property
    def flags(self):
        return _Flags(self._a)

    @property
    def device(self):
        return _DeviceId()

    @property
    def __cuda_array_interface__(self):
        return {"shape": self._a.shape, "typestr": self._a.dtype.str, "version": 3,
                "data": (self._a.ctypes.data, False), "strides": self._a.strides}

    @property
    def data(self):
        raise TypeError("fake cupy: .data is a device pointer in CuPy, not a buffer")

    def get(self, stream=None, order="C", out=None):
        return np.array(self._a, order=order)

    def set(self, arr, stream=None):
        self._a[...] = arr

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def scatter_add(self, slices, value):
        np.add.at(self._a, _unwrap(slices, "scatter_add", True), _unwrap(value, "scatter_add"))

    def scatter_max(self, slices, value):
        np.maximum.at(self._a, _unwrap(slices, "scatter_max", True), _unwrap(value, "scatter_max"))

    def scatter_min(self, slices, value):
        np.minimum.at(self._a, _unwrap(slices, "scatter_min", True), _unwrap(value, "scatter_min"))

    # ---- Python protocols --------------------------------------------------------------------
    def __repr__(self):
        return "fake_cupy." + repr(self._a)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(row, (self,)) for row in self._a)

    def __bool__(self):
        return bool(self._a)

    def __int__(self):
        return int(self._a)

    def __float__(self):
        return float(self._a)

    def __complex__(self):
        return complex(self._a)

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key, "indexing", allow_host=True)], (self,))

    def __setitem__(self, key, value):
        self._a[_unwrap(key, "indexing", allow_host=True)] = _unwrap(value, "setitem", allow_host=True)

    def __copy__(self):
        return ndarray._of(self._a.copy())

    def __deepcopy__(self, memo):
        return ndarray._of(self._a.copy())

    def __reduce__(self):
        raise TypeError("fake cupy: pickle a device array through .get() (host copy)")


def _binary(name):
    def op(self, other):
        if type(other) is not ndarray and getattr(other, "__array_priority__", -1) > self.__array_priority__ \
                and not isinstance(other, np.ndarray):
            return NotImplemented
        return _wrap(getattr(self._a, name)(_unwrap(other, f"operator {name}")), ())
    op.__name__ = name
    return op


def _inplace(name):
    def op(self, other):
        getattr(self._a, name)(_unwrap(other, f"operator {name}"))
        return self
    op.__name__ = name
    return op


def _unary(name):
    def op(self):
        return _wrap(getattr(self._a, name)())
    op.__name__ = name
    return op


for _op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor",
            "lshift", "rshift", "divmod"):
    setattr(ndarray, f"__{_op}__", _binary(f"__{_op}__"))
    setattr(ndarray, f"__r{_op}__", _binary(f"__r{_op}__"))
    if _op != "divmod":
        setattr(ndarray, f"__i{_op}__", _inplace(f"__i{_op}__"))
for _op in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(ndarray, f"__{_op}__", _binary(f"__{_op}__"))
for _op in ("neg", "pos", "abs", "invert"):
    setattr(ndarray, f"__{_op}__", _unary(f"__{_op}__"))
del _op


# ---------------------------------------------------------------------------------------------
# The modules: cupy, cupy.random, cupy.linalg, cupy.cuda, cupy.lib.stride_tricks, cupyx
# ---------------------------------------------------------------------------------------------
# bytes of host data copied to the fake device by asarray/array: a test reads it to see that a training
# step moves only its input batch, not masks or tables made on the host (a PCIe copy on a real GPU)
host_to_device_bytes = 0


def _from_host(a, who, **kwargs):
    global host_to_device_bytes
    host = np.array(_unwrap(a, who, allow_host=True), **kwargs)
    host_to_device_bytes += host.nbytes
    return ndarray._of(host)


def _asarray(a, dtype=None, order=None, **kwargs):
    if type(a) is ndarray:
        return a if dtype is None or a._a.dtype == dtype else ndarray._of(a._a.astype(dtype))
    return _from_host(a, "asarray", dtype=dtype, order=order or "K")


def _array(a, dtype=None, copy=True, order="K", ndmin=0):
    if type(a) is ndarray:
        return ndarray._of(np.array(a._a, dtype=dtype, copy=True, order=order, ndmin=ndmin))
    return _from_host(a, "array", dtype=dtype, copy=True, order=order, ndmin=ndmin)


def _asnumpy(a, stream=None, order="C", out=None):
    return a.get(order=order) if type(a) is ndarray else np.asarray(a, order=order)


def _get_array_module(*args):
    return sys.modules[__name__] if any(type(a) is ndarray for a in args) else np


def _no_kernels(*args, **kwargs):
    raise NotImplementedError("fake cupy: compiled CUDA kernels do not run on the fake device")


class _Grid:
    """``cupy.ogrid`` / ``cupy.mgrid``: NumPy's, giving device arrays."""

    def __init__(self, grid):
        self._grid = grid

    def __getitem__(self, key):
        return _wrap(self._grid[key])


def _ascontiguousarray(a, dtype=None):
    sources = (a,) if type(a) is ndarray else ()     # an already contiguous device array comes back as is
    return _wrap(np.ascontiguousarray(_unwrap(a, "ascontiguousarray", allow_host=True), dtype=dtype), sources)


def _fuse(*args, **kwargs):
    """``@cupy.fuse`` and ``@cupy.fuse()``: the function itself (it runs elementwise on the fake)."""
    if args and callable(args[0]):
        return args[0]
    return lambda fn: fn


_SPECIAL = {
    "ogrid": _Grid(np.ogrid), "mgrid": _Grid(np.mgrid),
    "ndarray": ndarray, "asarray": _asarray, "array": _array, "asanyarray": _asarray,
    "ascontiguousarray": _ascontiguousarray, "asnumpy": _asnumpy, "get_array_module": _get_array_module,
    "ElementwiseKernel": _no_kernels, "ReductionKernel": _no_kernels, "RawKernel": _no_kernels,
    "RawModule": _no_kernels, "fuse": _fuse,
}


def _attribute(namespace, names, special, qualified):
    """PEP 562 ``__getattr__`` of a fake module: NumPy's object under CuPy's name."""
    def getattr_(name):
        if name in special:
            return special[name]
        if name not in names or not hasattr(namespace, name):
            raise AttributeError(f"module {qualified!r} has no attribute {name!r}")
        value = getattr(namespace, name)
        if isinstance(value, type) or isinstance(value, types.ModuleType) or not callable(value):
            return value                      # dtypes (cupy.float32 is numpy.float32), constants
        return _device_function(value, f"{qualified}.{name}")
    return getattr_


_this = sys.modules[__name__]
__getattr__ = _attribute(np, NAMES["cupy"], _SPECIAL, "cupy")

random = types.ModuleType("cupy.random")
random.__getattr__ = _attribute(np.random, NAMES["cupy.random"], {}, "cupy.random")
linalg = types.ModuleType("cupy.linalg")
linalg.__getattr__ = _attribute(np.linalg, NAMES["cupy.linalg"], {}, "cupy.linalg")

cuda = types.ModuleType("cupy.cuda")


class _Device:
    def __init__(self, index=0):
        self.id = int(index)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def synchronize(self):
        pass


class _Stream:
    def synchronize(self):
        pass


cuda.Device = _Device
cuda.runtime = types.SimpleNamespace(getDeviceCount=lambda: 1, deviceSynchronize=lambda: None)
cuda.Stream = types.SimpleNamespace(null=_Stream())
cuda.get_current_stream = lambda: _Stream()
cuda.is_available = lambda: True

lib = types.ModuleType("cupy.lib")
lib.stride_tricks = types.SimpleNamespace(
    as_strided=lambda x, shape=None, strides=None: _wrap(
        np.lib.stride_tricks.as_strided(x._a, shape=shape, strides=strides), (x,)))

cupyx = types.ModuleType("cupyx")
cupyx.scatter_add = lambda a, slices, value: a.scatter_add(slices, value)
cupyx.__getattr__ = _attribute(np, frozenset(), {}, "cupyx")


# ---------------------------------------------------------------------------------------------
# Installing it as the 'cuda' device
# ---------------------------------------------------------------------------------------------
@contextlib.contextmanager
def installed():
    """Within the block, ``device='cuda'`` is this fake device (see the module docstring)."""
    from tinygrad_edu import backend
    saved_probe = backend._cupy, backend._cuda_error
    saved_modules = {name: sys.modules.get(name) for name in ("cupy", "cupyx")}
    hidden = {key: tiers for key, tiers in backend._KERNELS.items() if key[1] == "cupy"}
    for key in hidden:
        del backend._KERNELS[key]
    backend._cupy, backend._cuda_error = _this, None
    sys.modules["cupy"], sys.modules["cupyx"] = _this, cupyx
    try:
        yield _this
    finally:
        backend._cupy, backend._cuda_error = saved_probe
        for name, module in saved_modules.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        backend._KERNELS.update(hidden)
