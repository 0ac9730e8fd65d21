"""NAdam: Adam with Nesterov momentum — the step uses the momentum *one step ahead*.

PyTorch's algorithm for one parameter θ with gradient g at step t (β₁, β₂ = betas, γ = lr,
λ = weight_decay, ε = eps, ψ = momentum_decay):

    g ← -g                                   if maximize
    g ← g + λ θ                              L2 penalty, or
    θ ← θ (1 - γ λ)                          decoupled_weight_decay (as AdamW)
    μₜ = β₁ (1 - ½ · 0.96^(t ψ))             momentum schedule (warms up from β₁/2 to β₁)
    Π ← Π · μₜ                               running product μ₁ ⋯ μₜ ("mu_product", starts at 1)
    m ← m + (1 - β₁)(g - m)                  first moment
    v ← β₂ v + (1 - β₂) g²                   second moment
    d = √(v / (1 - β₂ᵗ)) + ε
    θ ← θ - γ (1 - μₜ)/(1 - Π) · g / d - γ μₜ₊₁/(1 - Π μₜ₊₁) · m / d

The first term is the fresh gradient, the second the momentum as it will be after the next step:
Nesterov's "look ahead" folded into Adam (Dozat, 2016, "Incorporating Nesterov Momentum into
Adam").  The (1 - Π) factors play the role of Adam's bias correction 1 - β₁ᵗ.

PyTorch keeps Π as a float32 scalar tensor; we round it to float32 after each product (and keep
it as a Python float) so that it rounds the same way.  The NumPy below follows PyTorch's
single-tensor implementation operation for operation, so that float32 results agree to rounding.
"""
import numpy as np

from ..backend import array_module
from ._checks import check_common
from .adam import _lerp_, apply_weight_decay
from .optimizer import Optimizer, check_implementation_options


class NAdam(Optimizer):
    """NAdam with PyTorch's options and defaults (lr=2e-3, momentum_decay=4e-3)."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, maximize=False,
                 **implementation):
        check_implementation_options("NAdam", implementation)
        check_common("NAdam", lr, eps, weight_decay, betas)
        if momentum_decay < 0.0:
            raise ValueError(f"NAdam: invalid momentum_decay value {momentum_decay} (must be >= 0)")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay,
                                      decoupled_weight_decay=bool(decoupled_weight_decay),
                                      maximize=maximize))

    def update(self, param, grad, state, group):
        xp = array_module(param)
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, psi = group["weight_decay"], group["momentum_decay"]
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        step = state["step"]
        if group["maximize"]:
            grad = -grad
        grad = apply_weight_decay(param, grad, lr, weight_decay, group["decoupled_weight_decay"])
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        mu_product = float(np.float32(np.float32(state["mu_product"]) * np.float32(mu)))
        state["mu_product"] = mu_product
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        denom = xp.sqrt(exp_avg_sq / (1 - beta2 ** step))
        denom += eps
        param += (-lr * (1.0 - mu) / (1.0 - mu_product)) * (grad / denom)
        param += (-lr * mu_next / (1.0 - mu_product * mu_next)) * (exp_avg / denom)
