"""Hooks: user functions the engine calls while gradients flow backward.

Three kinds, with PyTorch's names and semantics:

* **Tensor hooks** — ``t.register_hook(hook)``.  When the gradient dL/dt is complete (summed over
  every consumer of ``t``), the engine calls ``hook(grad)``; a non-None return value *replaces*
  the gradient, so the replacement is what flows on into the graph (non-leaf ``t``), what
  accumulates in ``t.grad`` (leaf ``t``), and what ``retain_grad`` stores.  Several hooks run in
  the order they were registered, each seeing the previous one's result.  Where they live: on
  the node that produced ``t`` (a non-leaf), or in a table keyed by the leaf tensor.

* **Post-accumulate-grad hooks** — ``leaf.register_post_accumulate_grad_hook(hook)``.  Once a
  backward pass has summed the leaf's gradient over all its consumers and accumulated it into
  ``leaf.grad``, the engine calls ``hook(leaf)`` (once per backward; the result is ignored).

* **Module backward hooks** — ``module.register_full_backward_pre_hook(hook(module, grad_output))``
  and ``module.register_full_backward_hook(hook(module, grad_input, grad_output))``.  They are
  built from tensor-level pieces: when a module with such hooks is called, each input tensor and
  each output tensor passes through an identity op (``_ModuleHookIdentity``).  The identity does
  nothing forward; backward, the one on an *output* sees dL/d(output) (``grad_output``), the one on
  an *input* sees dL/d(input) (``grad_input``).  ``ModuleBackwardHooks`` collects them for one call
  of the module and runs the user hooks at the right moment.

Limitation of this engine (every node here has one output): a hook may *replace* gradients of a
module with several tensor inputs (or outputs) only if those gradients have not flowed on yet;
the module hook raises a clear error in the rare case where it would be too late.
"""
import itertools
import warnings
import weakref

from .function import Function


class RemovableHandle:
    """What every ``register_*hook`` returns: ``handle.remove()`` unregisters the hook (also usable
    as a context manager)."""

    _next_id = itertools.count()

    def __init__(self, *hook_dicts):
        self.id = next(RemovableHandle._next_id)
        self._dicts = [weakref.ref(d) for d in hook_dicts]  # a handle must not keep its owner alive

    def remove(self):
        for ref in self._dicts:
            hooks = ref()
            if hooks is not None:
                hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class HookDict(dict):
    """An ordered ``{handle id: hook}`` dict that can be weakly referenced (plain dicts cannot)."""


# ---- tensor hooks ----------------------------------------------------------------------------
_leaf_hooks = {}  # id(leaf tensor) -> HookDict; the entry goes when the tensor is garbage collected


def register_tensor_hook(tensor, hook):
    """``tensor.register_hook(hook)``: see the module docstring."""
    if not tensor.requires_grad:
        raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require "
                           "gradient (set requires_grad=True first)")
    if not callable(hook):
        raise TypeError(f"register_hook: hook must be callable, got {type(hook).__name__}")
    if tensor.grad_fn is not None:
        node = tensor.grad_fn
        hooks = node.__dict__.get("_tensor_hooks")
        if hooks is None:
            hooks = node._tensor_hooks = HookDict()
    else:
        hooks = _leaf_hooks.get(id(tensor))
        if hooks is None:
            hooks = _leaf_hooks[id(tensor)] = HookDict()
            weakref.finalize(tensor, _leaf_hooks.pop, id(tensor), None)
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def node_hooks(node):
    """The tensor hooks registered on the output of ``node`` (None when there are none)."""
    return node.__dict__.get("_tensor_hooks") or None


def leaf_hooks(tensor):
    """The tensor hooks registered on the leaf ``tensor`` (None when there are none)."""
    return _leaf_hooks.get(id(tensor)) or None if _leaf_hooks else None


def run_tensor_hooks(hooks, grad):
    """Call each hook in order; a non-None result replaces the gradient (same shape required)."""
    for hook in list(hooks.values()):
        result = hook(grad)
        if result is None:
            continue
        if not isinstance(result, Tensor):
            raise TypeError(f"hook '{getattr(hook, '__name__', hook)}' must return a Tensor or None, "
                            f"got {type(result).__name__}")
        if result.shape != grad.shape:
            raise RuntimeError(f"hook '{getattr(hook, '__name__', hook)}' has changed the size of "
                               f"value: got shape {tuple(result.shape)}, expected {tuple(grad.shape)}")
        grad = result
    return grad


