"""F.interpolate ('nearest', 'linear', 'bilinear') and the nn.Upsample module.

Each output position o along a resized dim of input size n and output size m reads a *source
coordinate* s(o) in the input:

    align_corners=False  s = (o + ½)·scale − ½, clamped at 0  (pixel centres line up)
    align_corners=True   s = o·(n − 1)/(m − 1)                 (the corner pixels line up)
    nearest              s = ⌊o·scale⌋ (clamped at n − 1); s = o when m = n and ⌊o/2⌋ when
                         m = 2n, whatever the scale_factor (PyTorch's exact special cases)

with scale = n/m, or 1/scale_factor when ``scale_factor`` is given.  Linear interpolation
blends the two neighbours i0 = ⌊s⌋ and i1 = min(i0 + 1, n − 1) with λ = s − i0:

    y[o] = (1 − λ)·x[i0] + λ·x[i1]

Bilinear does this along H, then along W.  Everything is a gather x[idx] and a weighted sum of
Tensors, so the gradient comes from their own backwards: dL/dx[i] = Σ_o (weight of x[i] in
y[o])·g[o] — a scatter-add of the λ-weighted output gradients (nearest: each g[o] goes to its
one source pixel, so upsampling by 2 sums 2×2 blocks of g).

Tests: tests/op_registry/upsampling.py, tests/test_conv_family.py"""
import math

import numpy as np

from ..backend import array_module
from ..tensor import Tensor
from .module import Module

__all__ = ["interpolate", "Upsample"]

_DIMS = {"nearest": None, "linear": 1, "bilinear": 2}


def _source(n, m, scale, align_corners, mode):
    o = np.arange(m, dtype=np.float64)
    if mode == "nearest":
        if m == n or m == 2 * n:   # PyTorch's exact fast paths (they ignore a given scale_factor)
            return (np.arange(m) // (m // n)).astype(np.int64), None, None
        return np.minimum(np.floor(o * scale).astype(np.int64), n - 1), None, None
    if align_corners:
        s = o * ((n - 1) / (m - 1)) if m > 1 else np.zeros(m)
    else:
        s = np.maximum((o + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(s).astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    return i0, i1, s - i0


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,  # noqa: A002
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of (N, C, *spatial), as ``torch.nn.functional.interpolate``, for
    mode 'nearest' (any 1–3 spatial dims), 'linear' (3-D input) and 'bilinear' (4-D input).
    The math and the gradient are in the module docstring."""
    op = "interpolate"
    if mode not in _DIMS:
        raise NotImplementedError(f"{op}: mode {mode!r} is not supported; expected one of {list(_DIMS)}")
    if antialias:
        raise NotImplementedError(f"{op}: antialias=True is not supported")
    if not isinstance(input, Tensor) or input.ndim < 3:
        raise ValueError(f"{op}: expected input of shape (N, C, *spatial), got "
                         f"{tuple(getattr(input, 'shape', ()))}")
    k = input.ndim - 2
    if _DIMS[mode] is not None and _DIMS[mode] != k:
        raise NotImplementedError(f"{op}: got {input.ndim}-D input, but mode {mode!r} needs "
                                  f"{_DIMS[mode] + 2}-D input")
    if mode == "nearest" and align_corners is not None:
        raise ValueError(f"{op}: align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: exactly one of size or scale_factor must be given, got size={size}, "
                         f"scale_factor={scale_factor}")
    in_sizes = tuple(input.shape[2:])
    if size is not None:
        out_sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * k
        scales = [n / m if m else 0.0 for n, m in zip(in_sizes, out_sizes)]
    else:
        factors = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * k
        out_sizes = tuple(int(math.floor(n * f)) for n, f in zip(in_sizes, factors))
        scales = [n / m if (recompute_scale_factor and m) else 1.0 / f
                  for n, m, f in zip(in_sizes, out_sizes, factors)]
    if len(out_sizes) != k or any(m <= 0 for m in out_sizes):
        raise ValueError(f"{op}: output size {out_sizes} must have {k} positive entries for input "
                         f"{tuple(input.shape)}")
    x = input
    for d, (n, m, scale) in enumerate(zip(in_sizes, out_sizes, scales)):
        dim = 2 + d
        lead = (slice(None),) * dim
        i0, i1, lam = _source(n, m, scale, bool(align_corners), mode)
        if lam is None:
            x = x[lead + (i0,)]
            continue
        w = lam.astype(x.array.dtype).reshape((m,) + (1,) * (x.ndim - dim - 1))
        w = Tensor._wrap(array_module(x.array).asarray(w))     # on x's device (cupy.asarray on the GPU)
        x = x[lead + (i0,)] * (1 - w) + x[lead + (i1,)] * w
    return x


class Upsample(Module):
    """y = interpolate(x, size, scale_factor, mode, align_corners)."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size, self.mode, self.align_corners = size, mode, align_corners
        self.scale_factor = float(scale_factor) if isinstance(scale_factor, (int, float)) else scale_factor
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):  # noqa: A002
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)

    def extra_repr(self):
        what = f"scale_factor={self.scale_factor}" if self.scale_factor is not None else f"size={self.size}"
        return f"{what}, mode={self.mode!r}"
