"""DeepLIFT: explain the *difference* F(x) − F(x₀) from a reference input x₀, layer by layer.

A gradient says what a tiny change of x would do.  DeepLIFT (Shrikumar et al., 2017, "Learning
Important Features Through Propagating Activation Differences") asks instead how the change from a
*baseline* x₀ (a black image, an all-zero embedding) to x produced the change of the output.  For
every unit it replaces the derivative by a **multiplier**, the slope of the secant between the two
points::

    m = Δy / Δx = (f(x) − f(x₀)) / (x − x₀)          (the rescale rule, for y = f(x) elementwise)

and where Δx is so small that the quotient means nothing (|x − x₀| < eps) it keeps the ordinary
derivative f'(x).  Linear layers (Linear, Conv) have Δy = W·Δx exactly, so their multiplier is W,
the same as their gradient.  Multipliers then follow the **chain rule** exactly as gradients do: the
multiplier of the input for the output is the backward pass in which each nonlinearity's f'(x) is
replaced by its secant slope m.  The attribution is

    attributions = (x − x₀) ⊙ multiplier      (``multiply_by_inputs=True``, the default)

and it satisfies **summation to delta**: Σᵢ attributionᵢ = F(x) − F(x₀), because every secant slope
turns its Δx into exactly its Δy.  For networks of linear layers and elementwise nonlinearities
(ReLU, Tanh, Sigmoid, ...) the sum is exact up to rounding (and up to the units where the eps
fallback is used); ``return_convergence_delta=True`` returns Σ attributions − (F(x) − F(x₀)) per
example.

The rules, by module type (the set Captum supports, as far as the engine has the module):

* ``ReLU``, ``ELU``, ``LeakyReLU``, ``Sigmoid``, ``Tanh``, ``Softplus``: the rescale rule above;
* ``MaxPool1d/2d/3d`` (Captum's max-pool rule): let y = pool(x), y₀ = pool(x₀) and M = max(y, y₀).
  The output differences are split in two, M − y₀ (sent back to the positions where x had its
  maximum) and y − M (sent back to the positions where x₀ had its maximum); both are weighted by the
  gradient from above, added, and divided by Δx (the plain pooling gradient where |Δx| < eps).  The
  result is complete too: the pieces add up to Σ g·(y − y₀).
* ``Softmax`` (Captum's heuristic): the rescale rule applied to each entry as if softmax were
  elementwise, then the mean of those values is subtracted — the mean over *every* entry of the
  stacked batch of inputs and baselines, as Captum does — because adding a constant to all the
  logits does not change a softmax.  This rule is not exactly complete.

How it is computed, in one forward and one backward pass: the model runs ONCE on the concatenation
``[inputs; baselines]`` along the batch (2N rows), and for the length of that call the ``forward``
of every module listed above is replaced by ``DeepLiftRule``, a ``Function`` whose forward computes
f on the whole batch and whose backward pairs row i (an input) with row i + N (its baseline) to
form Δx and Δy.  The backward of the sum of the 2N selected outputs then gives the multipliers.  The
original forwards are put back in a ``finally``.

Because each *call* of a module makes its own graph node, remembering its own x and y, a module
object used twice in the network (one ``nn.ReLU`` applied after two layers) gets the right
multipliers at both places.  Captum keeps x and y as attributes of the module object, so such a
model fails there (see tests/test_explain_deeplift_perturbation.py).

Only *modules* are changed: a nonlinearity called as a function (``F.relu(x)`` inside a forward)
keeps its plain gradient (as in Captum), and the convergence delta then shows the error.  An
``inplace=True`` module runs on a private copy of its input, so the input it was given is left as it
was (``x = relu(x)``, the usual way to use one, is unaffected).

Tests: tests/test_explain_deeplift_perturbation.py
"""
from ..autograd import enable_grad, grad_mode
from ..autograd.engine import grad as autograd_grad
from ..autograd.function import Function, once_differentiable
from ..backend import array_module
from .. import nn
from ..tensor import Tensor
from .core import (Attribution, additional_args, as_input_tuple, as_output, baselines_like, gradients,
                   preserved_state, repeat_args, repeat_target)
from .guided_backprop import modules_of_type, replaced_forwards

ELEMENTWISE = (nn.ReLU, nn.ELU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softplus)
MAXPOOL = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
SOFTMAX = (nn.Softmax,)


def rule_of(module):
    """``'rescale'``, ``'maxpool'``, ``'softmax'`` or None: the DeepLift rule for this module's exact
    type (a subclass may compute something else, so it keeps its plain gradient)."""
    kind = type(module)
    if kind in ELEMENTWISE:
        return "rescale"
    if kind in MAXPOOL:
        return "maxpool"
    if kind in SOFTMAX:
        return "softmax"
    return None


def _halves(a):
    """Row i of the first half minus row i of the second, for both halves: shape of ``a``."""
    xp = array_module(a)
    half = a.shape[0] // 2
    d = a[:half] - a[half:]
    return xp.concatenate([d, d])


