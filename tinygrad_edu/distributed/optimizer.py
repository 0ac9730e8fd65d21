"""``DistributedOptimizer``: wrap the optimizer instead of the model (Horovod's and ChainerMN's way).

    optimizer = DistributedOptimizer(optim.SGD(model.parameters(), lr=0.1), model=model)
    loss.backward()
    optimizer.step()        # first averages every .grad over the ranks, then steps

The model stays an ordinary module; the whole averaging happens in ``step()``, after however many
backward passes accumulated into ``.grad`` (gradient accumulation needs no ``no_sync``).  The price:
no overlap — communication starts only when backward is over (use ``DistributedDataParallel`` for
that).  With ``model`` given, construction checks that every rank has the same parameters and copies
rank 0's parameters and buffers to every rank; without it, rank 0's parameters of the optimizer.

``broadcast_optimizer_state(optimizer, root=0)``: on resume, usually only rank 0 read the checkpoint;
this gives every rank rank 0's optimizer state (momenta, step counts, learning rates): the structure
travels as a small pickled skeleton, every array with ``Bcast``.
"""
import numpy as np

from ..backend import to_device
from ..tensor import Tensor
from . import world
from .communicators import _broadcast_array_, _broadcast_object, make_communicator
from .ddp import broadcast_module, check_same_parameters

__all__ = ["DistributedOptimizer", "broadcast_optimizer_state", "broadcast_parameters"]


def broadcast_parameters(params, root=0):
    """Copy rank ``root``'s values of ``params`` into every rank's, in place."""
    for p in params:
        _broadcast_array_(p.array, root)
        p._version_box[0] += 1


class DistributedOptimizer:
    """``step()`` = average the gradients across ranks, then the wrapped optimizer's step.  Every
    other attribute (``param_groups``, ``state``, ``zero_grad``, ``state_dict`` …) is the wrapped
    optimizer's."""

    def __init__(self, optimizer, model=None, communicator="flat", bucket_cap_mb=25):
        world.init()
        self.optimizer = optimizer
        params = [p for group in optimizer.param_groups for p in group["params"]]
        if model is not None:
            check_same_parameters(list(model.named_parameters()), "model")
            broadcast_module(model)
        else:
            check_same_parameters([(f"param_groups[{i}][{j}]", p)
                                   for i, g in enumerate(optimizer.param_groups)
                                   for j, p in enumerate(g["params"])], "optimizer parameter")
            broadcast_parameters(params)
        self.communicator = make_communicator(communicator, bucket_cap_mb)
        self.communicator.setup(params)

    def synchronize(self):
        """Average every ``.grad`` now (``step`` calls it)."""
        self.communicator.reduce_now()

    def step(self, closure=None):
        if closure is not None:
            raise NotImplementedError("DistributedOptimizer.step(closure): run the closure yourself, "
                                      "then call step()")
        self.synchronize()
        return self.optimizer.step()

    def __getattr__(self, name):
        return getattr(self.__dict__["optimizer"], name)

    def __repr__(self):
        return f"DistributedOptimizer({self.optimizer!r}, communicator={self.communicator.name!r})"


def broadcast_optimizer_state(optimizer, root=0):
    """Give every rank rank ``root``'s optimizer state (in place, through ``load_state_dict``)."""
    optimizer = getattr(optimizer, "optimizer", optimizer)   # a DistributedOptimizer too
    if world.get_world_size() == 1:
        return
    state = optimizer.state_dict() if world.get_rank() == root else None
    skeleton = None
    if state is not None:   # arrays replaced by (shape, dtype) descriptions
        skeleton = {"param_groups": state["param_groups"],
                    "state": {k: {name: ("array", tuple(v.shape), str(v.dtype))
                                  if isinstance(v, Tensor) else ("value", v)
                                  for name, v in values.items()}
                              for k, values in state["state"].items()}}
    skeleton = _broadcast_object(skeleton, root)
    rebuilt = {"param_groups": skeleton["param_groups"], "state": {}}
    for k, values in skeleton["state"].items():
        rebuilt["state"][k] = {}
        for name, entry in values.items():
            if entry[0] == "value":
                rebuilt["state"][k][name] = entry[1]
                continue
            if world.get_rank() == root:
                array = np.ascontiguousarray(to_device(state["state"][k][name].array, "cpu"))
            else:
                array = np.empty(entry[1], dtype=entry[2])
            _broadcast_array_(array, root)
            rebuilt["state"][k][name] = Tensor._wrap(array)
    optimizer.load_state_dict(rebuilt)
