"""The padding layers: ``F.pad`` (``padding.py``) with a fixed mode, over the last 1, 2 or 3 dims.

``padding`` is an int (the same width on every side) or the widths (left, right[, top, bottom[,
front, back]]): the last dim first, as ``F.pad``.  The modes and their gradients:

* ``ReflectionPad*d``  mirror without repeating the edge     (a gather: dL/dx = scatter-add of g)
* ``ReplicationPad*d`` repeat the edge entry                 (a gather)
* ``CircularPad*d``    wrap around                           (a gather)
* ``ConstantPad*d`` / ``ZeroPad*d``  a constant border       (dL/dx = g with the border cut off)

The non-constant modes take a batched or unbatched input only ((C, …) or (N, C, …) with the 1, 2
or 3 padded dims last); the constant ones pad the last dims of any tensor."""
from .module import Module
from .padding import pad

__all__ = ["ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d",
           "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d",
           "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d"]


class _PadNd(Module):
    """Shared by every padding layer: ``mode`` and ``dims`` (how many trailing dims) are set by
    each subclass."""
    mode, dims = "constant", 2

    def __init__(self, padding, value=None):
        super().__init__()
        self.padding = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * (2 * self.dims)
        if len(self.padding) != 2 * self.dims or not all(isinstance(p, int) for p in self.padding):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of "
                             f"{2 * self.dims} ints, got {padding!r}")
        self.value = value

    def forward(self, input):  # noqa: A002
        if self.mode != "constant" and input.ndim not in (self.dims + 1, self.dims + 2):
            raise ValueError(f"{type(self).__name__}: expected a {self.dims + 1}-D (unbatched) or "
                             f"{self.dims + 2}-D (batched) input, got shape {tuple(input.shape)}")
        return pad(input, self.padding, mode=self.mode, value=self.value)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding, value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Reflect the last dim: … x2 x1 | x0 … x(n−1) | x(n−2) …  (widths < n)."""
    mode, dims = "reflect", 1


class ReflectionPad2d(_PadNd):
    """Reflect the last 2 dims."""
    mode, dims = "reflect", 2


class ReflectionPad3d(_PadNd):
    """Reflect the last 3 dims."""
    mode, dims = "reflect", 3


class ReplicationPad1d(_PadNd):
    """Repeat the edge of the last dim: … x0 x0 | x0 … x(n−1) | x(n−1) …"""
    mode, dims = "replicate", 1


class ReplicationPad2d(_PadNd):
    """Repeat the edges of the last 2 dims."""
    mode, dims = "replicate", 2


class ReplicationPad3d(_PadNd):
    """Repeat the edges of the last 3 dims."""
    mode, dims = "replicate", 3


class CircularPad1d(_PadNd):
    """Wrap the last dim around: … x(n−1) | x0 … x(n−1) | x0 …  (widths ≤ n)."""
    mode, dims = "circular", 1


class CircularPad2d(_PadNd):
    """Wrap the last 2 dims around."""
    mode, dims = "circular", 2


class CircularPad3d(_PadNd):
    """Wrap the last 3 dims around."""
    mode, dims = "circular", 3


class ZeroPad1d(_ZeroPadNd):
    """Zeros around the last dim."""
    dims = 1


class ZeroPad2d(_ZeroPadNd):
    """Zeros around the last 2 dims."""
    dims = 2


class ZeroPad3d(_ZeroPadNd):
    """Zeros around the last 3 dims."""
    dims = 3


class ConstantPad1d(_ConstantPadNd):
    """``value`` around the last dim."""
    dims = 1


class ConstantPad2d(_ConstantPadNd):
    """``value`` around the last 2 dims."""
    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """``value`` around the last 3 dims."""
    dims = 3
