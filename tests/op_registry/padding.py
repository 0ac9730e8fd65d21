"""Registry entries for ``tinygrad_edu/nn/padding.py``: ``F.pad`` in 'reflect' / 'replicate' /
'circular' modes of the last 1 to 3 dims, constant pad with negative widths (crops), and every mode
of the last 3 dims of 4-D and 5-D input.  (Constant padding with ``tinygrad_edu.ops.shape.pad`` is
in shape.py.)"""
import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st

from .cases import F, batch
from .spec import Case, OpSpec, seeds, values

SPECS = []


def add(name, cases, ours, ref, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, ours=ours, ref=ref, family="padding", **kw))


# ---------------------------------------------------------------------------------------------
# F.pad of the last 1 to 3 dims: reflect, replicate, circular; negative constant pads
# ---------------------------------------------------------------------------------------------
def _pad_cases(mode_name):
    def cases(mode):
        @st.composite
        def build(draw):
            n = batch(draw, mode)
            dims = draw(st.integers(1, 3))
            lo = 2 if mode_name != "replicate" else 1
            size = tuple(draw(st.integers(lo, 3)) for _ in range(dims))
            limit = {"reflect": lambda s: s - 1, "circular": lambda s: s}.get(mode_name, lambda s: 2)
            pad = ()
            for s in reversed(size):
                pad += (draw(st.integers(0, limit(s))), draw(st.integers(0, limit(s))))
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, (n, 2) + size),), {"pad": pad, "mode": mode_name})
        return build()
    return cases


for _m in ("reflect", "replicate", "circular"):
    add(f"pad_{_m}", _pad_cases(_m), ours=lambda x, **kw: F.pad(x, **kw),
        ref=lambda x, **kw: TF.pad(x, **kw), edge_modes=("smallest",))


def _crop_cases(mode):
    @st.composite
    def build(draw):
        n = batch(draw, mode)
        size = (draw(st.integers(2, 4)), draw(st.integers(2, 4)))
        pad = (draw(st.integers(-1, 2)), draw(st.integers(-1, 2)), draw(st.integers(-1, 1)),
               draw(st.integers(-1, 1)))
        rng = np.random.default_rng(draw(seeds()))
        return Case((values(rng, (n, 2) + size),), {"pad": pad, "value": draw(st.sampled_from([0.0, 1.5]))})
    return build()


add("pad_constant_negative", _crop_cases, ours=lambda x, **kw: F.pad(x, **kw),
    ref=lambda x, **kw: TF.pad(x, **kw))


# ---------------------------------------------------------------------------------------------
# F.pad of the last 3 dims, every mode
# ---------------------------------------------------------------------------------------------
def _pad3d_cases(mode_name):
    def cases(mode):
        @st.composite
        def build(draw):
            n = batch(draw, mode)
            lo = 1 if mode_name in ("replicate", "constant") else 2
            size = tuple(draw(st.integers(lo, 3)) for _ in range(3))
            limit = {"reflect": lambda s: s - 1, "circular": lambda s: s}.get(mode_name, lambda s: 2)
            pad = ()
            for s in reversed(size):
                pad += (draw(st.integers(0, limit(s))), draw(st.integers(0, limit(s))))
            unbatched = mode != "empty" and draw(st.booleans())
            rng = np.random.default_rng(draw(seeds()))
            kw = {"pad": pad, "mode": mode_name}
            if mode_name == "constant":
                kw["value"] = draw(st.sampled_from([0.0, -1.5]))
            return Case((values(rng, ((2,) if unbatched else (n, 2)) + size),), kw)
        return build()
    return cases


for _m in ("reflect", "replicate", "circular", "constant"):
    add(f"pad_{_m}_3d", _pad3d_cases(_m), ours=lambda x, **kw: F.pad(x, **kw),
        ref=lambda x, **kw: TF.pad(x, **kw), edge_modes=("smallest",))
