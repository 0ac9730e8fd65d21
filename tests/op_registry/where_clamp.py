"""Registry entries for ``tinygrad_edu/ops/where_clamp.py``: clamp / maximum / minimum (ties too),
``Tensor.where``, masked_fill, tril/triu."""
import numpy as np
import torch
from hypothesis import strategies as st

import tinygrad_edu as tg

from .cases import fn_pair, where_cases
from .spec import Case, OpSpec, binary, broadcast_pair, same, seeds, shapes, unary, values

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="where_clamp", **kw))


# ---- clamp, maximum, minimum --------------------------------------------------------------------
add("clamp_both", unary(("away", -0.5, 0.7), min=-0.5, max=0.7), **fn_pair("clamp"))
add("clamp_min_only", unary(("away", 0.3), min=0.3), **fn_pair("clamp"))
add("clamp_max_only", unary(("away", -0.2), max=-0.2), **same(lambda x, **kw: x.clamp(**kw)))
add("maximum", binary("grid_even", "grid_odd"),
    ours=lambda a, b: tg.maximum(a, b), ref=lambda a, b: torch.maximum(a, b))
add("minimum", binary("grid_even", "grid_odd"),
    ours=lambda a, b: tg.minimum(a, b), ref=lambda a, b: torch.minimum(a, b))
# ties: the gradient is split in half (PyTorch's convention); no finite differences at a kink
add("maximum_ties", binary("ties", "ties"), gradcheck=False, gradgrad=False,
    ours=lambda a, b: tg.maximum(a, b), ref=lambda a, b: torch.maximum(a, b))
add("minimum_ties", binary("ties", "ties"), gradcheck=False, gradgrad=False,
    ours=lambda a, b: tg.minimum(a, b), ref=lambda a, b: torch.minimum(a, b))

# ---- Tensor.where (tg.where is ops/selection.py: selection.py), masked_fill ---------------------
add("where_method", where_cases, ours=lambda c, a, b: a.where(c, b),
    ref=lambda c, a, b: a.where(c, b))


def _masked_fill_cases(mode):
    @st.composite
    def build(draw):
        sx, sm = draw(broadcast_pair(mode))
        # the mask broadcasts to x's shape, not the other way round
        sx = tuple(np.broadcast_shapes(sx, sm))
        rng = np.random.default_rng(draw(seeds()))
        return Case((values(rng, sx), rng.random(sm) < 0.5), {"value": draw(st.sampled_from([0.0, -1.5]))})
    return build()


add("masked_fill", _masked_fill_cases, **same(lambda x, m, value: x.masked_fill(m, value)))


# ---- tril, triu ---------------------------------------------------------------------------------
def _tri_cases(mode):
    @st.composite
    def build(draw):
        shape = draw(shapes(mode, min_dims=2, max_dims=3))
        rng = np.random.default_rng(draw(seeds()))
        return Case((values(rng, shape),), {"diagonal": draw(st.integers(-1, 1))})
    return build()


add("tril", _tri_cases, ours=lambda x, diagonal: tg.tril(x, diagonal),
    ref=lambda x, diagonal: torch.tril(x, diagonal))
add("triu", _tri_cases, **same(lambda x, diagonal: x.triu(diagonal)))
