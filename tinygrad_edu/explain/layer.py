"""Attributions to a *layer*: what a hidden layer holds, and how much each of its units matters.

Input attributions (Saliency, IntegratedGradients) explain a decision in terms of pixels or tokens.
The methods here look inside: for a layer ``L`` of the model, write the model as F(x) = G(A(x)), where
A(x) = L's output (its *activation*) and G is everything after L.  Then

* ``LayerActivation``   A(x) itself;
* ``LayerGradCam``      Grad-CAM: a coarse heat map Σ_c α_c A_c with α_c = mean over positions of ∂G/∂A_c;
* ``LayerIntegratedGradients``  integrated gradients of G along the straight path from A(baseline) to
                        A(x) — for BERT, token attributions through the embedding layer, where the
                        inputs (token ids) are integers and cannot be differentiated;
* ``LayerConductance``  how much of F(x) − F(baseline) flows through each unit of A when the *input*
                        moves along the straight path from the baseline to x.

How ∂G/∂A is obtained (no backward hooks): a forward hook on ``L`` hands the rest of the model a
*fresh leaf tensor* with A's values and ``requires_grad=True`` instead of L's own output.  G is then
computed from that leaf, and ``autograd.grad(F_target.sum(), [leaf])`` is exactly ∂G/∂A (the graph
below the layer is cut, so nothing is computed there).  The same hook can hand over *other* values
(points on a path A(b) + α·(A(x) − A(b))): that is how LayerIntegratedGradients evaluates G at
activations no input produces.  The hook is removed when the method returns or raises, and nothing
touches ``.grad``.

With ``attribute_to_layer_input=True`` the same is done with the layer's *input* (a forward pre-hook)
instead of its output.
"""
import numpy as np

from ..autograd import enable_grad, no_grad
from ..autograd.engine import grad as autograd_grad
from ..backend import array_module
from ..nn.module import Module
from ..tensor import Tensor
from .core import (Attribution, additional_args, approximation_parameters, as_input_tuple, as_output,
                   baselines_like, path_points, preserved_state, repeat_args, repeat_target, run_forward,
                   step_chunks)

__all__ = ["LayerAttribution", "LayerActivation", "LayerGradCam", "LayerIntegratedGradients",
           "LayerConductance"]

_INTERPOLATE_MODES = ("nearest", "linear", "bilinear")


