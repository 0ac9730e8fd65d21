"""Elementwise ops: arithmetic, activations and friends.

Each works entry by entry, so its gradient is entry by entry too: for y = f(x),
dL/dx = dL/dy * f'(x).  Binary ops broadcast their inputs (NumPy's rules); the engine sums each
gradient back to its input's shape, so no op here has to.

Backward formulas are written in Tensor ops (``grad * y``), which is what makes them
differentiable again for ``create_graph=True``.  Masks (which entries a ReLU let through) are
constants of the graph: their own derivative is zero almost everywhere.

Tests: tests/op_registry/elementwise.py
"""
import math

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function
from ..backend import array_module, kernel, register_kernel, to_device


# ---------------------------------------------------------------------------------------------
# Operands: PyTorch's type promotion for tensors and Python numbers
# ---------------------------------------------------------------------------------------------
def operands(a, b):
    """Prepare the two operands of a binary op.

    Python numbers stay numbers (NumPy then keeps the tensor's dtype: float32 * 2.5 is float32).
    PyTorch's promotions are applied where NumPy would differ: an integer tensor meeting a float
    (number or tensor) becomes that float dtype, never float64 by accident.  Arrays become tensors.
    """
    a_is, b_is = isinstance(a, Tensor), isinstance(b, Tensor)
    if not a_is:
        a = _number_or_tensor(a, b)
        a_is = isinstance(a, Tensor)
    if not b_is:
        b = _number_or_tensor(b, a)
        b_is = isinstance(b, Tensor)
    if a_is and b_is:
        da, db = a.array.dtype, b.array.dtype
        if da != db:  # PyTorch's rule (0-d tensors only decide the category), see dtypes.result_type
            target = _dt.result_type(a, b)
            a = a if da == target else a.to(target)
            b = b if db == target else b.to(target)
    elif a_is:
        if isinstance(b, float) and a.array.dtype.kind in "biu":
            a = a.to(_dt.get_default_dtype())
        elif type(b) is int and a.array.dtype.kind in "iu":
            b = _dt.wrap_int(b, a.array.dtype)   # torch: int8_tensor + 1000 wraps, NumPy raises
    elif isinstance(a, float) and b.array.dtype.kind in "biu":
        b = b.to(_dt.get_default_dtype())
    elif type(a) is int and b.array.dtype.kind in "iu":
        a = _dt.wrap_int(a, b.array.dtype)
    return a, b


def _number_or_tensor(x, partner):
    if isinstance(x, np.generic) and x.dtype.kind in "biuf":
        x = x.item()  # a NumPy scalar (np.sqrt(2.0)) acts as the Python number it holds, as in PyTorch
    if isinstance(x, (bool, int, float)):
        return x
    if isinstance(x, (np.ndarray, np.generic)) or array_module(x) is not np:
        return Tensor._wrap(np.asarray(x) if isinstance(x, np.generic) else x)
    if isinstance(x, (list, tuple)):
        return tensor(x, dtype=partner.dtype if partner.dtype.kind == "f" else None)
    raise TypeError(f"unsupported operand type {type(x).__name__} for a tensor op; expected a "
                    "Tensor, a Python number or an array")


def as_array(x):
    """The array (or Python number) inside ``x``."""
    return x.array if isinstance(x, Tensor) else x


# ---------------------------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------------------------
class Add(Function):
    """y = a + b.   dL/da = g,  dL/db = g."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    """y = a - b.   dL/da = g,  dL/db = -g.   A bool tensor can't be subtracted or subtracted
    from (as in PyTorch; see ``check_sub``)."""

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """y = a * b.   dL/da = g * b,  dL/db = g * a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


