"""Normalisation layers as functions: batch norm, layer norm, group norm.

All three do the same thing over a different set of entries S: make them mean 0 and variance 1,
then scale and shift by learned parameters γ (weight) and β (bias):

    μ = mean_S(x)        σ² = mean_S((x − μ)²)   (the *biased* variance)
    x̂ = (x − μ) · r      with r = 1/√(σ² + ε)
    y = γ · x̂ + β

* **batch norm** (N, C, …): S = one channel across the batch and all positions; γ, β per
  channel.  In training it uses the batch's statistics and updates the running averages
      running_mean ← (1 − m)·running_mean + m·μ
      running_var  ← (1 − m)·running_var  + m·σ²·M/(M − 1)    (the *unbiased* variance, M = |S|)
  in place; in evaluation it uses the running averages instead (then y is an affine map of x).
* **layer norm**: S = the last dims (``normalized_shape``) of each sample; γ, β of that shape.
* **group norm** (N, C, …): S = the C/G channels of one group of one sample; γ, β per channel.

The backward pass (one fused ``Normalize`` node, the classic batch-norm formula)
--------------------------------------------------------------------------------
With ĝ = dL/dx̂ = g · γ (g = dL/dy) and means taken over S:

    dL/dβ = Σ g                 (summed over everything β is broadcast over)
    dL/dγ = Σ g · x̂
    dL/dx = r · (ĝ − mean_S(ĝ) − x̂ · mean_S(ĝ · x̂))

The last line comes from differentiating through μ and σ² too: subtracting mean_S(ĝ) removes
the part of ĝ that only shifts the mean, and the x̂ · mean_S(ĝ x̂) term the part that only scales
the spread — the normalised output cannot change along those two directions.

The backward needs x̂ and r.  Normally (no graph of the backward is being recorded) it rebuilds
x̂ from the saved x, μ and r and evaluates these formulas on raw arrays, in place
(``_normalize_grads``).  When ``create_graph=True`` records the backward, the same formulas run
in Tensor ops with μ and r recomputed from x, so their dependence on x is part of that graph and
second derivatives are exact (``gradgradcheck`` passes).

Layer norm over the last dim alone (every transformer's) goes through the ``layer_norm`` kernel
instead, forward and backward: its NumPy reference here is the same general code with dims = (-1,),
and ``kernels/layer_norm.py`` holds a numba tier that makes one or two sweeps per row.

(Batch norm, ``F.batch_norm`` and ``nn.BatchNorm1d/2d``, is in ``batchnorm.py``, PyTorch's file name.)

Tests: tests/op_registry/normalization.py, tests/test_conv_layers.py
"""
from types import SimpleNamespace

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function, OpValueError
from ..backend import array_module, kernel, register_kernel
from ..tensor import Tensor
from . import init
from .module import Module, Parameter
from .. import creation

__all__ = ["layer_norm", "group_norm", "LayerNorm", "GroupNorm"]


class NormError(OpValueError):
    """A normalisation argument does not fit (the message names the op and the shapes)."""


class Normalize(Function):
    """y = x̂ · w + b with x̂ = (x − mean)/√(var + eps) over ``dims`` (biased variance); ``w`` and
    ``b`` (optional) broadcast against x.  Gradients: see the module docstring.
    ``stats_out``, a list, receives (mean, biased var) of the batch (for running statistics)."""

    @staticmethod
    def forward(ctx, x, w=None, b=None, dims=None, eps=1e-5, stats_out=None):
        xp = array_module(x)
        ctx.last_dim = _is_last_dim_norm(x, w, b, dims) and stats_out is None
        if ctx.last_dim:   # layer norm over the last dim: the ``layer_norm`` kernel
            y, mean, rstd = kernel("layer_norm", xp).forward(x, w, b, eps)
        else:
            y, mean, var, rstd = _normalize_forward(x, w, b, dims, eps)
            if stats_out is not None:
                stats_out.append((mean, var))
        ctx.dims, ctx.eps, ctx.mean, ctx.rstd = dims, eps, mean, rstd
        ctx.b_shape = None if b is None else b.shape
        ctx.save_for_backward(*((x,) if w is None else (x, w)))
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = (ctx.saved_tensors + (None,))[:2]
        need_x, need_w, need_b = ctx.needs_input_grad
        dims = ctx.dims
        if not grad_mode.is_grad_enabled() and ctx.last_dim:
            grads = kernel("layer_norm", array_module(g.array)).backward(
                g.array, x.array, None if w is None else w.array, ctx.mean, ctx.rstd,
                need_x, need_w, bool(need_b and ctx.b_shape))
            return tuple(None if a is None else Tensor._wrap(a) for a in grads)
        if not grad_mode.is_grad_enabled():   # the usual case: no graph of the backward
            grads = _normalize_grads(g.array, x.array, None if w is None else w.array, ctx.mean,
                                     ctx.rstd, dims, need_x, need_w, need_b and ctx.b_shape)
            return tuple(None if a is None else Tensor._wrap(a) for a in grads)
        # create_graph: the same formula in Tensor ops, with μ and r recomputed from x so that
        # their dependence on x is recorded too
        mean = x.mean(dims, keepdim=True)
        centred = x - mean
        rstd = ((centred * centred).mean(dims, keepdim=True) + ctx.eps).rsqrt()
        xhat = centred * rstd
        gx = gw = None
        if need_x:
            gh = g if w is None else g * w
            gx = rstd * (gh - gh.mean(dims, keepdim=True)
                         - xhat * (gh * xhat).mean(dims, keepdim=True))
        if need_w:
            gw = g * xhat          # the engine sums it down to w's (broadcast) shape
        return gx, gw, (g if need_b else None)


