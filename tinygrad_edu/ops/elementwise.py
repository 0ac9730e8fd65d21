"""Elementwise ops: the operands of a binary op, arithmetic, and copies; the map of the family.

Each works entry by entry, so its gradient is entry by entry too: for y = f(x),
dL/dx = dL/dy * f'(x).  Binary ops broadcast their inputs (NumPy's rules); the engine sums each
gradient back to its input's shape, so no op here has to.

Backward formulas are written in Tensor ops (``grad * y``), which is what makes them
differentiable again for ``create_graph=True``.  Masks (which entries a ReLU let through) are
constants of the graph: their own derivative is zero almost everywhere.

This file holds what every elementwise op stands on and the arithmetic:

* ``operands``: PyTorch's type promotion for a tensor meeting a tensor, a Python number or an array;
* ``unrecorded``: the shortcut of a float op that needs no graph node (its forward on the arrays);
* arithmetic: y = a + b, a - b, a * b, a / b, a ** b and -x, with
  dL/da = g, g, g*b, g/b, g*b*a^(b-1) and dL/db = g, -g, g*a, -g*a/b², g*y*ln(a);
* copies and conversions (``Cast``, ``ToDevice``, ``Clone``): y = x, so dL/dx = g.

The rest of the family lives by topic, and is re-exported here (``ops.elementwise.exp`` works):

* ``unary_math.py``: exp, log, log1p, sqrt, rsqrt, sin, cos, erf, abs, sign;
* ``nonlinearity.py``: tanh, sigmoid, relu, leaky_relu, elu, gelu, silu, softplus;
* ``where_clamp.py``: where, masked_fill, clamp, maximum, minimum, tril, triu;
* ``comparison.py``: < <= > >= == !=, and the logical and bitwise ops (no gradient).

More elementwise math (tan, asinh, exp2, ...) is in ``trig.py``; //, % and rounding in ``rounding.py``.

Tests: tests/op_registry/elementwise.py
"""
import math

import numpy as np

from .. import dtypes as _dt
from ..autograd import grad_mode
from ..autograd.function import Context, Function
from ..backend import array_module, to_device


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
    if a_is:   # the usual cases first: nothing to promote
        if b_is:
            if a.array.dtype == b.array.dtype:
                return a, b
        elif (type(b) is float or type(b) is int) and a.array.dtype.kind == "f":
            return a, b
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


def _t(x):
    """``x`` as a tensor (the functional API accepts numbers, lists and arrays too)."""
    return x if isinstance(x, Tensor) else tensor(x)


# ---------------------------------------------------------------------------------------------
# The shortcut of an arithmetic op that records nothing
# ---------------------------------------------------------------------------------------------
class _Unrecorded(Context):
    """The ctx a forward gets when no graph node will be made: what it saves is dropped."""

    def save_for_backward(self, *values):
        pass


_UNRECORDED = _Unrecorded()


def unrecorded(op, a, b):
    """``op.forward`` run straight on the arrays of ``a`` and ``b`` (in op order), or None.

    ``Function.apply`` does bookkeeping that a float op needing no graph node never uses: type
    promotion (``operands``), building a ctx, looking for inputs that require grad.  The backward
    formulas the engine runs (``g * (1 - y * y)``) and every op under ``no_grad`` are such ops, and
    at small sizes that bookkeeping costs more than the math.  So when both operands are tensors of
    one float dtype, or a float tensor and a Python int/float (no promotion either way), and no
    graph is wanted (grad mode off, or no input requires grad), the op's own ``forward`` runs on
    the arrays (the same math, one source) and its result is wrapped.  Anything else, or an error
    (which ``apply`` then reports with the op's name), returns None: the caller takes ``apply``.

    Measured on 8x8 float32, one thread: ``y * 0.9`` under ``no_grad`` 2.2 -> 1.1 µs; the
    ``chain`` benchmark row (200 ops, forward + backward) 11.4 -> 8.9 µs per op.
    """
    if isinstance(a, Tensor):
        x = a.array
        dtype = x.dtype
        if dtype.kind != "f":
            return None
        needs_graph = a.requires_grad
        if isinstance(b, Tensor):
            y = b.array
            if y.dtype != dtype:
                return None
            needs_graph = needs_graph or b.requires_grad
        elif type(b) is float or type(b) is int:
            y = b
        else:
            return None
    elif (type(a) is float or type(a) is int) and isinstance(b, Tensor):
        x, y = a, b.array
        if y.dtype.kind != "f":
            return None
        needs_graph = b.requires_grad
    else:
        return None
    if needs_graph and grad_mode.state.enabled:
        return None
    try:
        out = op.forward(_UNRECORDED, x, y)
    except Exception:  # noqa: BLE001  (apply raises it again, with the op's name)
        return None
    return Tensor._wrap(out)


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
# Copies and conversions: the identity on values
# ---------------------------------------------------------------------------------------------
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


from ..tensor import Tensor  # noqa: E402
from ..creation import tensor  # noqa: E402

# The rest of the elementwise family, re-exported: ``ops.elementwise.<name>`` keeps naming every
# elementwise op (tensor.py, nn/, kernels/ and the tests reach them here), and ``Pow``'s backward
# finds ``where`` and ``log`` here.
from .unary_math import (  # noqa: E402,F401,A004
    Abs, Cos, Erf, Exp, Log, Log1p, Rsqrt, Sign, Sin, Sqrt, _erf_reference,
    abs, cos, erf, exp, log, log1p, rsqrt, sign, sin, sqrt)
from .nonlinearity import (  # noqa: E402,F401
    Elu, Gelu, LeakyRelu, Relu, ReluBackward, SigmoidFunction, Silu, SoftplusFunction, TanhFunction,
    _INV_SQRT_2PI, _SQRT_2_OVER_PI, _relu_backward_reference,
    elu, gelu, leaky_relu, relu, sigmoid, silu, softplus, tanh)
from .where_clamp import (  # noqa: E402,F401
    Clamp, Maximum, Minimum, Tril, Triu, Where, _require_2d, _share,
    clamp, clip, masked_fill, maximum, minimum, tril, triu, where)
from .comparison import (  # noqa: E402,F401
    _COMPARE, _bitwise_binary, _bitwise_operand_dtype, _bitwise_result_dtype, _compare_operands, _shift,
    bitwise_and, bitwise_left_shift, bitwise_not, bitwise_or, bitwise_right_shift, bitwise_xor, compare,
    logical_not)
