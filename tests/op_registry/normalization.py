"""Registry entries for ``tinygrad_edu/nn/normalization.py``: ``F.layer_norm`` (normalized_shape as
an int or a tuple, with and without affine parameters) and ``F.group_norm``."""
import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st

from .cases import F, NORM_TOL, batch
from .spec import Case, OpSpec, seeds, values

SPECS = []


def add(name, cases, ours, ref, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, ours=ours, ref=ref, family="normalization", **kw))


def _layer_norm_cases(affine):
    def cases(mode):
        @st.composite
        def build(draw):
            if mode == "smallest":
                lead, normalized = (), (1,)
            else:
                k = draw(st.integers(1, 2))
                normalized = (draw(st.integers(3, 5)),) if k == 1 else \
                    (draw(st.integers(2, 3)), draw(st.integers(2, 3)))
                lead = (0,) if mode == "empty" else \
                    tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))
            rng = np.random.default_rng(draw(seeds()))
            arrays = (values(rng, lead + normalized),)
            if affine:
                arrays += (values(rng, normalized), values(rng, normalized))
            shape = normalized[0] if len(normalized) == 1 and draw(st.booleans()) else normalized
            return Case(arrays, {"normalized_shape": shape})
        return build()
    return cases


add("F.layer_norm", _layer_norm_cases(True),
    ours=lambda x, w, b, normalized_shape: F.layer_norm(x, normalized_shape, w, b),
    ref=lambda x, w, b, normalized_shape: TF.layer_norm(
        x, (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape, w, b),
    **NORM_TOL)
add("F.layer_norm_no_affine", _layer_norm_cases(False),
    ours=lambda x, normalized_shape: F.layer_norm(x, normalized_shape),
    ref=lambda x, normalized_shape: TF.layer_norm(
        x, (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape),
    **NORM_TOL)


def _group_norm_cases(mode):
    """(x, weight, bias) with x (N, C, *rest) and num_groups dividing C; each group holds at
    least 4 values."""
    @st.composite
    def build(draw):
        groups = 1 if mode == "smallest" else draw(st.integers(1, 3))
        per_group = 1 if mode == "smallest" else draw(st.integers(1, 2))
        c = groups * per_group
        n = batch(draw, mode)
        rest = () if mode == "smallest" else \
            tuple(draw(st.integers(2, 3)) for _ in range(draw(st.integers(1, 2))))
        rng = np.random.default_rng(draw(seeds()))
        return Case((values(rng, (n, c) + rest), values(rng, (c,)), values(rng, (c,))),
                    {"num_groups": groups})
    return build()


add("F.group_norm", _group_norm_cases,
    ours=lambda x, w, b, num_groups: F.group_norm(x, num_groups, w, b),
    ref=lambda x, w, b, num_groups: TF.group_norm(x, num_groups, w, b), **NORM_TOL)
