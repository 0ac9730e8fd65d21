"""``Module`` and ``Parameter``: how a network keeps track of its own weights.

A network is a tree of modules.  Each module owns

* **parameters** — the tensors the optimizer trains (``Parameter``: a Tensor with
  ``requires_grad=True``);
* **buffers** — tensors that are part of the state but not trained (running statistics, masks);
* **submodules** — its children in the tree.

You never register these by hand: assigning an attribute does it (``self.fc = Linear(2, 3)``
registers a submodule, ``self.w = Parameter(...)`` a parameter), because ``__setattr__`` looks at
the type of the value.  Walking the tree then gives every parameter with a dotted name
(``fc.weight``), which is exactly how ``state_dict()`` names them — the same keys as PyTorch, so
weights move between the two frameworks one to one.

``module(x)`` runs the forward pre-hooks, ``forward(x)`` and the forward hooks.

The class is split by topic; ``Module`` derives from four mixins, so everything is still a method
of ``Module``:

* this file — ``Parameter``; attribute registration, ``__call__``, walking the tree
  (``children``, ``named_parameters``, ...), ``train``/``eval``, ``zero_grad``;
* module_hooks.py — ``register_forward_hook`` and the other hook registrations;
* module_state.py — ``state_dict`` and ``load_state_dict``;
* module_convert.py — ``to``, ``float``, ``cuda``, ... and ``apply``;
* module_repr.py — ``__repr__`` and ``extra_repr``.
"""
from collections import OrderedDict

import numpy as np

from ..autograd import grad_mode
from ..autograd import hooks as hooks_lib
from .. import dtypes as _dt
from ..tensor import Tensor
from .module_convert import ModuleConvert
from .module_hooks import ModuleHooks
from .module_repr import ModuleRepr
from .module_state import ModuleState


