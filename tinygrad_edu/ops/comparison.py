"""Comparisons, logic and bitwise ops: < <= > >= == !=, & | ^ ~ << >>.

Their results are bool (or integer) tensors, which have no gradient: they are constants of the
graph (a mask such as ``x > 0`` feeds ``where`` and friends, whose gradients do not flow into it).

Dtypes follow PyTorch, where NumPy would differ: a comparison compares in the promoted dtype
(int64 against float32 in float32), and the bitwise ops keep the integer dtype
(``int8_tensor & 0x1337`` stays int8; n-d tensors decide before 0-d ones, which decide before
Python numbers).  Shifts: a << b = a·2^b and a >> b = floor(a / 2^b), wrapped to the result's width.
Re-exported by ``elementwise.py``.

Tests: tests/op_registry/comparison.py, tests/test_torch_semantics.py
"""
import numpy as np

from .. import dtypes as _dt
from ..backend import array_module


# ---------------------------------------------------------------------------------------------
# Comparisons and logic: results are constants (no gradient)
# ---------------------------------------------------------------------------------------------
_COMPARE = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
            "eq": np.equal, "ne": np.not_equal, "and": np.logical_and, "or": np.logical_or,
            "xor": np.logical_xor}  # // and % live in ops/rounding.py


def compare(name, a, b):
    """``a < b`` and friends: a boolean tensor, outside the graph."""
    if name in ("and", "or", "xor"):  # bitwise, integer dtypes kept (see bitwise_and)
        return {"and": bitwise_and, "or": bitwise_or, "xor": bitwise_xor}[name](a, b)
    a, b = _compare_operands(a, b)
    xp = array_module(a if hasattr(a, "dtype") else b)
    fn = getattr(xp, _COMPARE[name].__name__)
    try:
        return Tensor._wrap(fn(a, b))
    except ValueError as exc:
        raise ValueError(f"{name}: shapes {getattr(a, 'shape', ())} and {getattr(b, 'shape', ())} "
                         f"cannot be broadcast together ({exc})") from None


def _compare_operands(a, b):
    """The two arrays (or numbers) a comparison compares, in PyTorch's promoted dtype: float16
    against float32 compares in float32, but an n-d float16 tensor against a 0-d float32 one in
    float16, and int64 against float32 in float32 (NumPy would pick float64).  A Python int meeting
    an integer tensor wraps into its dtype, as in arithmetic (see ``dtypes.wrap_int``)."""
    a = tensor(a) if isinstance(a, (list, tuple)) else a
    b = tensor(b) if isinstance(b, (list, tuple)) else b
    a = a.item() if isinstance(a, np.generic) else a
    b = b.item() if isinstance(b, np.generic) else b
    a = Tensor._wrap(a) if not isinstance(a, (Tensor, bool, int, float)) else a
    b = Tensor._wrap(b) if not isinstance(b, (Tensor, bool, int, float)) else b
    a_t, b_t = isinstance(a, Tensor), isinstance(b, Tensor)
    if a_t and b_t and a.array.dtype == b.array.dtype:
        return a.array, b.array
    if a_t != b_t:   # fast paths: a tensor and a Python number
        t, n = (a, b) if a_t else (b, a)
        kind = t.array.dtype.kind
        if kind in "fc" or (kind == "b" and type(n) is not float):
            return a.array if a_t else a, b.array if b_t else b   # NumPy's weak scalars agree
    try:
        target = _dt.result_type(a, b)
    except TypeError:
        return as_array(a), as_array(b)

    def convert(v):
        if isinstance(v, Tensor):   # (an int too big for float16 becomes inf, silently as in torch)
            if v.array.dtype == target:
                return v.array
            with np.errstate(over="ignore"):
                return v.array.astype(target)
        if type(v) is int and target.kind in "iu":
            return _dt.wrap_int(v, target)
        return v
    return convert(a), convert(b)


def logical_not(x):
    """``~x``: logical not on a bool tensor, bitwise not (two's complement) on an integer one."""
    return bitwise_not(x)


# ---------------------------------------------------------------------------------------------
# Bitwise ops on bool and integer tensors (no gradient: the results are integers)
# ---------------------------------------------------------------------------------------------
def _bitwise_operand_dtype(name, v):
    """(priority, dtype) of one operand for torch's promotion: an n-d tensor decides the width
    before a 0-d tensor, which decides before a Python number (bool < int is the category)."""
    if isinstance(v, Tensor):
        dtype = v.array.dtype
        prio = 2 if v.ndim else 1
    elif isinstance(v, (bool, np.bool_)):
        dtype, prio = np.dtype(np.bool_), 0
    elif isinstance(v, (int, np.integer)):
        dtype, prio = np.dtype(np.int64), 0
    else:
        dtype, prio = np.asarray(v).dtype, 0
    if not (dtype == np.bool_ or np.issubdtype(dtype, np.integer)):
        raise NotImplementedError(f"{name}: needs bool or integer operands, got dtype {dtype}")
    return prio, dtype


