"""Rounding and integer-style division: div(rounding_mode=), floor_divide (//), fmod, remainder (%),
trunc, floor, ceil, round, frac.

Two ways to divide and keep a whole quotient, differing only for negative results:

* trunc division rounds a/b toward zero:       -7 / 2 -> -3,   and fmod(a, b) = a - b*trunc(a/b)
  has the sign of the dividend a (C's ``%``):  fmod(-7, 2) = -1;
* floor division rounds a/b toward -infinity:  -7 // 2 -> -4,  and remainder(a, b) = a - b*floor(a/b)
  has the sign of the divisor b (Python's ``%``): -7 % 2 = 1.

Gradients.  A rounded value is piecewise constant, so trunc/floor/ceil/round and the rounded divisions
have gradient 0 (PyTorch's convention, also at the jumps).  The remainders are a minus a constant
multiple of b between jumps: d fmod/da = 1, d fmod/db = -trunc(a/b); d remainder/da = 1,
d remainder/db = -floor(a/b).  frac(x) = x - trunc(x), so d frac/dx = 1.

Type promotion is PyTorch's (``int32_tensor % 3.5`` is float32, int // int stays int).  Integer
division by zero raises ``RuntimeError: ZeroDivisionError`` as torch does on the CPU; float division
by zero follows IEEE (a/0 = ±inf, 0/0 = nan, and fmod/remainder by 0 are nan).

Tests: tests/op_registry/rounding.py, tests/test_math_extra.py
"""
import numpy as np

from ..autograd.function import Function
from ..backend import array_module
from . import elementwise as _ew

_MODES = (None, "trunc", "floor")


# ---------------------------------------------------------------------------------------------
# Raw-array kernels (x and y already have one common dtype, or one of them is a Python number)
# ---------------------------------------------------------------------------------------------
def _dtype_of(x, y):
    return (x if hasattr(x, "dtype") else y).dtype


def _check_int_divisor(op, xp, y):
    if np.any(xp.asarray(y) == 0):
        raise RuntimeError(f"ZeroDivisionError ({op}: integer division by zero)")


def _fmod(xp, x, y):
    """a - b*trunc(a/b), computed exactly by the C library (sign of the dividend)."""
    return xp.fmod(x, y)


def _remainder(xp, x, y):
    """a - b*floor(a/b): fmod, then moved by one b where its sign differs from b's.
    A zero result keeps fmod's sign (-3 % 3 is -0.0 in PyTorch)."""
    if _dtype_of(x, y).kind in "iu":
        return xp.mod(x, y)  # NumPy's integer mod already takes the divisor's sign
    m = xp.fmod(x, y)
    fix = (m != 0) & ((m < 0) != (xp.asarray(y) < 0))
    return xp.where(fix, m + y, m)


