"""NoiseTunnel: SmoothGrad, SmoothGrad² and VarGrad — an attribution averaged over noisy copies of x.

Gradients of a ReLU network jump around from pixel to pixel: the function is piecewise linear, and a
tiny move of x crosses many kinks.  SmoothGrad (Smilkov et al., 2017) averages the attribution
A(x + ε) of any method A over Gaussian noise ε ~ N(0, σ²), which is the attribution of a smoothed
model and gives much cleaner maps:

    smoothgrad     E[A(x + ε)]          ≈ (1/S) Σ_s A(x + ε_s)
    smoothgrad_sq  E[A(x + ε)²]         ≈ (1/S) Σ_s A(x + ε_s)²
    vargrad        Var[A(x + ε)]        = E[A²] − E[A]²      (Adebayo et al., 2018)

with S = ``nt_samples`` noisy copies per example.  The noisy copies of a batch of N examples are
stacked *example-major*, as in Captum: row n·S + s is example n with noise sample s (so the target,
the additional arguments and the baselines are repeated the same way, each row S times in a row).

Randomness comes from two small functions, ``gaussian_noise`` and ``draw_rows``, which draw from the
engine's default generator (``tinygrad_edu.manual_seed`` makes them reproducible); a test can
replace them to feed chosen numbers.
"""
import numpy as np

from ..backend import array_module
from ..random import numpy_rng
from ..tensor import Tensor
from .core import Attribution, additional_args, as_input_tuple, as_output, preserved_state

NT_TYPES = ("smoothgrad", "smoothgrad_sq", "vargrad")


# ------------------------------------------------------------------------------------------------
# randomness (one place each, so that a test can replace it)
# ------------------------------------------------------------------------------------------------
def gaussian_noise(shape, stdev, dtype, xp=np):
    """An array of ``shape`` of independent N(0, stdev²) samples, drawn on the CPU from the engine's
    default generator and put on the array module ``xp`` (NumPy or CuPy)."""
    noise = numpy_rng().standard_normal(tuple(shape)) * float(stdev)
    return xp.asarray(noise.astype(dtype, copy=False))


def draw_rows(n_rows, count):
    """``count`` row indices drawn uniformly, with replacement, from range(n_rows): which baseline of
    a baseline distribution each noisy copy uses."""
    return numpy_rng().integers(0, n_rows, size=int(count))


def draw_baselines(distributions, count, who="explain"):
    """``count`` baselines drawn at random from each baseline distribution (arrays with one baseline
    per row; numbers are kept as they are).  When all distributions have the same number of rows,
    one set of row indices is drawn and used for every input, so a drawn baseline is one whole
    reference example (Captum draws the rows of each input independently)."""
    rows = {d.shape[0] for d in distributions if hasattr(d, "ndim") and d.ndim > 0}
    if not rows:
        return tuple(distributions)
    shared = draw_rows(rows.pop(), count) if len(rows) == 1 else None
    out = []
    for d in distributions:
        if hasattr(d, "ndim") and d.ndim > 0:
            index = shared if shared is not None else draw_rows(d.shape[0], count)
            out.append(d[array_module(d).asarray(index)])
        else:
            out.append(d)
    return tuple(out)


# ------------------------------------------------------------------------------------------------
# repeating a batch example-major (each row `times` times in a row)
# ------------------------------------------------------------------------------------------------
def _array_of(value):
    return value.array if isinstance(value, Tensor) else value


def repeat_interleave(array, times):
    """Each row of ``array`` repeated ``times`` times in a row: rows n·times + s."""
    return array_module(array).repeat(array, times, axis=0)


def interleave_target(target, times):
    """``target`` for a batch whose rows were each repeated ``times`` times in a row."""
    if isinstance(target, list):
        return [t for t in target for _ in range(times)]
    array = _array_of(target)
    if hasattr(array, "ndim") and array.ndim >= 1 and array.size > 1:
        return repeat_interleave(array, times)
    return target


def interleave_args(args, times):
    """Each additional forward argument with a batch dimension repeated like the inputs."""
    out = []
    for a in args:
        array = _array_of(a)
        if hasattr(array, "ndim") and array.ndim > 0:
            repeated = repeat_interleave(array, times)
            out.append(Tensor._wrap(repeated) if isinstance(a, Tensor) else repeated)
        else:
            out.append(a)
    return tuple(out)


