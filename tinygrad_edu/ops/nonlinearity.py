"""Nonlinearities: the pointwise activation functions the engine computes in one op each.

y = f(x) entry by entry, so dL/dx = g * f'(x):

* tanh:        f' = 1 - y²
* sigmoid σ:   f' = y (1 - y)               (computed as exp(-log(1 + e^(-x))): no overflow)
* relu:        f' = [x > 0]                 (the mask, through the ``relu_backward`` kernel)
* leaky_relu:  f' = 1 if x > 0 else slope
* elu:         f' = 1 if x > 0 else y + α
* gelu x Φ(x): f' = Φ(x) + x φ(x)           (or the derivative of its tanh approximation)
* silu x σ(x): f' = σ(x) (1 + x (1 - σ(x)))
* softplus:    f' = σ(βx)                   (1 on the linear tail βx > threshold)

The kinks (relu at 0) take PyTorch's one-sided value.  ``nn/activation.py`` gives these PyTorch's
signatures (``F.relu(x, inplace=...)``) and adds the compositions (selu, mish, ...).  Re-exported by
``elementwise.py``.

Tests: tests/op_registry/nonlinearity.py
"""
import math
from types import SimpleNamespace

from ..autograd import grad_mode
from ..autograd.function import Function
from ..backend import array_module, kernel, register_kernel


class TanhFunction(Function):
    """y = tanh x.   dL/dx = g * (1 - y²)."""

    @staticmethod
    def forward(ctx, x):
        y = array_module(x).tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g * (1.0 - y * y)


class SigmoidFunction(Function):
    """y = σ(x) = 1 / (1 + e^(-x)), computed as exp(-log(1 + e^(-x))) so that no exp overflows.
    dL/dx = g * y * (1 - y)."""

    @staticmethod
    def forward(ctx, x):
        xp = array_module(x)
        y = xp.exp(-xp.logaddexp(0, -x)).astype(x.dtype, copy=False)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g * y * (1.0 - y)


class Relu(Function):
    """y = max(x, 0).   dL/dx = g where x > 0, else 0  (computed by ``ReluBackward``)."""

    @staticmethod
    def forward(ctx, x):
        y = array_module(x).maximum(x, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return ReluBackward.apply(g, y=y.array)


class ReluBackward(Function):
    """The ReLU's backward as an op: out = g where y > 0, else 0 (y is the ReLU's output, a constant
    here).  It is linear in g, so its own backward is the same masking: d(out)/dg = [y > 0].
    A hot op of every CNN and MLP, so it goes through the ``relu_backward`` kernel."""

    @staticmethod
    def forward(ctx, g, y=None):
        ctx.y = y
        return kernel("relu_backward", array_module(g))(g, y)

    @staticmethod
    def backward(ctx, gg):
        return ReluBackward.apply(gg, y=ctx.y)


def _relu_backward_reference(g, y):
    """g where y > 0, else 0 — the plain NumPy tier of the ``relu_backward`` kernel."""
    return array_module(g).where(y > 0, g, 0).astype(g.dtype, copy=False)


register_kernel("relu_backward", "numpy", _relu_backward_reference)


class LeakyRelu(Function):
    """y = x if x > 0 else slope * x.   dL/dx = g if x > 0 else slope * g."""

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.save_for_backward(x)
        ctx.slope = negative_slope
        return array_module(x).where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return where(x.array > 0, g, g * ctx.slope)


class Elu(Function):
    """y = x if x > 0 else α(eˣ - 1).   dL/dx = g if x > 0 else g * (y + α)."""

    @staticmethod
    def forward(ctx, x, alpha=1.0):
        xp = array_module(x)
        y = xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0)))
        ctx.save_for_backward(x, y)
        ctx.alpha = alpha
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return where(x.array > 0, g, g * (y + ctx.alpha))


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class Gelu(Function):
    """GELU: y = x Φ(x), Φ the standard normal CDF.

    exact:  Φ(x) = ½(1 + erf(x/√2));                  dL/dx = g * (Φ(x) + x φ(x)),  φ(x) = e^(-x²/2)/√(2π)
    'tanh': y = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³);
            dL/dx = g * (½(1 + t) + ½x(1 - t²) √(2/π)(1 + 3·0.044715x²)),  t = tanh u

    The forward runs through a kernel (``gelu_erf`` / ``gelu_tanh``) that also returns what the
    backward needs (the slope dy/dx, or t), so the usual backward is one arithmetic pass on raw
    arrays.  Under ``create_graph=True`` the backward is written in Tensor ops instead, so that
    second derivatives are recorded.
    """

    @staticmethod
    def forward(ctx, x, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        xp = array_module(x)
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            y, ctx.kept = kernel("gelu_tanh", xp).forward(x)
        else:
            y, ctx.kept = kernel("gelu_erf", xp).forward(x, keep_slope=any(ctx.needs_input_grad))
        return y

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        xp = array_module(x.array)
        if not grad_mode.state.enabled:   # the usual case: no graph of the backward is recorded
            if ctx.approximate == "tanh":
                return Tensor._wrap(kernel("gelu_tanh", xp).backward(g.array, x.array, ctx.kept))
            return Tensor._wrap(kernel("gelu_erf", xp).backward(g.array, ctx.kept))
        if ctx.approximate == "tanh":
            t = tanh((x + x * x * x * 0.044715) * _SQRT_2_OVER_PI)
            slope = ((t + 1.0) * 0.5
                     + x * (1.0 - t * t) * (x * x * (3 * 0.044715) + 1.0) * (0.5 * _SQRT_2_OVER_PI))
            return g * slope
        cdf = (erf(x * (1.0 / math.sqrt(2.0))) + 1.0) * 0.5
        pdf = exp(x * x * -0.5) * _INV_SQRT_2PI
        return g * (cdf + x * pdf)


def _gelu_tanh_forward_reference(x):
    """(y, t): the tanh-GELU y = ½x(1 + t) and t = tanh(√(2/π)(x + 0.044715x³)), which its
    backward needs — the NumPy reference of the ``gelu_tanh`` kernel."""
    t = array_module(x).tanh(_SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x)))
    return (0.5 * x * (1.0 + t)).astype(x.dtype, copy=False), t.astype(x.dtype, copy=False)


