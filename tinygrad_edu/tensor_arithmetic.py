"""Tensor's operators: ``a + b``, ``a < b``, ``a & b`` and their method forms (``add``, ``lt``, ...).

``TensorArithmetic`` is a mixin: ``Tensor`` (tensor.py) derives from it, so ``x + y`` is
``Tensor.__add__`` as always, and ``isinstance(x, Tensor)`` is all you ever need to check.  Every
method here only forwards to ``tinygrad_edu/ops/``, where each op's forward math and backward
formula live:

* arithmetic ``+ - * / ** @``, unary ``- + abs()`` and ``add``/``sub``/``mul``/``div``/``pow``/
  ``matmul`` (ops/elementwise.py, ops/matmul.py);
* comparisons ``< <= > >= == !=`` and logic ``& | ^ ~`` (boolean results, no gradient), ``//`` and
  ``%`` (ops/rounding.py), ``equal``, ``allclose``, ``isnan``, ``any``, ``all``;
* bitwise ops and shifts ``<< >>`` (integer dtypes kept, logical on bool).

The reflected forms (``__radd__``: ``2 + x``) let a Python number or NumPy array stand on the left;
``Tensor.__array_priority__`` makes NumPy hand ``array + tensor`` to them.
"""
from . import dtypes as _dt
from .backend import array_module


