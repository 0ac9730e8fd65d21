"""Registry entries for ``tinygrad_edu/nn/linear.py``: ``F.linear`` (with and without bias, any batch
dims) and ``F.bilinear``."""
import numpy as np
from hypothesis import strategies as st

from .cases import f_call, lib_call
from .spec import Case, OpSpec, seeds, values

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="linear", **kw))


def _linear_cases(bias):
    def cases(mode):
        @st.composite
        def build(draw):
            lo = 0 if mode == "empty" else 1
            n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 3))
            batch = draw(st.sampled_from([(), (draw(st.integers(lo, 3)),), (2, draw(st.integers(lo, 2)))]))
            if mode == "empty" and 0 not in batch:
                batch = (0,)
            if mode == "smallest":
                batch, n_in, n_out = (), 1, 1
            rng = np.random.default_rng(draw(seeds()))
            arrays = (values(rng, batch + (n_in,)), values(rng, (n_out, n_in)))
            if bias:
                arrays += (values(rng, (n_out,)),)
            return Case(arrays)
        return build()
    return cases


add("F.linear", _linear_cases(True), **f_call("linear"))
add("F.linear_no_bias", _linear_cases(False), **f_call("linear"))


def _bilinear_cases(bias):
    def cases(mode):
        @st.composite
        def build(draw):
            lo = 0 if mode == "empty" else 1
            batch = draw(st.sampled_from([(), (draw(st.integers(lo, 3)),), (2, draw(st.integers(lo, 2)))]))
            if mode == "empty" and 0 not in batch:
                batch = (0,)
            n1, n2, out = (draw(st.integers(1, 3)) for _ in range(3))
            if mode == "smallest":
                batch, n1, n2, out = (), 1, 1, 1
            rng = np.random.default_rng(draw(seeds()))
            arrays = (values(rng, batch + (n1,)), values(rng, batch + (n2,)), values(rng, (out, n1, n2)))
            return Case(arrays + ((values(rng, (out,)),) if bias else ()))
        return build()
    return cases


add("F.bilinear", _bilinear_cases(True), **lib_call(lambda lib, a, b, w, bias: lib.bilinear(a, b, w, bias)))
add("F.bilinear_no_bias", _bilinear_cases(False), **lib_call(lambda lib, a, b, w: lib.bilinear(a, b, w)))
