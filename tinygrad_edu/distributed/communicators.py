"""Three ways to average gradients across ranks: naive, flat, bucketed.

Data parallelism in one line: every rank computes the gradient of the loss on *its* shard of the
batch, and before ``optimizer.step()`` every rank replaces its gradient by the average over ranks

    g  ←  (g_0 + g_1 + … + g_{N-1}) / N          (an allreduce with SUM, then ÷ N)

which is the gradient of the mean loss over the global batch (N shards of equal size).  Every rank
then takes the same step from the same parameters, so the replicas never drift apart.

The three communicators compute exactly that; they differ only in **how many** messages they send
and **when**:

* ``NaiveCommunicator``: one Allreduce per parameter, after backward.  A model of 100 small
  tensors pays the latency of 100 messages (≈ 1 ms each on this machine).
* ``FlatCommunicator``: packs every gradient into one buffer, after backward; one Allreduce, then
  unpacks.  One latency, but the network idles during the whole backward and backward idles during
  the whole allreduce.
* ``BucketedCommunicator``: parameters in *reverse* registration order (roughly the order backward
  produces their gradients) grouped into buckets of ``bucket_cap_mb`` (a small first bucket so that
  communication starts early); a bucket's nonblocking ``Iallreduce`` starts from the
  post-accumulate-grad hook of its last gradient, *during* backward, and the allreduce of bucket k
  overlaps the backward that computes bucket k+1.  ``finish()`` waits for all of them.

All three share ``_pack`` / ``_unpack``: a group of gradients becomes one contiguous host buffer,
plus one 0/1 entry per parameter saying "this rank has a gradient for it" (the few MPI calls are at
the end of the file).  A parameter without a
gradient (not used this step) contributes zeros — the average is still ÷ N, as in torch's DDP with
``find_unused_parameters`` — and if *no* rank has a gradient for it, its ``.grad`` stays None (so an
optimizer skips it exactly as a single process would).

Readiness: ``start_step(unused)`` begins a step (DDP calls it in forward with the parameters the
graph cannot reach); ``grad_ready(p)`` is called by the hook of each parameter; when every parameter
is ready the communicator finishes on its own — that is the "end of backward" for the gradients.
Buckets are always *started* in the same order on every rank (bucket k+1 waits for bucket k to have
started): MPI matches collectives by their order, so a different order on two ranks would add the
wrong buffers together.

``allreduce_calls`` counts the reductions started (for tests and the benchmark).
"""
import numpy as np

from ..backend import device_of, to_device
from ..tensor import Tensor
from . import world
from .failure import next_sequence_number, watch

__all__ = ["GradientCommunicator", "NaiveCommunicator", "FlatCommunicator", "BucketedCommunicator",
           "make_communicator"]




def _pack(params):
    """One contiguous host buffer: every gradient (zeros where there is none), then one flag per
    parameter (1 = this rank has a gradient)."""
    sizes = [p.array.size for p in params]
    buffer = np.empty(sum(sizes) + len(params), dtype=params[0].dtype)
    offset = 0
    for p, n in zip(params, sizes):
        if p.grad is None:
            buffer[offset:offset + n] = 0
        else:
            buffer[offset:offset + n] = np.asarray(to_device(p.grad.array, "cpu")).reshape(-1)
        offset += n
    buffer[offset:] = [p.grad is not None for p in params]
    return buffer


def _unpack(buffer, params):
    """Divide the summed buffer by the world size and give each parameter its slice as ``.grad``
    (left None where no rank had a gradient)."""
    world_size = world.get_world_size()
    flags = buffer[len(buffer) - len(params):]
    offset = 0
    for p, used in zip(params, flags):
        n = p.array.size
        if used > 0:
            mean = buffer[offset:offset + n].reshape(p.shape) / world_size
            p.grad = Tensor._wrap(to_device(mean, device_of(p.array)))
        offset += n


