"""Binary classification losses: ``binary_cross_entropy`` of probabilities and
``binary_cross_entropy_with_logits`` of logits, as functions and as modules (``nn.BCELoss``,
``nn.BCEWithLogitsLoss``).

The logit form is written with softplus, never with log(sigmoid(x)), so it is stable for logits of
any size (see ``loss.py``'s docstring for the lesson, and the reduction helpers).

Tests: tests/op_registry/loss_binary.py, tests/test_nn_functional.py
"""
import numpy as np

from ..autograd.function import Function
from ..backend import array_module
from ..ops import elementwise as _ew
from ..tensor import Tensor
from .loss import _Loss, _as_tensor, _check_float, _reduce, _reduction

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "BCELoss",
           "BCEWithLogitsLoss"]


class BinaryCrossEntropy(Function):
    """ℓ = -w · [t · log x + (1-t) · log(1-x)] for probabilities x in [0, 1], each log clamped
    at -100 (so x = 0 or 1 gives a large finite loss, as in PyTorch).

        dℓ/dx = w · (x - t) / max(x(1-x), 1e-12)
        dℓ/dt = w · (log(1-x) - log x) = -w · logit(x)
    """

    @staticmethod
    def forward(ctx, x, t, weight=None):
        xp = array_module(x)
        with np.errstate(divide="ignore"):
            log_x = xp.maximum(xp.log(x), -100)
            log_1mx = xp.maximum(xp.log1p(-x), -100)
        losses = (t - 1) * log_1mx - t * log_x
        if weight is not None:
            losses = losses * weight
        ctx.save_for_backward(x, t)
        ctx.weight = weight
        return losses.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        need_x, need_t = ctx.needs_input_grad
        if ctx.weight is not None:
            g = g * Tensor._wrap(ctx.weight)
        grad_x = g * (x - t) / ((1 - x) * x).clamp(min=1e-12) if need_x else None
        grad_t = None
        if need_t:  # -logit(x), unclamped as in PyTorch (±inf at x = 0 or 1)
            with np.errstate(divide="ignore"):
                grad_t = -g * (x / (1 - x)).log()
        return grad_x, grad_t


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                         reduction="mean"):
    """Binary cross-entropy between probabilities ``input`` (in [0, 1]) and ``target`` of the
    same shape: ℓ = -w·[t·log x + (1-t)·log(1-x)].  See ``BinaryCrossEntropy`` for the gradients.
    For raw scores use ``binary_cross_entropy_with_logits``: it is stable, this one is not."""
    op = "binary_cross_entropy"
    reduction = _reduction(op, reduction, size_average, reduce)
    _check_float(op, input)
    target = _as_tensor(op, "target", target, input)
    if target.shape != input.shape:
        raise ValueError(f"{op}: using a target size {tuple(target.shape)} that is different to the "
                         f"input size {tuple(input.shape)} is not supported; make them the same")
    x = input.array
    if x.size and ((x < 0).any() or (x > 1).any()):
        raise ValueError(f"{op}: all elements of input should be between 0 and 1; input of shape "
                         f"{tuple(input.shape)} has values from {float(x.min())} to {float(x.max())} "
                         "(apply sigmoid first, or use binary_cross_entropy_with_logits)")
    w = None
    if weight is not None:
        if getattr(weight, "requires_grad", False):
            raise RuntimeError(f"{op}: weight is a constant of the loss (not differentiable); pass "
                               "weight.detach()")
        w = weight.array if isinstance(weight, Tensor) else np.asarray(weight)
        try:
            w = array_module(x).broadcast_to(w, x.shape).astype(x.dtype)
        except ValueError:
            raise ValueError(f"{op}: weight of shape {tuple(w.shape)} cannot be broadcast to the "
                             f"input's shape {tuple(x.shape)}") from None
    losses = BinaryCrossEntropy.apply(input, target.to(input.dtype), weight=w)
    return _reduce(losses, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,  # noqa: A002
                                     reduce=None, reduction="mean", pos_weight=None):
    """Binary cross-entropy of the logit ``input`` (x) against ``target`` (t), computed stably.

    With σ the sigmoid, log σ(x) = -softplus(-x) and log(1 - σ(x)) = -x - softplus(-x), so

        ℓ = -[pw·t·log σ(x) + (1-t)·log(1-σ(x))] = (1-t)·x + (1 + (pw-1)·t)·softplus(-x)

    softplus(z) = ln(1 + e^z) never overflows (for large z it is z itself), so logits of ±1e4
    give exact losses.  ``pos_weight`` (pw, broadcast along the last dim) weighs the positive
    term; ``weight`` multiplies the result.  Gradient:

        dℓ/dx = (1 + (pw-1)·t)·σ(x) - pw·t        (σ(x) - t without pos_weight)
    """
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(op, reduction, size_average, reduce)
    _check_float(op, input)
    target = _as_tensor(op, "target", target, input)
    if target.shape != input.shape:
        raise ValueError(f"{op}: target size {tuple(target.shape)} must be the same as input size "
                         f"{tuple(input.shape)}")
    target = target.to(input.dtype)
    softplus_neg = _ew.softplus(-input)  # = -log σ(x)
    if pos_weight is not None:
        pos_weight = _as_tensor(op, "pos_weight", pos_weight, input)
        losses = (1 - target) * input + ((pos_weight - 1) * target + 1) * softplus_neg
    else:
        losses = (1 - target) * input + softplus_neg
    if weight is not None:
        losses = losses * _as_tensor(op, "weight", weight, input)
    return _reduce(losses, reduction)


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
class BCELoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)

    def forward(self, input, target):  # noqa: A002
        return binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean",
                 pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):  # noqa: A002
        return binary_cross_entropy_with_logits(input, target, self.weight,
                                                reduction=self.reduction,
                                                pos_weight=self.pos_weight)
