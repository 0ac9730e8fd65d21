"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay.

PyTorch's algorithm, step by step for one parameter θ with gradient g (μ = momentum,
τ = dampening, λ = weight_decay, γ = lr):

    g ← -g                         if maximize
    g ← g + λ θ                    (L2 penalty λ/2 ‖θ‖², whose gradient is λ θ)
    if μ ≠ 0:
        b ← g                      on the first step, else   b ← μ b + (1 - τ) g
        g ← g + μ b                if nesterov  (look ahead along the velocity)
        g ← b                      otherwise
    θ ← θ - γ g

Momentum b is a running sum of past gradients: directions that agree from step to step add up,
directions that oscillate cancel.
"""
from .optimizer import Optimizer, check_implementation_options


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, **implementation):
        check_implementation_options("SGD", implementation)
        if lr < 0.0:
            raise ValueError(f"SGD: invalid learning rate {lr} (must be >= 0)")
        if momentum < 0.0:
            raise ValueError(f"SGD: invalid momentum value {momentum} (must be >= 0)")
        if weight_decay < 0.0:
            raise ValueError(f"SGD: invalid weight_decay value {weight_decay} (must be >= 0)")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def update(self, param, grad, state, group):
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay = group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param          # a new array: p.grad stays untouched
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= momentum
                buf += grad if dampening == 0 else (1 - dampening) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param -= lr * grad
