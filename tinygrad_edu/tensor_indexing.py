"""Tensor's indexing and in-place writes: ``x[i]``, ``x[i] = v``, ``x += y``, ``add_``, ``fill_``, ...

``TensorIndexing`` is a mixin: ``Tensor`` (tensor.py) derives from it, so ``x[0]`` is
``Tensor.__getitem__`` as always.  Reading (``__getitem__``, ``gather``, ``masked_fill``) forwards
to ops/indexing.py and ops/elementwise.py; writing in place (the ``_``-suffixed methods, ``+=`` and
``x[i] = v``) to ops/inplace.py, which changes the memory, bumps the version counter that backward
checks and records the op in the graph.
"""
from . import dtypes as _dt


class TensorIndexing:
    __slots__ = ()  # Tensor keeps its own __slots__; an empty one here adds no per-tensor __dict__

    # ---- in-place ops (ops/inplace.py) -----------------------------------------------------------
    def add_(self, other, alpha=1):
        return _inplace.apply_inplace(self, "add_", lambda a: a.add(other, alpha=alpha))

    def sub_(self, other, alpha=1):
        return _inplace.apply_inplace(self, "sub_", lambda a: a.sub(other, alpha=alpha))

    def mul_(self, other):
        return _inplace.apply_inplace(self, "mul_", lambda a: a * other)

    def div_(self, other):
        return _inplace.apply_inplace(self, "div_", lambda a: a / other)

    def pow_(self, exponent):
        return _inplace.apply_inplace(self, "pow_", lambda a: a ** exponent)

    def clamp_(self, min=None, max=None):
        return _inplace.apply_inplace(self, "clamp_", lambda a: a.clamp(min, max))

    def copy_(self, src):
        return _inplace.copy_(self, src)

    def zero_(self):
        return _inplace.fill_(self, 0)

    def fill_(self, value):
        _dt.check_fits("fill_", value, self.array.dtype)
        return _inplace.fill_(self, value)

    def masked_fill_(self, mask, value):
        return _inplace.apply_inplace(self, "masked_fill_", lambda a: a.masked_fill(mask, value))

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __setitem__(self, index, value):
        _dt.check_fits("setitem", value, self.array.dtype)
        _inplace.setitem(self, index, value)

    # ---- indexing (ops/indexing.py) ---------------------------------------------------------------
    def __getitem__(self, index):
        return _ix.getitem(self, index)

    def gather(self, dim, index):
        return _ix.gather(self, dim, index)

    def masked_fill(self, mask, value):
        return _ew.masked_fill(self, mask, value)

    def __iter__(self):
        if self.array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.array.shape[0]))


# The ops modules import ``Tensor`` themselves, so they can only be imported once tensor.py has built
# the class from this mixin; tensor.py calls ``_import_ops()`` at its end (until then these are None).
_ew = _ix = _inplace = None


def _import_ops():
    global _ew, _ix, _inplace
    from .ops import elementwise as _ew, indexing as _ix, inplace as _inplace