def _gelu_tanh_backward_reference(g, x, t):
    """dL/dx = g · (½(1 + t) + x(1 - t²)(3·0.044715x² + 1)·½√(2/π)) from the saved x and t."""
    slope = (t + 1.0) * 0.5 + x * (1.0 - t * t) * (x * x * (3 * 0.044715) + 1.0) * (0.5 * _SQRT_2_OVER_PI)
    return (g * slope).astype(g.dtype, copy=False)


def _gelu_erf_forward_reference(x, keep_slope=True):
    """(y, slope): the exact GELU y = ½x(1 + erf(x/√2)) and, when ``keep_slope``, its derivative
    dy/dx = Φ(x) + x φ(x) (else None) — the NumPy reference of the ``gelu_erf`` kernel."""
    xp = array_module(x)
    e = kernel("erf", xp)(x / math.sqrt(2.0))
    y = (0.5 * x * (1.0 + e)).astype(x.dtype, copy=False)
    if not keep_slope:
        return y, None
    slope = (e + 1.0) * 0.5 + x * (xp.exp(x * x * -0.5) * _INV_SQRT_2PI)
    return y, slope.astype(x.dtype, copy=False)


def _gelu_erf_backward_reference(g, slope):
    """dL/dx = g · dy/dx, the slope saved by the forward."""
    return (g * slope).astype(g.dtype, copy=False)


GELU_TANH_REFERENCE = SimpleNamespace(forward=_gelu_tanh_forward_reference,
                                      backward=_gelu_tanh_backward_reference)
GELU_ERF_REFERENCE = SimpleNamespace(forward=_gelu_erf_forward_reference,
                                     backward=_gelu_erf_backward_reference)
register_kernel("gelu_tanh", "numpy", GELU_TANH_REFERENCE)
register_kernel("gelu_erf", "numpy", GELU_ERF_REFERENCE)


class Silu(Function):
    """SiLU (swish): y = x σ(x).   dL/dx = g * σ(x) (1 + x (1 - σ(x)))."""

    @staticmethod
    def forward(ctx, x):
        xp = array_module(x)
        s = xp.exp(-xp.logaddexp(0, -x)).astype(x.dtype, copy=False)
        ctx.save_for_backward(x)
        return x * s

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        s = sigmoid(x)
        return g * s * (x * (1.0 - s) + 1.0)


class SoftplusFunction(Function):
    """y = (1/β) ln(1 + e^(βx)), and y = x where βx > threshold (PyTorch's linear tail).
    dL/dx = g * σ(βx)  (g where βx > threshold)."""

    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        xp = array_module(x)
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        soft = (xp.logaddexp(0, beta * x) / beta).astype(x.dtype, copy=False)
        return xp.where(x * beta > threshold, x, soft)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return where(x.array * ctx.beta > ctx.threshold, g, g * sigmoid(x * ctx.beta))


# ---------------------------------------------------------------------------------------------
# The functional API (``tinygrad_edu.relu(x)``, also bound as Tensor methods)
# ---------------------------------------------------------------------------------------------
def tanh(x): return TanhFunction.apply(_t(x))             # noqa: E704
def sigmoid(x): return SigmoidFunction.apply(_t(x))       # noqa: E704
def relu(x): return Relu.apply(_t(x))             # noqa: E704
def silu(x): return Silu.apply(_t(x))             # noqa: E704


def leaky_relu(x, negative_slope=0.01):
    return LeakyRelu.apply(_t(x), negative_slope=negative_slope)


def elu(x, alpha=1.0):
    return Elu.apply(_t(x), alpha=alpha)


def gelu(x, approximate="none"):
    return Gelu.apply(_t(x), approximate=approximate)


def softplus(x, beta=1.0, threshold=20.0):
    return SoftplusFunction.apply(_t(x), beta=beta, threshold=threshold)


from ..tensor import Tensor  # noqa: E402
from .elementwise import _t  # noqa: E402
from .unary_math import erf, exp  # noqa: E402
from .where_clamp import where  # noqa: E402