class TensorArithmetic:
    __slots__ = ()  # Tensor keeps its own __slots__; an empty one here adds no per-tensor __dict__

    # ---- arithmetic (ops/elementwise.py) ------------------------------------------------------
    # each operator first tries ``unrecorded``: a float op that needs no graph node runs its
    # forward directly on the arrays (see ops/elementwise.py); else the full ``apply``
    def __add__(self, other):
        out = _ew.unrecorded(_ew.Add, self, other)
        return out if out is not None else _ew.Add.apply(*_ew.operands(self, other))

    def __radd__(self, other):
        out = _ew.unrecorded(_ew.Add, other, self)
        return out if out is not None else _ew.Add.apply(*_ew.operands(other, self))

    def __sub__(self, other):
        out = _ew.unrecorded(_ew.Sub, self, other)   # (never a bool: check_sub has nothing to refuse)
        if out is not None:
            return out
        _ew.check_sub(self, other)
        return _ew.Sub.apply(*_ew.operands(self, other))

    def __rsub__(self, other):
        out = _ew.unrecorded(_ew.Sub, other, self)
        if out is not None:
            return out
        _ew.check_sub(other, self)
        return _ew.Sub.apply(*_ew.operands(other, self))

    def __mul__(self, other):
        out = _ew.unrecorded(_ew.Mul, self, other)
        return out if out is not None else _ew.Mul.apply(*_ew.operands(self, other))

    def __rmul__(self, other):
        out = _ew.unrecorded(_ew.Mul, other, self)
        return out if out is not None else _ew.Mul.apply(*_ew.operands(other, self))

    def __truediv__(self, other):
        out = _ew.unrecorded(_ew.Div, self, other)
        return out if out is not None else _ew.Div.apply(*_ew.operands(self, other))

    def __rtruediv__(self, other):
        out = _ew.unrecorded(_ew.Div, other, self)
        return out if out is not None else _ew.Div.apply(*_ew.operands(other, self))

    def __pow__(self, other):
        if type(other) is int:   # torch: int8 ** 1000 raises (a base, 1000 ** int8, wraps)
            _dt.check_fits("pow", other, self.array.dtype)
        return _ew.Pow.apply(*_ew.operands(self, other))

    def __rpow__(self, other):
        return _ew.Pow.apply(*_ew.operands(other, self))

    def __neg__(self):
        return _ew.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ew.Abs.apply(self)

    def __matmul__(self, other):
        return _mm.matmul(self, other)

    def __rmatmul__(self, other):
        return _mm.matmul(other, self)

    def add(self, other, alpha=1):
        return self + (other * alpha if alpha != 1 else other)

    def sub(self, other, alpha=1):
        return self - (other * alpha if alpha != 1 else other)

    def mul(self, other):
        return self * other

    def div(self, other, *, rounding_mode=None):
        return _round.div(self, other, rounding_mode=rounding_mode)

    def pow(self, exponent):
        return self ** exponent

    def neg(self):
        return -self

    def matmul(self, other):
        return _mm.matmul(self, other)

    mm = bmm = matmul

    # comparisons and logic: no gradient, boolean results
    def __lt__(self, other):
        return _ew.compare("lt", self, other)

    def __le__(self, other):
        return _ew.compare("le", self, other)

    def __gt__(self, other):
        return _ew.compare("gt", self, other)

    def __ge__(self, other):
        return _ew.compare("ge", self, other)

    def __eq__(self, other):
        return _ew.compare("eq", self, other)

    def __ne__(self, other):
        return _ew.compare("ne", self, other)

    lt, le, gt, ge, eq, ne = __lt__, __le__, __gt__, __ge__, __eq__, __ne__

    def __and__(self, other):
        return _ew.compare("and", self, other)

    def __or__(self, other):
        return _ew.compare("or", self, other)

    def __xor__(self, other):
        return _ew.compare("xor", self, other)

    def __invert__(self):
        return _ew.logical_not(self)

    def __floordiv__(self, other):
        return _round.floor_divide(self, other)

    def __mod__(self, other):
        return _round.remainder(self, other)

    def equal(self, other):
        return bool(self.shape == other.shape and (self == other).all().item())

    def allclose(self, other, rtol=1e-5, atol=1e-8):
        xp = array_module(self.array)
        return bool(xp.allclose(self.array, _ew.as_array(other), rtol=rtol, atol=atol))

    def isnan(self):
        return Tensor._wrap(array_module(self.array).isnan(self.array))

    def isinf(self):
        return Tensor._wrap(array_module(self.array).isinf(self.array))

    def isfinite(self):
        return Tensor._wrap(array_module(self.array).isfinite(self.array))

    def any(self, dim=None, keepdim=False):
        return Tensor._wrap(self.array.any(axis=dim, keepdims=keepdim))

    def all(self, dim=None, keepdim=False):
        return Tensor._wrap(self.array.all(axis=dim, keepdims=keepdim))

    # ---- reflected // and % (ops/rounding.py) ------------------------------------------------------
    def __rfloordiv__(self, other):
        return _round.floor_divide(other, self)

    def __rmod__(self, other):
        return _round.remainder(other, self)

    # ---- bitwise ops (torch semantics: integer dtypes kept, logical on bool) ----------------
    def bitwise_and(self, other):
        return _ew.bitwise_and(self, other)

    def bitwise_or(self, other):
        return _ew.bitwise_or(self, other)

    def bitwise_xor(self, other):
        return _ew.bitwise_xor(self, other)

    def bitwise_not(self):
        return _ew.bitwise_not(self)

    def bitwise_left_shift(self, other):
        return _ew.bitwise_left_shift(self, other)

    def bitwise_right_shift(self, other):
        return _ew.bitwise_right_shift(self, other)

    def __rand__(self, other):
        return _ew.bitwise_and(other, self)

    def __ror__(self, other):
        return _ew.bitwise_or(other, self)

    def __rxor__(self, other):
        return _ew.bitwise_xor(other, self)

    def __lshift__(self, other):
        return _ew.bitwise_left_shift(self, other)

    def __rlshift__(self, other):
        return _ew.bitwise_left_shift(other, self)

    def __rshift__(self, other):
        return _ew.bitwise_right_shift(self, other)

    def __rrshift__(self, other):
        return _ew.bitwise_right_shift(other, self)


# The ops modules import ``Tensor`` themselves, so they can only be imported once tensor.py has built
# the class from this mixin; tensor.py calls ``_import_ops()`` at its end (until then these are None).
Tensor = _ew = _mm = _round = None


def _import_ops():
    global Tensor, _ew, _mm, _round
    from .tensor import Tensor
    from .ops import elementwise as _ew, matmul as _mm, rounding as _round
