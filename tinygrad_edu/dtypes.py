"""Data types.

A tinygrad_edu dtype *is* a NumPy dtype (``tinygrad_edu.float32 is numpy.dtype('float32')``), so
arrays and tensors agree on what a dtype means and NumPy dtypes are accepted everywhere.  What we add
is PyTorch's *default* floating dtype: Python floats and float data become float32 unless asked
otherwise, because float32 is what deep learning trains in.
"""
import builtins

import numpy as np

float16 = half = np.dtype("float16")
float32 = float = np.dtype("float32")
float64 = double = np.dtype("float64")
int8 = np.dtype("int8")
uint8 = np.dtype("uint8")
int16 = short = np.dtype("int16")
int32 = int = np.dtype("int32")
int64 = long = np.dtype("int64")
bool = np.dtype("bool")  # noqa: A001  (PyTorch's name, on purpose)

_default_float = float32


def get_default_dtype():
    """The dtype that Python floats and float data become (float32 unless changed)."""
    return _default_float


def set_default_dtype(dtype):
    """Change the default floating dtype (float32 or float64), like ``torch.set_default_dtype``."""
    global _default_float
    dtype = as_dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {dtype}")
    _default_float = dtype


_NAMES = {"float16": float16, "half": float16, "float32": float32, "float": float32,
          "float64": float64, "double": float64, "int8": int8, "uint8": uint8, "int16": int16,
          "int32": int32, "int64": int64, "long": int64, "bool": bool}


def as_dtype(dtype):
    """Turn anything that names a dtype (our dtypes, NumPy's, Python's ``float``/``int``/``bool``,
    a name such as ``'float32'`` or ``'torch.float32'``) into a NumPy dtype."""
    if dtype is None or isinstance(dtype, np.dtype):
        return dtype
    if dtype is builtins.float:
        return _default_float
    if dtype is builtins.int:
        return int64
    if dtype is builtins.bool:
        return bool
    if isinstance(dtype, str):
        name = dtype.replace("torch.", "").replace("tinygrad_edu.", "")
        if name in _NAMES:
            return _NAMES[name]
        raise TypeError(f"unknown dtype {dtype!r}; expected one of {sorted(_NAMES)}")
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}") from None


def _category(dtype):
    return 0 if dtype == np.bool_ else (2 if dtype.kind in "fc" else 1)


def promote_types(a, b):
    """PyTorch's promotion of two dtypes: the wider one in the higher category (bool < integer <
    float); a float meeting an integer keeps the float's width (int64 with float16 -> float16)."""
    a, b = np.dtype(a), np.dtype(b)
    ca, cb = _category(a), _category(b)
    if ca == 2 and cb < 2:
        return a
    if cb == 2 and ca < 2:
        return b
    return np.promote_types(a, b)


def result_type(*operands):
    """The dtype PyTorch gives ``a + b`` (and every binary op): operands of three priorities —
    tensors with dims, 0-d tensors, Python numbers — are each promoted among themselves; a
    lower-priority group only matters when its category (bool < integer < float) is higher, and
    then Python floats count as the default float dtype.  So float32 + 0-d float64 is float32, but
    int32 + 0-d float64 is float64 and int32 + 2.5 is float32."""
    groups = [None, None, None]  # Python numbers, 0-d tensors, tensors with dims
    for v in operands:
        if hasattr(v, "array") or isinstance(v, np.ndarray):
            arr = v.array if hasattr(v, "array") else v
            prio, dtype = (2 if arr.ndim else 1), np.dtype(arr.dtype)
        elif isinstance(v, (builtins.bool, np.bool_)):
            prio, dtype = 0, bool
        elif isinstance(v, (builtins.int, np.integer)):
            prio, dtype = 0, int64
        elif isinstance(v, (builtins.float, np.floating)):
            prio, dtype = 0, _default_float
        else:
            raise TypeError(f"result_type: can't take the dtype of {type(v).__name__}")
        groups[prio] = dtype if groups[prio] is None else promote_types(groups[prio], dtype)

    def combine(higher, lower):
        if higher is None:
            return lower
        if lower is None or _category(higher) == 2:
            return higher
        if higher == np.bool_ or _category(lower) == 2:
            return promote_types(higher, lower)
        return higher

    return combine(groups[2], combine(groups[1], groups[0]))


def wrap_int(value, dtype):
    """A Python int as an operand of an integer tensor of ``dtype``, the way PyTorch takes it in
    arithmetic: wrapped modulo 2**bits into the dtype's range (two's complement), so
    ``int8_tensor + 1000`` adds -24 (1000 - 4·256) and ``uint8_tensor - 1`` subtracts 1 mod 256.
    NumPy 2 raises OverflowError instead; values beyond 64 bits raise as in PyTorch."""
    if not -2 ** 63 <= value < 2 ** 64:
        raise OverflowError(f"the Python int {value} is too big to convert to a 64-bit integer")
    info = np.iinfo(dtype)
    if info.min <= value <= info.max:
        return value
    bits = 8 * np.dtype(dtype).itemsize
    value %= 2 ** bits
    return value - 2 ** bits if info.min < 0 and value > info.max else value


def check_fits(op, value, dtype):
    """Raise PyTorch's RuntimeError when the number ``value`` can't be stored in an integer or bool
    ``dtype`` without overflow (``full((2,), 1000, dtype=int8)``, ``int8_tensor.fill_(1000)``)."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu" or isinstance(value, (builtins.bool, np.bool_)):
        return
    if not isinstance(value, (builtins.int, builtins.float, np.integer, np.floating)):
        return
    info = np.iinfo(dtype)
    v = builtins.float(value) if isinstance(value, (builtins.float, np.floating)) else builtins.int(value)
    if v != v or not info.min <= v <= info.max:
        raise RuntimeError(f"{op}: value {value!r} cannot be converted to type {dtype} without overflow "
                           f"(its range is [{info.min}, {info.max}])")