class DeepLiftRule(Function):
    """One nonlinearity, forward f on the whole stacked batch [x; x₀], backward the DeepLift rule.

    ``local`` is ``(x_leaf, y)``: the module's original forward run on a private leaf copy of the
    input, so that backward can ask autograd for the plain vector-Jacobian product ∂y/∂x · v."""

    @staticmethod
    def forward(ctx, x, rule=None, local=None, eps=1e-10):
        ctx.rule, ctx.local, ctx.eps = rule, local, eps
        ctx.x = x
        return local[1].array.copy()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        x_leaf, y = ctx.local
        g = grad_output.array
        xp = array_module(g)

        def vjp(v, keep):
            found, = autograd_grad(y, [x_leaf], grad_outputs=Tensor._wrap(v), retain_graph=keep,
                                   allow_unused=True)
            return xp.zeros_like(ctx.x) if found is None else found.array

        dx = _halves(ctx.x)
        small = xp.abs(dx) < ctx.eps
        safe_dx = xp.where(small, 1.0, dx)
        if ctx.rule == "maxpool":
            y_arr = y.array
            half = y_arr.shape[0] // 2
            y_in, y_ref = y_arr[:half], y_arr[half:]
            top = xp.maximum(y_in, y_ref)
            split = xp.concatenate([top - y_ref, y_in - top])
            routed = vjp(g * split, keep=True)             # each half to its own argmax positions
            both = routed[:half] + routed[half:]
            secant = xp.concatenate([both, both]) / safe_dx
        else:
            secant = g * _halves(y.array) / safe_dx
        plain = vjp(g, keep=False)
        out = xp.where(small, plain, secant)
        if ctx.rule == "softmax":
            out = out - out.sum() / out.size
        return Tensor._wrap(out.astype(ctx.x.dtype, copy=False))


def _patched(module, rule, eps, who):
    original = module.forward

    def forward(input, *args, **kwargs):  # noqa: A002
        if not (grad_mode.state.enabled and isinstance(input, Tensor) and input.requires_grad):
            return original(input, *args, **kwargs)
        if input.ndim == 0 or input.shape[0] % 2:
            raise ValueError(f"{who}: {type(module).__name__} received an input of shape "
                             f"{tuple(input.shape)}; DeepLift expects the stacked batch [inputs; "
                             "baselines] (an even number of rows, inputs first) at every nonlinearity")
        with enable_grad():
            x_leaf = Tensor._wrap(input.array.copy())
            x_leaf.requires_grad = True
            y = original(x_leaf.clone(), *args, **kwargs)      # not a leaf: an inplace=True ReLU may run
        if not isinstance(y, Tensor):
            raise ValueError(f"{who}: {type(module).__name__} returned {type(y).__name__}; DeepLift "
                             "needs one Tensor (a max-pool with return_indices=True is not supported)")
        return DeepLiftRule.apply(input, rule=rule, local=(x_leaf, y), eps=eps)

    return forward


class DeepLift(Attribution):
    """``DeepLift(model, multiply_by_inputs=True, eps=1e-10).attribute(inputs, baselines=None,
    target=None, additional_forward_args=None, return_convergence_delta=False)``.

    Attributions of F_target(x) − F_target(x₀) to each input feature by DeepLIFT's rescale rule (see
    the module docstring for the rules and why Σ attributions = F(x) − F(x₀)).  ``baselines``: None
    (zeros), a number, one example's shape or the inputs' shape, one per input.  With
    ``multiply_by_inputs=False`` the multipliers alone are returned (the "global" attribution);
    ``eps``: below this |x − x₀| a unit uses its plain derivative."""

    def __init__(self, model, multiply_by_inputs=True, eps=1e-10):
        super().__init__(model)
        self.model = model
        self.multiplies_by_inputs = bool(multiply_by_inputs)
        self.eps = float(eps)

    def has_convergence_delta(self):
        return True

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None,
                  return_convergence_delta=False):
        """DeepLIFT attributions (and, when asked, the completeness error per example)."""
        arrays, is_tuple = as_input_tuple(inputs, self.name)
        bases = baselines_like(baselines, arrays, self.name)
        args = additional_args(additional_forward_args)
        n = arrays[0].shape[0]
        stacked = tuple(array_module(a).concatenate([a, b]) for a, b in zip(arrays, bases))
        with preserved_state(self.forward_func):
            units = modules_of_type(self.forward_func, lambda m: rule_of(m) is not None)
            patches = [(m, _patched(m, rule_of(m), self.eps, self.name)) for m in units]
            with replaced_forwards(patches):
                grads, _ = gradients(self.forward_func, stacked, repeat_target(target, 2),
                                     repeat_args(args, 2), self.name)
            multipliers = tuple(g[:n] for g in grads)
            if self.multiplies_by_inputs:
                attributions = tuple((a - b) * m for a, b, m in zip(arrays, bases, multipliers))
            else:
                attributions = multipliers
            result = as_output(attributions, is_tuple)
            if not return_convergence_delta:
                return result
            delta = self.compute_convergence_delta(tuple(as_output(attributions, True)), bases, arrays,
                                                   target, additional_forward_args)
        return result, delta
