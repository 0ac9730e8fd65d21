"""Regression and distribution losses: mean squared error, mean absolute error, Huber, smooth L1 and
the KL divergence, as functions and as modules.

* ``mse_loss`` ℓᵢ = (xᵢ - yᵢ)² and ``l1_loss`` ℓᵢ = |xᵢ - yᵢ| (optionally weighted), with the
  reduction helpers of ``loss.py``.

* ``kl_div(input, target)``: input holds *log*-probabilities log q, target holds probabilities p
  (or log p with ``log_target=True``); the pointwise term is p · (log p - log q), whose sum is
  KL(p ‖ q) = Σ p log(p/q).  ``reduction='batchmean'`` (sum / batch size) is the true KL per
  sample; ``'mean'`` divides by the number of *elements* and PyTorch warns about it.
* ``huber_loss`` and ``smooth_l1_loss``: squared error near 0, absolute error far away, so large
  residuals (outliers) pull with a bounded force.  With d = x - y:

      huber(d; δ)     = ½ d²            for |d| < δ,   δ (|d| - ½ δ)   otherwise
      smooth_l1(d; β) = ½ d² / β        for |d| < β,   |d| - ½ β       otherwise   = huber(d; β) / β

  Both are C¹ (value and slope agree at the seam), and their gradients are clipped residuals:
      d huber / dx = clamp(d, -δ, δ),      d smooth_l1 / dx = clamp(d / β, -1, 1).

All have PyTorch's signatures; the forward is a composition of engine ops, so autograd derives
the gradients above (and second derivatives).

Tests: tests/op_registry/loss_regression.py, tests/test_activation_loss.py
"""
import warnings

from ..autograd.function import OpValueError
from ..ops import elementwise as _ew
from .loss import _Loss, _as_tensor, _check_float, _reduce, _reduction

__all__ = ["mse_loss", "l1_loss", "kl_div", "huber_loss", "smooth_l1_loss", "MSELoss", "L1Loss",
           "KLDivLoss", "HuberLoss", "SmoothL1Loss"]


# ---------------------------------------------------------------------------------------------
# mse_loss and l1_loss
# ---------------------------------------------------------------------------------------------
def _pointwise_loss(op, input, target, reduction, weight, distance):  # noqa: A002
    _check_float(op, input)
    target = _as_tensor(op, "target", target, input)
    if target.shape != input.shape:
        warnings.warn(f"{op}: using a target size {tuple(target.shape)} that is different to the "
                      f"input size {tuple(input.shape)}; the two will be broadcast, which is likely "
                      "not what you want", UserWarning, stacklevel=3)
    losses = distance(input - target)
    if weight is None:
        return _reduce(losses, reduction)
    if weight.shape != input.shape:
        raise ValueError(f"{op}: weight must have the input's shape {tuple(input.shape)}, got "
                         f"{tuple(weight.shape)}")
    weighted = losses * weight
    if reduction == "mean":
        return weighted.sum() / weight.sum()
    return _reduce(weighted, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: A002
    """Mean squared error: ℓᵢ = (xᵢ - yᵢ)²  (times wᵢ when ``weight`` is given).

    dℓᵢ/dxᵢ = 2 (xᵢ - yᵢ);  with ``'mean'`` every gradient is divided by the number of elements
    (by Σw for a weighted mean).  ``target`` broadcasts against ``input`` (with a warning, as in
    PyTorch) and may require grad too (dℓ/dy = -dℓ/dx).
    """
    reduction = _reduction("mse_loss", reduction, size_average, reduce)
    return _pointwise_loss("mse_loss", input, target, reduction, weight, lambda d: d * d)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: A002
    """Mean absolute error: ℓᵢ = |xᵢ - yᵢ|  (times wᵢ when ``weight`` is given).

    dℓᵢ/dxᵢ = sign(xᵢ - yᵢ)  (0 where they are equal, as PyTorch); ``'mean'`` divides by the
    number of elements (Σw for a weighted mean).
    """
    reduction = _reduction("l1_loss", reduction, size_average, reduce)
    return _pointwise_loss("l1_loss", input, target, reduction, weight, _ew.abs)


# ---------------------------------------------------------------------------------------------
# kl_div
# ---------------------------------------------------------------------------------------------
def _xlogx(t):
    """t · ln t with 0 · ln 0 = 0 (the limit), and NaN for t < 0 (as ``torch.xlogy(t, t)``)."""
    zero = t.array == 0
    safe = _ew.where(zero, 1.0, t)
    return _ew.where(zero, 0.0, t * _ew.log(safe))


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):  # noqa: A002
    """Kullback-Leibler divergence, pointwise ℓ = p · (ln p - x) with x = ``input`` = log q.

    ``log_target=False``: p = target, ℓ = p ln p - p x (0 where p = 0).
    ``log_target=True``:  target = ln p, ℓ = e^target · (target - x) (stable for tiny p).

    Gradients: dℓ/dx = -p;  dℓ/dtarget = ln p + 1 - x (p > 0), or e^t (t - x + 1) for log targets.
    (At p = 0 exactly we return 0 for dℓ/dp, where PyTorch returns NaN.)
    Reductions: 'none', 'sum', 'mean' (over all elements, with PyTorch's warning), 'batchmean'
    (the sum divided by input.shape[0]; the sum itself for a 0-d input)."""
    if size_average is not None or reduce is not None:
        reduction = _reduction("kl_div", "mean", size_average, reduce)
    elif reduction == "mean":
        warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size and the "
                      "support size; 'batchmean' divides only by the batch size and matches the KL "
                      "divergence's definition", UserWarning, stacklevel=2)
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise OpValueError(f"kl_div: reduction must be 'mean', 'batchmean', 'sum' or 'none', got "
                           f"{reduction!r}")
    _check_float("kl_div", input)
    target = _as_tensor("kl_div", "target", target, input)
    if log_target:
        losses = _ew.exp(target) * (target - input)
    else:
        losses = _xlogx(target) - target * input
    if reduction == "batchmean":
        total = losses.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(losses, reduction)


