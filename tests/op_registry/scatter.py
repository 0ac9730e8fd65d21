"""Registry entries for ``tinygrad_edu/ops/scatter.py``: scatter, scatter_add (duplicate indices),
index_add (with alpha) and scatter_reduce (sum, mean, prod, amax, amin; with and without self).
x and src both get gradients."""
import numpy as np
import torch
from hypothesis import strategies as st

import tinygrad_edu as tg

from .spec import Case, OpSpec, seeds, values

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="scatter", **kw))


def fixed2(shape_a, shape_b):
    """cases: two inputs of fixed shapes (x and src)."""
    def cases(mode):
        @st.composite
        def build(draw):
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, shape_a), values(rng, shape_b)), {})
        return build()
    return cases


_perm = [[2, 0, 1, 1], [0, 1, 2, 0]]          # no position written twice along dim 0
_dups = [[0, 2, 1, 0], [2, 2, 0, 0], [0, 0, 0, 1]]
add("scatter", fixed2((3, 4), (2, 4)), edge_modes=(),  # (torch's backward fails if src > index)
    ours=lambda x, s: x.scatter(0, tg.tensor(_perm), s),
    ref=lambda x, s: x.scatter(0, torch.tensor(_perm), s))
add("scatter_add_duplicates", fixed2((3, 4), (3, 4)), edge_modes=(),
    ours=lambda x, s: tg.scatter_add(x, 0, tg.tensor(_dups), s),
    ref=lambda x, s: torch.scatter_add(x, 0, torch.tensor(_dups), s))
add("scatter_add_dim1", fixed2((3, 4), (2, 4)), edge_modes=(),
    ours=lambda x, s: x.scatter_add(-1, tg.tensor(_perm), s),
    ref=lambda x, s: x.scatter_add(-1, torch.tensor(_perm), s))
add("index_add_alpha", fixed2((3, 4), (3, 5)), edge_modes=(),
    ours=lambda x, s: x.index_add(1, tg.tensor([3, 0, 3, 1, 3]), s, alpha=-2.5),
    ref=lambda x, s: x.index_add(1, torch.tensor([3, 0, 3, 1, 3]), s, alpha=-2.5))

_reduce_index = [[0, 2, 1, 0], [2, 2, 0, 0]]
for _r in ("sum", "mean", "prod", "amax", "amin"):
    for _inc in (True, False):
        add(f"scatter_reduce_{_r}_{'self' if _inc else 'noself'}", fixed2((3, 4), (2, 4)), edge_modes=(),
            ours=lambda x, s, _r=_r, _inc=_inc: x.scatter_reduce(0, tg.tensor(_reduce_index), s, _r,
                                                                 include_self=_inc),
            ref=lambda x, s, _r=_r, _inc=_inc: x.scatter_reduce(0, torch.tensor(_reduce_index), s, _r,
                                                                include_self=_inc))
