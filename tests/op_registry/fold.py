"""Registry entries for ``tinygrad_edu/nn/fold.py``: ``F.unfold`` (im2col) and ``F.fold`` (col2im),
with kernel, dilation, padding and stride pairs."""
import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st

from .cases import F, batch
from .spec import Case, OpSpec, seeds, values

SPECS = []


def add(name, cases, ours, ref, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, ours=ours, ref=ref, family="fold", **kw))


def _fold_cases(is_fold):
    def cases(mode):
        @st.composite
        def build(draw):
            n = batch(draw, mode)
            c = draw(st.integers(1, 2))
            k = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
            s = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
            d = (draw(st.integers(1, 2)), 1)
            p = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
            hw = tuple(max(1, di * (ki - 1) + 1 - 2 * pi) + draw(st.integers(0, 2))
                       for di, ki, pi in zip(d, k, p))
            kw = {"kernel_size": k, "dilation": d, "padding": p, "stride": s}
            rng = np.random.default_rng(draw(seeds()))
            if not is_fold:
                return Case((values(rng, (n, c) + hw),), kw)
            blocks = 1
            for i, ki, si, pi, di in zip(hw, k, s, p, d):
                blocks *= (i + 2 * pi - di * (ki - 1) - 1) // si + 1
            return Case((values(rng, (n, c * k[0] * k[1], blocks)),), dict(kw, output_size=hw))
        return build()
    return cases


add("F_unfold", _fold_cases(False), ours=lambda x, **kw: F.unfold(x, **kw),
    ref=lambda x, **kw: TF.unfold(x, **kw))
add("F_fold", _fold_cases(True), ours=lambda x, **kw: F.fold(x, **kw),
    ref=lambda x, **kw: TF.fold(x, **kw))
