"""Registry entries for ``tinygrad_edu/ops/sorting.py``: sort, topk, kthvalue, median, nanmedian,
mode.  Only the values are compared here (their gradient flows to the chosen entries); indices,
ties and NaN are tested in tests/test_select_sort_scan.py.  Inputs are ``distinct`` where an op
picks entries, so that finite differences never cross a tie."""
import numpy as np
from hypothesis import strategies as st

from .cases import values_of
from .spec import Case, OpSpec, dim_arg, reduction, seeds, shapes, values

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="sorting", **kw))


def with_k(lowest):
    """cases for topk / kthvalue: a shape, an int ``dim`` and ``k`` between ``lowest`` and the size."""
    def cases(mode):
        @st.composite
        def build(draw):
            shape = draw(shapes(mode, 0, 3))
            dim = draw(dim_arg(len(shape), "int"))
            n = shape[dim] if shape else 1
            kwargs = {"dim": dim, "k": draw(st.integers(lowest, max(n, lowest)))}
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, shape, "distinct"),), kwargs)
        return build()
    return cases


sort_kw = {"descending": st.booleans(), "stable": st.just(True)}
add("sort", reduction("distinct", dim="int", keepdim=False, extra=sort_kw),
    **values_of(lambda x, **kw: x.sort(**kw)))
add("topk", with_k(0), **values_of(lambda x, **kw: x.topk(**kw)))
add("topk_smallest", with_k(0), **values_of(lambda x, **kw: x.topk(largest=False, **kw)))
add("kthvalue", with_k(1), edge_modes=("smallest",), **values_of(lambda x, **kw: x.kthvalue(**kw)))
add("median_all", reduction("distinct", dim="none", keepdim=False), edge_modes=("smallest",),
    ours=lambda x: x.median(), ref=lambda x: x.median())
add("median_dim", reduction("distinct", dim="int"), edge_modes=("smallest",),
    **values_of(lambda x, **kw: x.median(**kw)))
add("nanmedian_dim", reduction("distinct", dim="int"), edge_modes=("smallest",),
    **values_of(lambda x, **kw: x.nanmedian(**kw)))
add("mode", reduction("ties", dim="int"), edge_modes=("smallest",), gradcheck=False,
    **values_of(lambda x, **kw: x.mode(**kw)))
