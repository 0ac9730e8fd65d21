"""Adam and AdamW: a step per parameter scaled by running estimates of the gradient's mean and
uncentred variance.

PyTorch's algorithm for one parameter θ with gradient g at step t (β₁, β₂ = betas, γ = lr,
λ = weight_decay, ε = eps):

    g ← g + λ θ                             Adam (L2 penalty folded into the gradient), or
    θ ← θ (1 - γ λ)                         AdamW (decoupled weight decay: shrink θ directly)
    m ← m + (1 - β₁)(g - m)                 first moment  (= β₁ m + (1-β₁) g)
    v ← β₂ v + (1 - β₂) g²                  second moment
    v̂ ← max(v̂, v) and use v̂ for v        if amsgrad
    θ ← θ - γ/(1 - β₁ᵗ) · m / (√v / √(1 - β₂ᵗ) + ε)

m and v start at 0, so early on they are biased toward 0; dividing by (1 - βᵗ) corrects that.
Each coordinate's step is about γ · mean/√(mean square): roughly γ in size whatever the scale of
its gradient.  With Adam, weight decay passes through that normalisation (and so barely acts on
parameters with large gradients); AdamW applies it outside, as a plain shrink (Loshchilov &
Hutter, "Decoupled Weight Decay Regularization").

The NumPy below (``_adam_step_reference``, the ``adam_step`` kernel's reference) follows PyTorch's
single-tensor implementation operation for operation, so that float32 results agree to rounding.  Its
fast tier (``kernels/adam_step.py``) does the same arithmetic in one pass over the arrays.
"""
from ..backend import array_module, kernel, register_kernel
from .optimizer import Optimizer, check_implementation_options


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015); ``decoupled_weight_decay=True`` makes it AdamW."""

    always_decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False, **implementation):
        name = type(self).__name__
        check_implementation_options(name, implementation)
        if lr < 0.0:
            raise ValueError(f"{name}: invalid learning rate {lr} (must be >= 0)")
        if eps < 0.0:
            raise ValueError(f"{name}: invalid epsilon value {eps} (must be >= 0)")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{name}: invalid beta parameter at index {i}: {beta} (must be in "
                                 "[0, 1))")
        if weight_decay < 0.0:
            raise ValueError(f"{name}: invalid weight_decay value {weight_decay} (must be >= 0)")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize,
                                      decoupled_weight_decay=bool(decoupled_weight_decay)))

    def update(self, param, grad, state, group):
        xp = array_module(param)
        (beta1, beta2) = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        max_exp_avg_sq = None
        if group["amsgrad"]:
            if "max_exp_avg_sq" not in state:  # amsgrad switched on after some steps
                state["max_exp_avg_sq"] = xp.zeros_like(param)
            max_exp_avg_sq = state["max_exp_avg_sq"]
        decoupled = self.always_decoupled or group.get("decoupled_weight_decay", False)
        kernel("adam_step", xp)(param, grad, state["exp_avg"], state["exp_avg_sq"], max_exp_avg_sq,
                                step=state["step"], lr=group["lr"], beta1=beta1, beta2=beta2,
                                eps=group["eps"], weight_decay=group["weight_decay"],
                                decoupled=decoupled, maximize=group["maximize"])


def _adam_step_reference(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, step, lr, beta1, beta2,
                         eps, weight_decay, decoupled, maximize):
    """One Adam/AdamW step of one parameter, in place on ``param``, ``exp_avg``, ``exp_avg_sq`` (and
    ``max_exp_avg_sq``, the running max of v, when amsgrad; else None).  ``step`` is t, counted from
    1.  ``grad`` is never modified.  The formulas are the module docstring's, in PyTorch's order."""
    xp = array_module(param)
    if maximize:
        grad = -grad
    grad = apply_weight_decay(param, grad, lr, weight_decay, decoupled)
    _lerp_(exp_avg, grad, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    bias_correction1 = 1 - beta1 ** step
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    step_size = lr / bias_correction1
    if max_exp_avg_sq is not None:
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    else:
        second = exp_avg_sq
    denom = xp.sqrt(second) / bias_correction2_sqrt
    denom += eps
    param += (-step_size) * exp_avg / denom


register_kernel("adam_step", "numpy", _adam_step_reference)


class AdamW(Adam):
    """Adam with decoupled weight decay (default 1e-2): θ ← θ(1 - γλ) before the Adam step."""

    always_decoupled = True  # even when a loaded param group says otherwise (as PyTorch)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, **implementation):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True, **implementation)


def apply_weight_decay(param, grad, lr, weight_decay, decoupled):
    """The two weight decays of the Adam family, returning the gradient to use:

        L2 penalty (Adam):         g ← g + λ θ        (the decay passes through the moments)
        decoupled (AdamW, 2019):   θ ← θ (1 - γ λ)    (in place; the gradient is unchanged)

    With λ = 0 neither happens."""
    if weight_decay == 0:
        return grad
    if decoupled:
        param *= 1 - lr * weight_decay
        return grad
    return grad + weight_decay * param


def _lerp_(start, end, weight):
    """start ← start + weight·(end - start), in place, computed as PyTorch's lerp does (from the
    nearer end, which is exact at weight 0 and 1)."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)
