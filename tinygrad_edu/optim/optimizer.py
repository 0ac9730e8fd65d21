"""``Optimizer``: what every update rule shares.

An optimizer holds *parameter groups*: lists of parameters with their own options (a smaller
learning rate for a pretrained backbone, no weight decay for biases …)::

    opt = SGD([{"params": model.body.parameters()},
               {"params": model.head.parameters(), "lr": 1e-2}], lr=1e-3, momentum=0.9)

and a per-parameter ``state`` (momentum buffers, Adam's moment estimates).  ``step()`` visits
every parameter that has a gradient and hands it to the subclass's ``update``, the one method
an update rule writes.

Updates are plain NumPy (or CuPy) arithmetic on ``p.array`` with ``p.grad.array``: in place, with
no graph recorded, exactly what ``with no_grad(): p -= lr * p.grad`` does but without building a
Tensor per operation.  Because they change memory in place they bump the parameter's version
counter, so a backward through a graph that saved the old value raises instead of silently
using the new one.
"""
import copy

import numpy as np

from ..autograd import grad_mode
from ..backend import array_module, to_device
from ..tensor import Tensor

required = object()  # the default of an option the user must give


class Optimizer:
    """Base class: subclasses call ``super().__init__(params, defaults)`` and define
    ``update(param_array, grad_array, state, group)``."""

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}          # parameter -> its state dict (filled lazily by update)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got a {type(params).__name__}")
        if isinstance(params, dict):
            params = [params]
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group):
        """Add a group (a dict with 'params' and any options); options it leaves out take the
        optimizer's defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                            "the ordering of tensors in sets will change between runs; use a list")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (one computed by an op); "
                                 "optimize the leaf it came from")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer: a parameter group contains the same parameter twice")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization "
                                 f"parameter {name}")
            group.setdefault(name, default)
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if existing & {id(p) for p in params}:
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Forget every gradient (``None``), or zero them in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad = p.grad.detach()
                    p.grad.array[...] = 0
                    p.grad._version_box[0] += 1

    def step(self, closure=None):
        """Update every parameter that has a gradient.  ``closure`` (optional) re-evaluates the
        model and returns the loss; it runs with grad enabled and its loss is returned."""
        loss = None
        if closure is not None:
            with grad_mode.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {}
                self.update(p.array, p.grad.array, state, group)
                p._version_box[0] += 1  # the memory of p changed in place
        return loss

    def update(self, param, grad, state, group):
        """Change the array ``param`` in place from ``grad`` (never modify ``grad``)."""
        raise NotImplementedError(f"{type(self).__name__} must define update(param, grad, state, "
                                  "group)")

    # ---- saving and restoring ---------------------------------------------------------------------
    def state_dict(self):
        """A snapshot ``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``
        in PyTorch's layout: parameters are numbered in group order, arrays become Tensors
        (copies, so later steps do not change the snapshot)."""
        index = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            saved = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            saved["params"] = ids
            groups.append(saved)
        state = {}
        for p, values in self.state.items():
            if id(p) in index:
                state[index[id(p)]] = {k: Tensor._wrap(v.copy()) if hasattr(v, "shape") else v
                                       for k, v in values.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore a ``state_dict()`` (ours or a PyTorch optimizer's of the same layout): group
        options are replaced, state arrays are copied and cast to each parameter's dtype and
        device."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, the "
                             f"optimizer has {len(self.param_groups)}")
        for i, (ours, theirs) in enumerate(zip(self.param_groups, saved_groups)):
            if len(ours["params"]) != len(theirs["params"]):
                raise ValueError(f"loaded state dict contains a parameter group ({i}) with "
                                 f"{len(theirs['params'])} parameters, the optimizer's has "
                                 f"{len(ours['params'])}")
        id_map = {}
        for ours, theirs in zip(self.param_groups, saved_groups):
            id_map.update(zip(theirs["params"], ours["params"]))
        self.state = {}
        for key, values in state_dict["state"].items():
            if key not in id_map:
                continue
            p = id_map[key]
            self.state[p] = {name: _restore(name, value, p) for name, value in values.items()}
        for i, theirs in enumerate(saved_groups):
            group = {k: copy.deepcopy(v) for k, v in theirs.items() if k != "params"}
            group["params"] = self.param_groups[i]["params"]
            self.param_groups[i] = group


def check_implementation_options(name, options):
    """PyTorch's optimizers take options that choose *how* the update runs (``foreach``, ``fused``,
    ``capturable``) — accepted and ignored here, where there is one NumPy implementation — and
    ``differentiable``, which changes *what* it does and is not supported."""
    unknown = set(options) - {"foreach", "fused", "capturable", "differentiable"}
    if unknown:
        raise TypeError(f"{name}: unexpected keyword argument(s) {sorted(unknown)}")
    if options.get("differentiable"):
        raise NotImplementedError(f"{name}: differentiable=True (backpropagating through the update) "
                                  "is not supported; updates run on raw arrays")


def _restore(name, value, param):
    """A saved state value as this optimizer keeps it: numbers stay numbers ('step'), arrays
    become arrays of the parameter's dtype on its device."""
    array = value.array if isinstance(value, Tensor) else value
    if name == "step":
        step = float(np.asarray(to_device(array, "cpu")))   # a 0-d tensor may sit on the GPU
        return int(step) if step.is_integer() else step
    if hasattr(array, "shape") or hasattr(array, "__array__"):
        array = np.asarray(array) if array_module(array) is np else array
        array = to_device(array, param.device)
        return array.astype(param.dtype) if array.dtype.kind in "fc" else array.copy()
    return copy.deepcopy(value)
