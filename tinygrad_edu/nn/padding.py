"""F.pad with all of PyTorch's modes: 'constant' (also negative widths, which crop), 'reflect',
'replicate' and 'circular'.

``pad = (left, right, top, bottom, …)`` pads the last dim first, then the one before, ….

constant  … v v | x0 x1 … x(n−1) | v v …      a negative width removes entries instead
reflect   … x2 x1 | x0 x1 … x(n−1) | x(n−2) …   (the edge is not repeated; width < n)
replicate … x0 x0 | x0 x1 … x(n−1) | x(n−1) …
circular  … x(n−1) | x0 x1 … x(n−1) | x0 x1 …   (width ≤ n)

The non-constant modes are a *gather*: y = x[idx] along each padded dim, with an index array
idx of source positions (``_mode_index``).  Its gradient is the matching scatter-add,
dL/dx[j] = Σ_{i: idx[i] = j} g[i] — an edge entry copied three times gets three gradients
added.  That comes for free from Tensor indexing, whose backward is exactly this scatter-add
(and is itself written in Tensor ops, so double backward works).  Constant padding is the Pad
Function of ``ops/shape.py`` (dL/dx = g with the border sliced off); a crop is a slice
(dL/dx = g placed back inside zeros).

The padding layers are ``F.pad`` with a fixed mode, over the last 1, 2 or 3 dims.  ``padding`` is
an int (the same width on every side) or the widths (left, right[, top, bottom[, front, back]]):
the last dim first, as ``F.pad``.  The modes and their gradients:

* ``ReflectionPad*d``  mirror without repeating the edge     (a gather: dL/dx = scatter-add of g)
* ``ReplicationPad*d`` repeat the edge entry                 (a gather)
* ``CircularPad*d``    wrap around                           (a gather)
* ``ConstantPad*d`` / ``ZeroPad*d``  a constant border       (dL/dx = g with the border cut off)

The non-constant modes take a batched or unbatched input only ((C, …) or (N, C, …) with the 1, 2
or 3 padded dims last); the constant ones pad the last dims of any tensor.

Tests: tests/op_registry/padding.py, tests/test_conv_family.py, tests/test_conv_pool_3d.py"""
import numpy as np

from ..ops.shape import pad as _constant_pad
from .module import Module

__all__ = ["pad", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d",
           "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d", "CircularPad2d",
           "CircularPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d"]


_MODES = ("constant", "reflect", "replicate", "circular")


def _mode_index(size, before, after, mode):
    """Source indices for padding one dim by (before, after) entries:
    reflect  … 2 1 | 0 1 2 … n−1 | n−2 …   (the edge is not repeated)
    replicate  0 0 | 0 1 2 … n−1 | n−1 …
    circular … n−1 | 0 1 2 … n−1 | 0 1 …"""
    idx = np.arange(-before, size + after)
    if mode == "reflect":
        idx = np.abs(idx)
        idx = np.where(idx > size - 1, 2 * (size - 1) - idx, idx)
    elif mode == "replicate":
        idx = np.clip(idx, 0, size - 1)
    else:  # circular
        idx = idx % size
    return idx


def pad(input, pad, mode="constant", value=None):  # noqa: A002
    """Pad (or, in constant mode with negative widths, crop) the last ``len(pad) // 2`` dims of
    ``input``, as ``torch.nn.functional.pad``.  See the module docstring for the math and the
    gradients."""
    if mode not in _MODES:
        raise NotImplementedError(f"pad: mode {mode!r} is not supported; expected one of {list(_MODES)}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: the padding {pad} must have an even length of at most 2×{input.ndim} "
                         f"for a tensor of shape {tuple(input.shape)}")
    dims = len(pad) // 2
    if mode == "constant":
        crop = [slice(None)] * input.ndim
        for i in range(dims):
            lo, hi = pad[2 * i], pad[2 * i + 1]
            d = input.ndim - 1 - i
            if input.shape[d] + lo + hi < 0:
                raise ValueError(f"pad: padding {pad} crops dim {d} of shape {tuple(input.shape)} "
                                 "below size 0")
            crop[d] = slice(max(-lo, 0), input.shape[d] - max(-hi, 0))
        x = input[tuple(crop)] if any(p < 0 for p in pad) else input
        return _constant_pad(x, tuple(max(p, 0) for p in pad), value=0.0 if value is None else value)
    if value is not None and value != 0:
        raise ValueError(f"pad: padding mode {mode!r} doesn't take in a value argument (got {value})")
    if not dims:
        return input
    if input.ndim - dims not in (1, 2):
        raise NotImplementedError(f"pad: mode {mode!r} pads 1 to 3 trailing dims of a batched or "
                                  f"unbatched input; got padding {pad} for shape {tuple(input.shape)}")
    x = input
    for i in range(dims):
        lo, hi = pad[2 * i], pad[2 * i + 1]
        d = input.ndim - 1 - i
        size = x.shape[d]
        if mode == "reflect" and (lo >= size or hi >= size):
            raise RuntimeError(f"pad: padding ({lo}, {hi}) should be less than the input size {size} "
                               f"of dim {d} for mode 'reflect' (shape {tuple(input.shape)})")
        if mode == "circular" and (lo > size or hi > size):
            raise RuntimeError(f"pad: padding ({lo}, {hi}) can be at most the input size {size} of "
                               f"dim {d} for mode 'circular' (shape {tuple(input.shape)})")
        if mode == "replicate" and size == 0 and (lo or hi):
            raise RuntimeError(f"pad: mode 'replicate' can't pad an empty dim {d} "
                               f"(shape {tuple(input.shape)})")
        if lo < 0 or hi < 0:
            x = x[(slice(None),) * d + (slice(max(-lo, 0), size - max(-hi, 0)),)]
            lo, hi, size = max(lo, 0), max(hi, 0), x.shape[d]
        if lo or hi:
            x = x[(slice(None),) * d + (_mode_index(size, lo, hi, mode),)]
    return x


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
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