def _floor_div(xp, x, y):
    """floor(a/b).  For floats it is (a - remainder(a, b)) / b rounded, which is exact where a
    plain floor(a/b) can be off by one after the division rounded; a zero keeps the sign of a/b,
    and a zero divisor gives a/b (±inf or nan)."""
    if _dtype_of(x, y).kind in "iu":
        return xp.floor_divide(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = xp.true_divide(x, y)
        m = xp.fmod(x, y)
        d = (x - m) / y
        d = xp.where((m != 0) & ((xp.asarray(y) < 0) != (m < 0)), d - 1, d)
        f = xp.floor(d)
        f = xp.where(d - f > 0.5, f + 1, f)
        f = xp.where(d == 0, xp.copysign(xp.zeros_like(d), quotient), f)
        return xp.where(xp.asarray(y) == 0, quotient, f).astype(quotient.dtype, copy=False)


def _trunc_div(xp, x, y):
    """trunc(a/b), toward zero.  Integers: the floor quotient, plus one where the division was
    inexact and the signs of a and b differ."""
    if _dtype_of(x, y).kind in "iu":
        q = xp.floor_divide(x, y)
        inexact = xp.mod(x, y) != 0
        return xp.where(inexact & ((xp.asarray(x) < 0) != (xp.asarray(y) < 0)), q + 1, q).astype(q.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        return xp.trunc(xp.true_divide(x, y))


_KERNELS = {"trunc": _trunc_div, "floor": _floor_div, "fmod": _fmod, "remainder": _remainder}


# ---------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------
class RoundedDiv(Function):
    """y = trunc(a/b) (``rounding_mode='trunc'``) or floor(a/b) (``'floor'``).
    Piecewise constant in a and b: dL/da = dL/db = 0 (PyTorch returns zeros)."""

    @staticmethod
    def forward(ctx, a, b, mode="floor"):
        xp = array_module(a if hasattr(a, "dtype") else b)
        if _dtype_of(a, b).kind in "iu":
            _check_int_divisor(f"div(rounding_mode={mode!r})", xp, b)
        return _KERNELS[mode](xp, a, b)

    @staticmethod
    def backward(ctx, g):
        return g * 0.0, g * 0.0


class FloorDivide(RoundedDiv):
    """y = floor(a/b) for ``floor_divide`` and ``//``.  PyTorch defines no derivative for this op
    (only for ``div(rounding_mode='floor')``, where it is 0), so backward raises, as there."""

    @staticmethod
    def forward(ctx, a, b):
        return RoundedDiv.forward(ctx, a, b, mode="floor")

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("floor_divide: derivative for floor_divide (//) is not implemented, as in "
                           "PyTorch; use div(a, b, rounding_mode='floor'), whose gradient is 0")


class Fmod(Function):
    """y = fmod(a, b) = a - b*trunc(a/b) (sign of a).
    dL/da = g,   dL/db = -g * trunc(a/b)."""

    @staticmethod
    def forward(ctx, a, b):
        xp = array_module(a if hasattr(a, "dtype") else b)
        if _dtype_of(a, b).kind in "iu":
            _check_int_divisor("fmod", xp, b)
        ctx.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _fmod(xp, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g, -g * _constant_quotient("trunc", a, b)


class Remainder(Function):
    """y = remainder(a, b) = a - b*floor(a/b) (sign of b, Python's %).
    dL/da = g,   dL/db = -g * floor(a/b)."""

    @staticmethod
    def forward(ctx, a, b):
        xp = array_module(a if hasattr(a, "dtype") else b)
        if _dtype_of(a, b).kind in "iu":
            _check_int_divisor("remainder", xp, b)
        ctx.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _remainder(xp, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g, -g * _constant_quotient("floor", a, b)


def _constant_quotient(mode, a, b):
    """trunc(a/b) or floor(a/b) as a graph constant (its own derivative is 0)."""
    x, y = _ew.as_array(a), _ew.as_array(b)
    xp = array_module(x if hasattr(x, "dtype") else y)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = xp.true_divide(x, y)
        q = xp.trunc(q) if mode == "trunc" else xp.floor(q)
    return Tensor._wrap(xp.asarray(q))


class _Rounder(Function):
    """Shared by trunc/floor/ceil/round: y is piecewise constant, so dL/dx = 0."""
    fn = None

    @staticmethod
    def backward(ctx, g):
        return g * 0.0


class Trunc(_Rounder):
    """y = trunc(x): x rounded toward zero (-1.7 -> -1, and -0.5 -> -0.0).   dL/dx = 0."""

    @staticmethod
    def forward(ctx, x):
        return array_module(x).trunc(x) if x.dtype.kind == "f" else x.copy()


class Floor(_Rounder):
    """y = floor(x): the largest whole number <= x (-1.2 -> -2).   dL/dx = 0."""

    @staticmethod
    def forward(ctx, x):
        return array_module(x).floor(x) if x.dtype.kind == "f" else x.copy()


class Ceil(_Rounder):
    """y = ceil(x): the smallest whole number >= x (-0.2 -> -0.0).   dL/dx = 0."""

    @staticmethod
    def forward(ctx, x):
        return array_module(x).ceil(x) if x.dtype.kind == "f" else x.copy()


class Round(_Rounder):
    """y = x rounded to ``decimals`` places, ties to even (0.5 -> 0, 1.5 -> 2, 2.5 -> 2):
    rint(x * 10^d) / 10^d for d >= 0, rint(x / 10^-d) * 10^-d for d < 0.   dL/dx = 0."""

    @staticmethod
    def forward(ctx, x, decimals=0):
        xp = array_module(x)
        if x.dtype.kind != "f":
            return x.copy()
        if decimals == 0:
            return xp.rint(x)
        scale = x.dtype.type(10.0 ** abs(decimals))
        if decimals > 0:
            return xp.rint(x * scale) / scale
        return xp.rint(x / scale) * scale


class Frac(Function):
    """y = frac(x) = x - trunc(x), the fractional part with the sign of x (-1.5 -> -0.5).
    dL/dx = g."""

    @staticmethod
    def forward(ctx, x):
        with np.errstate(invalid="ignore"):  # frac(±inf) is nan, as in PyTorch
            return x - array_module(x).trunc(x)

    @staticmethod
    def backward(ctx, g):
        return g


class Copysign(Function):
    """y = copysign(a, b) = |a| with the sign of b (the sign *bit*: b = -0.0 counts as negative,
    so copysign(1, -0.0) = -1).

    Where a != 0, y = a * s with the constant s = sign(a) * (±1 from b's sign bit), so
        dL/da = g * s = g * y / a,
    and at a = 0 (where y = ±0 whatever a's sign) we take dL/da = 0, as PyTorch does.
    y does not change when b moves without crossing zero, so dL/db = 0 (PyTorch returns zeros)."""

    @staticmethod
    def forward(ctx, a, b):
        xp = array_module(a if hasattr(a, "dtype") else b)
        y = xp.copysign(a, b)
        if ctx.needs_input_grad and ctx.needs_input_grad[0]:
            a_arr = xp.asarray(a)
            with np.errstate(divide="ignore", invalid="ignore"):
                ctx.factor = xp.where(a_arr == 0, 0, y / a_arr).astype(y.dtype, copy=False)
        return y

    @staticmethod
    def backward(ctx, g):
        need_a, need_b = ctx.needs_input_grad
        return (g * Tensor._wrap(ctx.factor) if need_a else None), (g * 0.0 if need_b else None)


# ---------------------------------------------------------------------------------------------
# The functional API
# ---------------------------------------------------------------------------------------------
def _binary_operands(op, a, b):
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = tensor(a)
    a, b = _ew.operands(a, b)
    if _dtype_of(_ew.as_array(a), _ew.as_array(b)) == np.bool_:
        raise NotImplementedError(f"{op}: not implemented for bool tensors; convert them to an integer "
                                  "or float dtype first")
    return a, b


def div(input, other, *, rounding_mode=None):  # noqa: A002
    """a / b.  ``rounding_mode=None``: true division (integers become floats);
    ``'trunc'``: rounded toward zero; ``'floor'``: rounded toward -inf (integers stay integers).
    The rounded forms have zero gradient."""
    if rounding_mode not in _MODES:
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
    if rounding_mode is None:
        if not isinstance(input, Tensor) and not isinstance(other, Tensor):
            input = tensor(input)
        return _ew.Div.apply(*_ew.operands(input, other))
    a, b = _binary_operands(f"div(rounding_mode={rounding_mode!r})", input, other)
    return RoundedDiv.apply(a, b, mode=rounding_mode)


def floor_divide(input, other):  # noqa: A002
    """a // b = floor(a/b), the value of ``div(a, b, rounding_mode='floor')``.  No derivative:
    backward raises, as in PyTorch."""
    a, b = _binary_operands("floor_divide", input, other)
    return FloorDivide.apply(a, b)


def fmod(input, other):  # noqa: A002
    """a - b*trunc(a/b), the sign of a.   dL/da = g,  dL/db = -g*trunc(a/b)."""
    return Fmod.apply(*_binary_operands("fmod", input, other))


def remainder(input, other):  # noqa: A002
    """a % b = a - b*floor(a/b), the sign of b.   dL/da = g,  dL/db = -g*floor(a/b)."""
    return Remainder.apply(*_binary_operands("remainder", input, other))


def _t(x):
    return x if isinstance(x, Tensor) else tensor(x)


def trunc(input):  # noqa: A002
    return Trunc.apply(_t(input))


fix = trunc


def floor(input):  # noqa: A002
    return Floor.apply(_t(input))


def ceil(input):  # noqa: A002
    return Ceil.apply(_t(input))


def round(input, *, decimals=0):  # noqa: A001,A002
    x = _t(input)
    if decimals != 0 and x.array.dtype.kind != "f":
        raise NotImplementedError(f"round: decimals={decimals} needs a float tensor, got {x.dtype}")
    return Round.apply(x, decimals=int(decimals))


def frac(input):  # noqa: A002
    x = _t(input)
    if x.array.dtype.kind != "f":
        raise NotImplementedError(f"frac: needs a float tensor, got {x.dtype}")
    return Frac.apply(x)




def copysign(input, other):  # noqa: A002
    """|input| with the sign (bit) of ``other``, entry by entry; integer and bool inputs give the
    default float dtype, as in PyTorch.   dL/dinput = g * sign(input) * sign(other) (0 where
    input = 0),  dL/dother = 0."""
    a, b = input, other
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = tensor(a)
    a, b = _ew.operands(a, b)
    for side in (a, b):
        if isinstance(side, Tensor) and side.array.dtype.kind in "biu":
            a = a.to(_dt.get_default_dtype()) if isinstance(a, Tensor) else float(a)
            b = b.to(_dt.get_default_dtype()) if isinstance(b, Tensor) else float(b)
            break
    if not isinstance(a, Tensor):  # a number with a tensor: broadcast the number to a tensor
        a = tensor(float(a), dtype=b.dtype, device=b.device)
    return Copysign.apply(a, b)


from ..tensor import Tensor  # noqa: E402
from ..creation import tensor  # noqa: E402
from .. import dtypes as _dt  # noqa: E402
