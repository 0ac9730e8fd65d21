"""Guided backpropagation: a gradient in which every ReLU lets through only *positive* evidence.

The plain gradient of a ReLU ``y = max(x, 0)`` passes the gradient coming from above wherever the
ReLU was active::

    ∂L/∂x = ∂L/∂y · [x > 0]

Guided backpropagation (Springenberg et al., 2015, "Striving for Simplicity") also drops the
*negative* gradients coming from above, at every ReLU of the network::

    ∂L/∂x  ←  ∂L/∂y · [x > 0] · [∂L/∂y > 0]

so only paths along which the output would *grow* survive.  The maps look much sharper than the
plain gradient (they are no longer a true derivative of anything, and are known to depend little on
the top layers' weights — a reason for caution when reading them).

How it is done here: for the length of one ``attribute`` call, the ``forward`` of every ``nn.ReLU``
module of the model is replaced by a ``Function`` (``GuidedReLUFunction``) whose forward is the
ReLU and whose backward is the guided rule above; the original forwards are put back in a
``finally``, so nothing stays patched even when the model raises.  No hooks are registered.

Only ReLU *modules* are changed: a ReLU called as a function (``F.relu(x)`` in a forward) keeps its
plain gradient, as in Captum.  An ``inplace=True`` ReLU runs out of place while patched.

Tests: tests/test_explain_deeplift_perturbation.py
"""
import contextlib

from ..autograd.function import Function, once_differentiable
from ..backend import array_module
from ..nn.activation import ReLU
from ..tensor import Tensor
from .core import (Attribution, additional_args, as_input_tuple, as_output, gradients, modules_of,
                   preserved_state)


@contextlib.contextmanager
def replaced_forwards(replacements):
    """Give each Module of ``replacements`` (a list of ``(module, new_forward)``) the new forward for
    the length of the ``with`` block, and put the original back afterwards, also after an exception.

    The new forward is set on the *instance* (``module.forward = f``), which Python looks up before
    the class's method; putting back means deleting that instance attribute again (or restoring the
    instance attribute that was there before), so ``module.forward`` is then exactly what it was."""
    saved = []
    try:
        for module, new_forward in replacements:
            had_own = "forward" in module.__dict__
            saved.append((module, had_own, module.__dict__.get("forward")))
            object.__setattr__(module, "forward", new_forward)
        yield
    finally:
        for module, had_own, old in reversed(saved):
            if had_own:
                object.__setattr__(module, "forward", old)
            else:
                module.__dict__.pop("forward", None)


def modules_of_type(forward_func, wanted):
    """Every distinct sub-module of the Modules ``forward_func`` uses for which ``wanted(module)``
    is true (each once, even if the model holds it in several places)."""
    found, seen = [], set()
    for root in modules_of(forward_func):
        for module in root.modules():
            if id(module) not in seen and wanted(module):
                seen.add(id(module))
                found.append(module)
    return found


class GuidedReLUFunction(Function):
    """y = max(x, 0), with the guided backward  ∂L/∂x = ∂L/∂y · [x > 0] · [∂L/∂y > 0]."""

    @staticmethod
    def forward(ctx, x):
        xp = array_module(x)
        ctx.active = x > 0
        return xp.maximum(x, 0).astype(x.dtype, copy=False)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        g = grad_output.array
        return Tensor._wrap(g * (ctx.active & (g > 0)))


def _guided_forward(input, *args, **kwargs):  # noqa: A002
    return GuidedReLUFunction.apply(input)


class GuidedBackprop(Attribution):
    """``GuidedBackprop(model).attribute(inputs, target=None, additional_forward_args=None)``.

    The attribution is the gradient ∂F_target/∂x computed with the guided ReLU rule
    ``∂L/∂x = ∂L/∂y · [x > 0] · [∂L/∂y > 0]`` at every ``nn.ReLU`` module of ``model`` (see the
    module docstring); every other layer keeps its ordinary gradient.  It has the inputs' shapes
    and is a Tensor, or a tuple of Tensors when the inputs are a tuple."""

    def __init__(self, model):
        super().__init__(model)
        self.model = model

    def attribute(self, inputs, target=None, additional_forward_args=None):
        """Guided gradients of ``F_target`` with respect to each input (see the class docstring)."""
        arrays, is_tuple = as_input_tuple(inputs, self.name)
        args = additional_args(additional_forward_args)
        with preserved_state(self.forward_func):
            relus = modules_of_type(self.forward_func, lambda m: isinstance(m, ReLU))
            with replaced_forwards([(m, _guided_forward) for m in relus]):
                grads, _ = gradients(self.forward_func, arrays, target, args, self.name)
        return as_output(grads, is_tuple)
