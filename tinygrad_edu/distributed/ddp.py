"""``DistributedDataParallel``: wrap the model, and ``loss.backward()`` averages the gradients.

    model = DistributedDataParallel(Net())          # every rank: same code, its own data shard
    for x, y in loader:
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()          # by its end, every .grad is the average over the ranks
        optimizer.step()         # so every rank takes the same step

What the user calls: nothing beyond the torch loop above.

* **Construction** checks that every rank has the same parameter names, shapes and dtypes (a hash
  is compared, and on a mismatch every rank raises with a diff — instead of hanging or averaging
  the wrong tensors), then copies the parameters and buffers of rank 0 to every rank (``Bcast``),
  so all replicas start equal.  It registers a post-accumulate-grad hook on every parameter.
* **forward** (``model(x)``) broadcasts the buffers of rank 0 first (``broadcast_buffers``: the
  running statistics of BatchNorm stay those of rank 0, as in torch), calls the module, and walks
  the graph of the output to find the parameters it cannot reach (they will get no gradient this
  step: torch's ``find_unused_parameters``); the communicator's step starts with those marked ready.
* **backward**: each parameter's hook tells the communicator its gradient is complete; the
  communicator starts reductions (bucketed: during backward) and, when the last parameter is ready,
  waits and writes the averages into ``.grad``.  Our engine has no "end of backward" callback; the
  last gradient *is* the end of backward as far as the parameters are concerned.

``no_sync()``: inside it, backward only accumulates ``.grad`` locally (no communication); the first
backward outside it averages the accumulated sums.  Forward and backward of a micro-batch must be on
the same side of ``no_sync`` (an error otherwise).  Loud errors, at the next forward: a synced
backward did not complete (part of the graph never got a gradient, or a training forward had no
backward), or ``optimizer.step()`` ran on gradients accumulated in ``no_sync`` and never averaged.
Limitation: a backward from a tensor that does not depend on the forward's output (or depends on
only part of it) leaves the step incomplete; call ``model.finish_gradient_sync()`` then.
"""
import contextlib
import dataclasses
import difflib
import hashlib

from ..autograd import grad_mode
from ..autograd.function import Function
from ..nn.module import Module
from ..tensor import Tensor
from . import world
from .communicators import _allgather_object, _broadcast_array_, make_communicator

__all__ = ["DistributedDataParallel", "check_same_parameters", "broadcast_module"]


def _description(named_tensors):
    return [f"{name} {tuple(t.shape)} {t.dtype}" for name, t in named_tensors]


def check_same_parameters(named_tensors, what="model"):
    """Raise on every rank, with a diff against rank 0, unless every rank has the same names,
    shapes and dtypes (one small allgather of a hash; the lists only on a mismatch)."""
    lines = _description(named_tensors)
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    digests = _allgather_object(digest)
    if len(set(digests)) <= 1:
        return
    every = _allgather_object(lines)
    report = []
    for rank, theirs in enumerate(every):
        if digests[rank] != digests[0]:
            diff = difflib.unified_diff(every[0], theirs, "rank 0", f"rank {rank}", lineterm="", n=1)
            report.extend(diff)
    raise RuntimeError(f"DistributedDataParallel: the ranks have different {what}s (parameter name, "
                       "shape, dtype); every rank must build the same model:\n" + "\n".join(report))


def broadcast_module(module, root=0, parameters=True, buffers=True):
    """Copy rank ``root``'s parameters and/or buffers into every rank's, in place."""
    tensors = (list(module.parameters()) if parameters else []) + \
        ([b for b in module.buffers() if b is not None] if buffers else [])
    for t in tensors:
        _broadcast_array_(t.array, root)
        t._version_box[0] += 1


def _reachable_leaves(output):
    """ids of the leaf tensors the graph of ``output`` (a tensor or a container) can reach."""
    stack, seen, leaves = [], set(), set()

    def visit(obj):
        if isinstance(obj, Tensor):
            if obj.grad_fn is not None:
                stack.append(obj.grad_fn)
            elif obj.requires_grad:
                leaves.add(id(obj))
        elif isinstance(obj, (list, tuple)):
            for o in obj:
                visit(o)
        elif isinstance(obj, dict):
            for o in obj.values():
                visit(o)
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):   # e.g. BERT's outputs
            for field in dataclasses.fields(obj):
                visit(getattr(obj, field.name))
    visit(output)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for parent in node.parents:
            if isinstance(parent, Function):
                stack.append(parent)
            elif parent is not None:
                leaves.add(id(parent))
    return leaves


