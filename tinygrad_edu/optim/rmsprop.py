"""RMSprop: divide each step by a running root-mean-square of recent gradients.

PyTorch's algorithm for one parameter θ with gradient g (γ = lr, α = alpha, ε = eps,
λ = weight_decay, μ = momentum):

    g ← -g                              if maximize
    g ← g + λ θ                         (L2 penalty folded into the gradient)
    v ← α v + (1 - α) g²                running mean of the squared gradient
    if centered:
        ḡ ← ḡ + (1 - α)(g - ḡ)          running mean of the gradient (= α ḡ + (1-α) g)
        d ← √(v - ḡ²) + ε               ≈ standard deviation: a variance estimate
    else:
        d ← √v + ε                      root mean square
    if μ > 0:
        b ← μ b + g / d                 momentum on the normalised step
        θ ← θ - γ b
    else:
        θ ← θ - γ g / d

v, ḡ and b start at 0.  Dividing by d makes each coordinate's step about γ in size whatever
the scale of its gradient: steep directions are damped and flat ones sped up (Hinton's
Coursera lecture 6e; ``centered`` is Graves, 2013).  Unlike Adam there is no bias correction,
so the first steps are large: v starts at 0 and reaches (1-α)g² after one step, giving a first
step of γ/√(1-α) = 10γ for α = 0.99.

The NumPy below follows PyTorch's single-tensor implementation operation for operation, so that
float32 results agree to rounding.
"""
from ..backend import array_module
from .adam import _lerp_
from .optimizer import Optimizer, check_implementation_options


class RMSprop(Optimizer):
    """RMSprop with PyTorch's options: ``alpha`` (smoothing of the squared-gradient average),
    ``centered`` (divide by a variance estimate instead), ``momentum``, ``weight_decay`` (L2),
    ``maximize``."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False, **implementation):
        check_implementation_options("RMSprop", implementation)
        if lr < 0.0:
            raise ValueError(f"RMSprop: invalid learning rate {lr} (must be >= 0)")
        if eps < 0.0:
            raise ValueError(f"RMSprop: invalid epsilon value {eps} (must be >= 0)")
        if momentum < 0.0:
            raise ValueError(f"RMSprop: invalid momentum value {momentum} (must be >= 0)")
        if weight_decay < 0.0:
            raise ValueError(f"RMSprop: invalid weight_decay value {weight_decay} (must be >= 0)")
        if alpha < 0.0:
            raise ValueError(f"RMSprop: invalid alpha value {alpha} (must be >= 0)")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def update(self, param, grad, state, group):
        xp = array_module(param)
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        weight_decay, momentum = group["weight_decay"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param)
        # buffers for options switched on after some steps start at 0 too (as PyTorch's would
        # have, had it created them on the first step)
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = xp.zeros_like(param)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = xp.zeros_like(param)
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param          # a new array: p.grad stays untouched
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            _lerp_(grad_avg, grad, 1 - alpha)
            avg = xp.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = xp.sqrt(square_avg)
        avg += eps
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += grad / avg
            param -= lr * buf
        else:
            param += (-lr) * (grad / avg)
