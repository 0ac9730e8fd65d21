"""Reductions: sum, mean, max, prod, var, logsumexp, softmax, cumsum …

A reduction maps many entries to one, so its backward spreads one gradient back over many:

* sum:   y = Σᵢ xᵢ            dL/dxᵢ = g                  (broadcast g back: ``expand``)
* mean:  y = Σᵢ xᵢ / n        dL/dxᵢ = g / n
* amax:  y = maxᵢ xᵢ           dL/dxᵢ = g · [xᵢ = y] / (number of ties)
* prod:  y = Πᵢ xᵢ            dL/dxᵢ = g · Πⱼ≠ᵢ xⱼ       (= g·y/xᵢ when no xᵢ is 0)
* logsumexp: y = ln Σᵢ e^xᵢ   dL/dxᵢ = g · softmax(x)ᵢ

``dim`` may be an int, a tuple of ints or None (every dim); ``keepdim=True`` keeps reduced dims as
size 1.  Before broadcasting g back, its reduced dims are reinstated as size-1 dims.

Tests: tests/op_registry/reduce.py
"""
import builtins
import functools

import numpy as np

from ..autograd.function import Function
from ..autograd import grad_mode
from ..backend import array_module
from .checks import keepdim_shape, normalize_dim, normalize_dims


def _grad_to_input_shape(g, ctx):
    """Reshape a reduction's gradient to keepdim form, then broadcast it over the input."""
    return g.reshape(ctx.keep_shape).expand(ctx.in_shape)


class Sum(Function):
    """y = Σ x over ``dims``.   dL/dx = g broadcast back over the summed dims."""

    @staticmethod
    def forward(ctx, x, dims=None, keepdim=False):
        ctx.in_shape, ctx.keep_shape = x.shape, keepdim_shape(x.shape, dims)
        if x.dtype == np.float16:  # PyTorch accumulates half precision in float32, then rounds once
            y = x.sum(axis=dims, keepdims=keepdim, dtype=np.float32).astype(np.float16)
        else:
            y = x.sum(axis=dims, keepdims=keepdim)
        if x.dtype.kind in "bu" or x.dtype == np.int32:
            y = y.astype(np.int64)  # PyTorch sums integers and bools as int64
        return y

    @staticmethod
    def backward(ctx, g):
        return _grad_to_input_shape(g, ctx)


class Amax(Function):
    """y = max of x over ``dims``.   dL/dx = g shared evenly among the entries equal to the max."""

    @staticmethod
    def forward(ctx, x, dims=None, keepdim=False, largest=True):
        if any(x.shape[d] == 0 for d in dims):  # reducing an empty dim has no max (as PyTorch)
            raise ValueError(f"{'amax' if largest else 'amin'}: cannot reduce an empty dim of a "
                             f"tensor of shape {x.shape} (dims {dims})")
        y = x.max(axis=dims, keepdims=True) if largest else x.min(axis=dims, keepdims=True)
        ctx.in_shape, ctx.keep_shape = x.shape, y.shape
        hits = (x == y)
        ctx.share = hits / hits.sum(axis=dims, keepdims=True)
        ctx.share = ctx.share.astype(x.dtype, copy=False)
        return y if keepdim else y.reshape([s for i, s in enumerate(x.shape) if i not in dims])

    @staticmethod
    def backward(ctx, g):
        return _grad_to_input_shape(g, ctx) * ctx.share


class Prod(Function):
    """y = Π x over one dim (or all).   dL/dxᵢ = g · Πⱼ≠ᵢ xⱼ  (= g·y/xᵢ when no entry is 0)."""

    @staticmethod
    def forward(ctx, x, dims=None, keepdim=False):
        ctx.in_shape, ctx.keep_shape = x.shape, keepdim_shape(x.shape, dims)
        ctx.dims = dims
        y = x.prod(axis=dims, keepdims=keepdim)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        g_full = _grad_to_input_shape(g, ctx)
        if not (x.array == 0).any():
            return g_full * y.reshape(ctx.keep_shape) / x
        if grad_mode.state.enabled:
            raise RuntimeError("prod: double backward through a product containing zeros is not "
                               "supported")
        return g_full * _product_of_others(x.array, ctx.dims)