# ------------------------------------------------------------------------------------------------
# the tap: see (and possibly replace) what a layer produces during one forward pass
# ------------------------------------------------------------------------------------------------
class _LayerTap:
    """A context manager that hooks ``layer`` for the forward passes run inside it.

    ``replace`` says what the rest of the model receives in place of the layer's output (or input,
    with ``to_input``):

    * ``None``      copies of the layer's own tensors (these are recorded, with their graph);
    * ``"copy"``    fresh leaves with the same values that require grad (for ∂F/∂A);
    * a tuple of arrays: fresh leaves over these values (a path point), one per tensor.

    ``values`` are then the tensors the rest of the forward used, ``is_tuple`` whether the layer
    produced a tuple.  A layer called twice in one forward is refused (which call would be meant?)."""

    def __init__(self, layer, who, to_input=False, replace=None):
        self.layer, self.who, self.to_input, self.replace = layer, who, to_input, replace
        self.values, self.is_tuple, self.calls, self.handle = None, False, 0, None

    def __enter__(self):
        if self.to_input:
            self.handle = self.layer.register_forward_pre_hook(self._pre_hook)
        else:
            self.handle = self.layer.register_forward_hook(self._hook)
        return self

    def __exit__(self, *exc):
        self.handle.remove()
        return False

    def check_called(self):
        if self.calls == 0:
            raise ValueError(f"{self.who}: the layer {type(self.layer).__name__} was never called by "
                             "forward_func; pass a submodule that the model runs in its forward")

    # -- hooks -----------------------------------------------------------------------------------
    def _hook(self, module, args, output):
        if isinstance(output, Tensor):
            new = self._take([output], False, "output")
            return None if new is None else new[0]
        if isinstance(output, (tuple, list)) and any(isinstance(o, Tensor) for o in output):
            return self._rebuild(output, "output")
        raise TypeError(f"{self.who}: the layer's output is a {type(output).__name__}; expected a Tensor "
                        "or a tuple of Tensors")

    def _pre_hook(self, module, args):
        if not any(isinstance(a, Tensor) for a in args):
            raise TypeError(f"{self.who}: the layer {type(module).__name__} got no Tensor as a positional "
                            "input; attribute_to_layer_input needs one")
        return self._rebuild(args, "input")

    def _rebuild(self, items, what):
        """The tensors among ``items`` (a tuple or list) taken and, if replaced, put back in place."""
        where = [i for i, o in enumerate(items) if isinstance(o, Tensor)]
        new = self._take([items[i] for i in where], what == "output" or len(where) > 1, what)
        if new is None:
            return None
        rebuilt = list(items)
        for i, t in zip(where, new):
            rebuilt[i] = t
        return rebuilt if isinstance(items, list) else tuple(rebuilt)

    def _take(self, tensors, is_tuple, what):
        self.calls += 1
        if self.calls > 1:
            raise ValueError(f"{self.who}: the layer {type(self.layer).__name__} ran more than once in one "
                             "forward pass; attribute to a layer that runs once")
        self.is_tuple = is_tuple
        if self.replace is None:
            # recorded as they are; the rest of the model gets copies, so that a next layer working in
            # place (ReLU(inplace=True)) cannot overwrite (and re-route the graph of) what was recorded
            self.values = tuple(tensors)
            return [t.clone() for t in tensors]
        arrays = [t.array.copy() for t in tensors] if isinstance(self.replace, str) else self.replace
        if len(arrays) != len(tensors):
            raise ValueError(f"{self.who}: {len(arrays)} replacement values for a layer {what} of "
                             f"{len(tensors)} tensors")
        new = []
        for t, a in zip(tensors, arrays):
            if tuple(a.shape) != tuple(t.shape):
                raise ValueError(f"{self.who}: the layer {what} has shape {tuple(t.shape)} but the value "
                                 f"put in its place has shape {tuple(a.shape)}")
            if a.dtype.kind != "f":
                raise TypeError(f"{self.who}: the layer {what} has dtype {a.dtype}; gradients need a "
                                "floating point layer (pick a later layer)")
            leaf = Tensor._wrap(a)
            leaf.requires_grad = True
            new.append(leaf)
        self.values = tuple(new)
        # the model gets copies made in the graph, not the leaves themselves: a next layer that works
        # in place (ReLU(inplace=True)) may overwrite a copy, never a leaf that requires grad
        return [leaf.clone() for leaf in new]


def _check_layer(layer, who):
    if not isinstance(layer, Module):
        raise TypeError(f"{who}: layer must be a Module (a submodule of the model), got "
                        f"{type(layer).__name__}")


def layer_values(forward_func, layer, arrays, args, to_input, who):
    """``(arrays, is_tuple)``: the layer's output (or input) on ``arrays``, without a graph."""
    with no_grad(), _LayerTap(layer, who, to_input) as tap:
        forward_func(*(Tensor._wrap(a) for a in arrays), *args)
    tap.check_called()
    return tuple(t.array.copy() for t in tap.values), tap.is_tuple


def layer_gradients(forward_func, layer, arrays, target, args, to_input, who, replace="copy"):
    """``(∂F_target/∂A, A, is_tuple)`` as arrays: the gradient of the selected outputs (summed over
    the batch, so each example gets its own gradient) with respect to the layer's output A — or, with
    ``replace`` a tuple of arrays, with respect to those values put in the layer's place."""
    with enable_grad():
        with _LayerTap(layer, who, to_input, replace) as tap:
            selected = run_forward(forward_func, tuple(Tensor._wrap(a) for a in arrays), target, args, who)
        tap.check_called()
        grads = [None] * len(tap.values)
        if selected.requires_grad:
            grads = autograd_grad(selected.sum(), list(tap.values), allow_unused=True)
    out = []
    for g, v in zip(grads, tap.values):
        out.append(array_module(v.array).zeros_like(v.array) if g is None else g.array)
    return tuple(out), tuple(v.array for v in tap.values), tap.is_tuple