def _normalize_forward(x, w, b, dims, eps):
    """The forward of ``Normalize`` on raw arrays: (y, mean, biased var, rstd), the statistics with
    keepdims shapes.  Two passes over x (mean, then the mean square of x − mean), as numerically
    safe as the data allow (no E[x²] − E[x]² cancellation)."""
    xp = array_module(x)
    if x.size == 0:   # an empty batch: nothing to average (and no warning about it)
        stats_shape = tuple(1 if d in dims else s for d, s in enumerate(x.shape))
        mean, var = xp.zeros(stats_shape, x.dtype), xp.ones(stats_shape, x.dtype)
    else:
        mean = x.mean(axis=dims, keepdims=True)
        var = None
    xhat = x - mean
    if var is None:
        var = xp.mean(xhat * xhat, axis=dims, keepdims=True)
    rstd = 1.0 / xp.sqrt(var + eps)
    xhat *= rstd
    y = xhat if w is None else xhat * w
    if b is not None:
        y += b
    return y, mean, var, rstd


def _is_last_dim_norm(x, w, b, dims):
    """Is this a layer norm over the last dim alone (what the ``layer_norm`` kernel computes)?"""
    return x.ndim >= 1 and tuple(dims) == (x.ndim - 1,) and \
        all(p is None or p.shape == x.shape[-1:] for p in (w, b))


def _layer_norm_forward_reference(x, w, b, eps):
    """(y, mean, rstd) of a layer norm over the last dim — the NumPy reference of the
    ``layer_norm`` kernel (the general ``Normalize`` forward with dims = (-1,))."""
    y, mean, _, rstd = _normalize_forward(x, w, b, (x.ndim - 1,), eps)
    return y, mean, rstd


def _layer_norm_backward_reference(g, x, w, mean, rstd, need_x, need_w, need_b):
    """(dL/dx, dL/dw, dL/db) of a layer norm over the last dim (None where not needed)."""
    return _normalize_grads(g, x, w, mean, rstd, (x.ndim - 1,), need_x, need_w and w is not None,
                            x.shape[-1:] if need_b else None)


LAYER_NORM_REFERENCE = SimpleNamespace(forward=_layer_norm_forward_reference,
                                       backward=_layer_norm_backward_reference)
register_kernel("layer_norm", "numpy", LAYER_NORM_REFERENCE)


def _sum_to(a, shape):
    """Sum ``a`` down to the broadcast ``shape`` it was expanded from."""
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and a.shape[lead + i] != 1)
    return a.sum(axis=axes, keepdims=True).reshape(shape) if axes else a.reshape(shape)


def _normalize_grads(g, x, w, mean, rstd, dims, need_x, need_w, b_shape):
    """``Normalize``'s gradients on raw arrays (the module docstring's formulas), reusing
    buffers in place: the path taken when no graph of the backward is recorded.

    Batch norm's γ is constant over exactly the normalised dims, so there Σ g and Σ g·x̂ (which
    *are* dL/dβ and dL/dγ) also give mean_S(ĝ) and mean_S(ĝ·x̂): three passes saved."""
    xhat = x - mean
    xhat *= rstd
    count = 1
    for d in dims:
        count *= x.shape[d]
    count = max(count, 1)   # an empty batch: sums are 0, and 0/1 keeps them so
    per_channel = w is not None and w.ndim == x.ndim and \
        all((w.shape[d] == 1) == (d in dims) for d in range(x.ndim))
    gx = gw = gb = None
    if per_channel:                        # batch norm: share the two sums
        sum_g = g.sum(axis=dims, keepdims=True)
        sum_gx = (g * xhat).sum(axis=dims, keepdims=True)
        gw = sum_gx.reshape(w.shape) if need_w else None
        gb = sum_g.reshape(b_shape) if b_shape else None
        if need_x:
            gx = g - sum_g / count
            xhat *= sum_gx / count
            gx -= xhat
            gx *= w * rstd
        return gx, gw, gb
    if need_w:
        gw = _sum_to(g * xhat, w.shape)
    if b_shape:
        gb = _sum_to(g, b_shape)
    if need_x:
        gh = g if w is None else g * w
        m2 = (gh * xhat).sum(axis=dims, keepdims=True) / count
        gx = gh - gh.sum(axis=dims, keepdims=True) / count
        xhat *= m2
        gx -= xhat
        gx *= rstd
    return gx, gw, gb


