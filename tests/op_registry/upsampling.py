"""Registry entries for ``tinygrad_edu/nn/upsampling.py``: ``F.interpolate`` in 'nearest', 'linear'
and 'bilinear' modes (align_corners; a ``size`` or a ``scale_factor``)."""
import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st

from .cases import F, batch
from .spec import Case, OpSpec, seeds, values

SPECS = []


def add(name, cases, ours, ref, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, ours=ours, ref=ref, family="upsampling", **kw))


def _interp_cases(mode_name):
    def cases(mode):
        @st.composite
        def build(draw):
            n = batch(draw, mode)
            k = {"linear": 1, "bilinear": 2}.get(mode_name) or draw(st.integers(1, 2))
            size_in = tuple(draw(st.integers(1, 3)) for _ in range(k))
            kw = {"mode": mode_name}
            if mode_name != "nearest":
                kw["align_corners"] = draw(st.booleans())
            if draw(st.booleans()):
                kw["size"] = tuple(draw(st.integers(1, 5)) for _ in range(k))
            else:
                kw["scale_factor"] = tuple(draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.3]))
                                           for _ in range(k))
                if any(int(i * f) < 1 for i, f in zip(size_in, kw["scale_factor"])):
                    kw["scale_factor"] = tuple(2.0 for _ in range(k))
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, (n, 2) + size_in),), kw)
        return build()
    return cases


for _m in ("nearest", "linear", "bilinear"):
    add(f"interpolate_{_m}", _interp_cases(_m), ours=lambda x, **kw: F.interpolate(x, **kw),
        ref=lambda x, **kw: TF.interpolate(x, **kw))