def _tile(arrays, k):
    """Each array stacked ``k`` times along the batch: [x; x; ...; x]."""
    return tuple(array_module(a).concatenate([a] * k, axis=0) for a in arrays)


# ------------------------------------------------------------------------------------------------
# the methods
# ------------------------------------------------------------------------------------------------
class LayerAttribution(Attribution):
    """Base of the layer methods: ``Method(forward_func, layer)``, ``layer`` a submodule that
    ``forward_func`` runs exactly once per forward pass."""

    def __init__(self, forward_func, layer):
        super().__init__(forward_func)
        _check_layer(layer, type(self).__name__)
        self.layer = layer

    @staticmethod
    def interpolate(layer_attribution, interpolate_dims, interpolate_mode="nearest"):
        """Resize a layer map (N, C, h, w) to the input's size (an int or a tuple, e.g. (H, W)), to
        lay a coarse Grad-CAM map over the image.

        ``"nearest"`` copies each output pixel from the input pixel ⌊o·h/H⌋; ``"bilinear"`` blends the
        four neighbours of the source point s = (o + ½)·h/H − ½ (pixel centres line up, PyTorch's
        ``align_corners=False``).  See ``tinygrad_edu/nn/upsampling.py`` for the details."""
        from ..nn.upsampling import interpolate
        if interpolate_mode not in _INTERPOLATE_MODES:
            raise ValueError(f"LayerAttribution.interpolate: interpolate_mode {interpolate_mode!r} is not "
                             f"supported; expected one of {', '.join(_INTERPOLATE_MODES)}")
        if not isinstance(layer_attribution, Tensor):
            layer_attribution = Tensor._wrap(np.asarray(layer_attribution) if not hasattr(
                layer_attribution, "shape") else layer_attribution)
        return interpolate(layer_attribution, size=interpolate_dims, mode=interpolate_mode)


class LayerActivation(LayerAttribution):
    """A(x): the layer's output (or, with ``attribute_to_layer_input``, its input) on ``inputs``.

    Nothing is differentiated: one forward pass with a hook that records what the layer produced.
    A tuple of Tensors when the layer returns a tuple."""

    def attribute(self, inputs, additional_forward_args=None, attribute_to_layer_input=False):
        arrays, _ = as_input_tuple(inputs, self.name)
        args = additional_args(additional_forward_args)
        with preserved_state(self.forward_func, self.layer):
            values, is_tuple = layer_values(self.forward_func, self.layer, arrays, args,
                                            attribute_to_layer_input, self.name)
        return as_output(values, is_tuple)


class LayerGradCam(LayerAttribution):
    """Grad-CAM (Selvaraju et al., 2017): where in the image does the layer see evidence for the class?

    For a convolutional layer with activations A (N, C, h, w) and the target output F:

        α_c = (1 / (h·w)) Σ_ij ∂F/∂A_c,ij          how much channel c matters (its mean gradient)
        map = Σ_c α_c · A_c                          (N, 1, h, w) with ``attr_dim_summation``

    ``relu_attributions=True`` keeps only positive evidence, ReLU(map), as in the paper.  Without
    ``attr_dim_summation`` the per-channel terms α_c·A_c (N, C, h, w) are returned.  The map has the
    layer's resolution: ``LayerAttribution.interpolate`` brings it to the image's.  For a layer
    without spatial dims (N, C) the gradient itself is the weight: α_c·A_c.

    The gradient ∂F/∂A is obtained by putting a fresh leaf in the layer's place during
    the forward pass (see the module docstring)."""

    def attribute(self, inputs, target=None, additional_forward_args=None, attribute_to_layer_input=False,
                  relu_attributions=False, attr_dim_summation=True):
        arrays, _ = as_input_tuple(inputs, self.name)
        args = additional_args(additional_forward_args)
        with preserved_state(self.forward_func, self.layer):
            grads, values, is_tuple = layer_gradients(self.forward_func, self.layer, arrays, target, args,
                                                      attribute_to_layer_input, self.name)
        maps = []
        for g, a in zip(grads, values):
            xp = array_module(a)
            alpha = g.mean(axis=tuple(range(2, g.ndim)), keepdims=True) if g.ndim > 2 else g
            scaled = alpha * a
            if attr_dim_summation:
                scaled = scaled.sum(axis=1, keepdims=True)
            if relu_attributions:
                scaled = xp.maximum(scaled, 0)
            maps.append(scaled)
        return as_output(tuple(maps), is_tuple)