class DistributedDataParallel(Module):
    """torch's ``DistributedDataParallel`` over MPI (see the module docstring).

    ``communicator``: 'bucketed' (default), 'flat', 'naive' or a ``GradientCommunicator``;
    ``bucket_cap_mb`` and ``first_bucket_mb`` size the buckets; ``broadcast_buffers``: copy rank 0's
    buffers to every rank at each forward."""

    def __init__(self, module, communicator="bucketed", bucket_cap_mb=25, broadcast_buffers=True,
                 first_bucket_mb=1, find_unused_parameters=None):
        # find_unused_parameters: accepted for torch's code; unused parameters are always found
        super().__init__()
        world.init()
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        named = [(n, p) for n, p in module.named_parameters()]
        check_same_parameters(named + [(n, b) for n, b in module.named_buffers() if b is not None])
        broadcast_module(module)
        object.__setattr__(self, "communicator",
                           make_communicator(communicator, bucket_cap_mb, first_bucket_mb))
        self._params = [p for _, p in named if p.requires_grad]
        self.communicator.setup(self._params)
        for handle in module.__dict__.get("_ddp_hook_handles", ()):
            handle.remove()   # wrapped again: the previous wrapper no longer sees its gradients
        handles = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in self._params]
        object.__setattr__(module, "_ddp_hook_handles", handles)
        self._require_sync = True         # False inside no_sync()
        self._forward_synced = None       # was the last training forward outside no_sync?
        self._unsynced_versions = None    # parameter versions when no_sync accumulated grads

    # ---- forward ----
    def forward(self, *args, **kwargs):
        if grad_mode.is_grad_enabled():     # (as torch: evaluation under no_grad is not checked)
            self._check_previous_step()
        if self.broadcast_buffers and world.get_world_size() > 1:
            broadcast_module(self.module, parameters=False)
        output = self.module(*args, **kwargs)
        if grad_mode.is_grad_enabled() and any(p.requires_grad for p in self._params):
            self._forward_synced = self._require_sync
            if self._require_sync:
                reachable = _reachable_leaves(output)
                self.communicator.start_step([p for p in self._params if id(p) not in reachable])
        return output

    def _check_previous_step(self):
        if self.communicator.in_step:
            raise RuntimeError(
                "DistributedDataParallel: the previous forward's gradients were never averaged: its "
                "backward did not reach every parameter the forward used (or a training forward had no "
                "backward). Run backward from the forward's output, compute forwards that need no "
                "backward under no_grad(), or call model.finish_gradient_sync() after backward.")
        if self._unsynced_versions is not None and \
                any(p._version != v for p, v in zip(self._params, self._unsynced_versions)):
            raise RuntimeError(
                "DistributedDataParallel: optimizer.step() ran on gradients accumulated inside "
                "no_sync() that were never averaged across ranks: the last micro-batch's forward and "
                "backward must run outside no_sync().")

    # ---- backward (the hook of every parameter) ----
    def _grad_ready(self, param):
        if self._forward_synced is None:
            return
        if self._forward_synced != self._require_sync:
            where = "inside" if self._require_sync is False else "outside"
            raise RuntimeError(f"DistributedDataParallel: backward ran {where} no_sync() but its "
                               "forward did not; run both the forward and the backward of a "
                               "micro-batch inside `with model.no_sync():` (or both outside)")
        if self._forward_synced:
            self.communicator.grad_ready(param)
            if not self.communicator.in_step:
                self._unsynced_versions = None
        elif self._unsynced_versions is None:
            self._unsynced_versions = [p._version for p in self._params]

    def finish_gradient_sync(self):
        """Average now whatever the backward left (parameters without a gradient count as unused)."""
        self.communicator.finish()
        self._unsynced_versions = None

    @contextlib.contextmanager
    def no_sync(self):
        """Gradient accumulation: inside, backward accumulates ``.grad`` without communicating."""
        previous, self._require_sync = self._require_sync, False
        try:
            yield
        finally:
            self._require_sync = previous

    # ---- checkpoints: torch's names ('module.' + the module's) ----
    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Accepts DDP's keys (``module.fc.weight``) and, for convenience, the module's own."""
        if state_dict and not all(k.startswith("module.") for k in state_dict):
            state_dict = {"module." + k: v for k, v in state_dict.items()}
        return super().load_state_dict(state_dict, strict=strict, assign=assign)
