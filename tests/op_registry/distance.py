"""Registry entries for ``tinygrad_edu/nn/distance.py``: ``F.normalize`` (p = 1, 2, 3 and ∞),
``F.cosine_similarity`` (broadcasting inputs) and ``F.pairwise_distance`` (p, keepdim)."""
import math

import numpy as np
from hypothesis import strategies as st

from .cases import dim_cases, fn, lib_call
from .spec import Case, OpSpec, binary, broadcast_pair, seeds, values

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="distance", **kw))


_ps = st.sampled_from([1.0, 2.0, 3.0])
add("F.normalize", dim_cases("nonzero", extra={"p": _ps}), **lib_call(fn("normalize")))
add("F.normalize_inf", dim_cases("distinct", extra={"p": st.just(math.inf)}), **lib_call(fn("normalize")))


def _pair_dim_cases(mode):
    @st.composite
    def build(draw):
        sa, sb = draw(broadcast_pair(mode, 1, 3))
        ndim = max(len(sa), len(sb))
        if ndim == 0:
            sa, sb, ndim = (1,), (1,), 1
        rng = np.random.default_rng(draw(seeds()))
        return Case((values(rng, sa, "nonzero"), values(rng, sb, "nonzero")),
                    {"dim": draw(st.integers(-ndim, ndim - 1))})
    return build()


def _with_kwargs(cases, mode, strategies):
    @st.composite
    def build(draw):
        case = draw(cases(mode))
        return Case(case.arrays, {**case.kwargs, **{k: draw(s) for k, s in strategies.items()}})
    return build()


add("F.cosine_similarity", _pair_dim_cases,
    **lib_call(lambda lib, a, b, **k: lib.cosine_similarity(a, b, **k)))
add("F.pairwise_distance",
    binary(p=2.0), **lib_call(lambda lib, a, b, **k: lib.pairwise_distance(a, b, **k)))
add("F.pairwise_distance_p_keepdim",
    lambda mode: _with_kwargs(binary("real", "real"), mode, {"p": st.sampled_from([1.0, 3.0]),
                                                             "keepdim": st.booleans()}),
    **lib_call(lambda lib, a, b, **k: lib.pairwise_distance(a, b, **k)))
