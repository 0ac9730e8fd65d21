"""Adamax: Adam with the second moment replaced by a running *maximum* of |g| (the L∞ norm).

PyTorch's algorithm for one parameter θ with gradient g at step t (β₁, β₂ = betas, γ = lr,
λ = weight_decay, ε = eps):

    g ← -g                               if maximize
    g ← g + λ θ                          (L2 penalty folded into the gradient)
    m ← m + (1 - β₁)(g - m)              first moment, as in Adam
    u ← max(β₂ u, |g| + ε)               exponentially weighted infinity norm
    θ ← θ - γ/(1 - β₁ᵗ) · m / u

Adam's v is a mean of g²; taking the limit of a mean of |g|ᵖ as p → ∞ gives this max (Kingma &
Ba, 2015, section 7.1).  u needs no bias correction: a max is not pulled toward its zero start.
The step is bounded by γ/(1 - β₁ᵗ) in every coordinate.

The NumPy below follows PyTorch's single-tensor implementation operation for operation, so that
float32 results agree to rounding.
"""
from ..backend import array_module
from ._checks import check_common
from .adam import _lerp_
from .optimizer import Optimizer, check_implementation_options


class Adamax(Optimizer):
    """Adamax with PyTorch's options and defaults (lr=2e-3, betas=(0.9, 0.999), eps=1e-8)."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, *,
                 maximize=False, **implementation):
        check_implementation_options("Adamax", implementation)
        check_common("Adamax", lr, eps, weight_decay, betas)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def update(self, param, grad, state, group):
        xp = array_module(param)
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_inf"] = xp.zeros_like(param)
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_inf *= beta2
        xp.maximum(exp_inf, xp.abs(grad) + eps, out=exp_inf)
        clr = lr / (1 - beta1 ** state["step"])
        param += (-clr) * (exp_avg / exp_inf)