class GradientCommunicator:
    """The interface: ``setup(params)`` once, then per step ``start_step(unused)``,
    ``grad_ready(p)`` for each parameter, and ``finish()`` (automatic once all are ready).
    Subclasses choose the groups (``make_groups``) and when a group's reduction starts."""

    name = None

    def __init__(self):
        self.allreduce_calls = 0
        self.groups, self._group_of = [], {}
        self._in_step = False

    def setup(self, params):
        params = [p for p in params if p.requires_grad]
        if world.comm() is not None and world.get_world_size() > 1:
            _gradients_comm()   # (collective the first time: every rank is here together)
        self.groups = self.make_groups(params)
        self._group_of = {id(p): i for i, group in enumerate(self.groups) for p in group}
        self._in_step = False

    def make_groups(self, params):
        raise NotImplementedError

    # ---- the step's life cycle ----
    def start_step(self, unused=()):
        """Begin a step; ``unused`` parameters will get no gradient (marked ready now)."""
        self._waiting = [{id(p) for p in group} for group in self.groups]
        self._ready_groups = set()
        self._started = 0            # groups 0 … _started-1 have begun their reduction
        self._pending = []           # (request, buffer, group) of the reductions in flight
        self._in_step = True
        for p in unused:
            self.grad_ready(p)
        if not self.groups:
            self.finish()

    def grad_ready(self, param):
        if id(param) not in self._group_of:
            return
        i = self._group_of[id(param)]
        if not self._in_step or id(param) not in self._waiting[i]:
            raise RuntimeError(
                f"{type(self).__name__}: a gradient (parameter of shape {tuple(param.shape)}) arrived "
                "after its reduction (a second backward for one forward, or a parameter used outside "
                "the forward of the model); it would not be averaged")
        self._waiting[i].discard(id(param))
        if not self._waiting[i] and i not in self._ready_groups:
            self._ready_groups.add(i)
            while self._started in self._ready_groups:   # same order on every rank
                self.group_ready(self._started)
                self._started += 1
            if self._started == len(self.groups):
                self.finish()

    def group_ready(self, i):
        """Group ``i`` has all its gradients (called in group order).  Default: nothing yet."""

    def finish(self):
        """Every reduction done and unpacked; parameters still not ready count as unused."""
        if not self._in_step:
            return
        while self._started < len(self.groups):
            self.group_ready(self._started)
            self._started += 1
        self.reduce_remaining()
        for request, buffer, group in self._pending:
            request.wait()
            _unpack(buffer, group)
        self._pending = []
        self._in_step = False

    def reduce_remaining(self):
        """Reduce the groups that ``group_ready`` did not start (naive and flat: all of them)."""

    @property
    def in_step(self):
        """True between ``start_step`` and the end of ``finish``: gradients not averaged yet."""
        return self._in_step

    def reduce_now(self):
        """One whole synchronous step: average the current ``.grad`` of every parameter."""
        self.start_step()
        self.finish()


class NaiveCommunicator(GradientCommunicator):
    """One blocking Allreduce per parameter, after backward."""

    name = "naive"

    def make_groups(self, params):
        return [[p] for p in params]

    def reduce_remaining(self):
        for group in self.groups:
            buffer = _pack(group)
            _allreduce_sum_(buffer, gradients=True)
            self.allreduce_calls += 1
            _unpack(buffer, group)


class FlatCommunicator(GradientCommunicator):
    """Every gradient packed into one buffer (one per dtype), one Allreduce, after backward."""

    name = "flat"

    def make_groups(self, params):
        by_dtype = {}
        for p in params:
            by_dtype.setdefault(np.dtype(p.dtype), []).append(p)
        return list(by_dtype.values())

    def reduce_remaining(self):
        for group in self.groups:
            buffer = _pack(group)
            _allreduce_sum_(buffer, gradients=True)
            self.allreduce_calls += 1
            _unpack(buffer, group)


class BucketedCommunicator(GradientCommunicator):
    """Buckets in reverse parameter order; each bucket's Iallreduce starts during backward."""

    name = "bucketed"

    def __init__(self, bucket_cap_mb=25, first_bucket_mb=1):
        super().__init__()
        self.bucket_cap_mb, self.first_bucket_mb = bucket_cap_mb, first_bucket_mb

    def make_groups(self, params):
        buckets, current, size = [], [], 0
        for p in reversed(params):
            cap = self.bucket_cap_mb if buckets else min(self.first_bucket_mb, self.bucket_cap_mb)
            cap *= 2 ** 20
            nbytes = p.array.size * p.array.itemsize
            if current and (size + nbytes > cap or p.dtype != current[0].dtype):
                buckets.append(current)
                current, size = [], 0
            current.append(p)
            size += nbytes
        if current:
            buckets.append(current)
        return buckets

    def group_ready(self, i):
        buffer = _pack(self.groups[i])
        self._pending.append((_iallreduce_sum_(buffer), buffer, self.groups[i]))
        self.allreduce_calls += 1