def _product_of_others(x, dims):
    """Πⱼ≠ᵢ xⱼ for every i, without dividing (exact with zeros): exclusive cumulative products
    from the left and from the right, multiplied."""
    xp = array_module(x)
    moved = xp.moveaxis(x, dims, tuple(range(-len(dims), 0)))
    flat = moved.reshape(moved.shape[:moved.ndim - len(dims)] + (-1,))
    ones = xp.ones(flat.shape[:-1] + (1,), x.dtype)
    left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], -1), -1)
    right = xp.flip(xp.cumprod(xp.concatenate([ones, xp.flip(flat, -1)[..., :-1]], -1), -1), -1)
    others = (left * right).reshape(moved.shape)
    return xp.moveaxis(others, tuple(range(-len(dims), 0)), dims)


class LogSumExp(Function):
    """y = ln Σ e^x over ``dims``, computed as m + ln Σ e^(x-m) with m = max (no overflow).
    dL/dx = g · e^(x - y) = g · softmax(x)."""

    @staticmethod
    def forward(ctx, x, dims=None, keepdim=False):
        xp = array_module(x)
        if x.size == 0:  # an empty sum of exponentials: log 0 = -inf (no max to subtract)
            m = xp.zeros(keepdim_shape(x.shape, dims), dtype=x.dtype)
        else:
            m = x.max(axis=dims, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)
        y = xp.log(xp.exp(x - m).sum(axis=dims, keepdims=True)) + m
        ctx.keep_shape = y.shape
        out = y if keepdim else y.reshape([s for i, s in enumerate(x.shape) if i not in dims])
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g.reshape(ctx.keep_shape) * exp(x - y.reshape(ctx.keep_shape))


class SoftmaxFunction(Function):
    """yᵢ = e^(xᵢ - m) / Σⱼ e^(xⱼ - m) along ``dim`` (m = max, for stability).
    dL/dx = y · (g - Σ g·y)  — the Jacobian diag(y) - y yᵀ applied to g."""

    @staticmethod
    def forward(ctx, x, dim=-1):
        xp = array_module(x)
        e = xp.exp(x - x.max(axis=dim, keepdims=True)) if x.size else x.copy()
        y = e / e.sum(axis=dim, keepdims=True)
        ctx.dim = dim
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return y * (g - (g * y).sum(ctx.dim, keepdim=True))


class LogSoftmaxFunction(Function):
    """y = x - logsumexp(x) along ``dim``.   dL/dx = g - softmax(x) · Σ g = g - e^y · Σ g."""

    @staticmethod
    def forward(ctx, x, dim=-1):
        xp = array_module(x)
        shifted = x - x.max(axis=dim, keepdims=True) if x.size else x.copy()
        y = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.dim = dim
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g - exp(y) * g.sum(ctx.dim, keepdim=True)


class Cumsum(Function):
    """yᵢ = Σⱼ≤ᵢ xⱼ along ``dim``.   dL/dxⱼ = Σᵢ≥ⱼ gᵢ: a cumulative sum of g taken backwards."""

    @staticmethod
    def forward(ctx, x, dim=0):
        ctx.dim = dim
        y = array_module(x).cumsum(x, axis=dim).reshape(x.shape)  # NumPy makes a 0-d input 1-D
        return y.astype(np.int64) if x.dtype.kind in "bu" or x.dtype == np.int32 else y

    @staticmethod
    def backward(ctx, g):
        return g.flip(ctx.dim).cumsum(ctx.dim).flip(ctx.dim)


# ---------------------------------------------------------------------------------------------
# The functional API
# ---------------------------------------------------------------------------------------------
def accepts_axis(fn):
    """PyTorch also accepts NumPy's name ``axis=`` for ``dim=`` in reductions; resolve it here, once."""
    @functools.wraps(fn)
    def with_axis(*args, axis=None, **kwargs):
        if axis is not None:
            if "dim" in kwargs:
                raise TypeError(f"{fn.__name__}(): got both dim={kwargs['dim']!r} and axis={axis!r}; "
                                "give one of them")
            kwargs["dim"] = axis
        return fn(*args, **kwargs)
    return with_axis