# ---- post-accumulate-grad hooks ----------------------------------------------------------------
_post_accumulate_hooks = {}  # id(leaf tensor) -> HookDict; the entry goes with the tensor


def register_post_accumulate_grad_hook(tensor, hook):
    """``tensor.register_post_accumulate_grad_hook(hook)``: after a backward pass has accumulated
    this leaf's gradient into ``.grad`` (summed over every consumer, once per backward), the
    engine calls ``hook(tensor)``; its return value is ignored.  Leaves only: a non-leaf has no
    ``.grad`` to accumulate into.  Data-parallel training starts a gradient's allreduce here."""
    if not tensor.requires_grad:
        raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on a tensor "
                           "that doesn't require gradient (set requires_grad=True first)")
    if tensor.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors "
                           f"(this tensor was produced by {tensor.grad_fn.name()}); register it on "
                           "the leaf, or use register_hook for the gradient of this tensor")
    if not callable(hook):
        raise TypeError(f"register_post_accumulate_grad_hook: hook must be callable, got "
                        f"{type(hook).__name__}")
    hooks = _post_accumulate_hooks.get(id(tensor))
    if hooks is None:
        hooks = _post_accumulate_hooks[id(tensor)] = HookDict()
        weakref.finalize(tensor, _post_accumulate_hooks.pop, id(tensor), None)
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def post_accumulate_grad_hooks(tensor):
    """The post-accumulate-grad hooks of the leaf ``tensor`` (None when there are none)."""
    return _post_accumulate_hooks.get(id(tensor)) or None if _post_accumulate_hooks else None


def run_post_accumulate_grad_hooks(hooks, tensor):
    """Call each hook, in registration order, with the leaf (its ``.grad`` is complete)."""
    for hook in list(hooks.values()):
        hook(tensor)


# ---- module backward hooks -------------------------------------------------------------------
class _ModuleHookIdentity(Function):
    """y = x, with dL/dx = dL/dy: the identity whose backward tells a module's hooks about the
    gradient of one of its inputs or outputs (``slot``), and may swap it for the hooks' result."""

    returns_view = True

    @staticmethod
    def forward(ctx, x, state=None, side=None, slot=None):
        ctx.state, ctx.side, ctx.slot = state, side, slot
        return x.view()  # a view: the output shares memory and version counter with the input

    @staticmethod
    def backward(ctx, grad):
        if ctx.side == "output":
            return ctx.state.output_gradient(ctx.slot, grad)
        return ctx.state.input_gradient(ctx.slot, grad)

    def name(self):
        return "BackwardHookFunctionBackward"


def _tensor_slots(values):
    """Indices of the tensors among ``values`` that require grad."""
    return [i for i, v in enumerate(values) if isinstance(v, Tensor) and v.requires_grad]


