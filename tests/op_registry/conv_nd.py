"""Registry entries for ``tinygrad_edu/nn/conv_nd.py``: ``F.conv1d`` (stride, padding int / 'same' /
'valid', dilation, groups, bias) and ``F.conv3d`` (the same, padding as a triple too, unbatched),
against ``torch.nn.functional``.  Shapes stay tiny so gradcheck and gradgradcheck are quick."""
import warnings

import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st

from .cases import F, batch, three
from .spec import Case, OpSpec, seeds, values

SPECS = []


def add(name, cases, ours, ref, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, ours=ours, ref=ref, family="conv_nd", **kw))


# ---------------------------------------------------------------------------------------------
# conv1d
# ---------------------------------------------------------------------------------------------
def _conv1d_cases(mode):
    @st.composite
    def build(draw):
        n = batch(draw, mode)
        g = 1 if mode == "smallest" else draw(st.sampled_from([1, 2]))
        c, o = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
        k, d = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        padding = draw(st.sampled_from([0, 1, "same", "valid"]))
        s = 1 if padding == "same" else draw(st.integers(1, 2))
        p = 1 if padding == 1 else 0
        length = draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), d * (k - 1) + 3))
        rng = np.random.default_rng(draw(seeds()))
        arrays = (values(rng, (n, c, length)), values(rng, (o, c // g, k)))
        if draw(st.booleans()):
            arrays += (values(rng, (o,)),)
        return Case(arrays, {"stride": s, "padding": padding, "dilation": d, "groups": g})
    return build()


def _torch_conv1d(*a, **kw):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using padding='same'")
        return TF.conv1d(*a, **kw)


add("conv1d", _conv1d_cases, ours=lambda *a, **kw: F.conv1d(*a, **kw), ref=_torch_conv1d)


# ---------------------------------------------------------------------------------------------
# conv3d
# ---------------------------------------------------------------------------------------------
def _conv3d_cases(unbatched):
    def cases(mode):
        @st.composite
        def build(draw):
            n = batch(draw, mode)
            smallest = mode == "smallest"
            g = 1 if smallest else draw(st.sampled_from([1, 2]))
            c, o = g * (1 if smallest else draw(st.integers(1, 2))), g * draw(st.integers(1, 2))
            k = (1, 1, 1) if smallest else three(draw, 1, 2)
            d = (1, 1, 1) if smallest else three(draw, 1, 2)
            padding = 0 if smallest else draw(st.sampled_from([0, 1, (1, 0, 1), "same", "valid"]))
            s = (1, 1, 1) if padding == "same" or smallest else three(draw, 1, 2)
            pads = (padding,) * 3 if isinstance(padding, int) else \
                padding if isinstance(padding, tuple) else (0, 0, 0)
            size = tuple(draw(st.integers(max(1, di * (ki - 1) + 1 - 2 * pi), di * (ki - 1) + 2))
                         for di, ki, pi in zip(d, k, pads))
            rng = np.random.default_rng(draw(seeds()))
            x = values(rng, (c,) + size) if unbatched else values(rng, (n, c) + size)
            arrays = (x, values(rng, (o, c // g) + k))
            if draw(st.booleans()):
                arrays += (values(rng, (o,)),)
            return Case(arrays, {"stride": s, "padding": padding, "dilation": d, "groups": g})
        return build()
    return cases


def _torch_conv3d(*a, **kw):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using padding='same'")
        return TF.conv3d(*a, **kw)


add("conv3d", _conv3d_cases(False), ours=lambda *a, **kw: F.conv3d(*a, **kw), ref=_torch_conv3d)
add("conv3d_unbatched", _conv3d_cases(True), ours=lambda *a, **kw: F.conv3d(*a, **kw),
    ref=_torch_conv3d, edge_modes=("smallest",))