def per_input(value, n_inputs, name, who):
    """A number, or a tuple with one number per input, as a tuple of ``n_inputs`` floats."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n_inputs
    if len(values) != n_inputs or any(isinstance(v, bool) or not isinstance(v, (int, float, np.number))
                                      for v in values):
        raise ValueError(f"{who}: {name} must be a number or a tuple of {n_inputs} numbers (one per "
                         f"input), got {value!r}")
    if any(v < 0 for v in values):
        raise ValueError(f"{who}: {name} must be >= 0, got {value!r}")
    return tuple(float(v) for v in values)


class NoiseTunnel(Attribution):
    """``NoiseTunnel(attribution_method)``: the wrapped method's attribution averaged over noise.

    ``attribute(inputs, nt_type="smoothgrad", nt_samples=5, nt_samples_batch_size=None, stdevs=1.0,
    draw_baseline_from_distrib=False, **kwargs)``: ``kwargs`` (``target``, ``baselines``,
    ``additional_forward_args``, ``n_steps``, ``abs`` …) go to the wrapped method's ``attribute``.

    * ``stdevs``: σ of the noise, one number or one per input (the scale of the inputs matters:
      σ ≈ 10–20 % of the input range is the usual choice);
    * ``nt_samples_batch_size``: how many noisy copies of the batch the wrapped method sees at once
      (memory), None = all; the result is the same;
    * ``draw_baseline_from_distrib``: ``baselines`` is a *distribution* (one baseline per row) and
      every noisy copy gets a baseline drawn at random from it;
    * ``return_convergence_delta=True`` (when the wrapped method has one) returns
      ``(attributions, delta)``, delta with one entry per noisy copy (N · nt_samples, example-major
      within each batch of copies)."""

    def __init__(self, attribution_method):
        if not hasattr(attribution_method, "attribute") or not hasattr(attribution_method, "forward_func"):
            raise TypeError(f"NoiseTunnel: expected an attribution method (an object with .attribute and "
                            f".forward_func, e.g. Saliency(model)), got {type(attribution_method).__name__}")
        super().__init__(attribution_method.forward_func)
        self.attribution_method = attribution_method

    def has_convergence_delta(self):
        return self.attribution_method.has_convergence_delta()

    @property
    def multiplies_by_inputs(self):
        return getattr(self.attribution_method, "multiplies_by_inputs", False)

    def attribute(self, inputs, nt_type="smoothgrad", nt_samples=5, nt_samples_batch_size=None, stdevs=1.0,
                  draw_baseline_from_distrib=False, **kwargs):
        arrays, is_tuple = as_input_tuple(inputs, self.name)
        if nt_type not in NT_TYPES:
            raise ValueError(f"{self.name}: nt_type must be one of {', '.join(NT_TYPES)}; got {nt_type!r}")
        for name, value in (("nt_samples", nt_samples), ("nt_samples_batch_size", nt_samples_batch_size)):
            if value is None and name == "nt_samples_batch_size":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{self.name}: {name} must be a positive int, got {value!r}")
        sigmas = per_input(stdevs, len(arrays), "stdevs", self.name)
        want_delta = bool(kwargs.get("return_convergence_delta", False))
        if want_delta and not self.has_convergence_delta():
            raise ValueError(f"{self.name}: return_convergence_delta=True, but "
                             f"{type(self.attribution_method).__name__} has no convergence delta")
        if "target" in kwargs:
            from .integrated_gradients import check_target_count
            check_target_count(kwargs["target"], arrays[0].shape[0], self.name)
        chunk = nt_samples if nt_samples_batch_size is None else min(nt_samples, nt_samples_batch_size)
        n = arrays[0].shape[0]
        sums = squares = None
        deltas = []
        with preserved_state(self.forward_func):
            done = 0
            while done < nt_samples:
                s = min(chunk, nt_samples - done)
                noisy = tuple(repeat_interleave(x, s) + gaussian_noise((n * s,) + x.shape[1:], sigma, x.dtype,
                                                                       array_module(x))
                              for x, sigma in zip(arrays, sigmas))
                out = self.attribution_method.attribute(as_output(noisy, is_tuple),
                                                        **self._expand(kwargs, s, arrays,
                                                                       draw_baseline_from_distrib))
                if want_delta:
                    out, delta = out
                    deltas.append(_array_of(delta))
                parts = tuple(_array_of(a) for a in (out if isinstance(out, tuple) else (out,)))
                parts = tuple(a.reshape((n, s) + a.shape[1:]) for a in parts)
                if sums is None:
                    sums = [a.sum(axis=1) for a in parts]
                    squares = [(a * a).sum(axis=1) for a in parts]
                else:
                    for i, a in enumerate(parts):
                        sums[i] = sums[i] + a.sum(axis=1)
                        squares[i] = squares[i] + (a * a).sum(axis=1)
                done += s
        mean = [t / nt_samples for t in sums]
        mean_sq = [t / nt_samples for t in squares]
        if nt_type == "smoothgrad":
            result = mean
        elif nt_type == "smoothgrad_sq":
            result = mean_sq
        else:
            result = [m2 - m * m for m, m2 in zip(mean, mean_sq)]
        result = as_output(tuple(result), is_tuple or len(result) > 1)
        if want_delta:
            xp = array_module(deltas[0])
            return result, Tensor._wrap(xp.concatenate(deltas))
        return result

    def _expand(self, kwargs, times, arrays, draw_baseline_from_distrib):
        """The wrapped method's keyword arguments for ``times`` noisy copies of each example."""
        out = dict(kwargs)
        if "target" in out:
            out["target"] = interleave_target(out["target"], times)
        if out.get("additional_forward_args") is not None:
            out["additional_forward_args"] = interleave_args(additional_args(out["additional_forward_args"]),
                                                             times)
        if out.get("baselines") is not None:
            given = out["baselines"]
            items = tuple(given) if isinstance(given, (tuple, list)) else (given,)
            if len(items) != len(arrays):
                raise ValueError(f"{self.name}: {len(items)} baselines for {len(arrays)} inputs; "
                                 "expected one per input")
            items = tuple(_array_of(b) for b in items)
            n = arrays[0].shape[0]
            if draw_baseline_from_distrib:
                for i, (b, x) in enumerate(zip(items, arrays)):
                    if hasattr(b, "ndim") and b.ndim > 0 and tuple(b.shape[1:]) != tuple(x.shape[1:]):
                        raise ValueError(f"{self.name}: baseline distribution {i} has shape "
                                         f"{tuple(b.shape)}; expected (any number of rows,) + "
                                         f"{tuple(x.shape[1:])}")
                items = draw_baselines(items, n * times, self.name)
            else:
                items = tuple(repeat_interleave(b, times)
                              if hasattr(b, "ndim") and b.ndim == x.ndim and b.shape[0] == n and n > 1 else b
                              for b, x in zip(items, arrays))
            out["baselines"] = items if isinstance(given, (tuple, list)) else items[0]
        return out
