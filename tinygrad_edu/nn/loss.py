"""Loss functions: how wrong a prediction is, as one number to minimise.

All have PyTorch's signatures (including the deprecated ``size_average``/``reduce`` pair) and its
``reduction``: ``'none'`` keeps one loss per element (or sample), ``'sum'`` adds them, ``'mean'``
averages them — where a *weighted* mean divides by the total weight, not by the count.

Numerical stability is the lesson of this file.  Softmax followed by ``log`` overflows for logits
of ±1e4 (e^10000 is inf); the log-sum-exp trick does not:

    log softmax(x)ᵢ = xᵢ - m - ln Σⱼ e^(xⱼ - m),   m = maxⱼ xⱼ      (every exponent ≤ 0)

and the binary cross-entropy of a logit is written with softplus, never with log(sigmoid(x)).

The two classification losses on the hot path (``cross_entropy`` and ``nll_loss`` with class
indices) are fused ``Function``s: one node, whose backward is a single closed formula,

    d cross_entropy / d logits = (softmax(logits) - onehot(target)) / N     (plain mean case)

Without label smoothing the forward (the ``softmax_cross_entropy`` kernel) returns that array
too, so the backward is one scale; under ``create_graph`` it is written in Tensor ops instead,
so second derivatives work too.

This file holds the shared reduction helpers and the class-index losses (``nll_loss``,
``cross_entropy``); the binary ones are in ``loss_binary.py`` and the regression and distribution
losses (``mse_loss``, ``l1_loss``, ``huber_loss``, ``smooth_l1_loss``, ``kl_div``) in
``loss_regression.py``.

Tests: tests/op_registry/loss.py, tests/test_nn_functional.py
"""
import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from ..backend import array_module, kernel, register_kernel, to_device
from ..ops import reduce as _red
from ..tensor import Tensor
from .module import Module

__all__ = ["nll_loss", "cross_entropy", "NLLLossFunction", "NLLLoss", "CrossEntropyLoss"]


_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------------------------------
# reduction helpers
# ---------------------------------------------------------------------------------------------
def _reduction(op, reduction, size_average=None, reduce=None):
    """The reduction string, translating PyTorch's deprecated ``size_average``/``reduce`` pair."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if (size_average and reduce) else "sum" if reduce else "none"
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def _reduce(losses, reduction):
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


def _as_tensor(op, name, value, like):
    if isinstance(value, Tensor):
        return value
    try:
        return Tensor._wrap(array_module(like.array).asarray(value, dtype=like.dtype))
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}") from None


def _check_float(op, input):  # noqa: A002
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a floating point tensor, got dtype {input.dtype} "
                        f"(shape {tuple(input.shape)})")


# ---------------------------------------------------------------------------------------------
# classification with class indices: nll_loss and cross_entropy
# ---------------------------------------------------------------------------------------------
def _class_index_inputs(op, input, target, weight, ignore_index):  # noqa: A002
    """Check the shapes, dtypes and values of a class-index loss and flatten it to rows:
    input (N, C, d1, ...) becomes (M, C) with M = N·d1·…, target becomes (M,).
    Returns (rows, flat_target, weight_array, target_shape)."""
    t = target.array if isinstance(target, Tensor) else np.asarray(target)
    t = to_device(t, input.device)  # the indices live where the logits do
    n_classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    expected = () if input.ndim == 1 else (input.shape[0],) + tuple(input.shape[2:])
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold class indices as an integer tensor (int64) of shape "
                        f"{expected} for input of shape {tuple(input.shape)}, or (cross_entropy only) "
                        f"class probabilities as a float tensor of the input's shape; got dtype "
                        f"{t.dtype} and shape {tuple(t.shape)}")
    if t.shape != expected:
        if input.ndim >= 2 and t.ndim >= 1 and t.shape[0] != input.shape[0]:
            raise ValueError(f"{op}: expected input batch_size ({input.shape[0]}) to match target "
                             f"batch_size ({t.shape[0]}): input {tuple(input.shape)}, target "
                             f"{tuple(t.shape)}")
        raise ValueError(f"{op}: target of shape {tuple(t.shape)} does not fit input of shape "
                         f"{tuple(input.shape)}; class indices need shape {expected}")
    if n_classes == 0:
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} has no classes")
    if t.size:
        bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
        if bad.any():
            value = int(t[bad].reshape(-1)[0])
            raise IndexError(f"{op}: target class index {value} is out of range for input of shape "
                             f"{tuple(input.shape)} with {n_classes} classes; indices must be in "
                             f"[0, {n_classes}) or equal ignore_index={ignore_index}")
    w = None
    if weight is not None:
        if getattr(weight, "requires_grad", False):
            raise RuntimeError(f"{op}: the class weight is a constant of the loss (it is not "
                               "differentiable); pass weight.detach()")
        w = weight.array if isinstance(weight, Tensor) else np.asarray(weight)
        if w.shape != (n_classes,):
            raise ValueError(f"{op}: weight must be a 1-D tensor with one entry per class, shape "
                             f"({n_classes},) for input {tuple(input.shape)}; got {tuple(w.shape)}")
        w = array_module(input.array).asarray(w, dtype=input.dtype)
    if input.ndim == 1:
        rows = input.reshape(1, n_classes)
    elif input.ndim == 2:
        rows = input
    else:  # move the class dim last, then every position is one row
        rows = input.permute(0, *range(2, input.ndim), 1).reshape(-1, n_classes)
    return rows, t.reshape(-1), w, t.shape


def _row_weights(target, weight, ignore_index, dtype):
    """For each row: its class index made safe (ignored rows point at class 0), whether it counts,
    and its weight w[target] (0 for ignored rows)."""
    xp = array_module(target)
    valid = target != ignore_index
    safe = xp.where(valid, target, 0)
    row_weight = valid.astype(dtype) if weight is None else xp.where(valid, weight[safe], 0).astype(dtype)
    return safe, valid, row_weight


def _reduce_rows(losses, row_weight, reduction):
    """Reduce per-row losses; also return the factor each row's gradient is scaled by."""
    if reduction == "none":
        return losses, 1.0
    total = losses.sum()
    if reduction == "sum":
        return total, 1.0
    denominator = row_weight.sum()  # a weighted mean divides by the total weight
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / denominator    # nan when every row is ignored, as in PyTorch
    return mean, (1.0 / float(denominator) if denominator != 0 else 0.0)


