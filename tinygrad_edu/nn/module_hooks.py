"""Module hooks: run your own code before/after a module's forward, or when its gradients are known.

``ModuleHooks`` is a mixin of ``Module`` (nn/module.py): ``module.register_forward_hook(fn)`` is a
method of every layer as in PyTorch.  The registration lives here; the hooks are *run* by
``Module.__call__`` (forward hooks) and ``autograd/hooks.py`` (backward hooks, through identity ops
around the module's inputs and outputs).  Each registration returns a ``RemovableHandle`` whose
``remove()`` takes the hook out again.
"""
from ..autograd.hooks import RemovableHandle


class ModuleHooks:
    """The ``register_*_hook`` methods of ``Module`` (the hook tables are made in ``Module.__init__``)."""

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """Call ``hook(module, args, output)`` after every forward (``hook(module, args, kwargs,
        output)`` with ``with_kwargs=True``); a non-None return value replaces the output.
        Returns a handle whose ``remove()`` unregisters it."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs.add(handle.id)
        if prepend:
            self._move_to_front(self._forward_hooks, handle.id)
        return handle

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args)`` before every forward; a non-None return value replaces the
        positional arguments (``(args, kwargs)`` with ``with_kwargs=True``)."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs.add(handle.id)
        if prepend:
            self._move_to_front(self._forward_pre_hooks, handle.id)
        return handle

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_output)`` when the gradients of the module's outputs are known,
        before they flow into the module; a non-None return (a tuple like ``grad_output``) replaces
        them. ``grad_output`` has one entry per output (None for a non-tensor one)."""
        handle = RemovableHandle(self._backward_pre_hooks)
        self._backward_pre_hooks[handle.id] = hook
        if prepend:
            self._move_to_front(self._backward_pre_hooks, handle.id)
        return handle

    def register_full_backward_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_input, grad_output)`` when the gradients of the module's inputs
        are computed: ``grad_input[i]`` is dL/d(args[i]) (None for a non-tensor argument),
        ``grad_output`` as for the pre-hook.  A non-None return (a tuple like ``grad_input``)
        replaces the input gradients that flow on.  If no input requires grad, the hook runs as soon
        as ``grad_output`` is known, with ``grad_input`` all None.  Module hooks see the gradients
        of the positional tensor arguments only, as in PyTorch."""
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        if prepend:
            self._move_to_front(self._backward_hooks, handle.id)
        return handle

    def register_backward_hook(self, hook):
        raise NotImplementedError("register_backward_hook (PyTorch's deprecated non-full hook) is not "
                                  "provided: use register_full_backward_hook")

    @staticmethod
    def _move_to_front(hooks, key):
        items = [(key, hooks.pop(key))] + list(hooks.items())
        hooks.clear()
        hooks.update(items)