class LayerIntegratedGradients(LayerAttribution):
    """Integrated gradients with respect to a layer's output A.

    Write F(x) = G(A(x)).  With a = A(x) and a' = A(baseline), integrated gradients of G along the
    straight line between them:

        attribution_i = (a_i − a'_i) · ∫₀¹ ∂G/∂A_i (a' + α·(a − a')) dα
                      ≈ (a_i − a'_i) · Σ_k w_k · ∂G/∂A_i (a' + α_k·(a − a'))

    (points α_k and weights w_k from ``method``, see ``core.approximation_parameters``).  By the
    fundamental theorem of calculus the attributions add up to G(a) − G(a') = F(x) − F(baseline):
    ``return_convergence_delta`` gives the error of the quadrature, Σ attributions − (F(x) − F(b)).

    How: one forward pass on the inputs and one on the baselines record a and a'; then the model
    is run on the inputs (repeated once per path point) with a hook that puts the path points
    a' + α_k·(a − a') in the layer's place, and the gradients are taken with respect to those.  The
    inputs themselves are never differentiated, so they may be integers: token ids of BERT, with
    ``layer = model.bert.embeddings`` and baselines such as [CLS] [PAD] ... [PAD] [SEP]; summing
    the attributions over the hidden dimension gives one number per token.

    ``multiply_by_inputs=False`` returns the path-averaged gradient Σ_k w_k ∂G/∂A without the factor
    (a − a')."""

    def __init__(self, forward_func, layer, multiply_by_inputs=True):
        super().__init__(forward_func, layer)
        self._multiply_by_inputs = bool(multiply_by_inputs)

    @property
    def multiplies_by_inputs(self):
        return self._multiply_by_inputs

    def has_convergence_delta(self):
        return True

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None, n_steps=50,
                  method="gausslegendre", internal_batch_size=None, return_convergence_delta=False,
                  attribute_to_layer_input=False):
        who = self.name
        arrays, _ = as_input_tuple(inputs, who)
        bases = baselines_like(baselines, arrays, who)
        weights, alphas = approximation_parameters(method, n_steps, who)
        args = additional_args(additional_forward_args)
        n = arrays[0].shape[0]
        chunks = step_chunks(len(alphas), n, internal_batch_size, who)
        with preserved_state(self.forward_func, self.layer):
            a_x, is_tuple = layer_values(self.forward_func, self.layer, arrays, args,
                                         attribute_to_layer_input, who)
            a_b, _ = layer_values(self.forward_func, self.layer, bases, args, attribute_to_layer_input, who)
            a_d = tuple(x - b for x, b in zip(a_x, a_b))
            totals = [array_module(a).zeros_like(a) for a in a_x]
            for steps in chunks:
                k = len(steps)
                points = path_points(a_b, a_d, alphas, steps)
                grads, _, _ = layer_gradients(self.forward_func, self.layer, _tile(arrays, k),
                                              repeat_target(target, k), repeat_args(args, k),
                                              attribute_to_layer_input, who, replace=points)
                for total, g in zip(totals, grads):
                    g = g.reshape((k,) + total.shape)
                    for j, s in enumerate(steps):
                        total += weights[s] * g[j]
            if self._multiply_by_inputs:
                totals = [t * d for t, d in zip(totals, a_d)]
            attributions = as_output(tuple(totals), is_tuple)
            if not return_convergence_delta:
                return attributions
            delta = self.compute_convergence_delta(attributions, bases, arrays, target,
                                                   additional_forward_args)
        return attributions, delta


