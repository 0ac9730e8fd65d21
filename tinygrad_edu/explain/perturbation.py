"""Perturbation methods: change part of the input, run the model again, and see how much the output
moves.  No gradients at all — they work on any function, even one that is not differentiable.

All three share one loop.  A **feature** is a set of input entries that are perturbed together
(described by a 0/1 mask over one example); for each feature::

    attribution(feature) = F(x) − F(x with that feature perturbed)

and every entry of the feature receives that number.  The methods differ in what a feature is and
how it is perturbed:

* ``FeatureAblation``: a feature is a group of ``feature_mask`` (entries sharing one integer id;
  by default every scalar is its own feature), perturbed by replacing it with the baseline.
* ``Occlusion`` (Zeiler & Fergus, 2014): a feature is a window of ``sliding_window_shapes`` slid over
  each example with ``strides``, replaced by the baseline.  Windows overlap when the stride is
  smaller than the window, so each entry gets the **average** over the windows that cover it.
* ``FeaturePermutation`` (permutation feature importance, Breiman 2001): a group of ``feature_mask``
  is *shuffled across the rows of the batch* — each example gets the feature values of another
  example — which keeps the feature's distribution but breaks its link with the rest of the
  example.

``perturbations_per_eval = k`` stacks k perturbed copies of the batch into one forward call (k times
the batch size): fewer, larger calls, the same numbers as k = 1.

Tests: tests/test_explain_deeplift_perturbation.py
"""
import itertools
import math

import numpy as np

from ..backend import array_module
from .core import (Attribution, additional_args, as_input_tuple, as_output, baselines_like,
                   forward_values, preserved_state, repeat_args, repeat_target)


# ------------------------------------------------------------------------------------------------
# the shared loop
# ------------------------------------------------------------------------------------------------
def _check_per_eval(value, who):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{who}: perturbations_per_eval must be a positive int, got {value!r}")
    return int(value)


def _perturbation_loop(forward_func, arrays, args, target, features, perturb, per_eval, average, who):
    """Σ over features of (F(x) − F(x perturbed)) · mask, for each input (divided by the number of
    features covering each entry when ``average``).

    ``features``: a list with, per feature, one mask per input (an array of the input's rank whose
    first dim is 1 or N, True where the feature is, or None where the feature does not touch that
    input).  ``perturb(i, rows, mask)`` returns the N rows of input i with the feature perturbed."""
    n = arrays[0].shape[0]
    initial = forward_values(forward_func, arrays, target, args, who)
    n_out = initial.shape[0]
    totals = [array_module(a).zeros((n_out,) + a.shape[1:], dtype=initial.dtype) for a in arrays]
    counts = [array_module(a).zeros((1,) + a.shape[1:], dtype=initial.dtype) for a in arrays]
    for start in range(0, len(features), per_eval):
        chunk = features[start:start + per_eval]
        k = len(chunk)
        stacked = []
        for i, a in enumerate(arrays):
            copies = [a if masks[i] is None else perturb(i, a, masks[i]) for masks in chunk]
            stacked.append(array_module(a).concatenate(copies) if k > 1 else copies[0])
        changed = forward_values(forward_func, tuple(stacked), repeat_target(target, k) if k > 1 else target,
                                 repeat_args(args, k) if k > 1 else args, who)
        if changed.shape[0] != k * n_out:
            raise ValueError(f"{who}: with perturbations_per_eval={k} the model got {k * n} rows and "
                             f"returned {changed.shape[0]} outputs; expected {k * n_out} (the output's "
                             "first dimension must grow with the batch). Use perturbations_per_eval=1")
        diffs = initial[None, :] - changed.reshape(k, n_out)
        for j, masks in enumerate(chunk):
            for i, mask in enumerate(masks):
                if mask is None:
                    continue
                weights = mask.astype(initial.dtype)
                totals[i] += diffs[j].reshape((n_out,) + (1,) * (arrays[i].ndim - 1)) * weights
                counts[i] += weights.sum(axis=0, keepdims=True)
    if not average:
        return tuple(totals)
    return tuple(t / c for t, c in zip(totals, counts))


def _default_masks(arrays):
    """Every scalar of one example its own feature: ids 0, 1, ... numbered across the inputs."""
    masks, offset = [], 0
    for a in arrays:
        size = int(np.prod(a.shape[1:], dtype=np.int64))
        masks.append(np.arange(offset, offset + size).reshape((1,) + a.shape[1:]))
        offset += size
    return tuple(masks)


