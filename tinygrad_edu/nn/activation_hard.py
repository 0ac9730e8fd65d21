"""The piecewise-linear activations: ``hardtanh``, ``relu6``, ``hardsigmoid``, ``hardswish``,
``hardshrink`` and ``softshrink``, as functions and as modules.

Their derivative jumps at the corners.  Which side a corner belongs to is a convention; we follow
PyTorch's exactly (written in every docstring), including NaN inputs, so gradients match bit for
bit at the corners too.  Every backward is written in Tensor ops (masks are constants of the
graph), so second derivatives work.

Tests: tests/op_registry/activation_hard.py, tests/test_activation_loss.py
"""
from ..autograd.function import Function, OpValueError
from ..backend import array_module
from ..ops import elementwise as _ew
from ..tensor import Tensor
from .activation import _InplaceActivation, _inplace_repr, _maybe_inplace
from .module import Module

__all__ = ["hardtanh", "relu6", "hardsigmoid", "hardswish", "hardshrink", "softshrink", "Hardtanh",
           "ReLU6", "Hardsigmoid", "Hardswish", "Hardshrink", "Softshrink"]


# ---------------------------------------------------------------------------------------------
# hardtanh, relu6, hardsigmoid, hardswish: the piecewise-linear family
# ---------------------------------------------------------------------------------------------
class HardtanhFunction(Function):
    """y = clip(x, lo, hi).

    dL/dx = g where lo < x < hi, else 0.  PyTorch's corners: the slope is 0 *at* lo and at hi (a
    plain ``clamp`` passes the gradient there)."""

    @staticmethod
    def forward(ctx, x, lo=-1.0, hi=1.0):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        xp = array_module(x)
        return xp.where(xp.isnan(x), x, xp.clip(x, lo, hi)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        outside = (x.array <= ctx.lo) | (x.array >= ctx.hi)
        return _ew.where(outside, 0.0, g)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):  # noqa: A002
    """y = min(max(x, min_val), max_val).   dL/dx = g · [min_val < x < max_val]."""
    if min_val > max_val:
        raise OpValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return _maybe_inplace(input, inplace, "hardtanh",
                          lambda a: HardtanhFunction.apply(a, lo=min_val, hi=max_val))


def relu6(input, inplace=False):  # noqa: A002
    """y = min(max(x, 0), 6) = hardtanh(x, 0, 6).   dL/dx = g · [0 < x < 6] (0 at both corners)."""
    return hardtanh(input, 0.0, 6.0, inplace)


class HardsigmoidFunction(Function):
    """y = clip(x/6 + 1/2, 0, 1): a piecewise-linear sigmoid (0 below -3, 1 above 3).

    dL/dx = g/6 where -3 < x < 3, else 0 (0 at the corners, as PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        xp = array_module(x)
        return xp.clip(x / 6 + 0.5, 0.0, 1.0).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        inside = (x.array > -3.0) & (x.array < 3.0)
        return _ew.where(inside, g * (1.0 / 6.0), 0.0)


def hardsigmoid(input, inplace=False):  # noqa: A002
    """y = clip(x/6 + 1/2, 0, 1).   dL/dx = g/6 · [-3 < x < 3]."""
    return _maybe_inplace(input, inplace, "hardsigmoid", HardsigmoidFunction.apply)


class HardswishFunction(Function):
    """y = x · hardsigmoid(x) = x · clip(x + 3, 0, 6) / 6  (MobileNetV3's cheap swish).

    dL/dx = g · 0            for x ≤ -3
            g · (x/3 + 1/2)  for -3 < x < 3      (the derivative of x(x+3)/6)
            g                for x ≥ 3, as PyTorch (at -3 the slope is 0, at 3 it is 1).
    The middle slope is a Tensor expression in x, so the second derivative (1/3 there) is exact."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        xp = array_module(x)
        return (x * xp.clip(x + 3.0, 0.0, 6.0) / 6.0).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        low, middle = x.array <= -3.0, (x.array > -3.0) & (x.array < 3.0)
        slope = _ew.where(middle, x * (1.0 / 3.0) + 0.5, _ew.where(low, 0.0, 1.0).to(x.dtype))
        return g * slope


def hardswish(input, inplace=False):  # noqa: A002
    """y = x · clip(x + 3, 0, 6) / 6.   dL/dx = g · (0 | x/3 + 1/2 | 1), see ``Hardswish``."""
    return _maybe_inplace(input, inplace, "hardswish", HardswishFunction.apply)


# ---------------------------------------------------------------------------------------------
# hardshrink, softshrink: zero out the small entries
# ---------------------------------------------------------------------------------------------
def _shrink_mask(op, input, lambd):  # noqa: A002
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    x = input.array
    return ~((x >= -lambd) & (x <= lambd))   # NaN counts as "kept", as in PyTorch


def hardshrink(input, lambd=0.5):  # noqa: A002
    """y = x where |x| > λ, else 0.   dL/dx = g · [|x| > λ] (0 at ±λ; NaN inputs stay NaN)."""
    keep = _shrink_mask("hardshrink", input, lambd)
    return _ew.where(keep, input, 0.0)


def softshrink(input, lambd=0.5):  # noqa: A002
    """y = x - λ for x > λ, x + λ for x < -λ, else 0 (soft thresholding, the proximal map of λ|x|).

    dL/dx = g · [|x| > λ]."""
    if lambd < 0:
        raise OpValueError(f"softshrink: lambda must be greater or equal to 0, but found to be {lambd}")
    keep = _shrink_mask("softshrink", input, lambd)
    shifted = input - _ew.sign(input.detach()) * lambd
    return _ew.where(keep, shifted, 0.0)


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
class Hardtanh(Module):
    """y = clip(x, min_val, max_val)."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if min_val > max_val:
            raise OpValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input):  # noqa: A002
        return hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + _inplace_repr(self.inplace)


class ReLU6(Hardtanh):
    """y = clip(x, 0, 6)."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Hardsigmoid(_InplaceActivation):
    """y = clip(x/6 + 1/2, 0, 1)."""
    _fn = staticmethod(hardsigmoid)


class Hardswish(_InplaceActivation):
    """y = x · clip(x + 3, 0, 6) / 6."""
    _fn = staticmethod(hardswish)


class Hardshrink(Module):
    """y = x where |x| > λ, else 0."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):  # noqa: A002
        return hardshrink(input, self.lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """y = x ∓ λ where |x| > λ, else 0."""

    def forward(self, input):  # noqa: A002
        return softshrink(input, self.lambd)
