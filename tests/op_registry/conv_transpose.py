"""Registry entries for ``tinygrad_edu/nn/conv_transpose.py``: ``F.conv_transpose1d`` and
``F.conv_transpose2d`` (stride, padding, output_padding, dilation, groups, bias)."""
import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st

from .cases import F, batch
from .spec import Case, OpSpec, seeds, values

SPECS = []


def add(name, cases, ours, ref, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, ours=ours, ref=ref, family="conv_transpose", **kw))


def _convt_cases(dims):
    def cases(mode):
        @st.composite
        def build(draw):
            n = batch(draw, mode)
            g = 1 if mode == "smallest" else draw(st.sampled_from([1, 2]))
            c, o = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
            k = tuple(draw(st.integers(1, 3)) for _ in range(dims))
            s = tuple(draw(st.integers(1, 2)) for _ in range(dims))
            d = tuple(draw(st.integers(1, 2)) for _ in range(dims))
            p = tuple(draw(st.integers(0, 1)) for _ in range(dims))
            op = tuple(draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d))
            size = tuple(draw(st.integers(1, 3)) for _ in range(dims))
            # keep the output size positive: (i − 1)·s − 2p + d·(k − 1) + op + 1 ≥ 1
            p = tuple(min(pi, ((i - 1) * si + di * (ki - 1) + oi) // 2)
                      for pi, i, si, di, ki, oi in zip(p, size, s, d, k, op))
            rng = np.random.default_rng(draw(seeds()))
            arrays = (values(rng, (n, c) + size), values(rng, (c, o // g) + k))
            if draw(st.booleans()):
                arrays += (values(rng, (o,)),)
            one = (lambda t: t[0]) if dims == 1 else (lambda t: t)
            return Case(arrays, {"stride": one(s), "padding": one(p), "output_padding": one(op),
                                 "groups": g, "dilation": one(d)})
        return build()
    return cases


add("conv_transpose1d", _convt_cases(1), ours=lambda *a, **kw: F.conv_transpose1d(*a, **kw),
    ref=lambda *a, **kw: TF.conv_transpose1d(*a, **kw))
add("conv_transpose2d", _convt_cases(2), ours=lambda *a, **kw: F.conv_transpose2d(*a, **kw),
    ref=lambda *a, **kw: TF.conv_transpose2d(*a, **kw))
