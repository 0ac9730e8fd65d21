"""Registry entries for ``tinygrad_edu/nn/batchnorm.py``: ``F.batch_norm`` in training and eval mode,
with and without affine parameters, on 2-, 3- and 4-D input (running statistics are inputs that
get no gradient)."""
import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st

from .cases import F, NORM_TOL, batch
from .spec import Case, OpSpec, seeds, values

SPECS = []


def add(name, cases, ours, ref, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, ours=ours, ref=ref, family="batchnorm", **kw))


def _bn_cases(training, affine=True):
    """(x, running_mean, running_var[, weight, bias]) with x of 2, 3 or 4 dims; at least 4
    values per channel in training (batch statistics of 2 values are degenerate)."""
    def cases(mode):
        @st.composite
        def build(draw):
            c = 1 if mode == "smallest" else draw(st.integers(1, 3))
            ndim = 2 if mode == "smallest" else draw(st.integers(2, 4))
            n = batch(draw, mode, 4)
            if training and mode in ("any", "small"):
                n = draw(st.integers(4, 6) if ndim == 2 else st.integers(2, 3))
            rest = tuple(draw(st.integers(2, 3)) for _ in range(ndim - 2))
            rng = np.random.default_rng(draw(seeds()))
            arrays = (values(rng, (n, c) + rest), values(rng, (c,)),
                      values(rng, (c,), "positive"))
            if affine:
                arrays += (values(rng, (c,)), values(rng, (c,)))
            return Case(arrays, {"training": training, "momentum": draw(st.sampled_from([0.1, 0.5])),
                                 "eps": 1e-5})
        return build()
    return cases


def _bn(affine):
    if affine:
        return dict(ours=lambda x, m, v, w, b, **k: F.batch_norm(x, m, v, w, b, **k),
                    ref=lambda x, m, v, w, b, **k: TF.batch_norm(x, m, v, w, b, **k))
    return dict(ours=lambda x, m, v, **k: F.batch_norm(x, m, v, **k),
                ref=lambda x, m, v, **k: TF.batch_norm(x, m, v, **k))


add("F.batch_norm_training", _bn_cases(True), **_bn(True), no_grad_args=(1, 2), **NORM_TOL)
add("F.batch_norm_training_no_affine", _bn_cases(True, affine=False), **_bn(False),
    no_grad_args=(1, 2), **NORM_TOL)
add("F.batch_norm_eval", _bn_cases(False), **_bn(True), no_grad_args=(1, 2), **NORM_TOL)
add("F.batch_norm_eval_no_affine", _bn_cases(False, affine=False), **_bn(False),
    no_grad_args=(1, 2), **NORM_TOL)
