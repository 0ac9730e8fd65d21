"""RAdam: Adam whose adaptive step is switched on gradually, by how trustworthy v already is.

PyTorch's algorithm for one parameter θ with gradient g at step t (β₁, β₂ = betas, γ = lr,
λ = weight_decay, ε = eps):

    g ← -g                                   if maximize
    g ← g + λ θ                              L2 penalty, or
    θ ← θ (1 - γ λ)                          decoupled_weight_decay (as AdamW)
    m ← m + (1 - β₁)(g - m);  v ← β₂ v + (1 - β₂) g²
    m̂ = m / (1 - β₁ᵗ)
    ρ∞ = 2/(1 - β₂) - 1;  ρₜ = ρ∞ - 2 t β₂ᵗ / (1 - β₂ᵗ)    length of the average behind v
    if ρₜ > 5:
        r = √((ρₜ - 4)(ρₜ - 2) ρ∞ / ((ρ∞ - 4)(ρ∞ - 2) ρₜ))  variance rectification
        θ ← θ - γ m̂ · r · √(1 - β₂ᵗ) / (√v + ε)
    else:
        θ ← θ - γ m̂                                            plain momentum SGD

In the first steps v averages only a few squared gradients, so 1/√v has a huge variance and Adam's
steps are erratic (the reason people use warm-up).  r is the factor that makes the variance of
the adaptive step equal to its long-run value; it is undefined for ρₜ ≤ 4, so the first few
steps (5 with β₂ = 0.999) are un-adapted (Liu et al., 2020, "On the Variance of the Adaptive
Learning Rate and Beyond").

The NumPy below follows PyTorch's single-tensor implementation operation for operation, so that
float32 results agree to rounding.
"""
from ..backend import array_module
from ._checks import check_common
from .adam import _lerp_, apply_weight_decay
from .optimizer import Optimizer, check_implementation_options


class RAdam(Optimizer):
    """RAdam with PyTorch's options and defaults (lr=1e-3, betas=(0.9, 0.999), eps=1e-8)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, maximize=False, **implementation):
        check_implementation_options("RAdam", implementation)
        check_common("RAdam", lr, eps, weight_decay, betas)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=bool(decoupled_weight_decay),
                                      maximize=maximize))

    def update(self, param, grad, state, group):
        xp = array_module(param)
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay = group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        step = state["step"]
        if group["maximize"]:
            grad = -grad
        grad = apply_weight_decay(param, grad, lr, weight_decay, group["decoupled_weight_decay"])
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        corrected = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = bias_correction2 ** 0.5 / (xp.sqrt(exp_avg_sq) + eps)
            param -= corrected * lr * adaptive * rect
        else:
            param -= corrected * lr
