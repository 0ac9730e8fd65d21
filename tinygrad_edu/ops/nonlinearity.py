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
    """

    @staticmethod
    def forward(ctx, x, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        xp = array_module(x)
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            return (0.5 * x * (1.0 + xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x))))).astype(x.dtype)
        return (0.5 * x * (1.0 + kernel("erf", xp)(x / math.sqrt(2.0)))).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        if ctx.approximate == "tanh":
            t = tanh((x + x * x * x * 0.044715) * _SQRT_2_OVER_PI)
            slope = ((t + 1.0) * 0.5
                     + x * (1.0 - t * t) * (x * x * (3 * 0.044715) + 1.0) * (0.5 * _SQRT_2_OVER_PI))
            return g * slope
        cdf = (erf(x * (1.0 / math.sqrt(2.0))) + 1.0) * 0.5
        pdf = exp(x * x * -0.5) * _INV_SQRT_2PI
        return g * (cdf + x * pdf)


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


from .elementwise import _t  # noqa: E402
from .unary_math import erf, exp  # noqa: E402
from .where_clamp import where  # noqa: E402