_KINDS = {"naive": NaiveCommunicator, "flat": FlatCommunicator, "bucketed": BucketedCommunicator}


def make_communicator(communicator="bucketed", bucket_cap_mb=25, first_bucket_mb=1):
    """A communicator from its name (or the instance itself)."""
    if isinstance(communicator, GradientCommunicator):
        return communicator
    if communicator not in _KINDS:
        raise ValueError(f"communicator must be one of {sorted(_KINDS)} or a GradientCommunicator, "
                         f"got {communicator!r}")
    if communicator == "bucketed":
        return BucketedCommunicator(bucket_cap_mb, first_bucket_mb)
    return _KINDS[communicator]()


# ---- the only place that talks to MPI ----------------------------------------------------------
# (buffer calls on contiguous NumPy arrays; gradients travel on their own duplicate of the world's
# communicator.  Every blocking call runs under failure.watch, so a rank that never joins a gradient
# reduction is reported by the watchdog, as for the collectives of collectives.py)
class _Done:
    """A finished request (a world of one has nothing to wait for)."""

    def wait(self):
        return None


class _MPIRequest:
    def __init__(self, request, seq, detail):
        self._request, self._seq, self._detail = request, seq, detail

    def wait(self):
        with watch("gradient bucket iallreduce", self._detail + ", in wait()", seq=self._seq):
            self._request.Wait()


def _mpi():
    from mpi4py import MPI
    return MPI


def _describe(buffer):
    return f"{buffer.dtype}[{buffer.size}]"


_gradient_comm = []


def _gradients_comm():
    """A duplicate of the world communicator, for gradient reductions only.  MPI matches the
    collectives of one communicator by their order; a bucket's Iallreduce may start before a
    SyncBatchNorm Allreduce on one rank and after it on another (when the ranks' unused parameters
    differ), so the two kinds must not share a communicator.  Created (collectively) by
    ``GradientCommunicator.setup``, which every rank calls at the same point."""
    if not _gradient_comm:
        _gradient_comm.append(world.comm().Dup())
    return _gradient_comm[0]


def _allreduce_sum_(buffer, gradients=False):
    """buffer ← Σ over ranks of buffer (in place, contiguous NumPy array)."""
    comm = world.comm()
    if comm is not None and world.get_world_size() > 1:
        comm = _gradients_comm() if gradients else comm
        with watch("gradient allreduce" if gradients else "allreduce", _describe(buffer)):
            comm.Allreduce(_mpi().IN_PLACE, buffer, op=_mpi().SUM)


def _iallreduce_sum_(buffer):
    """Start buffer ← Σ over ranks of buffer (a gradient bucket); returns a request with ``wait()``."""
    comm = world.comm()
    if comm is None or world.get_world_size() == 1:
        return _Done()
    seq = next_sequence_number()
    return _MPIRequest(_gradients_comm().Iallreduce(_mpi().IN_PLACE, buffer, op=_mpi().SUM), seq,
                       _describe(buffer))


def _broadcast_(buffer, root=0):
    """buffer ← rank ``root``'s buffer (in place)."""
    comm = world.comm()
    if comm is not None and world.get_world_size() > 1:
        with watch("broadcast", _describe(buffer) + f", root {root}"):
            comm.Bcast(buffer, root=root)


def _broadcast_array_(array, root=0):
    """Any array (a GPU one, a non-contiguous one) ← rank ``root``'s, through a host copy if needed."""
    if world.get_world_size() == 1:
        return
    if isinstance(array, np.ndarray) and array.flags.c_contiguous:
        _broadcast_(array, root)
        return
    host = np.ascontiguousarray(to_device(array, "cpu"))
    _broadcast_(host, root)
    array[...] = to_device(host, device_of(array))


def _broadcast_object(obj, root=0):
    """Rank ``root``'s obj on every rank: pickled, for small descriptions only."""
    comm = world.comm()
    if comm is None or world.get_world_size() == 1:
        return obj
    with watch("broadcast of a description", f"root {root}"):
        return comm.bcast(obj, root=root)


def _allgather_object(obj):
    """[obj of rank 0, obj of rank 1, …]: pickled, for small descriptions only (never tensor data)."""
    comm = world.comm()
    if comm is None or world.get_world_size() == 1:
        return [obj]
    with watch("all_gather of a description"):
        return comm.allgather(obj)