@accepts_axis
def sum(x, dim=None, keepdim=False, dtype=None):  # noqa: A001
    if dtype is not None:
        x = x.to(dtype)
    return Sum.apply(x, dims=normalize_dims("sum", dim, x.ndim), keepdim=keepdim)


@accepts_axis
def mean(x, dim=None, keepdim=False, dtype=None):
    """Σx / n over ``dim``.   dL/dx = g / n."""
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind not in "fc":
        raise TypeError(f"mean: expected a floating point tensor, got dtype {x.dtype}; "
                        "use .float() first")
    if x.dtype == np.float16:  # accumulate in float32 like PyTorch (Σ of 1e5 halves would be inf)
        return mean(x.float(), dim, keepdim=keepdim).to(x.dtype)
    dims = normalize_dims("mean", dim, x.ndim)
    n = 1
    for d in dims:
        n *= x.shape[d]
    total = Sum.apply(x, dims=dims, keepdim=keepdim)
    return total / n if n else total * float("nan")


@accepts_axis
def amax(x, dim=None, keepdim=False):
    return Amax.apply(x, dims=normalize_dims("amax", dim, x.ndim), keepdim=keepdim, largest=True)


@accepts_axis
def amin(x, dim=None, keepdim=False):
    return Amax.apply(x, dims=normalize_dims("amin", dim, x.ndim), keepdim=keepdim, largest=False)


@accepts_axis
def max(x, dim=None, keepdim=False):  # noqa: A001
    """``max(x)``: the largest entry.  ``max(x, dim)``: a (values, indices) pair, where the
    gradient flows to the entry each index names (``values`` = x gathered at ``indices``)."""
    if dim is None:
        return amax(x)
    if isinstance(dim, Tensor):
        return maximum(x, dim)
    return _extreme_along(x, dim, keepdim, "max")


@accepts_axis
def min(x, dim=None, keepdim=False):  # noqa: A001
    """Like ``max`` for the smallest entry."""
    if dim is None:
        return amin(x)
    if isinstance(dim, Tensor):
        return minimum(x, dim)
    return _extreme_along(x, dim, keepdim, "min")


class MaxResult(tuple):
    """The (values, indices) pair that ``max(x, dim)`` returns, with PyTorch's field names."""

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


def _extreme_along(x, dim, keepdim, which):
    d = normalize_dim(which, dim, x.ndim)
    if x.ndim and x.shape[d] == 0:
        raise IndexError(f"{which}: cannot take the {which} of an empty dim {dim} "
                         f"(shape {tuple(x.shape)})")
    xp = array_module(x.array)
    idx = (xp.argmax if which == "max" else xp.argmin)(x.array, axis=d if x.ndim else None,
                                                       keepdims=True)
    values = gather(x, d, Tensor._wrap(idx)) if x.ndim else x
    indices = Tensor._wrap(idx.astype(np.int64))
    if not keepdim and x.ndim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return MaxResult((values, indices))


@accepts_axis
def argmax(x, dim=None, keepdim=False):
    """Index of the largest entry (flattened when ``dim`` is None).  No gradient."""
    return _arg(x, dim, keepdim, "argmax")


@accepts_axis
def argmin(x, dim=None, keepdim=False):
    """Index of the smallest entry (flattened when ``dim`` is None).  No gradient."""
    return _arg(x, dim, keepdim, "argmin")


def _arg(x, dim, keepdim, name):
    xp = array_module(x.array)
    fn = getattr(xp, name)
    if dim is None:
        out = fn(x.array)
        if keepdim:
            out = xp.asarray(out).reshape((1,) * x.ndim)
    else:
        out = fn(x.array, axis=normalize_dim(name, dim, x.ndim), keepdims=keepdim)
    return Tensor._wrap(xp.asarray(out).astype(np.int64))


@accepts_axis
def prod(x, dim=None, keepdim=False):
    return Prod.apply(x, dims=normalize_dims("prod", dim, x.ndim), keepdim=keepdim)