def _scale_grad(g, reduction):
    return g.reshape(-1, 1) if reduction == "none" else g


class NLLLossFunction(Function):
    """Negative log-likelihood of the target class, from log-probabilities z (M rows, C classes):

        ℓᵢ = -w[tᵢ] · z[i, tᵢ]            (0 for rows whose target is ``ignore_index``)
        dℓᵢ/dz[i, c] = -w[tᵢ] · [c = tᵢ]   (a one-hot row, scaled)

    'mean' divides the sum (and so every gradient) by Σᵢ w[tᵢ] over the rows that count.
    The loss is linear in z, so its backward is a constant times g.
    """

    @staticmethod
    def forward(ctx, log_probs, target=None, weight=None, ignore_index=-100, reduction="mean"):
        xp = array_module(log_probs)
        rows = xp.arange(log_probs.shape[0])
        safe, valid, row_weight = _row_weights(target, weight, ignore_index, log_probs.dtype)
        losses = xp.where(valid, -row_weight * log_probs[rows, safe], 0).astype(log_probs.dtype)
        out, scale = _reduce_rows(losses, row_weight, reduction)
        ctx.shape, ctx.safe, ctx.reduction = log_probs.shape, safe, reduction
        ctx.coefficient = -row_weight * scale
        return out

    @staticmethod
    def backward(ctx, g):
        xp = array_module(ctx.safe)
        coefficient = xp.zeros(ctx.shape, dtype=g.dtype)
        coefficient[xp.arange(ctx.shape[0]), ctx.safe] = ctx.coefficient
        return Tensor._wrap(coefficient) * _scale_grad(g, ctx.reduction)


