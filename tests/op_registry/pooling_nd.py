"""Registry entries for ``tinygrad_edu/nn/pooling_nd.py``: 1-D and 3-D pooling: ``F.max_pool1d``
(dilation, ceil_mode, indices), ``F.avg_pool1d`` (count_include_pad), ``F.max_pool3d`` (padding,
dilation, ceil_mode, return_indices, ties) and ``F.avg_pool3d`` (ceil_mode, count_include_pad,
divisor_override)."""
import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st

from .cases import F, batch, three
from .spec import Case, OpSpec, seeds, values

SPECS = []


def add(name, cases, ours, ref, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, ours=ours, ref=ref, family="pooling_nd", **kw))


# ---------------------------------------------------------------------------------------------
# max_pool1d / avg_pool1d
# ---------------------------------------------------------------------------------------------
def _pool1d_cases(is_max):
    def cases(mode):
        @st.composite
        def build(draw):
            n = batch(draw, mode)
            k = draw(st.integers(1, 3))
            s = draw(st.integers(1, 2))
            p = draw(st.integers(0, k // 2))
            d = draw(st.integers(1, 2)) if is_max else 1
            length = d * (k - 1) + 1 + draw(st.integers(0, 3))
            kw = {"kernel_size": k, "stride": s, "padding": p, "ceil_mode": draw(st.booleans())}
            if is_max:
                kw["dilation"] = d
            else:
                kw["count_include_pad"] = draw(st.booleans())
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, (n, 2, length)),), kw)
        return build()
    return cases


add("max_pool1d", _pool1d_cases(True), ours=lambda x, **kw: F.max_pool1d(x, **kw),
    ref=lambda x, **kw: TF.max_pool1d(x, **kw))
add("avg_pool1d", _pool1d_cases(False), ours=lambda x, **kw: F.avg_pool1d(x, **kw),
    ref=lambda x, **kw: TF.avg_pool1d(x, **kw))
add("max_pool1d_indices", _pool1d_cases(True),
    ours=lambda x, **kw: F.max_pool1d(x, return_indices=True, **kw)[1],
    ref=lambda x, **kw: TF.max_pool1d(x, return_indices=True, **kw)[1], has_grad=False)


# ---------------------------------------------------------------------------------------------
# max_pool3d / avg_pool3d
# ---------------------------------------------------------------------------------------------
def _pool3d_cases(is_max, domain="distinct", extra=None):
    def cases(mode):
        @st.composite
        def build(draw):
            n = batch(draw, mode)
            if mode == "smallest":
                k, s, p, d = (1, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1)
            else:
                k = three(draw, 1, 2)
                s = three(draw, 1, 2)
                p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
                d = three(draw, 1, 2) if is_max else (1, 1, 1)
            # every window holds an entry of the volume (padding-only windows have no gradient)
            size = (1, 1, 1) if mode == "smallest" else tuple(
                di * (ki - 1) + 1 + draw(st.integers(0, 2)) for di, ki in zip(d, k))
            kw = {"kernel_size": k, "stride": s, "padding": p, "ceil_mode": draw(st.booleans())}
            if is_max:
                kw["dilation"] = d
            for key, strat in (extra or {}).items():
                kw[key] = draw(strat)
            rng = np.random.default_rng(draw(seeds()))
            unbatched = mode not in ("empty",) and draw(st.integers(0, 3)) == 0
            shape = ((2,) if unbatched else (n, 2)) + size
            return Case((values(rng, shape, domain),), kw)
        return build()
    return cases


add("max_pool3d", _pool3d_cases(True), ours=lambda x, **kw: F.max_pool3d(x, **kw),
    ref=lambda x, **kw: TF.max_pool3d(x, **kw))
add("max_pool3d_return_indices", _pool3d_cases(True, extra={"return_indices": st.just(True)}),
    ours=lambda x, **kw: F.max_pool3d(x, **kw), ref=lambda x, **kw: TF.max_pool3d(x, **kw))
# ties: the first maximum of each window (in (d, h, w) order) wins, as in torch; parity only
add("max_pool3d_ties", _pool3d_cases(True, domain="ties", extra={"return_indices": st.just(True)}),
    ours=lambda x, **kw: F.max_pool3d(x, **kw), ref=lambda x, **kw: TF.max_pool3d(x, **kw),
    gradcheck=False)
add("avg_pool3d", _pool3d_cases(False, domain="real", extra={"count_include_pad": st.booleans()}),
    ours=lambda x, **kw: F.avg_pool3d(x, **kw), ref=lambda x, **kw: TF.avg_pool3d(x, **kw))
add("avg_pool3d_divisor_override", _pool3d_cases(False, domain="real",
                                                 extra={"divisor_override": st.integers(1, 5)}),
    ours=lambda x, **kw: F.avg_pool3d(x, **kw), ref=lambda x, **kw: TF.avg_pool3d(x, **kw))