@accepts_axis
def var(x, dim=None, unbiased=None, keepdim=False, correction=None):
    """Σ(x - mean)² / (n - correction) over ``dim`` (correction 1 by default: Bessel's).
    Built from differentiable ops, so every derivative order comes for free."""
    if unbiased is not None and correction is not None:
        raise ValueError("var: give either unbiased or correction, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    if x.dtype.kind not in "fc":
        raise TypeError(f"var: expected a floating point tensor, got dtype {x.dtype}")
    if x.dtype in (np.float16, np.float32):
        # PyTorch (CPU) accumulates the squared deviations in float64: var of ±1e20 in float32
        # is then inf only because 1e40 does not fit, and std (√ taken in float64) is 1e20.
        return var(x.double(), dim, correction=correction, keepdim=keepdim).to(x.dtype)
    dims = normalize_dims("var", dim, x.ndim)
    n = 1
    for d in dims:
        n *= x.shape[d]
    centered = x - mean(x, dims, keepdim=True)
    total = (centered * centered).sum(dims, keepdim=keepdim)
    denominator = builtins.max(0, n - correction)  # PyTorch: n ≤ correction divides by 0 (inf or nan)
    if denominator == 0:
        return total * float("inf") if n else total * float("nan")
    return total / denominator


@accepts_axis
def std(x, dim=None, unbiased=None, keepdim=False, correction=None):
    """√var.   dL/dx = dvar/dx · g / (2·std)  (0 where std = 0, as PyTorch).  float16/float32
    inputs are computed in float64 and rounded once, as PyTorch's CPU kernel."""
    if x.dtype in (np.float16, np.float32):
        return std(x.double(), dim, unbiased=unbiased, keepdim=keepdim, correction=correction).to(x.dtype)
    return StdFromVar.apply(var(x, dim, unbiased=unbiased, keepdim=keepdim, correction=correction))


@accepts_axis
def var_mean(x, dim=None, unbiased=None, keepdim=False, correction=None):
    """``(var(x, dim), mean(x, dim))`` in one call, a plain tuple as in PyTorch.  Gradients: each
    part has its own (see ``var`` and ``mean``); they add up where both are used."""
    return (var(x, dim, unbiased=unbiased, keepdim=keepdim, correction=correction),
            mean(x, dim, keepdim=keepdim))


@accepts_axis
def std_mean(x, dim=None, unbiased=None, keepdim=False, correction=None):
    """``(std(x, dim), mean(x, dim))`` in one call, a plain tuple as in PyTorch."""
    return (std(x, dim, unbiased=unbiased, keepdim=keepdim, correction=correction),
            mean(x, dim, keepdim=keepdim))


class StdFromVar(Function):
    """y = √v, the last step of ``std``.   dL/dv = g / (2y), taken as 0 where y = 0.

    A constant input has std 0, where the plain square root's derivative is 1/0; PyTorch defines
    std's gradient there as 0 (the variance's own gradient is 0 there anyway), and so do we."""

    @staticmethod
    def forward(ctx, v):
        y = array_module(v).sqrt(v)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        zero = y.array == 0
        safe = where(zero, 1.0, y)  # never divide by 0, even in a second derivative
        return where(zero, 0.0, g / (safe * 2.0))


def logsumexp(x, dim, keepdim=False):
    return LogSumExp.apply(x, dims=normalize_dims("logsumexp", dim, x.ndim), keepdim=keepdim)


def softmax(x, dim=None, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    if dim is None:
        raise TypeError("softmax: dim is required (as in PyTorch, the implicit choice is "
                        "deprecated); e.g. softmax(x, dim=-1)")
    return SoftmaxFunction.apply(x, dim=normalize_dim("softmax", dim, x.ndim))


def log_softmax(x, dim=None, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    if dim is None:
        raise TypeError("log_softmax: dim is required; e.g. log_softmax(x, dim=-1)")
    return LogSoftmaxFunction.apply(x, dim=normalize_dim("log_softmax", dim, x.ndim))


def cumsum(x, dim, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    return Cumsum.apply(x, dim=normalize_dim("cumsum", dim, x.ndim))


from ..tensor import Tensor  # noqa: E402
from .elementwise import exp, maximum, minimum, where  # noqa: E402
from .indexing import gather  # noqa: E402

