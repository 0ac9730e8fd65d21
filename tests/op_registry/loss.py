"""Registry entries for ``tinygrad_edu/nn/loss.py``: ``F.nll_loss`` and ``F.cross_entropy`` with
class indices (spatial too) or probabilities as target, with weight, ignore_index, label_smoothing
and every reduction, and with logits of ±1e4 (finite losses and gradients)."""
import numpy as np
from hypothesis import strategies as st

from .cases import REDUCTIONS, f_call, with_weight
from .spec import Case, OpSpec, seeds, values

SPECS = []


def add(name, cases, fn_name, **kw):
    """``F.<fn_name>(*inputs, **kwargs)`` in both libraries."""
    SPECS.append(OpSpec(name=name, cases=cases, family="loss", **f_call(fn_name), **kw))


def add_weighted(name, cases, fn_name, **kw):
    """(input, target, weight) -> F.<fn_name>(input, target, weight=weight, **kwargs)."""
    SPECS.append(OpSpec(name=name, cases=cases, family="loss", **with_weight(fn_name), **kw))


# ---- classification losses ----------------------------------------------------------------------------
def _class_cases(log_probs=False, kind="indices", weight=False, ignore=False, smoothing=False,
                 domain="real", spatial=False):
    def cases(mode):
        @st.composite
        def build(draw):
            n = 0 if mode == "empty" else (1 if mode == "smallest" else draw(st.integers(1, 4)))
            c = draw(st.integers(2, 4))
            extra = (draw(st.integers(1, 2)),) if spatial else ()
            rng = np.random.default_rng(draw(seeds()))
            x = values(rng, (n, c) + extra, domain)
            if log_probs:  # nll_loss takes log-probabilities
                x = x - np.log(np.exp(x).sum(1, keepdims=True))
            kwargs = {"reduction": draw(REDUCTIONS)}
            if kind == "indices":
                target = rng.integers(0, c, (n,) + extra).astype(np.int64)
                if ignore:
                    kwargs["ignore_index"] = 1
                    # keep at least one target that is not ignored (else 'mean' is 0/0 = nan)
                    if target.size:
                        target.reshape(-1)[0] = 0
            else:
                p = rng.uniform(0.1, 1, (n, c) + extra)
                target = p / p.sum(1, keepdims=True)
            arrays = (x, target)
            if weight:
                arrays += (rng.uniform(0.5, 2, (c,)),)
            if smoothing:
                kwargs["label_smoothing"] = draw(st.sampled_from([0.1, 0.3]))
            return Case(arrays, kwargs)
        return build()
    return cases


add("F.nll_loss", _class_cases(log_probs=True), "nll_loss")
add("F.nll_loss_spatial", _class_cases(log_probs=True, spatial=True), "nll_loss")
add("F.nll_loss_ignore_index", _class_cases(log_probs=True, ignore=True), "nll_loss")
add_weighted("F.nll_loss_weight", _class_cases(log_probs=True, weight=True), "nll_loss",
             no_grad_args=(2,))
add("F.cross_entropy_indices", _class_cases(), "cross_entropy")
add("F.cross_entropy_indices_spatial", _class_cases(spatial=True), "cross_entropy")
add("F.cross_entropy_ignore_index", _class_cases(ignore=True), "cross_entropy")
add("F.cross_entropy_label_smoothing", _class_cases(smoothing=True), "cross_entropy")
add_weighted("F.cross_entropy_weight", _class_cases(weight=True), "cross_entropy", no_grad_args=(2,))
add_weighted("F.cross_entropy_weight_ignore_smoothing",
             _class_cases(weight=True, ignore=True, smoothing=True), "cross_entropy", no_grad_args=(2,))
add("F.cross_entropy_probabilities", _class_cases(kind="probs"), "cross_entropy")
add("F.cross_entropy_probabilities_smoothing", _class_cases(kind="probs", smoothing=True),
    "cross_entropy")
add_weighted("F.cross_entropy_probabilities_weight", _class_cases(kind="probs", weight=True),
             "cross_entropy", no_grad_args=(2,))
# stability: logits of ±1e4 must give finite losses and gradients (forward/backward parity)
add("F.cross_entropy_huge_logits", _class_cases(domain="huge"), "cross_entropy",
    gradgrad=False, fwd_tol=(1e-3, 1e-4))
