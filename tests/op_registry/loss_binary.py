"""Registry entries for ``tinygrad_edu/nn/loss_binary.py``: ``F.binary_cross_entropy`` (with a weight
too) and ``F.binary_cross_entropy_with_logits`` (weight, pos_weight, logits of ±1e4), with soft and
hard 0/1 targets and every reduction."""
import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st

from .cases import F, REDUCTIONS, f_call, with_weight
from .spec import Case, OpSpec, seeds, shapes, values

SPECS = []


def add(name, cases, fn_name, **kw):
    """``F.<fn_name>(*inputs, **kwargs)`` in both libraries."""
    SPECS.append(OpSpec(name=name, cases=cases, family="loss_binary", **f_call(fn_name), **kw))


def add_weighted(name, cases, fn_name, **kw):
    """(input, target, weight) -> F.<fn_name>(input, target, weight=weight, **kwargs)."""
    SPECS.append(OpSpec(name=name, cases=cases, family="loss_binary", **with_weight(fn_name), **kw))


def _bce_cases(logits, weight=False, pos_weight=False, domain="real"):
    def cases(mode):
        @st.composite
        def build(draw):
            shape = draw(shapes(mode))
            rng = np.random.default_rng(draw(seeds()))
            x = values(rng, shape, domain if logits else "prob")
            target = values(rng, shape, "prob")
            if draw(st.booleans()):  # hard 0/1 labels too
                target = np.round(target)
            arrays = (x, target)
            kwargs = {"reduction": draw(REDUCTIONS)}
            if weight:
                arrays += (rng.uniform(0.5, 2, shape),)
            if pos_weight:
                kwargs_pw = rng.uniform(0.5, 2, shape[-1:] if shape else ())
                arrays += (kwargs_pw,)
            return Case(arrays, kwargs)
        return build()
    return cases


# torch cannot differentiate binary_cross_entropy with respect to its target: targets are constants
add("F.binary_cross_entropy", _bce_cases(False), "binary_cross_entropy", no_grad_args=(1,))
add_weighted("F.binary_cross_entropy_weight", _bce_cases(False, weight=True),
             "binary_cross_entropy", no_grad_args=(1, 2))
add("F.binary_cross_entropy_with_logits", _bce_cases(True), "binary_cross_entropy_with_logits")
add_weighted("F.binary_cross_entropy_with_logits_weight", _bce_cases(True, weight=True),
             "binary_cross_entropy_with_logits", no_grad_args=(2,))
SPECS.append(OpSpec(
    name="F.binary_cross_entropy_with_logits_pos_weight", family="loss_binary",
    cases=_bce_cases(True, pos_weight=True), no_grad_args=(2,),
    ours=lambda x, t, pw, **k: F.binary_cross_entropy_with_logits(x, t, pos_weight=pw, **k),
    ref=lambda x, t, pw, **k: TF.binary_cross_entropy_with_logits(x, t, pos_weight=pw, **k)))
add("F.binary_cross_entropy_with_logits_huge", _bce_cases(True, domain="huge"),
    "binary_cross_entropy_with_logits", gradgrad=False, fwd_tol=(1e-3, 1e-4))
