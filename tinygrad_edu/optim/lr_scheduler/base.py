"""``LRScheduler``, the base class of every schedule in ``optim.lr_scheduler``, and its helpers.

A subclass only says what the learning rates are at step t (``get_lr()``); this class does the
rest: it records each group's ``initial_lr`` as ``base_lrs``, counts the steps in ``last_epoch``,
writes the new values into the optimizer, saves and restores its state, and warns when
``scheduler.step()`` comes before any ``optimizer.step()`` (by wrapping the optimizer's ``step``
in a ``_RecordingStep``).  The schedules themselves are in the sibling files (``basic.py``,
``one_cycle.py``, ``plateau.py``, ``sequential.py``); the package docstring explains the notation.
"""
import warnings
import weakref

from ..optimizer import Optimizer


EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where "
    "possible. Please use `scheduler.step()` to step the scheduler. During the deprecation, if "
    "epoch is different from None, the closed form is used instead of the new chainable form, "
    "where available.")


def _check_optimizer(optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _per_group(name, optimizer, value):
    """One value per parameter group: a list/tuple is checked for length, a scalar repeated."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"{name} must have the same length as optimizer.param_groups. {name} "
                             f"has {len(value)} values, param_groups has "
                             f"{len(optimizer.param_groups)}.")
        return list(value)
    return [value] * len(optimizer.param_groups)


def _current_lrs(optimizer):
    return [group["lr"] for group in optimizer.param_groups]


class _RecordingStep:
    """Stands in for ``optimizer.step`` once a scheduler is attached: it runs the optimizer's own
    ``step`` and records that it ran (``optimizer._opt_called``), so that the first
    ``scheduler.step()`` can warn if it came before any ``optimizer.step()`` (the mistake that
    silently skips the schedule's first value).  It holds the optimizer weakly (no reference
    cycle), and a copied or pickled optimizer gets a recorder of its own (``__reduce__``)."""

    _wrapped_by_lr_sched = True

    def __init__(self, optimizer):
        self._optimizer_ref = weakref.ref(optimizer)

    def __call__(self, *args, **kwargs):
        optimizer = self._optimizer_ref()
        optimizer._opt_called = True
        return type(optimizer).step(optimizer, *args, **kwargs)

    def __reduce__(self):
        return type(self), (self._optimizer_ref(),)


def _track_optimizer_steps(optimizer):
    """Replace this optimizer's ``step`` (on the instance, once) by a ``_RecordingStep``, unless
    the user already replaced it with something else."""
    step = optimizer.step
    already = getattr(step, "_wrapped_by_lr_sched", False)
    if already or getattr(step, "__self__", None) is not optimizer:
        return
    optimizer.step = _RecordingStep(optimizer)


class LRScheduler:
    """Base class.  A subclass defines ``get_lr()``: the list of learning rates (one per
    parameter group) for the new ``self.last_epoch``; ``step()`` advances ``last_epoch`` by one,
    asks ``get_lr()`` and writes the values into the optimizer.

    Construction records ``group['initial_lr']`` (= the group's lr, unless a scheduler already
    set it) as ``base_lrs`` and takes the first step, to t = 0.  ``last_epoch=k`` (k ≥ 0)
    resumes a schedule: the groups must then already hold ``initial_lr``.
    """

    _get_lr_called_within_step = False
    _is_initial = False

    def __init__(self, optimizer, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when "
                                   f"resuming scheduler with last_epoch >= 0 ({last_epoch}): load "
                                   "the optimizer's state_dict first, or use last_epoch=-1 for a "
                                   "fresh run")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        _track_optimizer_steps(optimizer)
        self._initial_step()

    def _initial_step(self):
        """Reset the step count and take the step to t = 0 (or to last_epoch + 1 on resume)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def state_dict(self):
        """Every attribute except the optimizer (PyTorch's keys)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)

    def get_last_lr(self):
        """The learning rates the last ``step()`` set, one per parameter group."""
        return self._last_lr

    def get_lr(self):
        """The learning rates for the current ``last_epoch`` (called by ``step``)."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def step(self, epoch=None):
        """Advance the schedule by one (call after ``optimizer.step()``).  ``epoch`` (deprecated)
        jumps to that epoch through the closed-form formula, where the schedule has one."""
        if self._step_count == 1 and not self._is_initial:
            recorded = getattr(self.optimizer.step, "_wrapped_by_lr_sched", False)
            if recorded and not getattr(self.optimizer, "_opt_called", False):
                warnings.warn("Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
                              "Call them in the opposite order: `optimizer.step()` before "
                              "`lr_scheduler.step()`; otherwise the first value of the learning "
                              "rate schedule is skipped.", UserWarning, stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed_form = getattr(self, "_get_closed_form_lr", None)
                values = closed_form() if closed_form is not None else self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = _current_lrs(self.optimizer)

    def _warn_if_called_outside_step(self):
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use "
                          "`get_last_lr()`.", UserWarning, stacklevel=3)