def _feature_masks(feature_mask, arrays, who):
    """``feature_mask`` as one integer array per input (rank of the input, each dim equal to the
    input's or 1), default: every scalar its own feature."""
    if feature_mask is None:
        return _default_masks(arrays)
    items = tuple(feature_mask) if isinstance(feature_mask, (tuple, list)) else (feature_mask,)
    if len(items) != len(arrays):
        raise ValueError(f"{who}: {len(items)} feature masks for {len(arrays)} inputs; "
                         "expected one per input")
    out = []
    for i, (m, a) in enumerate(zip(items, arrays)):
        m = getattr(m, "array", m)
        m = np.asarray(m.get() if hasattr(m, "get") else m)
        if m.dtype.kind not in "iu":
            raise TypeError(f"{who}: feature_mask {i} must hold integer feature ids, got dtype {m.dtype}")
        if m.ndim != a.ndim or any(d not in (1, s) for d, s in zip(m.shape, a.shape)):
            raise ValueError(f"{who}: feature_mask {i} has shape {tuple(m.shape)}; expected the input's "
                             f"shape {tuple(a.shape)} with any dimension 1 (e.g. {(1,) + tuple(a.shape[1:])}"
                             " for one mask shared by every example)")
        out.append(m)
    return tuple(out)


def _group_features(masks, arrays):
    """One feature per distinct id, in increasing order: per input, the boolean mask of that id (on
    the input's device), or None when the id does not occur in that input.  An id that occurs in
    several inputs is one feature spanning them."""
    ids = sorted(set().union(*(set(np.unique(m).tolist()) for m in masks)))
    features = []
    for fid in ids:
        per_input = []
        for m, a in zip(masks, arrays):
            hit = m == fid
            per_input.append(array_module(a).asarray(hit) if hit.any() else None)
        features.append(per_input)
    return features


# ------------------------------------------------------------------------------------------------
# FeatureAblation
# ------------------------------------------------------------------------------------------------
class FeatureAblation(Attribution):
    """``FeatureAblation(forward_func).attribute(inputs, baselines=None, target=None,
    additional_forward_args=None, feature_mask=None, perturbations_per_eval=1)``.

    For each feature group g of ``feature_mask`` (the entries with one integer id)::

        attribution[entries of g] = F(x) − F(x with the entries of g set to the baseline)

    ``feature_mask``: one integer array per input, of the input's shape or with dims of size 1
    (``(1, ...)``: the same groups for every example); an id used in several inputs ablates those
    entries together.  Default: every scalar its own feature.  ``baselines``: None (zeros), a
    number, one example's shape or the input's shape."""

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None,
                  feature_mask=None, perturbations_per_eval=1):
        """F(x) − F(x with each feature group ablated), for each entry of the group."""
        arrays, is_tuple = as_input_tuple(inputs, self.name)
        bases = baselines_like(baselines, arrays, self.name)
        args = additional_args(additional_forward_args)
        per_eval = _check_per_eval(perturbations_per_eval, self.name)
        features = _group_features(_feature_masks(feature_mask, arrays, self.name), arrays)

        def ablate(i, rows, mask):
            return array_module(rows).where(mask, bases[i], rows)

        with preserved_state(self.forward_func):
            result = _perturbation_loop(self.forward_func, arrays, args, target, features, ablate,
                                        per_eval, False, self.name)
        return as_output(result, is_tuple)


# ------------------------------------------------------------------------------------------------
# Occlusion
# ------------------------------------------------------------------------------------------------
def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _per_input(value, arrays, what, who):
    """``value`` (for a single input a tuple of ints, else one entry per input; ``strides`` may also
    be one int) as one tuple of ints per input, one int per dimension after the batch."""
    if len(arrays) == 1 and (_is_int(value) or isinstance(value, tuple) and all(_is_int(v) for v in value)):
        items = (value,)
    elif isinstance(value, tuple) and len(value) == len(arrays):
        items = value
    elif _is_int(value) and what == "strides":
        items = (value,) * len(arrays)
    else:
        raise ValueError(f"{who}: {what} {value!r} must give one entry per input ({len(arrays)} inputs)")
    out = []
    for i, (v, a) in enumerate(zip(items, arrays)):
        dims = a.ndim - 1
        if _is_int(v) and what == "strides":
            v = (int(v),) * dims
        if not isinstance(v, tuple) or len(v) != dims or not all(_is_int(s) for s in v):
            raise ValueError(f"{who}: {what} for input {i} is {v!r}; "
                             f"expected a tuple of {dims} ints (one per dimension after the batch "
                             f"of the input of shape {tuple(a.shape)})"
                             + (", or one int" if what == "strides" else ""))
        if any(s < 1 for s in v):
            raise ValueError(f"{who}: {what} for input {i} is {v!r}; every entry must be >= 1")
        out.append(tuple(int(s) for s in v))
    return out