def _check_param(op, name, p, shape):
    if p is not None and tuple(p.shape) != tuple(shape):
        raise NormError(f"{op}: {name} must have shape {tuple(shape)}, got {tuple(p.shape)}")


# ---------------------------------------------------------------------------------------------
# layer norm
# ---------------------------------------------------------------------------------------------
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Normalise over the last ``len(normalized_shape)`` dims of each sample, as
    ``torch.nn.functional.layer_norm``; weight and bias have shape ``normalized_shape``."""
    op = "layer_norm"
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise NormError(f"{op}: given normalized_shape={shape}, expected an input with shape "
                        f"(*, {', '.join(map(str, shape))}), but got input of shape "
                        f"{tuple(input.shape)}")
    _check_param(op, "weight", weight, shape)
    _check_param(op, "bias", bias, shape)
    dims = tuple(range(input.ndim - k, input.ndim))
    return Normalize.apply(input, weight, bias, dims=dims, eps=eps)


# ---------------------------------------------------------------------------------------------
# group norm
# ---------------------------------------------------------------------------------------------
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Normalise each group of C/G channels of each sample (over those channels and all
    positions), as ``torch.nn.functional.group_norm``; weight and bias per channel (C,).
    The input (N, C, …) is viewed as (N, G, C/G, rest) and normalised over the last two dims."""
    op = "group_norm"
    if input.ndim < 2:
        raise NormError(f"{op}: expected an input of shape (N, C, ...) with at least 2 dims, got "
                        f"shape {tuple(input.shape)}")
    n, channels = input.shape[:2]
    if not isinstance(num_groups, (int, np.integer)) or num_groups < 1 or channels % num_groups:
        raise NormError(f"{op}: expected the number of channels of the input {tuple(input.shape)} "
                        f"({channels}) to be divisible by num_groups={num_groups}")
    _check_param(op, "weight", weight, (channels,))
    _check_param(op, "bias", bias, (channels,))
    if input.array.size == 1:   # PyTorch's rule: one value in all is not a distribution
        raise NormError(f"{op}: expected more than 1 value per channel when training, got input "
                        f"of shape {tuple(input.shape)}")
    rest = int(np.prod(input.shape[2:], dtype=np.int64))
    grouped = (n, num_groups, channels // num_groups, rest)
    pshape = (1, num_groups, channels // num_groups, 1)
    w = weight.reshape(pshape) if weight is not None else None
    b = bias.reshape(pshape) if bias is not None else None
    out = Normalize.apply(input.reshape(grouped), w, b, dims=(2, 3), eps=eps)
    return out.reshape(input.shape)


# ---------------------------------------------------------------------------------------------
# modules (weight and bias with PyTorch's names and initialisation)
# ---------------------------------------------------------------------------------------------
def _register_affine(module, shape, affine, bias, dtype, device):
    """The per-feature scale ``weight`` (ones) and shift ``bias`` (zeros) of a normalisation layer,
    or both registered as None when it is not ``affine`` (``bias=False`` drops only the shift)."""
    if affine:
        module.weight = Parameter(creation.ones(*shape, dtype=dtype, device=device))
        if bias:
            module.bias = Parameter(creation.zeros(*shape, dtype=dtype, device=device))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _reset_affine(module):
    """weight back to ones and bias back to zeros (where they exist)."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class LayerNorm(Module):
    """Normalise over the last dims (``normalized_shape``) of each sample; weight (ones) and
    bias (zeros) of that shape when ``elementwise_affine`` (``bias=False``: no bias)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        _register_affine(self, self.normalized_shape, elementwise_affine, bias, dtype, device)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):  # noqa: A002
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, " \
               f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"


class GroupNorm(Module):
    """Normalise each of ``num_groups`` groups of channels of each sample; per-channel weight
    (ones) and bias (zeros) when ``affine``."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None,
                 *, bias=True):
        super().__init__()
        if num_channels % num_groups:
            raise OpValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                               f"num_groups ({num_groups})")
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        _register_affine(self, (num_channels,), affine, bias, dtype, device)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):  # noqa: A002
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, " \
               f"bias={self.bias is not None}"
