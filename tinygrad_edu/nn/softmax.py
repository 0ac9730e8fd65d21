"""Activations along a dim: ``softmax``, ``log_softmax``, ``softmin`` and ``glu``, as functions and
as modules.

softmax turns a vector of scores into probabilities, yᵢ = e^(xᵢ - m) / Σⱼ e^(xⱼ - m) with m the
maximum (so nothing overflows); log_softmax is x - logsumexp(x), stable for any x.  Both are engine
ops (``ops/reduce.py``) with PyTorch's signatures here.  softmin is softmax(-x); glu gates one half
of a dim with the sigmoid of the other.

Tests: tests/op_registry/softmax.py, tests/test_activation_loss.py
"""
from ..autograd.function import OpValueError
from ..ops import elementwise as _ew, reduce as _red
from .module import Module

__all__ = ["softmax", "log_softmax", "softmin", "glu", "Softmax", "LogSoftmax", "Softmin", "GLU"]


def softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """yᵢ = e^(xᵢ - m) / Σⱼ e^(xⱼ - m) along ``dim`` (m = the max, so nothing overflows).
    dL/dx = y · (g - Σ g·y)."""
    return _red.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """y = x - logsumexp(x) along ``dim`` (stable for any x).   dL/dx = g - softmax(x) · Σ g."""
    return _red.log_softmax(input, dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """y = softmax(-x) along ``dim``: small entries get the large weights.

    dL/dx = -y · (g - Σ g·y)  (softmax's gradient, with the sign of the negation)."""
    if dtype is not None:
        input = input.to(dtype)
    return softmax(-input, dim)


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
# modules
# ---------------------------------------------------------------------------------------------
class Softmax(Module):
    """Softmax along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):  # noqa: A002
        return softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log softmax along ``dim``."""

    def forward(self, input):  # noqa: A002
        return log_softmax(input, self.dim)


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
