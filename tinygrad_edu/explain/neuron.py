"""Attributions of one hidden *neuron*: which input features drive a chosen unit of a layer.

Where ``Saliency`` differentiates the model's output, ``NeuronGradient`` differentiates one number
inside the model: the layer's output at one position (a "neuron", e.g. channel 3 at pixel (5, 7)).
"""
from ..autograd import enable_grad
from ..autograd.engine import grad as autograd_grad
from ..backend import array_module
from ..tensor import Tensor
from .core import Attribution, additional_args, as_input_tuple, as_output, leaves, preserved_state
from .layer import _check_layer, _LayerTap

__all__ = ["NeuronGradient"]


def select_neuron(values, selector, who):
    """One number per example, shape (N,), from the layer's tensors ``values``.

    * an int ``c``: ``A[:, c]`` (a layer with one dimension after the batch);
    * a tuple of ints (and slices): ``A[:, i, j, ...]``; with slices, the selected block is summed
      per example, so the "neuron" is the sum of those units;
    * a callable: ``selector(A)`` (``selector((A1, A2, ...))`` for a layer that returns a tuple)
      must return one number per example."""
    n = values[0].shape[0]
    if callable(selector):
        picked = selector(values if len(values) > 1 else values[0])
        if not isinstance(picked, Tensor) or picked.ndim == 0 or picked.shape[0] != n or picked.numel() != n:
            shape = tuple(picked.shape) if hasattr(picked, "shape") else type(picked).__name__
            raise ValueError(f"{who}: the neuron_selector function returned {shape}; expected a Tensor with "
                             f"one number per example, shape ({n},)")
        return picked.reshape(n)
    if isinstance(selector, bool) or not isinstance(selector, (int, tuple)):
        raise TypeError(f"{who}: neuron_selector must be an int, a tuple of ints/slices or a function of the "
                        f"layer's output; got {type(selector).__name__}")
    if len(values) > 1:
        raise ValueError(f"{who}: the layer returns {len(values)} tensors; "
                         "pass a function as neuron_selector to say which number to take")
    index = (selector,) if isinstance(selector, int) else selector
    layer_out = values[0]
    dims = tuple(layer_out.shape[1:])
    has_slice = any(isinstance(i, slice) for i in index)
    bad = any(not isinstance(i, (int, slice)) or isinstance(i, bool) for i in index)
    out_of_range = any(isinstance(i, int) and not -d <= i < d for i, d in zip(index, dims))
    if bad or len(index) > len(dims) or out_of_range or (len(index) < len(dims) and not has_slice):
        raise ValueError(f"{who}: neuron_selector {selector!r} does not pick one neuron "
                         f"of the layer's output of shape {tuple(layer_out.shape)}; "
                         f"expected one index per dimension after the batch {dims} "
                         f"(or slices, whose units are summed)")
    picked = layer_out[(slice(None),) + tuple(index)]
    return picked.reshape(n, -1).sum(1) if picked.ndim > 1 else picked


class NeuronGradient(Attribution):
    """∂ neuron / ∂ inputs: the gradient of one unit of a layer with respect to every input feature.

    With y = A(x)[neuron] (one number per example, picked by ``neuron_selector``, see
    ``select_neuron``), the attribution is ∂y/∂x — the neuron's saliency map.  The forward pass runs
    with a hook that records the layer's output (or, ``attribute_to_neuron_input=True``, its input)
    with its graph; then ``autograd.grad(Σ_examples y, inputs)`` gives each example its own gradient
    (examples do not mix).  Integer inputs get zero gradients."""

    def __init__(self, forward_func, layer):
        super().__init__(forward_func)
        _check_layer(layer, type(self).__name__)
        self.layer = layer

    def attribute(self, inputs, neuron_selector, additional_forward_args=None,
                  attribute_to_neuron_input=False):
        who = self.name
        arrays, is_tuple = as_input_tuple(inputs, who)
        args = additional_args(additional_forward_args)
        with preserved_state(self.forward_func, self.layer):
            with enable_grad():
                xs = leaves(arrays)
                with _LayerTap(self.layer, who, attribute_to_neuron_input) as tap:
                    self.forward_func(*xs, *args)
                tap.check_called()
                neuron = select_neuron(tap.values, neuron_selector, who)
                wanted = [x for x in xs if x.requires_grad]
                grads = [None] * len(wanted)
                if wanted and neuron.requires_grad:
                    grads = autograd_grad(neuron.sum(), wanted, allow_unused=True)
        grads = iter(grads)
        out = []
        for x in xs:
            g = next(grads) if x.requires_grad else None
            out.append(array_module(x.array).zeros_like(x.array) if g is None else g.array)
        return as_output(tuple(out), is_tuple)
