"""Adagrad: each coordinate's step shrinks with the sum of its squared gradients so far.

PyTorch's algorithm for one parameter θ with gradient g at step t (γ = lr, η = lr_decay,
λ = weight_decay, ε = eps, s₀ = initial_accumulator_value):

    g ← -g                              if maximize
    g ← g + λ θ                         (L2 penalty folded into the gradient)
    γₜ ← γ / (1 + (t - 1) η)            learning rate decayed with the step count
    s ← s + g²                          sum of squared gradients (starts at s₀)
    θ ← θ - γₜ g / (√s + ε)

Coordinates that keep receiving large gradients get ever smaller steps; rare features (a word
that appears once in a thousand batches) keep large ones (Duchi, Hazan & Singer, 2011).  Because
s only grows, the effective learning rate decays like 1/√t for a steady gradient — helpful for
convex problems, often too aggressive for deep networks (RMSprop and Adam replace the sum by a
running average).

The NumPy below follows PyTorch's single-tensor implementation operation for operation, so that
float32 results agree to rounding.
"""
from ..backend import array_module
from .optimizer import Optimizer, check_implementation_options


class Adagrad(Optimizer):
    """Adagrad with PyTorch's options (``lr_decay``, ``weight_decay``,
    ``initial_accumulator_value``, ``eps``, ``maximize``).  As in PyTorch, every parameter's
    state (``step`` = 0, ``sum`` = s₀) exists from construction on, so a fresh optimizer's
    ``state_dict()`` already holds it."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, *, maximize=False, **implementation):
        check_implementation_options("Adagrad", implementation)
        if lr < 0.0:
            raise ValueError(f"Adagrad: invalid learning rate {lr} (must be >= 0)")
        if lr_decay < 0.0:
            raise ValueError(f"Adagrad: invalid lr_decay value {lr_decay} (must be >= 0)")
        if weight_decay < 0.0:
            raise ValueError(f"Adagrad: invalid weight_decay value {weight_decay} (must be >= 0)")
        if initial_accumulator_value < 0.0:
            raise ValueError("Adagrad: invalid initial_accumulator_value value "
                             f"{initial_accumulator_value} (must be >= 0)")
        if eps < 0.0:
            raise ValueError(f"Adagrad: invalid epsilon value {eps} (must be >= 0)")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(self.state.setdefault(p, {}), p.array, group)

    @staticmethod
    def _init_state(state, param, group):
        if not state:
            state["step"] = 0
            state["sum"] = array_module(param).full_like(param, group["initial_accumulator_value"])

    def update(self, param, grad, state, group):
        self._init_state(state, param, group)   # a group added after construction
        state["step"] += 1
        step = state["step"]
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        state_sum = state["sum"]
        state_sum += grad * grad
        std = array_module(param).sqrt(state_sum)
        std += group["eps"]
        param += (-clr) * (grad / std)
