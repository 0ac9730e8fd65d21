"""Adadelta: a step whose size is set by the ratio of two running RMS values, so no learning rate
is needed in principle (PyTorch still multiplies by ``lr``, default 1.0).

PyTorch's algorithm for one parameter θ with gradient g (ρ = rho, ε = eps, γ = lr,
λ = weight_decay):

    g ← -g                               if maximize
    g ← g + λ θ                          (L2 penalty folded into the gradient)
    v ← ρ v + (1 - ρ) g²                 running mean of squared gradients
    Δ ← √(u + ε) / √(v + ε) · g          step: RMS of past steps over RMS of gradients
    u ← ρ u + (1 - ρ) Δ²                 running mean of squared steps
    θ ← θ - γ Δ

v and u start at 0.  The ratio has the units of θ (Zeiler, 2012, "ADADELTA: An Adaptive
Learning Rate Method"): if θ is in metres and the loss in joules, g is J/m, √u is m and √v is
J/m, so Δ comes out in metres, as a step should.  The first steps are small: u starts at 0, so
step 1 is √ε·g/√((1-ρ)g² + ε) ≈ √ε/√(1-ρ) ≈ 3e-3 per coordinate, and they grow as u accumulates.

The NumPy below follows PyTorch's single-tensor implementation operation for operation, so that
float32 results agree to rounding.
"""
from ..backend import array_module
from ._checks import check_common
from .optimizer import Optimizer, check_implementation_options


class Adadelta(Optimizer):
    """Adadelta with PyTorch's options and defaults (lr=1.0, rho=0.9, eps=1e-6)."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False,
                 **implementation):
        check_implementation_options("Adadelta", implementation)
        check_common("Adadelta", lr, eps, weight_decay)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta: invalid rho value {rho} (must be in [0, 1])")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def update(self, param, grad, state, group):
        xp = array_module(param)
        lr, rho, eps, weight_decay = group["lr"], group["rho"], group["eps"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param)
            state["acc_delta"] = xp.zeros_like(param)
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * grad * grad
        std = xp.sqrt(square_avg + eps)
        delta = xp.sqrt(acc_delta + eps)
        delta /= std
        delta *= grad
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        param += (-lr) * delta