# ---------------------------------------------------------------------------------------------
# huber_loss and smooth_l1_loss
# ---------------------------------------------------------------------------------------------
def _residual(op, input, target):  # noqa: A002
    _check_float(op, input)
    target = _as_tensor(op, "target", target, input)
    if target.shape != input.shape:
        warnings.warn(f"{op}: using a target size {tuple(target.shape)} that is different to the "
                      f"input size {tuple(input.shape)}; the two will be broadcast, which is likely "
                      "not what you want", UserWarning, stacklevel=3)
    return input - target


def _quadratic_then_linear(d, width):
    """½ d² for |d| < width, width · (|d| - ½ width) beyond: the Huber curve."""
    a = _ew.abs(d)
    near = a.array < width
    return _ew.where(near, d * d * 0.5, (a - 0.5 * width) * width)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):  # noqa: A002
    """ℓ = ½ d² for |d| < δ, else δ (|d| - ½ δ), d = input - target.   dℓ/dinput = clamp(d, -δ, δ).

    ``weight`` (the input's shape) multiplies each ℓ; 'mean' then averages the weighted losses over
    the element count (PyTorch's rule for this loss, not Σ w·ℓ / Σ w)."""
    reduction = _reduction("huber_loss", reduction)
    if not delta > 0:
        raise OpValueError(f"huber_loss: delta must be positive, got {delta}")
    losses = _quadratic_then_linear(_residual("huber_loss", input, target), delta)
    if weight is not None:
        if tuple(weight.shape) != tuple(input.shape):
            raise OpValueError(f"huber_loss: weight must have the input's shape {tuple(input.shape)}, "
                               f"got {tuple(weight.shape)}")
        losses = losses * weight
    return _reduce(losses, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):  # noqa: A002
    """ℓ = ½ d² / β for |d| < β, else |d| - ½ β, d = input - target.   dℓ/dinput = clamp(d/β, -1, 1).

    ``beta=0`` is exactly the L1 loss |d| (the quadratic zone vanishes)."""
    reduction = _reduction("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise OpValueError(f"smooth_l1_loss: beta must not be negative, got {beta}")
    d = _residual("smooth_l1_loss", input, target)
    if beta == 0:
        return _reduce(_ew.abs(d), reduction)
    return _reduce(_quadratic_then_linear(d, beta) * (1.0 / beta), reduction)


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
class MSELoss(_Loss):
    def forward(self, input, target):  # noqa: A002
        return mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    def forward(self, input, target):  # noqa: A002
        return l1_loss(input, target, reduction=self.reduction)


class KLDivLoss(_Loss):
    """kl_div(input, target, reduction, log_target) as a module."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        if size_average is not None or reduce is not None:
            reduction = _reduction("KLDivLoss", "mean", size_average, reduce)
        super().__init__(reduction="mean" if reduction == "batchmean" else reduction)
        self.reduction, self.log_target = reduction, log_target

    def forward(self, input, target):  # noqa: A002
        return kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class HuberLoss(_Loss):
    """huber_loss(input, target, reduction, delta) as a module."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):  # noqa: A002
        return huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(_Loss):
    """smooth_l1_loss(input, target, reduction, beta) as a module."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):  # noqa: A002
        return smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)
