"""Registry entries for ``tinygrad_edu/nn/softmax.py``: ``F.softmax``, ``F.log_softmax``,
``F.softmin`` and ``F.glu`` (the halves along ``dim``), any ``dim`` including negative ones."""
import numpy as np
from hypothesis import strategies as st

from .cases import dim_cases, f_call, fn, lib_call
from .spec import Case, OpSpec, seeds, shapes, values

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="softmax", **kw))


def _softmax_cases(mode):
    @st.composite
    def build(draw):
        shape = draw(shapes(mode, 1, 3))
        rng = np.random.default_rng(draw(seeds()))
        return Case((values(rng, shape),), {"dim": draw(st.integers(-len(shape), len(shape) - 1))})
    return build()


add("F.softmax", _softmax_cases, **f_call("softmax"))
add("F.log_softmax", _softmax_cases, **f_call("log_softmax"))
add("F.softmin", dim_cases(), **lib_call(fn("softmin")))


def _glu_cases(mode):
    @st.composite
    def build(draw):
        shape = list(draw(shapes(mode, 1, 3)))
        dim = draw(st.integers(-len(shape), len(shape) - 1))
        if shape[dim] % 2:
            shape[dim] = 2 if shape[dim] == 1 else shape[dim] + 1
        rng = np.random.default_rng(draw(seeds()))
        return Case((values(rng, tuple(shape)),), {"dim": dim})
    return build()


add("F.glu", _glu_cases, **lib_call(fn("glu")))
