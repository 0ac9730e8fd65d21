"""Unary math: exponentials, logs, roots, sin/cos, erf, and abs/sign.

Each is y = f(x) entry by entry, so dL/dx = g * f'(x) with g = dL/dy:

* exp:   f' = e^x = y             log:  f' = 1/x            log1p: f' = 1/(1 + x)
* sqrt:  f' = 1/(2√x) = 1/(2y)    rsqrt (1/√x): f' = -½ x^(-3/2) = -½ y³
* sin:   f' = cos x               cos:  f' = -sin x
* erf:   f' = (2/√π) e^(-x²)      (NumPy has no erf: the ``erf`` kernel computes it)
* abs:   f' = sign(x) (0 at 0)    sign: f' = 0 (piecewise constant)

The backwards are Tensor ops (``g * y``), so they differentiate again.  The trigonometric and
hyperbolic rest (tan, asin, sinh, ...), exp2/expm1/log2/log10 are in ``trig.py``; tanh is in
``nonlinearity.py``.  Re-exported by ``elementwise.py``.

Tests: tests/op_registry/unary_math.py
"""
import math

import numpy as np

from ..autograd.function import Function
from ..backend import array_module, kernel, register_kernel, to_device


# ---------------------------------------------------------------------------------------------
# Exponentials, logs, roots, trigonometry
# ---------------------------------------------------------------------------------------------
class Exp(Function):
    """y = e^x.   dL/dx = g * e^x = g * y."""

    @staticmethod
    def forward(ctx, x):
        y = array_module(x).exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g * y


class Log(Function):
    """y = ln x.   dL/dx = g / x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return array_module(x).log(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / x


class Log1p(Function):
    """y = ln(1 + x), accurate for tiny x.   dL/dx = g / (1 + x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return array_module(x).log1p(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / (x + 1.0)


class Sqrt(Function):
    """y = √x.   dL/dx = g / (2√x) = g / (2y)."""

    @staticmethod
    def forward(ctx, x):
        y = array_module(x).sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g / (y * 2.0)


class Rsqrt(Function):
    """y = 1/√x.   dL/dx = -g / (2 x^(3/2)) = -0.5 * g * y³."""

    @staticmethod
    def forward(ctx, x):
        y = 1.0 / array_module(x).sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g * y ** 3 * -0.5


class Sin(Function):
    """y = sin x.   dL/dx = g * cos x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return array_module(x).sin(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * cos(x)


class Cos(Function):
    """y = cos x.   dL/dx = -g * sin x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return array_module(x).cos(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return -g * sin(x)


class Erf(Function):
    """y = erf x = (2/√π) ∫₀ˣ e^(-t²) dt.   dL/dx = g * (2/√π) e^(-x²).

    NumPy has no erf; the ``erf`` kernel (a vectorised ``math.erf``, numba-compiled in the fast
    tier) computes it."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return kernel("erf", array_module(x))(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * exp(-(x * x)) * (2.0 / math.sqrt(math.pi))


def _erf_reference(x):
    """erf entry by entry with the standard library (slow and plain: the reference tier).  A device
    array makes the round trip through the host (CuPy has no ``erf`` of its own)."""
    xp = array_module(x)
    if xp is not np:
        return xp.asarray(_erf_reference(to_device(x, "cpu")))
    return np.vectorize(math.erf, otypes=[x.dtype])(x) if x.size else x.copy()


register_kernel("erf", "numpy", _erf_reference)


# ---------------------------------------------------------------------------------------------
# Absolute value and sign
# ---------------------------------------------------------------------------------------------
class Abs(Function):
    """y = |x|.   dL/dx = g * sign(x)  (0 at x = 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return array_module(x).abs(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * array_module(x.array).sign(x.array)


class Sign(Function):
    """y = sign(x) ∈ {-1, 0, 1}: piecewise constant, so dL/dx = 0."""

    @staticmethod
    def forward(ctx, x):
        return array_module(x).sign(x)

    @staticmethod
    def backward(ctx, g):
        return g * 0.0


# ---------------------------------------------------------------------------------------------
# The functional API (``tinygrad_edu.exp(x)``, also bound as Tensor methods)
# ---------------------------------------------------------------------------------------------
def exp(x): return Exp.apply(_t(x))               # noqa: E704
def log(x): return Log.apply(_t(x))               # noqa: E704
def log1p(x): return Log1p.apply(_t(x))           # noqa: E704
def sqrt(x): return Sqrt.apply(_t(x))             # noqa: E704
def rsqrt(x): return Rsqrt.apply(_t(x))           # noqa: E704
def sin(x): return Sin.apply(_t(x))               # noqa: E704
def cos(x): return Cos.apply(_t(x))               # noqa: E704
def erf(x): return Erf.apply(_t(x))               # noqa: E704
def abs(x): return Abs.apply(_t(x))               # noqa: E704,A001
def sign(x): return Sign.apply(_t(x))             # noqa: E704


from .elementwise import _t  # noqa: E402
