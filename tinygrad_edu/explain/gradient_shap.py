"""GradientShap: expected gradients (Lundberg & Lee, 2017; Erion et al., 2019).

Integrated gradients needs one baseline, and the answer depends on which.  GradientShap averages
over a *distribution* of baselines B (a batch of reference examples) and over the whole path at once,
by sampling: for each of S samples per example draw

    b ~ B (a random row),   α ~ U(0, 1),   ε ~ N(0, σ²) (optional noise on x),   x̃ = x + ε

and take the gradient at the random point b + α (x̃ − b) of the path:

    GradientShap_i(x) = E_{b, α, ε} [ (x̃_i − b_i) · ∂F/∂x_i (b + α (x̃ − b)) ]
                      ≈ (1/S) Σ_s (x̃_s,i − b_s,i) · ∂F/∂x_i (b_s + α_s (x̃_s − b_s)).

For a fixed b, the expectation over α is exactly integrated gradients from b (the integral ∫₀¹ dα
*is* the mean over α ~ U(0,1)); averaging over b as well gives the SHAP values of the model when it
is linear (and an approximation of them otherwise).  Completeness holds in expectation:
E[Σ_i attributions] = F(x) − E[F(b)].  The convergence delta is given per sample (N·S entries,
example-major): Σ_i (x̃ − b)_i ∂F/∂x_i − (F(x̃) − F(b)), which is 0 only for a linear model — one α
per sample is a one-point quadrature.

Randomness: the baselines and the noise come from ``noise_tunnel.draw_baselines`` /
``noise_tunnel.gaussian_noise``, α from ``uniform_alphas`` (all on the engine's default generator).
"""
import numpy as np

from ..backend import array_module
from ..random import numpy_rng
from ..tensor import Tensor
from . import noise_tunnel
from .core import Attribution, additional_args, as_input_tuple, as_output, gradients, preserved_state
from .integrated_gradients import check_target_count


def uniform_alphas(count, dtype, xp=np):
    """``count`` independent U(0, 1) samples: where on the path each sample takes its gradient."""
    return xp.asarray(numpy_rng().random(int(count)).astype(dtype, copy=False))


class GradientShap(Attribution):
    """``GradientShap(forward_func, multiply_by_inputs=True)``.

    ``attribute(inputs, baselines, n_samples=5, stdevs=0.0, target=None, additional_forward_args=None,
    return_convergence_delta=False)``:

    * ``baselines``: the baseline distribution — a Tensor (M, ...) of M reference examples per input
      (a tuple of them for tuple inputs; a number is a one-row distribution), or a function returning
      that (called with ``inputs`` if it takes an argument);
    * ``n_samples``: S, random draws per example; ``stdevs``: σ of the noise added to the inputs (0:
      none), one number or one per input.

    Returns the mean over the samples of (x̃ − b) ⊙ ∂F/∂x(b + α (x̃ − b)) (only the gradient when
    ``multiply_by_inputs=False``), shaped like ``inputs``."""

    def __init__(self, forward_func, multiply_by_inputs=True):
        super().__init__(forward_func)
        self._multiply_by_inputs = bool(multiply_by_inputs)

    @property
    def multiplies_by_inputs(self):
        return self._multiply_by_inputs

    def has_convergence_delta(self):
        return True

    def attribute(self, inputs, baselines, n_samples=5, stdevs=0.0, target=None, additional_forward_args=None,
                  return_convergence_delta=False):
        arrays, is_tuple = as_input_tuple(inputs, self.name)
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(f"{self.name}: n_samples must be a positive int, got {n_samples!r}")
        distributions = self._distributions(baselines, inputs, arrays)
        sigmas = noise_tunnel.per_input(stdevs, len(arrays), "stdevs", self.name)
        s, n = int(n_samples), arrays[0].shape[0]
        check_target_count(target, n, self.name)
        args = additional_args(additional_forward_args)
        rep_target = noise_tunnel.interleave_target(target, s)
        rep_args = noise_tunnel.interleave_args(args, s)
        with preserved_state(self.forward_func):
            starts = noise_tunnel.draw_baselines(distributions, n * s, self.name)
            ends = tuple(noise_tunnel.repeat_interleave(x, s)
                         + noise_tunnel.gaussian_noise((n * s,) + x.shape[1:], sigma, x.dtype,
                                                       array_module(x))
                         for x, sigma in zip(arrays, sigmas))
            starts = tuple(array_module(x).broadcast_to(array_module(x).asarray(b, dtype=x.dtype), x.shape)
                           for b, x in zip(starts, ends))
            alphas = uniform_alphas(n * s, arrays[0].dtype, array_module(arrays[0]))
            points = tuple(b + alphas.reshape((-1,) + (1,) * (x.ndim - 1)) * (x - b)
                           for b, x in zip(starts, ends))
            grads, _ = gradients(self.forward_func, points, rep_target, rep_args, self.name)
            rows = (tuple(g * (x - b) for g, x, b in zip(grads, ends, starts)) if self._multiply_by_inputs
                    else grads)
            result = as_output(tuple(r.reshape((n, s) + r.shape[1:]).sum(axis=1) / s for r in rows), is_tuple)
            if not return_convergence_delta:
                return result
            delta = self.compute_convergence_delta(rows, starts, ends, rep_target, rep_args)
        return result, delta

    def _distributions(self, baselines, inputs, arrays):
        """The baseline distribution as one array (rows = reference examples) per input."""
        if callable(baselines) and not isinstance(baselines, Tensor):
            import inspect
            try:
                takes_inputs = len(inspect.signature(baselines).parameters) > 0
            except (TypeError, ValueError):
                takes_inputs = True
            baselines = baselines(inputs) if takes_inputs else baselines()
        if baselines is None:
            raise ValueError(f"{self.name}: baselines is required: a Tensor of reference examples (M, ...) "
                             "per input")
        items = tuple(baselines) if isinstance(baselines, (tuple, list)) else (baselines,)
        if len(items) != len(arrays):
            raise ValueError(f"{self.name}: {len(items)} baselines for {len(arrays)} inputs; "
                             "expected one per input")
        out = []
        for i, (b, x) in enumerate(zip(items, arrays)):
            xp = array_module(x)
            b = xp.asarray(b.array if isinstance(b, Tensor) else b, dtype=x.dtype)
            if b.ndim == 0:
                b = xp.broadcast_to(b, (1,) + x.shape[1:])
            if b.ndim != x.ndim or tuple(b.shape[1:]) != tuple(x.shape[1:]) or b.shape[0] < 1:
                raise ValueError(f"{self.name}: baselines {i} has shape {tuple(b.shape)}; "
                                 f"expected a batch of reference examples of shape (M,) + "
                                 f"{tuple(x.shape[1:])}")
            out.append(b)
        return tuple(out)
