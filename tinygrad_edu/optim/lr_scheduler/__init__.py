"""``optim.lr_scheduler``: change the learning rate as training goes, with PyTorch's names,
options and arithmetic.

A scheduler owns no parameters: it rewrites ``group['lr']`` in its optimizer's parameter groups.
Call ``scheduler.step()`` once per epoch (or per batch, for schedules counted in batches) *after*
``optimizer.step()``::

    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    for epoch in range(epochs):
        train_one_epoch(model, opt)        # calls opt.step() many times
        sched.step()                       # lr for the next epoch

Notation used in the formulas below: η₀ = ``base_lr`` (the group's ``initial_lr``, its lr when the
scheduler was made), t = ``last_epoch`` (how many times ``step()`` has been called; 0 right after
construction, which already sets the lr for t = 0), ηₜ = the lr in force after step t.

Most schedules here are written, as in PyTorch, *recursively*: each step multiplies the lr
currently in the group by a factor (ηₜ = ηₜ₋₁ · factor).  That lets several schedulers act on
one optimizer at once (each multiplies in its own change), and it is why the floating-point
values match PyTorch's only if the same recursion is computed, which this package does.  The closed
form each recursion follows is given in every class's docstring; ``step(epoch)`` (deprecated,
as in PyTorch) jumps to it.

Saving: ``state_dict()`` is every attribute but the optimizer (the same keys as PyTorch's);
``load_state_dict`` puts them back.  Save it next to the optimizer's own state_dict.

Where each schedule lives (every name is importable from here: ``optim.lr_scheduler.StepLR``):

=================  ==========================================================================
``base.py``        ``LRScheduler``, the base class: ``step()``, ``state_dict()``, and the
                   warning for ``scheduler.step()`` called before ``optimizer.step()``
``basic.py``       one formula of t each: ``LambdaLR``, ``StepLR``, ``MultiStepLR``,
                   ``ExponentialLR``, ``CosineAnnealingLR``, ``LinearLR``
``one_cycle.py``   ``OneCycleLR``: warm up, then anneal, stepped per batch (momentum too)
``plateau.py``     ``ReduceLROnPlateau``: cut the lr when a watched metric stops improving
``sequential.py``  ``SequentialLR``: several schedules laid end to end
=================  ==========================================================================
"""
from .base import LRScheduler
from .base import EPOCH_DEPRECATION_WARNING, _RecordingStep, _track_optimizer_steps  # noqa: F401
from .basic import CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR, MultiStepLR, StepLR
from .one_cycle import OneCycleLR
from .plateau import ReduceLROnPlateau
from .sequential import SequentialLR

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "MultiStepLR", "ExponentialLR",
           "CosineAnnealingLR", "LinearLR", "OneCycleLR", "SequentialLR", "ReduceLROnPlateau"]
