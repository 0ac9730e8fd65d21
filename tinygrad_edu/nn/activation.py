"""Pointwise activation functions, as functions (``F.relu``) and as modules (``nn.ReLU``).

PyTorch keeps the modules in ``torch.nn.modules.activation``.  Here live the classic ones
(``relu``, ``leaky_relu``, ``gelu``, ``silu``, ``tanh``, ``sigmoid``, ``elu``, ``softplus``: engine ops
of ``ops/nonlinearity.py`` with PyTorch's signatures) and the **smooth** ones (``celu``, ``selu``,
``logsigmoid``, ``mish``, ``softsign``, ``tanhshrink``), plus ``prelu``: a composition of engine ops
where that is exact and stable, or one ``Function`` where stability needs care (``logsigmoid`` for
|x| ≫ 1).  The piecewise-linear family (``hardtanh``, ``relu6``, ``hardsigmoid``, ``hardswish``, the
shrinks) is in ``activation_hard.py``; ``softmax``, ``log_softmax``, ``softmin`` and ``glu`` (which
act along a dim) are in ``softmax.py``.

Every backward is written in Tensor ops (masks are constants of the graph), so second derivatives
work through all of them.

Tests: tests/op_registry/activation.py, tests/test_activation_loss.py
"""
from ..autograd.function import Function, OpValueError
from ..backend import array_module
from .. import creation
from ..ops import elementwise as _ew
from ..ops.inplace import apply_inplace
from ..tensor import Tensor
from . import init
from .module import Module, Parameter

__all__ = ["relu", "gelu", "silu", "tanh", "sigmoid", "leaky_relu", "elu", "softplus", "celu",
           "selu", "logsigmoid", "mish", "softsign", "tanhshrink", "prelu", "ReLU", "LeakyReLU",
           "GELU", "SiLU", "Tanh", "Sigmoid", "ELU", "CELU", "SELU", "Softplus", "LogSigmoid",
           "Mish", "Softsign", "Tanhshrink", "PReLU"]


def _maybe_inplace(input, inplace, name, fn):  # noqa: A002
    return apply_inplace(input, name + "_", fn) if inplace else fn(input)


# ---------------------------------------------------------------------------------------------
# the classic ones, with PyTorch's signatures
# ---------------------------------------------------------------------------------------------
def relu(input, inplace=False):  # noqa: A002
    """y = max(x, 0).   dL/dx = g · [x > 0]."""
    return _maybe_inplace(input, inplace, "relu", _ew.relu)


def gelu(input, approximate="none"):  # noqa: A002
    """y = x · Φ(x) (Φ the standard normal CDF; ``approximate='tanh'`` uses the tanh formula).
    dL/dx = g · (Φ(x) + x · φ(x))."""
    return _ew.gelu(input, approximate=approximate)


def silu(input, inplace=False):  # noqa: A002
    """y = x · σ(x).   dL/dx = g · σ(x) · (1 + x · (1 - σ(x)))."""
    return _maybe_inplace(input, inplace, "silu", _ew.silu)


def tanh(input):  # noqa: A002
    """y = tanh(x).   dL/dx = g · (1 - y²)."""
    return _ew.tanh(input)


def sigmoid(input):  # noqa: A002
    """y = σ(x) = 1 / (1 + e^-x).   dL/dx = g · y · (1 - y)."""
    return _ew.sigmoid(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002
    """y = x for x > 0, else slope · x.   dL/dx = g · (1 or slope)."""
    return _maybe_inplace(input, inplace, "leaky_relu",
                          lambda a: _ew.leaky_relu(a, negative_slope))


def elu(input, alpha=1.0, inplace=False):  # noqa: A002
    """y = x for x > 0, else α(eˣ - 1).   dL/dx = g · (1 or α eˣ)."""
    return _maybe_inplace(input, inplace, "elu", lambda a: _ew.elu(a, alpha))


def softplus(input, beta=1.0, threshold=20.0):  # noqa: A002
    """y = ln(1 + e^(βx)) / β (y = x where βx > threshold).   dL/dx = g · σ(βx)."""
    return _ew.softplus(input, beta=beta, threshold=threshold)


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


class ReLU(Module):
    """y = max(x, 0)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return relu(input, inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """y = x for x > 0, else negative_slope · x."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):  # noqa: A002
        return leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """y = x · Φ(x) (``approximate='tanh'`` for the tanh formula)."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):  # noqa: A002
        return gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """y = x · σ(x)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return silu(input, inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Tanh(Module):
    """y = tanh(x)."""

    def forward(self, input):  # noqa: A002
        return tanh(input)


class Sigmoid(Module):
    """y = 1 / (1 + e^-x)."""

    def forward(self, input):  # noqa: A002
        return sigmoid(input)


class _InplaceActivation(Module):
    _fn = None

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return type(self)._fn(input, inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


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
        return elu(input, self.alpha, self.inplace)

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
