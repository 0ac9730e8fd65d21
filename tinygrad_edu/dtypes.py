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


def is_floating(dtype):
    return dtype.kind == "f"


def is_integer_or_bool(dtype):
    return dtype.kind in "biu"