class CrossEntropyWithIndices(Function):
    """log_softmax and nll_loss fused: logits x (M rows, C classes), class indices t.

    With p = softmax(xᵢ), ε = label_smoothing and class weights w (all 1 when not given), each
    counted row's target distribution is  qᵢ = (1-ε)·w[tᵢ]·onehot(tᵢ) + (ε/C)·w, and

        ℓᵢ = -Σ_c qᵢc · log pᵢc
        dℓᵢ/dxᵢ = pᵢ · Σ_c qᵢc - qᵢ          (= pᵢ - onehot(tᵢ) in the plain case)

    because d log pᵢc / dxᵢ = onehot(c) - pᵢ.  'mean' divides by Σᵢ w[tᵢ] over counted rows
    (PyTorch uses that one denominator for the smoothing term too).  The forward computes
    log p with the log-sum-exp shift (stable for any logits).  Without smoothing (the hot case)
    it runs the ``softmax_cross_entropy`` kernel, which also returns w[tᵢ]·(pᵢ - onehot(tᵢ)):
    the backward is then that array times g (and the 'mean' factor), one pass.  With smoothing
    it keeps p and builds q in the backward.  Under ``create_graph`` p is recomputed from x in
    Tensor ops so that its dependence on x is recorded for second derivatives.
    """

    @staticmethod
    def forward(ctx, logits, target=None, weight=None, ignore_index=-100, label_smoothing=0.0,
                reduction="mean"):
        xp = array_module(logits)
        safe, valid, row_weight = _row_weights(target, weight, ignore_index, logits.dtype)
        ctx.dlogits = None
        if label_smoothing > 0:
            losses, probs = _smoothed_losses(logits, safe, valid, row_weight, weight, label_smoothing)
            ctx.save_for_backward(logits, probs)
        else:
            losses, ctx.dlogits = kernel("softmax_cross_entropy", xp)(logits, safe, valid, row_weight)
            ctx.save_for_backward(logits)
        out, scale = _reduce_rows(losses, row_weight, reduction)
        ctx.safe, ctx.valid, ctx.row_weight, ctx.weight = safe, valid, row_weight, weight
        ctx.smoothing, ctx.scale, ctx.reduction = label_smoothing, scale, reduction
        return out

    @staticmethod
    def backward(ctx, g):
        saved = ctx.saved_tensors
        logits = saved[0]
        if ctx.dlogits is not None and not grad_mode.state.enabled:   # the plain case: a scale
            scale = g.array * ctx.scale if ctx.reduction != "none" else g.array.reshape(-1, 1)
            return Tensor._wrap((ctx.dlogits * scale).astype(ctx.dlogits.dtype, copy=False))
        if grad_mode.state.enabled:  # create_graph: make p a recorded function of the logits
            probs = _red.softmax(logits, 1)
        else:
            probs = saved[1]
        xp = array_module(ctx.safe)
        m, c = probs.shape
        eps = ctx.smoothing
        q = xp.zeros((m, c), dtype=g.dtype)
        q[xp.arange(m), ctx.safe] = (1 - eps) * ctx.row_weight * ctx.scale
        if eps > 0:
            w = ctx.weight if ctx.weight is not None else xp.ones(c, dtype=g.dtype)
            q += ((eps / c) * ctx.scale * ctx.valid.astype(g.dtype))[:, None] * w[None, :]
        q_total = q.sum(axis=1, keepdims=True)
        return (probs * Tensor._wrap(q_total) - Tensor._wrap(q)) * _scale_grad(g, ctx.reduction)


def _log_softmax_rows(logits):
    """(log p, p) of every row, with the log-sum-exp shift (no overflow for any logits)."""
    xp = array_module(logits)
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = xp.exp(shifted)
    total = probs.sum(axis=1, keepdims=True)
    log_probs = shifted - xp.log(total)
    probs /= total
    return log_probs, probs


def _softmax_cross_entropy_reference(logits, target, valid, row_weight):
    """(losses, dlogits) for logits (M, C), safe class indices ``target`` (M,), the rows that count
    (``valid``) and their weights w[tᵢ] (0 where not counted):

        lossᵢ = -w[tᵢ] · log softmax(xᵢ)[tᵢ]   (0 where not counted)
        dlogitsᵢ = w[tᵢ] · (softmax(xᵢ) - onehot(tᵢ))     (the gradient of Σ lossᵢ)

    — the NumPy reference of the ``softmax_cross_entropy`` kernel."""
    xp = array_module(logits)
    log_probs, probs = _log_softmax_rows(logits)
    rows = xp.arange(logits.shape[0])
    losses = xp.where(valid, -row_weight * log_probs[rows, target], 0).astype(logits.dtype)
    probs[rows, target] -= 1
    probs *= row_weight[:, None]
    return losses, probs


register_kernel("softmax_cross_entropy", "numpy", _softmax_cross_entropy_reference)


