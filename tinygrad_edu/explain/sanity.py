"""Sanity checks for explanations: does the map depend on what the model learned?

Adebayo et al. (2018, "Sanity Checks for Saliency Maps") proposed a test every attribution method
should pass: **re-initialise the model's weights and compare the maps**.  If a method explains the
*model*, the map of a network with random top layers must differ from the trained network's map.  A
method that still draws the same picture is explaining the *input* (its edges, its bright pixels),
whatever the model — like an edge detector.  They found that guided backpropagation largely fails
the test, while plain gradients and Grad-CAM pass it.

The comparison is a **rank correlation** (Spearman's ρ): rank the pixels of each map by their
score, then take Pearson's correlation of the ranks,

    ρ(a, b) = cov(rank(a), rank(b)) / (std(rank(a)) · std(rank(b))),

which is 1 when both maps order the pixels the same way, whatever the scale, and about 0 when the
orders are unrelated.  Cascading randomisation re-initialises layers from the top (the logits)
down; ``model_randomisation`` re-initialises the layers given and measures ρ per example.

Two lessons the tutorial shows on MNIST:

* signed gradient maps decorrelate as soon as the logit layer is random (ρ near 0): the sign of
  ∂F/∂x is the model's;
* absolute-value maps keep a higher ρ (around 0.5 with only the logit layer random) because
  |∂F/∂x| is large wherever the input has strokes, for any weights — the edge-detector effect.
"""
import copy

import numpy as np

from .render import to_numpy


def ranks(values):
    """The rank of each entry (0 for the smallest); ties get the mean of their ranks."""
    v = np.asarray(values, np.float64).reshape(-1)
    order = np.argsort(v, kind="stable")
    r = np.empty(v.size, np.float64)
    r[order] = np.arange(v.size, dtype=np.float64)
    sorted_v = v[order]
    start = 0
    for end in range(1, v.size + 1):                    # average the ranks of runs of equal values
        if end == v.size or sorted_v[end] != sorted_v[start]:
            if end - start > 1:
                r[order[start:end]] = (start + end - 1) / 2.0
            start = end
    return r


def rank_correlation(a, b):
    """Spearman's ρ between two maps of the same size (flattened): Pearson's correlation of ranks.
    A map that is constant has no order: ρ is 0 then."""
    a, b = to_numpy(a).reshape(-1), to_numpy(b).reshape(-1)
    if a.size != b.size:
        raise ValueError(f"rank_correlation: the maps have {a.size} and {b.size} entries; "
                         "expected equal sizes")
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / denominator) if denominator > 0 else 0.0


def reinitialised(model, names):
    """A copy of ``model`` whose modules called ``names`` (from ``named_modules``) have fresh random
    weights (each module's ``reset_parameters``); the original is untouched."""
    clone = copy.deepcopy(model)
    modules = dict(clone.named_modules())
    for name in names:
        if name not in modules:
            raise ValueError(f"reinitialised: the model has no module {name!r}; its modules with weights are "
                             f"{[n for n, m in modules.items() if hasattr(m, 'reset_parameters')]}")
        if not hasattr(modules[name], "reset_parameters"):
            raise ValueError(f"reinitialised: module {name!r} ({type(modules[name]).__name__}) "
                             "has no weights to re-initialise")
        modules[name].reset_parameters()
    return clone


def model_randomisation(explain, model, names):
    """Spearman's ρ per example between ``explain(model)`` and ``explain(randomised model)``.

    ``explain(model)`` returns attribution maps, batch first, e.g.
    ``lambda m: Saliency(m).attribute(x, target=y)``; ``names`` are the modules re-initialised."""
    trained = to_numpy(explain(model))
    random = to_numpy(explain(reinitialised(model, names)))
    return np.asarray([rank_correlation(a, b) for a, b in zip(trained, random)])
