"""Distances and similarities between vectors: ``normalize``, ``cosine_similarity``,
``pairwise_distance``, and the modules ``nn.CosineSimilarity`` and ``nn.PairwiseDistance``.

All three are built on the p-norm of a vector,

    ‖x‖_p = (Σᵢ |xᵢ|^p)^(1/p)        ‖x‖_∞ = maxᵢ |xᵢ|      ‖x‖_0 = number of nonzero xᵢ

whose gradient is

    ∂‖x‖_p/∂xᵢ = sign(xᵢ) · |xᵢ|^(p-1) / ‖x‖_p^(p-1)      (p = 2: xᵢ / ‖x‖; p = 1: sign(xᵢ))
    ∂‖x‖_∞/∂xᵢ = sign(xᵢ) / k for the k entries with |xᵢ| = max (ties share), 0 elsewhere

At x = 0 the norm has no derivative (it is a cone); like PyTorch we use 0 there, so a zero vector
gives a zero gradient instead of the NaN that 0/0 would give.  ``VectorNorm`` is that one
``Function``; its backward is written in Tensor ops, so second derivatives work.

The ``eps`` of each function keeps a division by a tiny norm finite; each function places it where
PyTorch does (it changes the numbers, so it matters).

Tests: tests/op_registry/distance.py, tests/test_activation_loss.py
"""
import math

import numpy as np

from ..autograd.function import Function, OpValueError
from ..backend import array_module
from ..ops import elementwise as _ew
from ..tensor import Tensor
from .module import Module

__all__ = ["normalize", "cosine_similarity", "pairwise_distance", "CosineSimilarity", "PairwiseDistance"]


# ---------------------------------------------------------------------------------------------
# the p-norm over some dims (kept as size-1 dims)
# ---------------------------------------------------------------------------------------------
class VectorNorm(Function):
    """n = ‖x‖_p over the dims ``axes`` (kept as size-1 dims, so n broadcasts against x).

    dL/dx = g · sign(x) |x|^(p-1) / n^(p-1)  (see the module docstring for p = 0, 1, 2, ∞), and
    0 wherever n = 0."""

    @staticmethod
    def forward(ctx, x, p=2.0, axes=None):
        xp = array_module(x)
        a = xp.abs(x)
        if p == 2:
            n = xp.sqrt((a * a).sum(axis=axes, keepdims=True))
        elif p == 1:
            n = a.sum(axis=axes, keepdims=True)
        elif p == math.inf:
            if any(x.shape[i] == 0 for i in axes):
                raise RuntimeError(f"vector_norm: cannot compute the inf norm over an empty dim (input "
                                   f"shape {tuple(x.shape)}, dims {axes}): max has no identity")
            n = a.max(axis=axes, keepdims=True)
        elif p == 0:
            n = (x != 0).sum(axis=axes, keepdims=True)
        else:
            n = (a ** p).sum(axis=axes, keepdims=True) ** (1.0 / p)
        n = xp.asarray(n, dtype=x.dtype)
        ctx.p = p
        ctx.save_for_backward(x, n)
        return n

    @staticmethod
    def backward(ctx, g):
        x, n = ctx.saved_tensors
        p = ctx.p
        if p == 0:
            return g.expand(*x.shape) * 0.0                # a count: flat almost everywhere
        zero = n.array == 0
        if p == 1:
            return g * _ew.sign(x)
        if p == 2:
            safe = _ew.where(zero, 1.0, n)                   # x is 0 wherever n is: x/1 = 0
            return g * x / safe
        if p == math.inf:
            at_max = (_ew.abs(x).array == n.array) & ~zero
            count = at_max.sum(axis=tuple(i for i in range(x.ndim) if n.shape[i] == 1), keepdims=True)
            xp = array_module(x.array)
            share = Tensor._wrap(xp.asarray(at_max / xp.maximum(count, 1), dtype=x.dtype))
            return g * _ew.sign(x) * share
        # entries with xᵢ = 0 get 0 (|xᵢ|^(p-1) is infinite there for p < 1), as PyTorch
        flat = (x.array == 0) | zero
        safe_x, safe_n = _ew.where(flat, 1.0, _ew.abs(x)), _ew.where(zero, 1.0, n)
        slope = _ew.sign(x) * safe_x ** (p - 1) / safe_n ** (p - 1)
        return _ew.where(flat, 0.0, g * slope)


def _axes(op, dim, ndim):
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    size = max(ndim, 1)
    for d in dims:
        if not -size <= d < size:
            raise IndexError(f"{op}: dimension out of range (expected to be in range of [{-size}, "
                             f"{size - 1}], but got {d})")
    return tuple(sorted({d % size for d in dims})) if ndim else ()


def _check_p(op, p):
    if math.isnan(p) or p < 0:
        raise NotImplementedError(f"{op}: p={p} is not supported here; use p >= 0 or p = inf")


