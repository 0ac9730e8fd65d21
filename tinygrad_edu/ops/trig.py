"""Trigonometric and hyperbolic functions with their inverses, exp2/expm1/log2/log10, square, reciprocal.

Each is elementwise, y = f(x), so dL/dx = g * f'(x); the derivative is written next to each op.
Integer and bool inputs are computed in the default float dtype (float32), as PyTorch does.
Outside the real domain (asin(2), log2(-1)) the result is nan; at the poles it is ±inf.
sin and cos live in ``unary_math.py``, tanh in ``nonlinearity.py``.

Tests: tests/op_registry/trig.py, tests/test_math_extra.py
"""
import math

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function
from ..backend import array_module
from . import elementwise as _ew


def _xp(x):
    return array_module(x)


def _make(name, raw, grad, doc):
    """Build one Function class: forward saves x (and y), backward is ``grad(g, x, y)``."""
    def forward(ctx, x):
        with np.errstate(all="ignore"):
            y = raw(_xp(x), x)
        ctx.save_for_backward(x, y)
        return y

    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return grad(g, x, y)

    return type(name, (Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward),
                                    "__doc__": doc})


_LN2, _LN10 = math.log(2.0), math.log(10.0)

Tan = _make("Tan", lambda xp, x: xp.tan(x), lambda g, x, y: g * (y * y + 1.0),
            "y = tan(x).   dL/dx = g * (1 + tan²x) = g / cos²x.")
Asin = _make("Asin", lambda xp, x: xp.arcsin(x), lambda g, x, y: g * _ew.rsqrt(1.0 - x * x),
             "y = asin(x) on [-1, 1].   dL/dx = g / sqrt(1 - x²).")
Acos = _make("Acos", lambda xp, x: xp.arccos(x), lambda g, x, y: -g * _ew.rsqrt(1.0 - x * x),
             "y = acos(x) on [-1, 1].   dL/dx = -g / sqrt(1 - x²).")
Atan = _make("Atan", lambda xp, x: xp.arctan(x), lambda g, x, y: g / (x * x + 1.0),
             "y = atan(x).   dL/dx = g / (1 + x²).")
Sinh = _make("Sinh", lambda xp, x: xp.sinh(x), lambda g, x, y: g * cosh(x),
             "y = sinh(x) = (eˣ - e⁻ˣ)/2.   dL/dx = g * cosh(x).")
Cosh = _make("Cosh", lambda xp, x: xp.cosh(x), lambda g, x, y: g * sinh(x),
             "y = cosh(x) = (eˣ + e⁻ˣ)/2.   dL/dx = g * sinh(x).")
Asinh = _make("Asinh", lambda xp, x: xp.arcsinh(x), lambda g, x, y: g * _ew.rsqrt(x * x + 1.0),
              "y = asinh(x) = ln(x + sqrt(x² + 1)).   dL/dx = g / sqrt(x² + 1).")
Acosh = _make("Acosh", lambda xp, x: xp.arccosh(x), lambda g, x, y: g * _ew.rsqrt(x * x - 1.0),
              "y = acosh(x) for x >= 1.   dL/dx = g / sqrt(x² - 1).")
Atanh = _make("Atanh", lambda xp, x: xp.arctanh(x), lambda g, x, y: g / (1.0 - x * x),
              "y = atanh(x) = ½ ln((1 + x)/(1 - x)) on (-1, 1).   dL/dx = g / (1 - x²).")
Exp2 = _make("Exp2", lambda xp, x: xp.exp2(x), lambda g, x, y: g * y * _LN2,
             "y = 2ˣ.   dL/dx = g * 2ˣ ln 2.")
Expm1 = _make("Expm1", lambda xp, x: xp.expm1(x), lambda g, x, y: g * (y + 1.0),
              "y = eˣ - 1, accurate for small x.   dL/dx = g * eˣ = g * (y + 1).")
Log2 = _make("Log2", lambda xp, x: xp.log2(x), lambda g, x, y: g / (x * _LN2),
             "y = log₂ x.   dL/dx = g / (x ln 2).")
Log10 = _make("Log10", lambda xp, x: xp.log10(x), lambda g, x, y: g / (x * _LN10),
              "y = log₁₀ x.   dL/dx = g / (x ln 10).")
Square = _make("Square", lambda xp, x: x * x, lambda g, x, y: g * x * 2.0,
               "y = x².   dL/dx = 2 g x.")
Reciprocal = _make("Reciprocal", lambda xp, x: xp.reciprocal(x), lambda g, x, y: -g * y * y,
                   "y = 1/x (±inf at ±0).   dL/dx = -g / x² = -g y².")


class Atan2(Function):
    """y = atan2(a, b): the angle of the point (x=b, y=a), in (-π, π].
    dL/da = g * b / (a² + b²),   dL/db = -g * a / (a² + b²)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _xp(a if hasattr(a, "dtype") else b).arctan2(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        r2 = a * a + b * b
        return g * b / r2, -g * a / r2


def _float(x):
    """A tensor in a float dtype: integer and bool inputs become the default float dtype."""
    x = x if isinstance(x, Tensor) else tensor(x)
    return x if x.array.dtype.kind in "fc" else x.to(_dt.get_default_dtype())


def tan(input): return Tan.apply(_float(input))          # noqa: E704,A002
def asin(input): return Asin.apply(_float(input))        # noqa: E704,A002
def acos(input): return Acos.apply(_float(input))        # noqa: E704,A002
def atan(input): return Atan.apply(_float(input))        # noqa: E704,A002
def sinh(input): return Sinh.apply(_float(input))        # noqa: E704,A002
def cosh(input): return Cosh.apply(_float(input))        # noqa: E704,A002
def asinh(input): return Asinh.apply(_float(input))      # noqa: E704,A002
def acosh(input): return Acosh.apply(_float(input))      # noqa: E704,A002
def atanh(input): return Atanh.apply(_float(input))      # noqa: E704,A002
def exp2(input): return Exp2.apply(_float(input))        # noqa: E704,A002
def expm1(input): return Expm1.apply(_float(input))      # noqa: E704,A002
def log2(input): return Log2.apply(_float(input))        # noqa: E704,A002
def log10(input): return Log10.apply(_float(input))      # noqa: E704,A002
def reciprocal(input): return Reciprocal.apply(_float(input))  # noqa: E704,A002


def square(input):  # noqa: A002
    """x * x; integer tensors stay integer (as torch), bool becomes int64."""
    x = input if isinstance(input, Tensor) else tensor(input)
    if x.array.dtype == np.bool_:
        x = x.to(_dt.int64)
    return Square.apply(x)


def atan2(input, other):  # noqa: A002
    """atan2(a, b) with PyTorch's promotion (integer inputs become float32)."""
    a = _float(input)
    if isinstance(other, Tensor) and other.array.dtype.kind not in "fc":
        other = _float(other)
    return Atan2.apply(*_ew.operands(a, other))


# the NumPy-style names PyTorch also has
arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2
arcsinh, arccosh, arctanh = asinh, acosh, atanh

from ..tensor import Tensor  # noqa: E402
from ..creation import tensor  # noqa: E402