def _bitwise_result_dtype(name, a, b):
    (pa, da), (pb, db) = _bitwise_operand_dtype(name, a), _bitwise_operand_dtype(name, b)
    ca, cb = da != np.bool_, db != np.bool_          # category: False = bool, True = integer
    if ca != cb:                                     # the higher category wins, whatever its width
        return da if ca else db
    if pa != pb:                                     # same category: the higher-priority operand
        return da if pa > pb else db
    return np.promote_types(da, db)


def _bitwise_binary(name, fn, a, b):
    dtype = _bitwise_result_dtype(name, a, b)
    ref = a if isinstance(a, Tensor) else b
    xp = array_module(ref.array)
    # Python ints wrap into the result dtype (torch: ``int8_tensor & 0x1337`` keeps int8)
    x = xp.asarray(as_array(a)).astype(np.int64).astype(dtype)
    y = xp.asarray(as_array(b)).astype(np.int64).astype(dtype)
    try:
        return Tensor._wrap(fn(xp, x, y, dtype))
    except ValueError as exc:
        raise ValueError(f"{name}: shapes {tuple(x.shape)} and {tuple(y.shape)} cannot be "
                         f"broadcast together ({exc})") from None


def _shift(xp, x, y, dtype, left):
    """Shift in int64 and wrap into ``dtype``; a shift by >= the bit width (or a negative shift)
    gives 0 for ``<<`` and the sign fill for ``>>``, as torch."""
    bits = dtype.itemsize * 8
    y64 = y.astype(np.int64)
    out_of_range = (y64 < 0) | (y64 >= bits)
    safe = xp.where(out_of_range, 0, y64)
    x64 = x.astype(np.int64) if dtype != np.uint64 else x
    if left:
        r = xp.left_shift(x64, safe.astype(x64.dtype)).astype(dtype)
        return xp.where(out_of_range, xp.zeros((), dtype), r)
    r = xp.right_shift(x64, safe.astype(x64.dtype)).astype(dtype)
    fill = xp.where(x < 0, xp.asarray(-1).astype(dtype), xp.zeros((), dtype)) if \
        np.issubdtype(dtype, np.signedinteger) else xp.zeros((), dtype)
    return xp.where(out_of_range, fill, r)


def bitwise_and(a, b):
    """``a & b`` bit by bit (logical and for bools); integer dtypes are kept (torch promotion)."""
    return _bitwise_binary("bitwise_and", lambda xp, x, y, dt: xp.bitwise_and(x, y), a, b)


def bitwise_or(a, b):
    """``a | b`` bit by bit (logical or for bools)."""
    return _bitwise_binary("bitwise_or", lambda xp, x, y, dt: xp.bitwise_or(x, y), a, b)


def bitwise_xor(a, b):
    """``a ^ b`` bit by bit (logical xor for bools)."""
    return _bitwise_binary("bitwise_xor", lambda xp, x, y, dt: xp.bitwise_xor(x, y), a, b)


def bitwise_left_shift(a, b):
    """``a << b`` = a·2**b, wrapped to the result's integer width."""
    if _bitwise_result_dtype("bitwise_left_shift", a, b) == np.bool_:
        raise NotImplementedError("bitwise_left_shift: not implemented for bool tensors")
    return _bitwise_binary("bitwise_left_shift", lambda xp, x, y, dt: _shift(xp, x, y, dt, True), a, b)


def bitwise_right_shift(a, b):
    """``a >> b`` = floor(a / 2**b) (arithmetic shift: negative numbers stay negative)."""
    if _bitwise_result_dtype("bitwise_right_shift", a, b) == np.bool_:
        raise NotImplementedError("bitwise_right_shift: not implemented for bool tensors")
    return _bitwise_binary("bitwise_right_shift", lambda xp, x, y, dt: _shift(xp, x, y, dt, False), a, b)


def bitwise_not(x):
    """``~x``: flips every bit, so ``~n = -n - 1`` for signed integers; logical not for bools."""
    _bitwise_operand_dtype("bitwise_not", x)
    data = x.array
    xp = array_module(data)
    return Tensor._wrap(xp.logical_not(data) if data.dtype == np.bool_ else xp.invert(data))


from ..tensor import Tensor  # noqa: E402
from ..creation import tensor  # noqa: E402
from .elementwise import as_array  # noqa: E402