class ModuleBackwardHooks:
    """The backward hooks of ONE call of a module: wraps its inputs and outputs in
    ``_ModuleHookIdentity`` and calls the module's hooks when the gradients arrive.

    Timeline of one backward pass (gradients flow from the outputs to the inputs):

    1. every output identity hands in dL/d(output); when the last one arrived the pre-hooks run
       (``hook(module, grad_output)``; a result replaces ``grad_output``);
    2. every input identity hands in dL/d(input); when the last one arrived the hooks run
       (``hook(module, grad_input, grad_output)``; a result replaces ``grad_input``).
       If no input requires grad, the hooks run at step 1 with ``grad_input`` all None.
    """

    def __init__(self, module):
        self.module = module
        self.n_inputs = 0
        self.input_slots = []
        self.input_zeros = {}   # tensor inputs that don't require grad get zeros (like PyTorch)
        self.n_outputs = 0
        self.output_slots = []
        self._reset()

    def _reset(self):
        self.grad_inputs, self.grad_outputs = {}, {}
        self.final_grad_outputs = None

    # forward: wrap
    def wrap_inputs(self, args):
        self.n_inputs = len(args)
        self.input_slots = _tensor_slots(args)
        if not self.input_slots:
            return args
        self.input_zeros = {i: a for i, a in enumerate(args)
                            if isinstance(a, Tensor) and not a.requires_grad}
        return tuple(_ModuleHookIdentity.apply(a, state=self, side="input", slot=i)
                     if i in self.input_slots else a for i, a in enumerate(args))

    def wrap_outputs(self, output):
        single = isinstance(output, Tensor)
        outputs = (output,) if single else output
        if not isinstance(outputs, tuple):
            return output  # a dict or another container: PyTorch does not hook these either
        self.n_outputs = len(outputs)
        self.output_slots = _tensor_slots(outputs)
        if not self.output_slots:
            return output
        wrapped = tuple(_ModuleHookIdentity.apply(o, state=self, side="output", slot=i)
                        if i in self.output_slots else o for i, o in enumerate(outputs))
        return wrapped[0] if single else wrapped

    # backward: collect and call
    def output_gradient(self, slot, grad):
        self.grad_outputs[slot] = grad
        if len(self.grad_outputs) < len(self.output_slots):
            return grad
        grad_output = tuple(self.grad_outputs.get(i) for i in range(self.n_outputs))
        for hook in list(self.module._backward_pre_hooks.values()):
            result = hook(self.module, grad_output)
            if result is not None:
                grad_output = self._check_replacement("backward pre-hook", result, grad_output,
                                                      self.grad_outputs, slot, "grad_output")
        self.final_grad_outputs = grad_output
        if not self.input_slots:
            self._run_hooks_without_inputs(grad_output)
        return grad_output[slot]

    def _run_hooks_without_inputs(self, grad_output):
        hooks = list(self.module._backward_hooks.values())
        if hooks:
            warnings.warn("Full backward hook is firing when gradients are computed with respect to "
                          "module outputs since no inputs require gradients.", UserWarning, stacklevel=2)
        grad_input = (None,) * self.n_inputs
        for hook in hooks:
            result = hook(self.module, grad_input, grad_output)
            if result is not None and any(r is not None for r in result):
                raise RuntimeError("Backward hook for Modules where no input requires gradient should "
                                   "always return None or None for all gradients.")
        self._reset()

    def input_gradient(self, slot, grad):
        self.grad_inputs[slot] = grad
        if len(self.grad_inputs) < len(self.input_slots):
            return grad
        grad_input = tuple(self.grad_inputs[i] if i in self.grad_inputs
                           else (_zeros_like(self.input_zeros[i]) if i in self.input_zeros else None)
                           for i in range(self.n_inputs))
        grad_output = self.final_grad_outputs
        if grad_output is None:
            grad_output = tuple(self.grad_outputs.get(i) for i in range(self.n_outputs))
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grad_input, grad_output)
            if result is not None:
                grad_input = self._check_replacement("backward hook", result, grad_input,
                                                     self.grad_inputs, slot, "grad_input")
        self._reset()
        return grad_input[slot]

    @staticmethod
    def _check_replacement(what, result, old, arrived, slot, name):
        """Validate a hook's replacement tuple; refuse to change a gradient that already flowed on."""
        if isinstance(result, Tensor):
            result = (result,)
        result = tuple(result)
        if len(result) != len(old):
            raise RuntimeError(f"Backward hook returned an invalid number of {name}, got {len(result)}, "
                               f"but expected {len(old)}")
        for i, (new, before) in enumerate(zip(result, old)):
            if i in arrived and i != slot and new is not before:
                raise RuntimeError(f"{what}: replacing {name}[{i}] is not supported here: that gradient "
                                   "already flowed on (this engine hooks each tensor of a module "
                                   f"separately); only {name}[{slot}] can still be replaced")
            if new is not None and before is not None and new.shape != before.shape:
                raise RuntimeError(f"{what} returned {name}[{i}] of shape {tuple(new.shape)}, expected "
                                   f"{tuple(before.shape)}")
        return result


def _zeros_like(t):
    from ..backend import array_module
    return Tensor._wrap(array_module(t.array).zeros_like(t.array))


from ..tensor import Tensor  # noqa: E402
