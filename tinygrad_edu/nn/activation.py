"""More activation functions, as functions (``F.hardswish``) and as modules (``nn.Hardswish``).

PyTorch keeps these in ``torch.nn.modules.activation``; ``relu``, ``gelu``, ``silu``, ``tanh``,
``sigmoid``, ``leaky_relu``, ``elu`` and ``softplus`` live in ``functional.py`` / ``layers.py``.

Two kinds of activations are here:

* **piecewise ones** (``hardtanh``, ``relu6``, ``hardsigmoid``, ``hardswish``, ``hardshrink``,
  ``softshrink``, ``prelu``): their derivative jumps at the corners.  Which side a corner belongs
  to is a convention; we follow PyTorch's exactly (written in every docstring), including NaN
  inputs, so gradients match bit for bit at the corners too.
* **smooth ones** (``celu``, ``selu``, ``logsigmoid``, ``mish``, ``softsign``, ``tanhshrink``,
  ``softmin``, ``glu``): a composition of engine ops where that is exact and stable, or one
  ``Function`` where stability needs care (``logsigmoid`` for |x| ≫ 1).

Every backward is written in Tensor ops (masks are constants of the graph), so second derivatives
work through all of them.
"""
from ..autograd.function import Function, OpValueError
from ..backend import array_module
from .. import creation
from ..ops import elementwise as _ew
from ..ops.inplace import apply_inplace
from ..tensor import Tensor
from . import init
from .module import Module, Parameter

__all__ = ["hardtanh", "relu6", "hardsigmoid", "hardswish", "celu", "selu", "logsigmoid", "mish",
           "softsign", "tanhshrink", "hardshrink", "softshrink", "softmin", "glu", "prelu"]


def _maybe_inplace(input, inplace, name, fn):  # noqa: A002
    return apply_inplace(input, name + "_", fn) if inplace else fn(input)


def _const(mask):
    """A bool array as a graph constant."""
    return Tensor._wrap(mask)


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
# celu and selu: scaled exponential linear units
# ---------------------------------------------------------------------------------------------
class ScaledElu(Function):
    """The ELU family: y = s·x for x > 0, else s·α·(e^(c·x) - 1)   (s = scale, c = input scale).

    dL/dx = g · s                 for x > 0
            g · s·α·c·e^(c·x)     for x ≤ 0
    (not g · c·(y + s·α), which equals it but cancels digits when y ≈ -s·α).  e^(c·x) is a Tensor
    expression in x, so the gradient is differentiable again.
    celu is (α, s=1, c=1/α); selu is (α≈1.6733, s≈1.0507, c=1)."""

    @staticmethod
    def forward(ctx, x, alpha=1.0, scale=1.0, input_scale=1.0):
        xp = array_module(x)
        negative = scale * alpha * xp.expm1(xp.minimum(x, 0) * input_scale)
        y = xp.where(x <= 0, negative, scale * x).astype(x.dtype, copy=False)
        ctx.alpha, ctx.scale, ctx.input_scale = alpha, scale, input_scale
        ctx.save_for_backward(x)
        return y

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        c = ctx.input_scale
        negative = g * (_ew.exp(x.clamp(max=0.0) * c) * (ctx.scale * ctx.alpha * c))
        return _ew.where(x.array <= 0, negative, g * ctx.scale)


def celu(input, alpha=1.0, inplace=False):  # noqa: A002
    """Continuously differentiable ELU: y = max(0, x) + min(0, α(e^(x/α) - 1)).

    dL/dx = g for x > 0, g · e^(x/α) for x ≤ 0 (the slope is 1 on both sides of 0, unlike ELU
    with α ≠ 1)."""
    if alpha == 0:
        raise OpValueError("celu: alpha must not be 0 (the formula divides by alpha)")
    return _maybe_inplace(input, inplace, "celu",
                          lambda a: ScaledElu.apply(a, alpha=alpha, scale=1.0, input_scale=1.0 / alpha))


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):  # noqa: A002
    """Self-normalising ELU: y = λ·x for x > 0, else λ·α·(eˣ - 1), with α ≈ 1.6733, λ ≈ 1.0507
    (the constants that keep activations at mean 0, variance 1 through deep nets).

    dL/dx = g·λ for x > 0, g·λ·α·eˣ = g·(y + λα) for x ≤ 0."""
    return _maybe_inplace(input, inplace, "selu",
                          lambda a: ScaledElu.apply(a, alpha=SELU_ALPHA, scale=SELU_SCALE, input_scale=1.0))


