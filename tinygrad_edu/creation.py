"""Making tensors: ``tensor(data)``, ``zeros``, ``ones``, ``arange``, ``randn`` … (PyTorch's names).

Dtype rules follow PyTorch: Python floats become the default float dtype (float32), Python ints
int64, bools bool; a NumPy array keeps its dtype.  Random numbers come from the default generator
that ``manual_seed`` reseeds, or from a ``generator=`` (see random.py), so a seeded program is
reproducible.
"""
import numpy as np

from . import dtypes as _dt
from .backend import Device, array_module, module_for_device, to_device


def _infer_dtype(data):
    """PyTorch's dtype for Python data: bool < int64 < default float."""
    kind = ""  # stays "" for empty data, which is float as in PyTorch
    numpy_dtype = None  # NumPy scalars (np.float64(1.5)) keep their dtype, as in PyTorch
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, np.generic) and x.dtype.kind in "iuf":
            numpy_dtype = x.dtype if numpy_dtype is None else _dt.promote_types(numpy_dtype, x.dtype)
        elif isinstance(x, bool) or isinstance(x, np.bool_):
            kind = kind or "b"
        elif isinstance(x, (int, np.integer)):
            kind = "i" if kind in ("", "b") else kind
        elif isinstance(x, (float, np.floating)):
            kind = "f"
        elif isinstance(x, Tensor):
            return None  # a list of tensors: let NumPy decide from their arrays
        else:
            raise TypeError(f"tensor(): can't convert an element of type {type(x).__name__}; expected "
                            "numbers, bools, nested lists of them, or arrays")
    default = _dt.get_default_dtype()
    if numpy_dtype is not None:   # Python numbers next to NumPy scalars: torch's promotion of the two
        python = {"": None, "b": _dt.bool, "i": _dt.int64, "f": default}[kind]
        return numpy_dtype if python is None else _dt.promote_types(numpy_dtype, python)
    return {"": default, "b": _dt.bool, "i": _dt.int64, "f": default}[kind]


def _check_requires_grad(dtype, requires_grad, who):
    if requires_grad and dtype.kind not in "fc":
        raise RuntimeError(f"{who}: only tensors of floating point dtype can require gradients, "
                           f"got dtype {dtype}")


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new leaf tensor holding a *copy* of ``data`` (numbers, nested lists, arrays, tensors)."""
    dtype = _dt.as_dtype(dtype)
    if isinstance(data, Tensor):
        array = data.array.copy()
    elif isinstance(data, np.ndarray) or array_module(data) is not np:
        array = data.copy()
    else:
        inferred = _infer_dtype(data)
        if inferred is None:
            array = np.array([to_device(t.array, "cpu") for t in data])   # GPU tensors too
        else:
            target = dtype or inferred
            try:
                array = np.array(data, dtype=target)
            except OverflowError as exc:   # NumPy 2: a Python int out of the dtype's range
                raise RuntimeError(f"tensor(): a value cannot be converted to type {target} without "
                                   f"overflow ({exc})") from None
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    if device is not None:
        array = to_device(array, device)
    _check_requires_grad(array.dtype, requires_grad, "tensor")
    t = Tensor._wrap(array)
    t.requires_grad = requires_grad
    return t


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but shares memory with a NumPy array when it can."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    if isinstance(data, np.ndarray) and (dtype is None or _dt.as_dtype(dtype) == data.dtype) \
            and device in (None, "cpu"):
        return Tensor._wrap(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array):
    """A tensor sharing memory with ``array``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array)


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"invalid size {tuple(size)}: expected non-negative integers")
    return tuple(int(s) for s in size)


def _make(fill, size, dtype, requires_grad, device, who, default=None):
    xp = module_for_device(device or "cpu")
    dtype = _dt.as_dtype(dtype) or default or _dt.get_default_dtype()
    _check_requires_grad(dtype, requires_grad, who)
    t = Tensor._wrap(fill(xp, _shape(size), dtype))
    t.requires_grad = requires_grad
    return t


def zeros(*size, dtype=None, requires_grad=False, device=None):
    return _make(lambda xp, s, d: xp.zeros(s, d), size, dtype, requires_grad, device, "zeros")


def ones(*size, dtype=None, requires_grad=False, device=None):
    return _make(lambda xp, s, d: xp.ones(s, d), size, dtype, requires_grad, device, "ones")


