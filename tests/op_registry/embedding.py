"""Registry entries for ``tinygrad_edu/nn/embedding.py``: ``F.embedding`` with integer ids of any
shape (duplicates: the backward scatter-adds), and with ``padding_idx``."""
import numpy as np
from hypothesis import strategies as st

from .cases import f_call
from .spec import Case, OpSpec, seeds, shapes, values

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="embedding", **kw))


def _embedding_cases(mode):
    @st.composite
    def build(draw):
        n_emb, dim = draw(st.integers(1, 4)), draw(st.integers(1, 3))
        ids_shape = draw(shapes(mode, 0, 2, max_numel=6))
        rng = np.random.default_rng(draw(seeds()))
        ids = rng.integers(0, n_emb, ids_shape).astype(np.int64)
        return Case((ids, values(rng, (n_emb, dim))))
    return build()


add("F.embedding", _embedding_cases, **f_call("embedding"))


def _embedding_padding_cases(mode):
    @st.composite
    def build(draw):
        case = draw(_embedding_cases(mode))
        return Case(case.arrays, {"padding_idx": 0})
    return build()


# the padding row gets no gradient *by convention* (it is not the true derivative, so finite
# differences disagree on purpose): backward parity with torch checks the convention
add("F.embedding_padding_idx", _embedding_padding_cases, gradcheck=False, **f_call("embedding"))