class Occlusion(Attribution):
    """``Occlusion(forward_func).attribute(inputs, sliding_window_shapes, strides=None,
    baselines=None, target=None, additional_forward_args=None, perturbations_per_eval=1)``.

    A window of shape ``sliding_window_shapes`` (one size per dimension after the batch) starts at
    offsets 0, s, 2s, ... along each dimension (``strides`` s, default 1): ⌈(D − w)/s⌉ + 1 positions,
    the last window cut off at the edge when it would stick out.  For each window W::

        Δ(W) = F(x) − F(x with W set to the baseline)

    and each entry gets the average of Δ(W) over the windows that contain it (every entry is in at
    least one, since a stride may not exceed its window).  Each window covers one input; for tuple
    inputs give one window shape (and stride) per input.  The result keeps the dtype of the model's
    output (Captum turns it into float32)."""

    def attribute(self, inputs, sliding_window_shapes, strides=None, baselines=None, target=None,
                  additional_forward_args=None, perturbations_per_eval=1):
        """The average occlusion effect of the windows over each entry (see the class docstring)."""
        arrays, is_tuple = as_input_tuple(inputs, self.name)
        windows = _per_input(sliding_window_shapes, arrays, "sliding_window_shapes", self.name)
        steps = _per_input(1 if strides is None else strides, arrays, "strides", self.name)
        bases = baselines_like(baselines, arrays, self.name)
        args = additional_args(additional_forward_args)
        per_eval = _check_per_eval(perturbations_per_eval, self.name)
        features = []
        for i, (a, window, stride) in enumerate(zip(arrays, windows, steps)):
            size = a.shape[1:]
            if any(w > d for w, d in zip(window, size)):
                raise ValueError(f"{self.name}: the sliding window {window} of input {i} is larger than "
                                 f"one example of it, {tuple(size)}")
            if any(s > w and w != d for s, w, d in zip(stride, window, size)):
                raise ValueError(f"{self.name}: the strides {stride} of input {i} exceed its window "
                                 f"{window}; entries between windows would never be occluded")
            positions = [range(0, (math.ceil((d - w) / s) + 1) * s, s)
                         for d, w, s in zip(size, window, stride)]
            for corner in itertools.product(*positions):
                mask = np.zeros((1,) + tuple(size), dtype=bool)
                mask[(0,) + tuple(slice(c, c + w) for c, w in zip(corner, window))] = True
                masks = [None] * len(arrays)
                masks[i] = array_module(a).asarray(mask)
                features.append(masks)

        def occlude(i, rows, mask):
            return array_module(rows).where(mask, bases[i], rows)

        with preserved_state(self.forward_func):
            result = _perturbation_loop(self.forward_func, arrays, args, target, features, occlude,
                                        per_eval, True, self.name)
        return as_output(result, is_tuple)


# ------------------------------------------------------------------------------------------------
# FeaturePermutation
# ------------------------------------------------------------------------------------------------
def batch_permutation(n):
    """A random order of the rows 0..n-1 that is not the identity (``n >= 2``): the one place the
    permutation of ``FeaturePermutation`` comes from (a test can replace it)."""
    order = np.random.permutation(n)
    while (order == np.arange(n)).all():
        order = np.random.permutation(n)
    return order


def permute_feature(x, feature_mask):
    """The rows of ``x`` with the entries of ``feature_mask`` taken from another row (the order of
    ``batch_permutation``); other entries unchanged."""
    xp = array_module(x)
    order = xp.asarray(batch_permutation(x.shape[0]))
    return xp.where(feature_mask, x[order], x)


class FeaturePermutation(Attribution):
    """``FeaturePermutation(forward_func, perm_func=permute_feature).attribute(inputs, target=None,
    additional_forward_args=None, feature_mask=None, perturbations_per_eval=1)``.

    Permutation feature importance on a batch: for each feature group g of ``feature_mask``::

        attribution[entries of g] = F(x) − F(x with g shuffled across the rows of the batch)

    per example.  A feature the model relies on moves the output when each example gets another
    example's value of it; an unused one does not.  ``perm_func(x_rows, mask)`` does the shuffling
    (default ``permute_feature``, which draws a fresh permutation for every group; pass your own
    for a fixed one).  The batch needs at least 2 examples.  ``feature_mask`` as in
    ``FeatureAblation``."""

    def __init__(self, forward_func, perm_func=None):
        super().__init__(forward_func)
        self.perm_func = permute_feature if perm_func is None else perm_func

    def attribute(self, inputs, target=None, additional_forward_args=None, feature_mask=None,
                  perturbations_per_eval=1):
        """F(x) − F(x with each feature group permuted across the batch), for each entry."""
        arrays, is_tuple = as_input_tuple(inputs, self.name)
        if arrays[0].shape[0] < 2:
            raise ValueError(f"{self.name}: a batch of {arrays[0].shape[0]} example cannot be permuted; "
                             "pass at least 2 examples")
        args = additional_args(additional_forward_args)
        per_eval = _check_per_eval(perturbations_per_eval, self.name)
        features = _group_features(_feature_masks(feature_mask, arrays, self.name), arrays)

        def permute(i, rows, mask):
            return self.perm_func(rows, mask)

        with preserved_state(self.forward_func):
            result = _perturbation_loop(self.forward_func, arrays, args, target, features, permute,
                                        per_eval, False, self.name)
        return as_output(result, is_tuple)