class Parameter(Tensor):
    """A Tensor that a ``Module`` registers as trainable: ``Parameter(tensor)`` shares the
    tensor's memory and sets ``requires_grad=True`` (``requires_grad=False`` gives a frozen one).
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = Tensor._wrap(np.empty((0,), dtype=_dt.get_default_dtype()))
        elif not isinstance(data, Tensor):
            from ..creation import tensor
            data = tensor(data)
        if requires_grad and data.dtype.kind not in "fc":
            raise RuntimeError(f"Parameter: only tensors of floating point dtype can require "
                               f"gradients, got {data.dtype}; pass requires_grad=False or a float "
                               "tensor")
        self.array = data.array
        self._version_box = data._version_box  # the same memory, so the same version counter
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self.grad_fn = None

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (Parameter, (Tensor._wrap(self.array), self.requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        copied = Parameter(Tensor._wrap(self.array.copy()), self.requires_grad)
        if self.grad is not None:
            copied.grad = Tensor._wrap(self.grad.array.copy())
        memo[id(self)] = copied
        return copied


# one handle type for module and tensor hooks (``torch.utils.hooks.RemovableHandle``)
RemovableHandle = hooks_lib.RemovableHandle
_HookDict = hooks_lib.HookDict


class Module(ModuleHooks, ModuleState, ModuleConvert, ModuleRepr):
    """Base class of every layer and model: subclass it, create parameters and submodules in
    ``__init__`` (after ``super().__init__()``), and write ``forward``."""

    training: bool

    def __init__(self):
        set_ = object.__setattr__
        set_(self, "training", True)
        set_(self, "_parameters", OrderedDict())
        set_(self, "_buffers", OrderedDict())
        set_(self, "_non_persistent_buffers_set", set())
        set_(self, "_modules", OrderedDict())
        set_(self, "_forward_hooks", _HookDict())
        set_(self, "_forward_hooks_with_kwargs", set())
        set_(self, "_forward_pre_hooks", _HookDict())
        set_(self, "_forward_pre_hooks_with_kwargs", set())
        set_(self, "_backward_hooks", _HookDict())
        set_(self, "_backward_pre_hooks", _HookDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" '
                                  "function")

    # ---- calling ---------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        state = self.__dict__
        backward_hooks = state.get("_backward_hooks") or state.get("_backward_pre_hooks")
        if not (self._forward_hooks or self._forward_pre_hooks or backward_hooks):
            return self.forward(*args, **kwargs)
        for hook_id, hook in list(self._forward_pre_hooks.items()):
            if hook_id in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        # backward hooks: the inputs and outputs pass through identity ops that report their gradients
        backward_state = hooks_lib.ModuleBackwardHooks(self) if backward_hooks and \
            grad_mode.state.enabled else None
        if backward_state is not None:
            args = backward_state.wrap_inputs(args)
        output = self.forward(*args, **kwargs)
        for hook_id, hook in list(self._forward_hooks.items()):
            if hook_id in self._forward_hooks_with_kwargs:
                result = hook(self, args, kwargs, output)
            else:
                result = hook(self, args, output)
            if result is not None:
                output = result
        if backward_state is not None:
            output = backward_state.wrap_outputs(output)
        return output

    # ---- registration on attribute assignment ----------------------------------------------------
    def __setattr__(self, name, value):
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, keep="_parameters")
            self.register_parameter(name, value)
            return
        if params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(Parameter or None expected); wrap it: nn.Parameter(tensor)")
            params[name] = None
            return
        modules = self.__dict__.get("_modules")
        if isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, keep="_modules")
            modules[name] = value
            return
        if modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                "(Module or None expected)")
            modules[name] = None
            return
        buffers = self.__dict__.get("_buffers")
        if buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(Tensor or None expected)")
            buffers[name] = value
            return
        object.__setattr__(self, name, value)

    def _forget(self, name, keep):
        """Remove ``name`` from every registry except ``keep`` (an attribute changes kind)."""
        self.__dict__.pop(name, None)
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry != keep:
                self.__dict__[registry].pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name):
        # only called when normal lookup fails: look in the registries (written out, not a loop:
        # every ``self.fc`` in every forward comes here)
        d = self.__dict__
        table = d.get("_parameters")
        if table is not None and name in table:
            return table[name]
        table = d.get("_buffers")
        if table is not None and name in table:
            return table[name]
        table = d.get("_modules")
        if table is not None and name in table:
            return table[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(registry, {}):
                del self.__dict__[registry][name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = list(super().__dir__()) + list(self._parameters) + list(self._buffers) + \
            list(self._modules)
        return sorted(set(k for k in keys if not k[0].isdigit()))

    def _check_name(self, kind, name):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
        if hasattr(self, name) and not any(name in self.__dict__.get(r, {}) for r in
                                           ("_parameters", "_buffers", "_modules")):
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name, param):
        """Add ``param`` (a Parameter, or None) as ``self.<name>``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name("parameter", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(Parameter or None required)")
        if param is not None and param.grad_fn is not None:
            raise ValueError(f"cannot assign non-leaf Tensor to parameter '{name}'; the value must be "
                             "created directly (a leaf), e.g. Parameter(tensor.detach())")
        self._forget(name, keep="_parameters")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a non-trained tensor as ``self.<name>``; it is saved in ``state_dict`` unless
        ``persistent=False`` and moves with ``to()``."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name("buffer", name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(Tensor or None required)")
        self._forget(name, keep="_buffers")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Add ``module`` as the child ``self.<name>``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name("module", name)
        self._forget(name, keep="_modules")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The module at the dotted path ``target`` ('' is this module)."""
        module = self
        if target == "":
            return module
        for item in target.split("."):
            if item not in module._modules or module._modules[item] is None:
                raise AttributeError(f"{module._get_name()} has no submodule `{item}` (path "
                                     f"'{target}')")
            module = module._modules[item]
        return module

    def get_parameter(self, target):
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._parameters:
            raise AttributeError(f"{module._get_name()} has no parameter `{name}`")
        return module._parameters[name]

    # ---- walking the tree -------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for this module and every descendant, parents first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub_prefix = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub_prefix, remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and module not in seen:
                seen.add(module)
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry, prefix, recurse, remove_duplicate):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or (remove_duplicate and value in seen):
                    continue
                if remove_duplicate:
                    seen.add(value)
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter) for every parameter, each shared one once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    # ---- modes and gradients ------------------------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (dropout active, …) on this module and every descendant."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: training mode is expected to be a bool, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient (``None``), or set it to zeros in place."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad = param.grad.detach()
                param.grad.array[...] = 0
                param.grad._version_box[0] += 1


__all__ = ["Module", "Parameter", "RemovableHandle"]