def vector_norm(x, p=2.0, dim=None, keepdim=False):
    """‖x‖_p over ``dim`` (an int, a tuple of ints, or None for all dims); see ``VectorNorm``."""
    _check_p("vector_norm", p)
    axes = tuple(range(x.ndim)) if dim is None else _axes("vector_norm", dim, x.ndim)
    n = VectorNorm.apply(x, p=float(p), axes=axes)
    if keepdim or not axes:
        return n
    kept = tuple(s for i, s in enumerate(n.shape) if i not in axes)
    return n.reshape(kept)


def _check_float(op, name, t):
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if t.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be a floating point tensor, got dtype {t.dtype}")


# ---------------------------------------------------------------------------------------------
# normalize
# ---------------------------------------------------------------------------------------------
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):  # noqa: A002
    """y = x / max(‖x‖_p, eps) along ``dim``: every slice becomes a unit vector.

    The denominator is a plain clamp: where ‖x‖_p < eps it is the constant eps (no gradient flows
    into the norm there), else the norm, whose gradient gives
        dL/dx = g/n - x · (Σ g·x |x|^(p-2)) / n^(p+1)        (n = ‖x‖_p ≥ eps)."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported; use the returned tensor")
    _check_float("normalize", "input", input)
    _check_p("normalize", p)
    n = vector_norm(input, p, dim, keepdim=True)
    return input / n.clamp(min=eps)


# ---------------------------------------------------------------------------------------------
# cosine_similarity
# ---------------------------------------------------------------------------------------------
def _clamp_value_only(n, eps):
    """max(n, eps) as a value, but with the gradient of n itself (a straight-through clamp).
    This is what PyTorch's cosine_similarity does (it clamps the norms in place without grad)."""
    lifted = n.detach().clamp(min=eps) - n.detach()
    return n + lifted


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """cos θ = Σ (x1 / max(‖x1‖, eps)) · (x2 / max(‖x2‖, eps)) along ``dim`` (x1, x2 broadcast).

    Each norm is clamped to ``eps`` on its own (PyTorch's formula since 1.12; dividing each
    vector first, then taking the dot product, loses less precision than x1·x2 / (‖x1‖‖x2‖)).
    The clamp changes the value only: the gradient still flows through the norm, as in PyTorch.
    With u = x1/‖x1‖, v = x2/‖x2‖ (both norms ≥ eps):
        dL/dx1 = g · (v - (u·v) u) / ‖x1‖,   dL/dx2 = g · (u - (u·v) v) / ‖x2‖."""
    _check_float("cosine_similarity", "x1", x1)
    _check_float("cosine_similarity", "x2", x2)
    try:
        shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    except ValueError:
        raise OpValueError(f"cosine_similarity: x1 of shape {tuple(x1.shape)} and x2 of shape "
                           f"{tuple(x2.shape)} do not broadcast together") from None
    ndim = len(shape)
    axis = _axes("cosine_similarity", dim, ndim)
    if x1.dtype != x2.dtype:
        raise TypeError(f"cosine_similarity: x1 ({x1.dtype}) and x2 ({x2.dtype}) must have the same dtype")
    a = x1 if tuple(x1.shape) == shape else x1.expand(*shape)
    b = x2 if tuple(x2.shape) == shape else x2.expand(*shape)
    n1 = _clamp_value_only(vector_norm(a, 2.0, axis, keepdim=True), eps)
    n2 = _clamp_value_only(vector_norm(b, 2.0, axis, keepdim=True), eps)
    products = (a / n1) * (b / n2)
    return products.sum(axis[0]) if axis else products


class CosineSimilarity(Module):
    """cosine_similarity(x1, x2, dim, eps) as a module (its repr shows no options, as PyTorch's)."""

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return cosine_similarity(x1, x2, self.dim, self.eps)


# ---------------------------------------------------------------------------------------------
# pairwise_distance
# ---------------------------------------------------------------------------------------------
def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """d = ‖x1 - x2 + eps‖_p along the last dim (x1, x2 broadcast).

    ``eps`` is *added to the difference* (PyTorch's choice): it keeps the norm away from 0, where
    its gradient would be undefined, so identical rows give d = eps·n^(1/p) and a finite gradient.
    dL/dx1 = g · ∂‖·‖_p (see the module docstring), dL/dx2 = -dL/dx1."""
    _check_float("pairwise_distance", "x1", x1)
    _check_float("pairwise_distance", "x2", x2)
    _check_p("pairwise_distance", p)
    try:
        np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    except ValueError:
        raise OpValueError(f"pairwise_distance: x1 of shape {tuple(x1.shape)} and x2 of shape "
                           f"{tuple(x2.shape)} do not broadcast together") from None
    diff = x1 - x2 + eps
    if diff.ndim == 0:
        return vector_norm(diff, p, None, keepdim)
    return vector_norm(diff, p, diff.ndim - 1, keepdim)


class PairwiseDistance(Module):
    """pairwise_distance(x1, x2, p, eps, keepdim) as a module (the p is stored as ``norm``, as PyTorch)."""

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
