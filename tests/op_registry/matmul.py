"""Registry entries for ``tinygrad_edu/ops/matmul.py``: ``@`` and ``tg.matmul`` on 1-D, 2-D and
batched operands (batch dims broadcast), with size-0 inner dims in the empty mode."""
import numpy as np
import torch
from hypothesis import strategies as st

import tinygrad_edu as tg

from .spec import Case, OpSpec, same, seeds, values

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="matmul", **kw))


def _matmul_cases(kind):
    def cases(mode):
        @st.composite
        def build(draw):
            lo = 0 if mode == "empty" else 1
            n, k, m = (draw(st.integers(lo, 4)) for _ in range(3))
            if mode == "smallest":
                n = k = m = 1
            if mode == "empty" and 0 not in (n, k, m):
                k = 0
            if kind == "1d_1d":
                sa, sb = (k,), (k,)
            elif kind == "1d_2d":
                sa, sb = (k,), (k, m)
            elif kind == "2d_1d":
                sa, sb = (n, k), (k,)
            elif kind == "2d_2d":
                sa, sb = (n, k), (k, m)
            else:  # batched with broadcasting of the batch dims
                b1 = draw(st.integers(1, 3))
                batch_a, batch_b = draw(st.sampled_from([
                    ((b1,), (b1,)), ((b1,), ()), ((), (b1,)), ((2, 1), (b1,)), ((1,), (2, b1))]))
                sa, sb = batch_a + (n, k), batch_b + (k, m)
                if kind == "batched_1d":
                    sb = (k,)
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, sa), values(rng, sb)))
        return build()
    return cases


for kind in ("1d_1d", "1d_2d", "2d_1d", "2d_2d", "batched", "batched_1d"):
    add(f"matmul_{kind}", _matmul_cases(kind), **same(lambda a, b: a @ b))
add("matmul_function", _matmul_cases("batched"),
    ours=lambda a, b: tg.matmul(a, b), ref=lambda a, b: torch.matmul(a, b))
