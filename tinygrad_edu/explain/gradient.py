"""The simplest explanations: the gradient of the output with respect to the input.

``Saliency`` (Simonyan et al., 2013) and ``InputXGradient`` (Shrikumar et al., 2016) both start from

    g_i(x) = ∂F_target(x) / ∂x_i

the first-order sensitivity of the explained output to feature i: moving x_i by a small ε moves the
output by about g_i · ε.  One backward pass gives g for every feature of every example at once.
"""
from ..backend import array_module
from .core import Attribution, additional_args, as_input_tuple, as_output, gradients, preserved_state


class Saliency(Attribution):
    """Saliency map: ``|∂F_target(x)/∂x_i|`` (``abs=True``, the default) or the signed gradient.

    The gradient says how strongly (and, signed, in which direction) the output reacts to an
    infinitesimal change of each feature *at the point x*.  It is local: a saturated feature (the
    output no longer changes with it, e.g. a ReLU past its kink) gets 0 even if it made the output
    what it is — the weakness that integrated gradients repairs by integrating along a path.

    For a linear model F(x) = w·x + c the saliency is |w|, whatever x is."""

    def attribute(self, inputs, target=None, abs=True, additional_forward_args=None):
        """``inputs``: a Tensor or a tuple of Tensors (batch first).  Returns the gradients, shaped
        like ``inputs`` (their absolute values when ``abs``)."""
        arrays, is_tuple = as_input_tuple(inputs, self.name)
        args = additional_args(additional_forward_args)
        with preserved_state(self.forward_func):
            grads, _ = gradients(self.forward_func, arrays, target, args, self.name)
        if abs:
            grads = tuple(array_module(g).abs(g) for g in grads)
        return as_output(grads, is_tuple)


class InputXGradient(Attribution):
    """Input × gradient: ``x_i · ∂F_target(x)/∂x_i``.

    Multiplying by the input turns a sensitivity ("per unit of x_i") into a contribution ("this much
    of the output"): for a linear model F(x) = w·x + c it is exactly w_i x_i, and the attributions
    sum to F(x) − F(0) = F(x) − c.  For a non-linear model it is the first-order Taylor term of
    F(x) − F(0) taken at x, so it is exact only where F is linear along the segment from 0 to x."""

    def attribute(self, inputs, target=None, additional_forward_args=None):
        """``inputs``: a Tensor or a tuple of Tensors (batch first).  Returns ``x ⊙ ∂F/∂x``, shaped
        like ``inputs``."""
        arrays, is_tuple = as_input_tuple(inputs, self.name)
        args = additional_args(additional_forward_args)
        with preserved_state(self.forward_func):
            grads, _ = gradients(self.forward_func, arrays, target, args, self.name)
        return as_output(tuple(x * g for x, g in zip(arrays, grads)), is_tuple)
