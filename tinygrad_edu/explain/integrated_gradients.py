"""Integrated gradients (Sundararajan, Taly & Yan, "Axiomatic Attribution for Deep Networks", 2017).

A gradient is local: it tells what a tiny change of x would do, not what made F(x) differ from the
output F(b) at a neutral *baseline* b (a black image, all-zero features).  Integrated gradients walks
the straight path from b to x,

    γ(α) = b + α (x − b),     α from 0 to 1,

and adds up, feature by feature, the gradient met on the way times the distance travelled:

    IG_i(x) = (x_i − b_i) · ∫₀¹ ∂F/∂x_i (b + α (x − b)) dα.

By the fundamental theorem of calculus for the path, dF(γ(α))/dα = Σ_i ∂F/∂x_i(γ(α)) · (x_i − b_i), so

    Σ_i IG_i(x) = F(x) − F(b)          (*completeness*)

— the attributions share out exactly the change of the output.  The integral is computed with a
quadrature rule (``approximation_parameters``): ``∫₀¹ g(α) dα ≈ Σ_k w_k g(α_k)``, so

    IG_i ≈ (x_i − b_i) · Σ_k w_k ∂F/∂x_i (b + α_k (x − b)),

and how far Σ_i IG_i is from F(x) − F(b) (the *convergence delta*) measures the quadrature error.
"""
import numpy as np

from ..backend import array_module
from ..tensor import Tensor
from .core import (Attribution, additional_args, approximation_parameters, as_input_tuple, as_output,
                   baselines_like, gradients, path_points, preserved_state, repeat_args, repeat_target,
                   step_chunks)


def check_target_count(target, batch_size, who):
    """A per-example ``target`` (a list, or an integer Tensor of several entries) must have one entry
    per example; checked before the batch is repeated, so that the error names the user's sizes."""
    array = target.array if isinstance(target, Tensor) else target
    if isinstance(target, list) and len(target) != batch_size:
        raise ValueError(f"{who}: target is a list of {len(target)} entries for {batch_size} examples; "
                         "expected one per example")
    if (hasattr(array, "ndim") and not isinstance(target, list) and array.size > 1
            and array.shape != (batch_size,)):
        raise ValueError(f"{who}: a target Tensor must hold one integer class per example, shape "
                         f"({batch_size},); got shape {tuple(array.shape)}")


def integrate_gradients(forward_func, arrays, baselines, weights, alphas, target=None, args=(),
                        internal_batch_size=None, who="IntegratedGradients"):
    """``Σ_k w_k ∂F/∂x (b + α_k (x − b))`` for each input: the weighted sum of the gradients along the
    straight path from ``baselines`` to ``arrays`` (not yet multiplied by x − b).

    The steps are evaluated in chunks (``core.step_chunks``): a chunk of k steps stacks the k
    scaled copies of the batch, step-major (rows k·N + n), runs one forward and one backward pass,
    and adds its k gradients, weighted, into a running sum.  Only one chunk's points and graph are
    alive at a time, so memory does not grow with ``n_steps``; the sum is taken in step order, so the
    result does not depend on the chunk size."""
    n = arrays[0].shape[0]
    diffs = tuple(x - b for x, b in zip(arrays, baselines))
    totals = [array_module(x).zeros(x.shape, dtype=np.result_type(x.dtype, d.dtype))
              for x, d in zip(arrays, diffs)]
    for steps in step_chunks(len(alphas), n, internal_batch_size, who):
        k = len(steps)
        points = path_points(baselines, diffs, alphas, steps)
        grads, _ = gradients(forward_func, points, repeat_target(target, k), repeat_args(args, k), who)
        for total, g in zip(totals, grads):
            g = g.reshape((k, n) + g.shape[1:])
            for j, s in enumerate(steps):
                total += weights[s] * g[j]
        del points, grads
    return tuple(totals)


class IntegratedGradients(Attribution):
    """``IntegratedGradients(forward_func, multiply_by_inputs=True)``.

    ``attribute(inputs, baselines=None, target=None, additional_forward_args=None, n_steps=50,
    method="gausslegendre", internal_batch_size=None, return_convergence_delta=False)`` returns

        IG_i = (x_i − b_i) · Σ_k w_k ∂F_target/∂x_i (b + α_k (x − b))

    shaped like ``inputs`` (with ``multiply_by_inputs=False`` only the integrated gradient
    Σ_k w_k ∂F/∂x_i, without the factor x_i − b_i).  With ``return_convergence_delta=True`` it returns
    ``(attributions, delta)``, delta[n] = Σ_i IG_i − (F(x_n) − F(b_n)) per example.

    * ``baselines``: None (zeros), a number, a Tensor of one example's shape or of the input's shape,
      or a tuple of those, one per input;
    * ``method``: ``riemann_left``, ``riemann_right``, ``riemann_middle``, ``riemann_trapezoid`` or
      ``gausslegendre`` — the quadrature rule; Gauss–Legendre is exact for polynomials of degree
      2·n_steps − 1, so it needs the fewest steps on smooth models;
    * ``internal_batch_size``: rows per forward pass (see ``core.step_chunks``); results are the same
      for every value, only memory and speed change."""

    def __init__(self, forward_func, multiply_by_inputs=True):
        super().__init__(forward_func)
        self._multiply_by_inputs = bool(multiply_by_inputs)

    @property
    def multiplies_by_inputs(self):
        return self._multiply_by_inputs

    def has_convergence_delta(self):
        return True

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None, n_steps=50,
                  method="gausslegendre", internal_batch_size=None, return_convergence_delta=False):
        arrays, is_tuple = as_input_tuple(inputs, self.name)
        weights, alphas = approximation_parameters(method, n_steps, self.name)
        starts = baselines_like(baselines, arrays, self.name)
        check_target_count(target, arrays[0].shape[0], self.name)
        args = additional_args(additional_forward_args)
        with preserved_state(self.forward_func):
            integrated = integrate_gradients(self.forward_func, arrays, starts, weights, alphas, target, args,
                                             internal_batch_size, self.name)
            if self._multiply_by_inputs:
                attributions = tuple(g * (x - b) for g, x, b in zip(integrated, arrays, starts))
            else:
                attributions = integrated
            result = as_output(attributions, is_tuple)
            if not return_convergence_delta:
                return result
            delta = self.compute_convergence_delta(attributions, starts, arrays, target,
                                                   additional_forward_args)
        return result, delta