def _smoothed_losses(logits, safe, valid, row_weight, weight, eps):
    """Per-row losses with label smoothing ε, and p for the backward."""
    xp = array_module(logits)
    c = logits.shape[1]
    log_probs, probs = _log_softmax_rows(logits)
    rows = xp.arange(logits.shape[0])
    losses = xp.where(valid, -row_weight * log_probs[rows, safe], 0).astype(logits.dtype)
    smooth = -(log_probs @ weight if weight is not None else log_probs.sum(axis=1))
    losses = (1 - eps) * losses + (eps / c) * xp.where(valid, smooth, 0).astype(logits.dtype)
    return losses, probs


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100,  # noqa: A002
             reduce=None, reduction="mean"):
    """Negative log-likelihood loss for log-probabilities ``input`` (usually ``log_softmax``):
    input (C,), (N, C) or (N, C, d1, ...); target class indices (), (N,) or (N, d1, ...).

        ℓ = -w[t] · input[t]        'mean': Σ ℓ / Σ w[t] over targets ≠ ignore_index

    dℓ/d input = -w[t] at the target class, 0 elsewhere (see ``NLLLossFunction``).
    """
    reduction = _reduction("nll_loss", reduction, size_average, reduce)
    _check_float("nll_loss", input)
    rows, flat, w, target_shape = _class_index_inputs("nll_loss", input, target, weight, ignore_index)
    out = NLLLossFunction.apply(rows, target=flat, weight=w, ignore_index=ignore_index, reduction=reduction)
    return out.reshape(target_shape) if reduction == "none" else out


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,  # noqa: A002
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between the softmax of the logits ``input`` and the target.

    Shapes as PyTorch: input (C,), (N, C) or (N, C, d1, ...), classes along dim 1 (dim 0 when
    unbatched).  The target is either

    * **class indices** (an integer tensor of shape (), (N,) or (N, d1, ...)):
      ℓ = -(1-ε) w[t] log p[t] - (ε/C) Σ_c w[c] log p[c];  'mean' divides by Σ w[t];
      entries equal to ``ignore_index`` contribute nothing and are not counted; or
    * **class probabilities** (a float tensor of the input's shape):
      ℓ = -Σ_c w[c] · y'[c] · log p[c] with y' = (1-ε)·y + ε/C;  'mean' divides by N·d1·….

    p = softmax(input) along the class dim, ε = ``label_smoothing``.  The gradient with respect to
    the logits is p·Σq - q for the target distribution q (p - onehot(t) in the plain case), see
    ``CrossEntropyWithIndices``.  Stable for logits of any size (log-sum-exp).
    """
    op = "cross_entropy"
    reduction = _reduction(op, reduction, size_average, reduce)
    _check_float(op, input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have at least 1 dim ((C,), (N, C) or (N, C, d1, ...)), "
                         "got a 0-d tensor")
    if isinstance(target, Tensor) and target.shape == input.shape and target.ndim:
        return _cross_entropy_probabilities(input, target, weight, ignore_index, reduction,
                                            label_smoothing)
    rows, flat, w, target_shape = _class_index_inputs(op, input, target, weight, ignore_index)
    out = CrossEntropyWithIndices.apply(rows, target=flat, weight=w, ignore_index=ignore_index,
                                        label_smoothing=label_smoothing, reduction=reduction)
    return out.reshape(target_shape) if reduction == "none" else out


def _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, smoothing):  # noqa: A002
    """Soft targets, in plain Tensor ops (so the target may require grad too)."""
    op = "cross_entropy"
    if target.dtype.kind != "f":
        raise TypeError(f"{op}: a target with the input's shape {tuple(input.shape)} is read as class "
                        f"probabilities and must be floating point, got dtype {target.dtype}; class "
                        f"indices need shape {tuple(input.shape[:1] + input.shape[2:])}")
    if ignore_index >= 0:
        raise ValueError(f"{op}: ignore_index ({ignore_index}) is not supported for class-probability "
                         "targets")
    class_dim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_dim]
    if smoothing > 0:
        target = target * (1 - smoothing) + smoothing / n_classes
    weighted = _red.log_softmax(input, class_dim) * target
    if weight is not None:
        if tuple(weight.shape) != (n_classes,):
            raise ValueError(f"{op}: weight must have shape ({n_classes},) for input "
                             f"{tuple(input.shape)}, got {tuple(weight.shape)}")
        shape = [1] * input.ndim
        shape[class_dim] = n_classes
        weighted = weighted * weight.reshape(shape)
    losses = -weighted.sum(class_dim)
    if reduction == "mean":
        count = input.numel() // n_classes
        return losses.sum() / count if count else losses.sum() * float("nan")
    return _reduce(losses, reduction)


# ---------------------------------------------------------------------------------------------
# modules (the losses with their options stored)
# ---------------------------------------------------------------------------------------------
class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = _reduction(type(self).__name__, reduction, size_average, reduce)


class NLLLoss(_Loss):
    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input, target):  # noqa: A002
        return nll_loss(input, target, self.weight, ignore_index=self.ignore_index,
                        reduction=self.reduction)


class CrossEntropyLoss(NLLLoss):
    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean", label_smoothing=0.0):
        super().__init__(weight, size_average, ignore_index, reduce, reduction)
        self.label_smoothing = label_smoothing

    def forward(self, input, target):  # noqa: A002
        return cross_entropy(input, target, self.weight, ignore_index=self.ignore_index,
                             reduction=self.reduction, label_smoothing=self.label_smoothing)