def empty(*size, dtype=None, requires_grad=False, device=None):
    return _make(lambda xp, s, d: xp.empty(s, d), size, dtype, requires_grad, device, "empty")


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    default = _infer_dtype(fill_value)
    _dt.check_fits("full", fill_value, _dt.as_dtype(dtype) or default)
    return _make(lambda xp, s, d: xp.full(s, fill_value, d), tuple(size) if not isinstance(size, int)
                 else (size,), dtype, requires_grad, device, "full", default)


def _like(other, dtype, device):
    return _dt.as_dtype(dtype) or other.dtype, device or other.device


def zeros_like(other, dtype=None, requires_grad=False, device=None):
    dtype, device = _like(other, dtype, device)
    return zeros(*other.shape, dtype=dtype, requires_grad=requires_grad, device=device)


def ones_like(other, dtype=None, requires_grad=False, device=None):
    dtype, device = _like(other, dtype, device)
    return ones(*other.shape, dtype=dtype, requires_grad=requires_grad, device=device)


def full_like(other, fill_value, dtype=None, requires_grad=False, device=None):
    dtype, device = _like(other, dtype, device)
    return full(other.shape, fill_value, dtype=dtype, requires_grad=requires_grad, device=device)


def empty_like(other, dtype=None, requires_grad=False, device=None):
    dtype, device = _like(other, dtype, device)
    return empty(*other.shape, dtype=dtype, requires_grad=requires_grad, device=device)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """``arange(5)``, ``arange(2, 8, 2)``: int64 for integer arguments, else the default float."""
    if end is None:
        start, end = 0, start
    is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    default = _dt.int64 if is_int else _dt.get_default_dtype()
    return _make(lambda xp, s, d: xp.arange(start, end, step).astype(d), (), dtype, requires_grad,
                 device, "arange", default)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    return _make(lambda xp, s, d: xp.linspace(start, end, steps).astype(d), (), dtype, requires_grad,
                 device, "linspace")


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    return _make(lambda xp, s, d: xp.eye(n, m, dtype=d), (), dtype, requires_grad, device, "eye")


# ---- random numbers ------------------------------------------------------------------------------
# The generators live in random.py; these draw from ``generator=`` or the default one.
from . import random as _random_module  # noqa: E402
from .random import manual_seed  # noqa: E402,F401  (re-exported: tinygrad_edu.creation.manual_seed)


def default_generator():
    """The NumPy Generator inside the default ``tinygrad_edu.Generator`` (every random op of the
    library draws from it unless given a ``generator=``)."""
    return _random_module.numpy_rng()


def _random(draw, size, dtype, requires_grad, device, who, default=None):
    dtype = _dt.as_dtype(dtype) or default or _dt.get_default_dtype()
    _check_requires_grad(dtype, requires_grad, who)
    array = draw(_shape(size)).astype(dtype, copy=False)
    if device is not None and Device(device).type != "cpu":
        array = to_device(array, device)
    t = Tensor._wrap(array)
    t.requires_grad = requires_grad
    return t


def rand(*size, generator=None, dtype=None, requires_grad=False, device=None):
    """Uniform samples from [0, 1)."""
    rng = _random_module.numpy_rng(generator)
    return _random(lambda s: rng.random(s), size, dtype, requires_grad, device, "rand")


def randn(*size, generator=None, dtype=None, requires_grad=False, device=None):
    """Standard normal samples."""
    rng = _random_module.numpy_rng(generator)
    return _random(lambda s: rng.standard_normal(s), size, dtype, requires_grad, device, "randn")


def randint(low, high=None, size=(), dtype=None, device=None, *, generator=None):
    """Integers uniform in [low, high) (``randint(high, size)`` also works, as in PyTorch)."""
    if high is None or isinstance(high, (tuple, list)):
        low, high, size = 0, low, (size if high is None else high)
    rng = _random_module.numpy_rng(generator)
    return _random(lambda s: rng.integers(low, high, s), tuple(size), dtype, False, device,
                   "randint", _dt.int64)


def rand_like(other, dtype=None, requires_grad=False, device=None):
    dtype, device = _like(other, dtype, device)
    return rand(*other.shape, dtype=dtype, requires_grad=requires_grad, device=device)


def randn_like(other, dtype=None, requires_grad=False, device=None):
    dtype, device = _like(other, dtype, device)
    return randn(*other.shape, dtype=dtype, requires_grad=requires_grad, device=device)


def randperm(n, *, generator=None, dtype=None, device=None):
    """A random permutation of ``0 … n-1`` (int64)."""
    rng = _random_module.numpy_rng(generator)
    return _random(lambda s: rng.permutation(n), (), dtype, False, device, "randperm", _dt.int64)


from .tensor import Tensor  # noqa: E402