# ---------------------------------------------------------------------------------------------
# logsigmoid, mish, softsign, tanhshrink
# ---------------------------------------------------------------------------------------------
class LogSigmoidFunction(Function):
    """y = ln σ(x) = -ln(1 + e^-x) = -softplus(-x).

    Stability: for x = -100, σ(x) underflows to 0 and ln 0 = -inf, but the answer is about -100.
    ``logaddexp(0, -x)`` = ln(e⁰ + e^-x) is computed without overflow for any x.

    dL/dx = g · (1 - σ(x)) = g · σ(-x)   (written with sigmoid, a Tensor op: differentiable again)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        xp = array_module(x)
        return (-xp.logaddexp(0, -x)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * _ew.sigmoid(-x)


def logsigmoid(input):  # noqa: A002
    """y = ln σ(x) = -ln(1 + e^-x), stable for large |x|.   dL/dx = g · σ(-x)."""
    return LogSigmoidFunction.apply(input)


def mish(input, inplace=False):  # noqa: A002
    """y = x · tanh(softplus(x)).

    dL/dx = g · (tanh(sp) + x · σ(x) · (1 - tanh²(sp))),  sp = softplus(x): autograd derives it
    from the composition (softplus, tanh and * are all differentiable twice)."""
    return _maybe_inplace(input, inplace, "mish", lambda a: a * _ew.tanh(_ew.softplus(a)))


def softsign(input):  # noqa: A002
    """y = x / (1 + |x|).   dL/dx = g / (1 + |x|)²  (derived by autograd from the composition)."""
    return input / (_ew.abs(input) + 1.0)


def tanhshrink(input):  # noqa: A002
    """y = x - tanh(x).   dL/dx = g · tanh²(x)."""
    return input - _ew.tanh(input)


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
# softmin, glu
# ---------------------------------------------------------------------------------------------
def softmin(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """y = softmax(-x) along ``dim``: small entries get the large weights.

    dL/dx = -y · (g - Σ g·y)  (softmax's gradient, with the sign of the negation)."""
    from . import functional as F
    if dtype is not None:
        input = input.to(dtype)
    return F.softmax(-input, dim)


def glu(input, dim=-1):  # noqa: A002
    """Gated linear unit: split x in two halves a, b along ``dim``; y = a · σ(b).

    dL/da = g · σ(b),   dL/db = g · a · σ(b)(1 - σ(b))   (autograd through chunk, sigmoid and *)."""
    if input.ndim == 0:
        raise OpValueError("glu: does not support scalars because halving size must be even")
    if not -input.ndim <= dim < input.ndim:
        raise IndexError(f"glu: dim {dim} is out of range for a tensor of {input.ndim} dims")
    size = input.shape[dim]
    if size % 2:
        raise OpValueError(f"glu: halving dimension must be even, but dimension {dim % input.ndim} "
                           f"is size {size}")
    half, dim = size // 2, dim % input.ndim
    first = (slice(None),) * dim + (slice(0, half),)
    second = (slice(None),) * dim + (slice(half, size),)
    return input[first] * _ew.sigmoid(input[second])


# ---------------------------------------------------------------------------------------------
# prelu: leaky ReLU with a learned slope
# ---------------------------------------------------------------------------------------------
def prelu(input, weight):  # noqa: A002
    """y = x for x > 0, else a · x, with a learned slope a (one for all channels, or one per channel:
    dim 1 of the input; an input of fewer than 2 dims has 1 channel).

    dL/dx = g for x > 0, g · a otherwise (x = 0 takes the a side, as PyTorch);
    dL/da = Σ g · x over the entries with x ≤ 0 (summed over everything but the channel dim)."""
    if not isinstance(weight, Tensor):
        raise TypeError(f"prelu: weight must be a Tensor, got {type(weight).__name__}")
    n = weight.numel()
    if weight.ndim > 1:
        raise OpValueError(f"prelu: weight must be 0-d or 1-D, got shape {tuple(weight.shape)}")
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if channels != n:
            raise OpValueError(f"prelu: mismatch of parameter numbers and input channel size: weight "
                               f"has {n} entries, input of shape {tuple(input.shape)} has {channels} "
                               "channels (dim 1)")
        weight = weight.reshape((n,) + (1,) * (input.ndim - 2))
    elif weight.ndim == 1 and input.ndim == 0:
        weight = weight.reshape(())
    return _ew.where(input.array > 0, input, weight * input)


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
def _inplace_repr(inplace):
    return ", inplace=True" if inplace else ""


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


class _InplaceActivation(Module):
    _fn = None

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return type(self)._fn(input, inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Hardsigmoid(_InplaceActivation):
    """y = clip(x/6 + 1/2, 0, 1)."""
    _fn = staticmethod(hardsigmoid)


class Hardswish(_InplaceActivation):
    """y = x · clip(x + 3, 0, 6) / 6."""
    _fn = staticmethod(hardswish)


class SELU(_InplaceActivation):
    """y = λ·x for x > 0, else λ·α·(eˣ - 1)."""
    _fn = staticmethod(selu)


class Mish(_InplaceActivation):
    """y = x · tanh(softplus(x))."""
    _fn = staticmethod(mish)


class CELU(Module):
    """y = max(0, x) + min(0, α(e^(x/α) - 1))."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):  # noqa: A002
        return celu(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}" + _inplace_repr(self.inplace)


class ELU(Module):
    """y = x for x > 0, else α(eˣ - 1)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):  # noqa: A002
        from . import functional as F
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}" + _inplace_repr(self.inplace)


class Softplus(Module):
    """y = ln(1 + e^(βx)) / β (linear where βx > threshold)."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):  # noqa: A002
        return _ew.softplus(input, beta=self.beta, threshold=self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class LogSigmoid(Module):
    """y = ln σ(x)."""

    def forward(self, input):  # noqa: A002
        return logsigmoid(input)


class Softsign(Module):
    """y = x / (1 + |x|)."""

    def forward(self, input):  # noqa: A002
        return softsign(input)


class Tanhshrink(Module):
    """y = x - tanh(x)."""

    def forward(self, input):  # noqa: A002
        return tanhshrink(input)


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


class Softmin(Module):
    """softmax(-x) along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):  # noqa: A002
        return softmin(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class GLU(Module):
    """a · σ(b) for the two halves a, b of ``dim``."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, input):  # noqa: A002
        return glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class PReLU(Module):
    """y = x for x > 0, else a · x, with ``num_parameters`` learned slopes (1, or one per channel),
    each initialised to ``init`` (0.25), as PyTorch."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(creation.empty(num_parameters, dtype=dtype, device=device))
        self.reset_parameters()

    def reset_parameters(self):
        init.constant_(self.weight, self.init)

    def forward(self, input):  # noqa: A002
        return prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"