class Div(Function):
    """y = a / b.   dL/da = g / b,  dL/db = -g * a / b² = -g * y / b.

    Integer / integer is true division giving the default float dtype, as in PyTorch."""

    @staticmethod
    def forward(ctx, a, b):
        y = a / b
        if y.dtype == np.float64 and _both_integer(a, b):
            y = y.astype(_dt.get_default_dtype())
        ctx.save_for_backward(b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        b, y = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        ga = g / b if need_a else None
        gb = -g * y / b if need_b else None
        return ga, gb


def _both_integer(a, b):
    def is_int(x):
        return isinstance(x, (int, bool)) or (hasattr(x, "dtype") and x.dtype.kind in "biu")
    return is_int(a) and is_int(b)


class Pow(Function):
    """y = a ** b.   dL/da = g * b * a^(b-1),  dL/db = g * y * ln(a).

    The corner cases follow PyTorch: dL/da is 0 wherever b = 0 (so ``x ** 0`` has gradient 0 even
    at x = 0 or ±inf, where b * a^(b-1) would be 0 * inf = nan), and dL/db is 0 wherever a = 0 and
    b >= 0 (0 ** b is flat there), while a = 0 with b < 0 keeps the true limit y * ln(0) = -inf.
    An integer tensor raised to a negative integer power raises, as PyTorch."""

    @staticmethod
    def forward(ctx, a, b):
        if _int_to_negative_int(a, b):
            raise RuntimeError("pow: Integers to negative integer powers are not allowed.")
        if isinstance(b, (int, float)) and b == 3 and hasattr(a, "dtype"):
            y = a * a * a      # NumPy's power(x, 3) calls libm's pow per element: ~100x slower than this
        elif isinstance(b, (int, float)) and b in (0.5, -0.5) and hasattr(a, "dtype"):
            root = array_module(a).sqrt(a)   # PyTorch's own fast path: sqrt / rsqrt (so -0 ** 0.5 = -0)
            y = root if b > 0 else (1.0 / root).astype(root.dtype)
        else:
            y = _pow_at_negative_inf(a, b, a ** b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        ga = gb = None
        if need_a:
            if isinstance(b, Tensor):
                ga = where(b.array == 0, 0.0, g * b * a ** (b - 1))
            elif b == 0:
                ga = g * 0.0 if not isinstance(a, Tensor) else where(True, 0.0, g)
            else:
                ga = g * b * a ** (b - 1)
        if need_b:
            if isinstance(a, Tensor):
                flat = (a.array == 0) & (as_array(b) >= 0) if isinstance(b, Tensor) else \
                    (a.array == 0) & (b >= 0)
                gb = where(flat, 0.0, g * y * log(a))
            else:
                log_a = math.log(a) if a > 0 else (float("nan") if a < 0 else float("-inf"))
                if a == 0:
                    gb = where(b.array >= 0, 0.0, g * y * log_a)
                else:
                    gb = g * y * log_a
        return ga, gb


def _pow_at_negative_inf(a, b, y):
    """NumPy gives nan for (-inf) ** b with a non-integer b; IEEE pow (and PyTorch) give +inf for
    b > 0 and +0 for b < 0.  Patch those entries."""
    if getattr(a, "dtype", None) is None or a.dtype.kind != "f":
        return y
    xp = array_module(a)
    b_arr = xp.asarray(b)
    if b_arr.dtype.kind != "f" or not bool(xp.isneginf(a).any()):
        return y
    fix = xp.isneginf(a) & xp.isfinite(b_arr) & (b_arr != xp.floor(b_arr))
    return xp.where(fix, xp.where(b_arr > 0, xp.inf, 0.0).astype(y.dtype), y).astype(y.dtype)


def _int_to_negative_int(a, b):
    def is_int(v):
        dtype = getattr(v, "dtype", None)
        return dtype.kind in "biu" if dtype is not None else isinstance(v, int)
    if not (is_int(a) and is_int(b)) or not (hasattr(a, "dtype") or hasattr(b, "dtype")):
        return False
    return bool((np.asarray(b.get() if hasattr(b, "get") else b) < 0).any())


def _is_bool(x):
    dtype = getattr(x, "dtype", None)
    return dtype == np.bool_ if dtype is not None else isinstance(x, bool)


def check_sub(a, b):
    """PyTorch refuses ``-`` when a bool takes part (a bool tensor or a Python bool, checked before
    any promotion: ``bool_tensor - 1`` and ``int_tensor - True`` raise too), because on masks it
    almost always means a mistaken "not"."""
    a_b, b_b = _is_bool(as_array(a)), _is_bool(as_array(b))   # Python bools count (int - True raises)
    if not (a_b or b_b):
        return
    if a_b and b_b:
        raise RuntimeError("sub: subtraction (the - operator) of two bool tensors is not supported; "
                           "use the ^ operator or logical_xor() instead")
    raise RuntimeError("sub: subtraction (the - operator) with a bool tensor is not supported; to "
                       "invert a mask use the ~ operator or logical_not() instead")


class Neg(Function):
    """y = -x.   dL/dx = -g.   A bool tensor can't be negated (as in PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        if x.dtype == np.bool_:
            raise RuntimeError("neg: negation (the - operator) of a bool tensor is not supported; to "
                               "invert a mask use the ~ operator or logical_not() instead")
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


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
    """erf entry by entry with the standard library (slow and plain: the reference tier)."""
    return np.vectorize(math.erf, otypes=[x.dtype])(x) if x.size else x.copy()


register_kernel("erf", "numpy", _erf_reference)


# ---------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------
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


class Clamp(Function):
    """y = min(max(x, lo), hi).   dL/dx = g where lo ≤ x ≤ hi, else 0."""

    @staticmethod
    def forward(ctx, x, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = min, max
        return array_module(x).clip(x, min, max)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        inside = np.True_
        if ctx.lo is not None:
            inside = x.array >= ctx.lo
        if ctx.hi is not None:
            inside = inside & (x.array <= ctx.hi)
        return where(inside, g, 0.0)


class Maximum(Function):
    """y = max(a, b) entry by entry.   The larger input gets g; a tie splits it, g/2 each."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return array_module(a).maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        share = _share(a.array > b.array, a.array == b.array, g.dtype)
        return g * share, g * (1.0 - share)


class Minimum(Function):
    """y = min(a, b) entry by entry.   The smaller input gets g; a tie splits it, g/2 each."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return array_module(a).minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        share = _share(a.array < b.array, a.array == b.array, g.dtype)
        return g * share, g * (1.0 - share)


def _share(wins, ties, dtype):
    return Tensor._wrap((wins + 0.5 * ties).astype(dtype))


class Where(Function):
    """y = a where cond else b.   dL/da = g where cond else 0,  dL/db = g where not cond else 0.
    ``cond`` is a boolean array: a constant of the graph."""

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = cond
        return array_module(cond).where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        need_a, need_b = ctx.needs_input_grad[1:]
        zero = 0.0
        return (None,
                where(ctx.cond, g, zero) if need_a else None,
                where(ctx.cond, zero, g) if need_b else None)


class Cast(Function):
    """y = x converted to ``dtype``.   dL/dx = g converted back (the engine casts it)."""

    @staticmethod
    def forward(ctx, x, dtype=None):
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g


class ToDevice(Function):
    """y = x copied to ``device``.   dL/dx = g copied back."""

    @staticmethod
    def forward(ctx, x, device=None):
        ctx.source = "cpu" if array_module(x) is np else f"cuda:{x.device.id}"
        return to_device(x, device)

    @staticmethod
    def backward(ctx, g):
        return g.to(ctx.source)


class Clone(Function):
    """y = a copy of x.   dL/dx = g."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


class Tril(Function):
    """y = the lower triangle of the last two dims (diagonal k and below).   dL/dx = tril(g)."""

    @staticmethod
    def forward(ctx, x, diagonal=0):
        ctx.k = diagonal
        return array_module(x).tril(x, diagonal)

    @staticmethod
    def backward(ctx, g):
        return tril(g, ctx.k)


class Triu(Function):
    """y = the upper triangle of the last two dims (diagonal k and above).   dL/dx = triu(g)."""

    @staticmethod
    def forward(ctx, x, diagonal=0):
        ctx.k = diagonal
        return array_module(x).triu(x, diagonal)

    @staticmethod
    def backward(ctx, g):
        return triu(g, ctx.k)


# ---------------------------------------------------------------------------------------------
# The functional API (``tinygrad_edu.exp(x)``, also bound as Tensor methods)
# ---------------------------------------------------------------------------------------------
def _t(x):
    return x if isinstance(x, Tensor) else tensor(x)


def exp(x): return Exp.apply(_t(x))               # noqa: E704
def log(x): return Log.apply(_t(x))               # noqa: E704
def log1p(x): return Log1p.apply(_t(x))           # noqa: E704
def sqrt(x): return Sqrt.apply(_t(x))             # noqa: E704
def rsqrt(x): return Rsqrt.apply(_t(x))           # noqa: E704
def sin(x): return Sin.apply(_t(x))               # noqa: E704
def cos(x): return Cos.apply(_t(x))               # noqa: E704
def erf(x): return Erf.apply(_t(x))               # noqa: E704
def tanh(x): return TanhFunction.apply(_t(x))             # noqa: E704
def sigmoid(x): return SigmoidFunction.apply(_t(x))       # noqa: E704
def relu(x): return Relu.apply(_t(x))             # noqa: E704
def silu(x): return Silu.apply(_t(x))             # noqa: E704
def abs(x): return Abs.apply(_t(x))               # noqa: E704,A001
def sign(x): return Sign.apply(_t(x))             # noqa: E704


def leaky_relu(x, negative_slope=0.01):
    return LeakyRelu.apply(_t(x), negative_slope=negative_slope)


def elu(x, alpha=1.0):
    return Elu.apply(_t(x), alpha=alpha)


def gelu(x, approximate="none"):
    return Gelu.apply(_t(x), approximate=approximate)


def softplus(x, beta=1.0, threshold=20.0):
    return SoftplusFunction.apply(_t(x), beta=beta, threshold=threshold)


def clamp(x, min=None, max=None):  # noqa: A002
    return Clamp.apply(_t(x), min=as_array(min), max=as_array(max))


clip = clamp


def maximum(a, b):
    return Maximum.apply(*operands(_t(a), b))


def minimum(a, b):
    return Minimum.apply(*operands(_t(a), b))


def where(cond, a, b):
    """``a`` where ``cond`` is true, else ``b`` (numbers allowed for ``a``/``b``)."""
    cond = as_array(cond)
    if getattr(cond, "dtype", None) is None or cond.dtype != np.bool_:
        cond = array_module(cond).asarray(cond).astype(bool)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = tensor(a)
    a, b = operands(a, b)
    return Where.apply(cond, a, b)


def masked_fill(x, mask, value):
    """Entries of ``x`` where ``mask`` is true replaced by ``value``.  dL/dx = g where not mask."""
    mask = as_array(mask)
    if getattr(mask, "dtype", None) != np.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got {getattr(mask, 'dtype', type(mask))}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got shape "
                             f"{tuple(value.shape)}")
        fill = value.to(x.dtype)
    else:
        _dt.check_fits("masked_fill", value, x.dtype)
        fill = Tensor._wrap(array_module(x.array).asarray(value, dtype=x.dtype))
    return Where.apply(mask, fill, x)


def tril(x, diagonal=0):
    _require_2d("tril", x)
    return Tril.apply(x, diagonal=diagonal)


def triu(x, diagonal=0):
    _require_2d("triu", x)
    return Triu.apply(x, diagonal=diagonal)


def _require_2d(op, x):
    if x.ndim < 2:
        raise RuntimeError(f"{op}: input must have at least 2 dims, got shape {tuple(x.shape)}")


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
