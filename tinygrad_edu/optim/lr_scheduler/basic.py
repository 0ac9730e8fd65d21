"""The basic schedules of ``optim.lr_scheduler``: each follows one formula of the step count t.

``LambdaLR`` (η₀ · λ(t), your function), ``StepLR`` (a staircase), ``MultiStepLR`` (γ at chosen
epochs), ``ExponentialLR`` (γᵗ), ``CosineAnnealingLR`` (half a cosine down to η_min) and
``LinearLR`` (a straight-line warm-up).  Except for ``LambdaLR`` they are computed, as in PyTorch,
by a recursion (ηₜ = ηₜ₋₁ · factor) whose closed form each docstring gives; ``step(epoch)``
jumps to the closed form.  The base class is in ``base.py``; ``OneCycleLR``,
``ReduceLROnPlateau`` and ``SequentialLR`` have files of their own.
"""
import math
import types
from bisect import bisect_right
from collections import Counter

from .base import LRScheduler, _check_optimizer, _current_lrs


class LambdaLR(LRScheduler):
    """ηₜ = η₀ · λ(t), for a function λ you give (one per parameter group, or one for all).

    Example, a 5-epoch linear warm-up: ``LambdaLR(opt, lambda t: min(1.0, (t + 1) / 5))``.
    ``state_dict()`` cannot save plain functions or lambdas (it stores ``None`` for them); the
    attributes of a callable *object* are saved and restored.
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.optimizer = optimizer
        _check_optimizer(optimizer)
        if not isinstance(lr_lambda, (list, tuple)):
            self.lr_lambdas = [lr_lambda] * len(optimizer.param_groups)
        else:
            if len(lr_lambda) != len(optimizer.param_groups):
                raise ValueError(f"LambdaLR: expected {len(optimizer.param_groups)} lr_lambdas "
                                 f"(one per parameter group), but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda should be a function, but got "
                                f"{type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else fn.__dict__.copy()
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        lr_lambdas = state.pop("lr_lambdas")
        self.__dict__.update(state)
        for fn, saved in zip(self.lr_lambdas, lr_lambdas):
            if saved is not None:
                fn.__dict__.update(saved)

    def get_lr(self):
        self._warn_if_called_outside_step()
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class StepLR(LRScheduler):
    """Multiply the lr by γ every ``step_size`` epochs: a staircase.

        ηₜ = η₀ · γ^⌊t / step_size⌋

    Recursively: ηₜ = ηₜ₋₁ · γ when t is a positive multiple of step_size, else ηₜ = ηₜ₋₁.
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_if_called_outside_step()
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _current_lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by γ at each of the given epochs (the milestones):

        ηₜ = η₀ · γ^(number of milestones ≤ t)

    e.g. ``milestones=[30, 80]``: η₀ for t < 30, η₀γ for 30 ≤ t < 80, η₀γ² after.  A milestone
    listed twice multiplies by γ².
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_if_called_outside_step()
        if self.last_epoch not in self.milestones:
            return _current_lrs(self.optimizer)
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch]
                for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by γ every epoch: ηₜ = η₀ · γᵗ (recursively ηₜ = ηₜ₋₁ · γ)."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_if_called_outside_step()
        if self._is_initial:
            return _current_lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from η₀ down to η_min (``eta_min``) over ``T_max`` epochs
    (Loshchilov & Hutter, "SGDR", without the restarts):

        ηₜ = η_min + ½ (η₀ - η_min) (1 + cos(π t / T_max))

    The lr falls slowly at first, fastest at t = T_max/2, slowly again near η_min.  Stepped past
    T_max it climbs back up along the same cosine (period 2·T_max).

    Computed, as PyTorch does, by the recursion that follows the formula exactly in real
    arithmetic (and so also respects changes other code makes to the lr):

        ηₜ = η_min + (ηₜ₋₁ - η_min) · (1 + cos(π t / T_max)) / (1 + cos(π (t-1) / T_max))

    except at the bottom of each period (t - 1 - T_max divisible by 2·T_max), where that ratio
    is 0/0 and the step back up is added instead:  ηₜ = ηₜ₋₁ + (η₀ - η_min)(1 - cos(π/T_max))/2.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_if_called_outside_step()
        t, T = self.last_epoch, self.T_max
        if self._is_initial:
            return _current_lrs(self.optimizer)
        if self._step_count == 1 and t > 0:
            return [self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(t * math.pi / T)) / 2
                    for base_lr in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [group["lr"] + (base_lr - self.eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (group["lr"] - self.eta_min) + self.eta_min
                for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the lr by a factor that moves in a straight line from ``start_factor`` to
    ``end_factor`` over ``total_iters`` epochs, then stays (the usual *warm-up*):

        ηₜ = η₀ · (s + (e - s) · min(t, total_iters) / total_iters)

    Recursively ηₜ = ηₜ₋₁ · (1 + (e - s) / (total_iters·s + (t - 1)(e - s))), which is the ratio
    of two consecutive factors.
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError(f"LinearLR: starting multiplicative factor expected to be greater than "
                             f"0 and less or equal to 1, got start_factor={start_factor}")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError(f"LinearLR: ending multiplicative factor expected to be between 0 and "
                             f"1, got end_factor={end_factor}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_if_called_outside_step()
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _current_lrs(self.optimizer)
        s, e = self.start_factor, self.end_factor
        ratio = 1.0 + (e - s) / (self.total_iters * s + (self.last_epoch - 1) * (e - s))
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        s, e = self.start_factor, self.end_factor
        return [base_lr * (s + (e - s) * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base_lr in self.base_lrs]
