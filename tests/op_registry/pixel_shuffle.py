"""Registry entries for ``tinygrad_edu/nn/pixel_shuffle.py``: ``F.pixel_shuffle`` and
``F.pixel_unshuffle``."""
import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st

from .cases import F, batch
from .spec import Case, OpSpec, seeds, values

SPECS = []


def add(name, cases, ours, ref, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, ours=ours, ref=ref, family="pixel_shuffle", **kw))


def _shuffle_cases(up):
    def cases(mode):
        @st.composite
        def build(draw):
            n = batch(draw, mode)
            r = draw(st.integers(1, 2))
            c, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
            shape = (n, c * r * r, h, w) if up else (n, c, h * r, w * r)
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, shape), r))
        return build()
    return cases


add("pixel_shuffle", _shuffle_cases(True), ours=lambda x, r: F.pixel_shuffle(x, r),
    ref=lambda x, r: TF.pixel_shuffle(x, r),
    edge_modes=("smallest",))  # torch's backward rejects empty input
add("pixel_unshuffle", _shuffle_cases(False), ours=lambda x, r: F.pixel_unshuffle(x, r),
    ref=lambda x, r: TF.pixel_unshuffle(x, r),
    edge_modes=("smallest",))  # torch's backward rejects empty input
