"""Function forms of Tensor methods (``tg.add(a, b)`` = ``a.add(b)``) and a few ops built from others.

PyTorch offers most methods also as functions of the ``torch`` module; scripts use both spellings.
The composed ops below need no backward of their own: they are written in differentiable Tensor ops,
so their gradients follow from the chain rule.

* ``lerp(start, end, w) = start + w (end - start)``:  d/dstart = 1 - w, d/dend = w, d/dw = end - start.
* ``logaddexp(a, b) = log(e^a + e^b) = max(a, b) + log1p(e^{-|a - b|})`` (stable for large |a|, |b|):
  d/da = e^a / (e^a + e^b) = sigmoid(a - b), d/db = sigmoid(b - a).
* ``isclose(a, b) = |a - b| <= atol + rtol |b|`` (equal infinities are close; NaN only with
  ``equal_nan``); a comparison, so it has no gradient.

Tests: tests/test_function_forms.py
"""
from ..tensor import Tensor


def _as_tensor(value, like):
    if isinstance(value, Tensor):
        return value
    from ..creation import tensor
    return tensor(value, dtype=like.dtype if isinstance(value, float) and like.dtype.kind == "f" else None)


def add(input, other, alpha=1):  # noqa: A002  (PyTorch's argument names)
    return _as_tensor(input, other).add(other, alpha=alpha)


def sub(input, other, alpha=1):  # noqa: A002
    return _as_tensor(input, other).sub(other, alpha=alpha)


def mul(input, other):  # noqa: A002
    return _as_tensor(input, other) * other


def pow(input, exponent):  # noqa: A001,A002
    return input ** exponent if isinstance(input, Tensor) else _as_tensor(input, exponent) ** exponent


def neg(input):  # noqa: A002
    return -input


def isnan(input):  # noqa: A002
    return input.isnan()


def isinf(input):  # noqa: A002
    return input.isinf()


def isfinite(input):  # noqa: A002
    return input.isfinite()


def eq(input, other):  # noqa: A002
    """input == other, elementwise (bool; no gradient).  ``ne``, ``lt``, ``le``, ``gt``, ``ge`` alike."""
    return _as_tensor(input, other) == other


def ne(input, other):  # noqa: A002
    return _as_tensor(input, other) != other


def lt(input, other):  # noqa: A002
    return _as_tensor(input, other) < other


def le(input, other):  # noqa: A002
    return _as_tensor(input, other) <= other


def gt(input, other):  # noqa: A002
    return _as_tensor(input, other) > other


def ge(input, other):  # noqa: A002
    return _as_tensor(input, other) >= other


def _bool(t):
    return t if t.dtype.kind == "b" else (t != 0)


def logical_and(input, other):  # noqa: A002
    """True where both are non-zero (the result is always bool, whatever the input dtypes)."""
    return _bool(input) & _bool(_as_tensor(other, input))


def logical_or(input, other):  # noqa: A002
    return _bool(input) | _bool(_as_tensor(other, input))


def logical_xor(input, other):  # noqa: A002
    return _bool(input) ^ _bool(_as_tensor(other, input))


def logical_not(input):  # noqa: A002
    """True where ``input`` is zero: a bool tensor for every input dtype, as torch."""
    return input == 0


def lerp(input, end, weight):  # noqa: A002
    """``input + weight * (end - input)``; see the module docstring for the gradients."""
    return input + weight * (end - input)


def logaddexp(input, other):  # noqa: A002
    """``log(exp(input) + exp(other))`` without overflow; see the module docstring."""
    high = input.maximum(other)
    return high + (-(input - other).abs()).exp().log1p()


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """Elementwise ``|input - other| <= atol + rtol * |other|``; equal values (and infinities) are
    close; NaN is close to NaN only with ``equal_nan=True``.  A bool tensor, no gradient."""
    other = _as_tensor(other, input)
    a, b = input.detach(), other.detach()
    finite = (a - b).abs() <= atol + rtol * b.abs()
    close = (a == b) | (finite & a.isfinite() & b.isfinite())
    if equal_nan:
        close = close | (a.isnan() & b.isnan())
    return close


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """True when every element ``isclose``."""
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


def type(input, dtype=None):  # noqa: A001,A002  (Tensor.type, PyTorch's name)
    """``t.type(dtype)`` casts like ``t.to(dtype)``; ``t.type()`` names the dtype as a string."""
    if dtype is None:
        return f"tinygrad_edu.{input.dtype}"
    return input.to(dtype)