class LayerConductance(LayerAttribution):
    """Conductance (Dhamdhere et al., 2018): how much of F(x) − F(baseline) flows through each unit y
    of the layer as the *input* moves along the straight path x(α) = b + α·(x − b).

        conductance_y = ∫₀¹ ∂F/∂y (x(α)) · dy(x(α))/dα dα

    — integrated gradients of the inputs, regrouped by the hidden unit the change passes through
    (chain rule: ∂F/∂x_i = Σ_y ∂F/∂y · ∂y/∂x_i).  Summed over the units of a layer that everything
    passes through, it adds up to F(x) − F(b).

    Discretised as Captum does: the ``n_steps + 1`` points α_0 < ... < α_n of ``method`` (for
    ``n_steps + 1``), the layer's output y_k and gradient ∂F/∂y_k at each, and

        conductance_y ≈ Σ_{k=0}^{n-1} ∂F/∂y (x(α_k)) · (y(x(α_{k+1})) − y(x(α_k)))

    (a left Riemann–Stieltjes sum: the gradient at the start of each step times the change of y over
    it; the quadrature weights are not used).  The inputs must be floating point."""

    def has_convergence_delta(self):
        return True

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None, n_steps=50,
                  method="gausslegendre", internal_batch_size=None, return_convergence_delta=False,
                  attribute_to_layer_input=False):
        who = self.name
        arrays, _ = as_input_tuple(inputs, who)
        for i, a in enumerate(arrays):
            if a.dtype.kind != "f":
                raise TypeError(f"{who}: input {i} has dtype {a.dtype}; conductance moves the inputs along a "
                                "path, so they must be floating point (use LayerIntegratedGradients for ids)")
        bases = baselines_like(baselines, arrays, who)
        if not isinstance(n_steps, (int, np.integer)) or isinstance(n_steps, bool) or n_steps < 1:
            raise ValueError(f"{who}: n_steps must be a positive int, got {n_steps!r}")
        _, alphas = approximation_parameters(method, int(n_steps) + 1, who)
        args = additional_args(additional_forward_args)
        n = arrays[0].shape[0]
        chunks = step_chunks(len(alphas), n, internal_batch_size, who)
        diffs = tuple(x - b for x, b in zip(arrays, bases))
        with preserved_state(self.forward_func, self.layer):
            grads_at, values_at, is_tuple = None, None, False
            for steps in chunks:
                k = len(steps)
                path = path_points(bases, diffs, alphas, steps)
                grads, values, is_tuple = layer_gradients(self.forward_func, self.layer, path,
                                                          repeat_target(target, k), repeat_args(args, k),
                                                          attribute_to_layer_input, who)
                if grads_at is None:
                    grads_at, values_at = [[] for _ in grads], [[] for _ in values]
                for store, new in ((grads_at, grads), (values_at, values)):
                    for lst, a in zip(store, new):
                        lst.extend(a.reshape((k, n) + a.shape[1:]))
            out = []
            for gs, ys in zip(grads_at, values_at):
                total = array_module(ys[0]).zeros_like(ys[0])
                for step in range(len(alphas) - 1):
                    total += gs[step] * (ys[step + 1] - ys[step])
                out.append(total)
            attributions = as_output(tuple(out), is_tuple)
            if not return_convergence_delta:
                return attributions
            delta = self.compute_convergence_delta(attributions, bases, arrays, target,
                                                   additional_forward_args)
        return attributions, delta
