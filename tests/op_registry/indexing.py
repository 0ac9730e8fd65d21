"""Registry entries for ``tinygrad_edu/ops/indexing.py``: ``__getitem__`` (ints, slices with steps,
None, ..., integer arrays with duplicates, boolean masks), ``gather`` and ``one_hot`` (as
``tg.one_hot`` and as ``F.one_hot``, the same function).

Index arrays are positional *integer/bool inputs*: the tests turn them into tensors of each
library, so ``ours``/``ref`` are the same expression."""
import numpy as np
import torch
import torch.nn.functional as TF
from hypothesis import strategies as st

import tinygrad_edu as tg

from .cases import f_call
from .spec import Case, OpSpec, same, seeds, shapes, values

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="indexing", **kw))


def _getitem_cases(make_index, min_dims=1):
    """``make_index(draw, rng, shape)`` -> (index arrays tuple, kwargs)."""
    def cases(mode):
        @st.composite
        def build(draw):
            shape = draw(shapes(mode, min_dims, 3))
            rng = np.random.default_rng(draw(seeds()))
            arrays, kwargs = make_index(draw, rng, shape)
            return Case((values(rng, shape),) + tuple(arrays), kwargs)
        return build()
    return cases


def _int(draw, n):
    return draw(st.integers(-n, n - 1)) if n else 0


add("getitem_int", _getitem_cases(lambda d, r, s: ((), {"i": _int(d, s[0])})),
    **same(lambda x, i: x[i]))
add("getitem_int_int", _getitem_cases(lambda d, r, s: ((), {"i": _int(d, s[0]), "j": _int(d, s[1])}),
                                      min_dims=2), **same(lambda x, i, j: x[i, j]))


def _slices(draw, rng, shape):
    out = []
    for n in shape[:draw(st.integers(1, len(shape)))]:
        start = draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
        stop = draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
        out.append((start, stop, draw(st.sampled_from([None, 1, 2, 3]))))
    return (), {"spec": tuple(out)}


add("getitem_slices_with_steps", _getitem_cases(_slices),
    **same(lambda x, spec: x[tuple(slice(*s) for s in spec)]))
add("getitem_none_ellipsis", _getitem_cases(lambda d, r, s: ((), {})),
    **same(lambda x: x[None, ..., None]))
add("getitem_ellipsis_int", _getitem_cases(lambda d, r, s: ((), {"i": _int(d, s[-1])})),
    **same(lambda x, i: x[..., i]))
add("getitem_slice_none_int", _getitem_cases(lambda d, r, s: ((), {"i": _int(d, s[1])}), min_dims=2),
    **same(lambda x, i: x[::2, None, i]))


def _int_array(shape_of_index):
    def make(draw, rng, shape):
        n = shape[0]
        idx = rng.integers(-n, n, shape_of_index) if n else np.zeros((0,), np.int64)
        return (idx.astype(np.int64),), {}
    return make


# duplicates are likely: 4 draws from a dim of ≤ 4 entries (the backward must add them up)
add("getitem_int_array_dups", _getitem_cases(_int_array((4,))), **same(lambda x, i: x[i]))
add("getitem_int_array_2d", _getitem_cases(_int_array((2, 3))), **same(lambda x, i: x[i]))
add("getitem_list_dups", _getitem_cases(lambda d, r, s: ((), {"i": [0, -1, 0]})),
    **same(lambda x, i: x[i]))


def _two_arrays(draw, rng, shape):
    a = rng.integers(0, shape[0], (3,)) if shape[0] else np.zeros((0,), np.int64)
    b = rng.integers(0, shape[1], (1,)) if shape[1] else np.zeros((0,), np.int64)
    return (a.astype(np.int64), b.astype(np.int64)), {}


add("getitem_two_int_arrays_broadcast", _getitem_cases(_two_arrays, min_dims=2),
    **same(lambda x, i, j: x[i, j]))


def _array_on_dim1(draw, rng, shape):
    n = shape[1]
    idx = rng.integers(0, n, (3,)) if n else np.zeros((0,), np.int64)
    return (idx.astype(np.int64),), {}


add("getitem_slice_then_int_array", _getitem_cases(_array_on_dim1, min_dims=2),
    **same(lambda x, i: x[1:, i]))
add("getitem_ellipsis_int_array", _getitem_cases(_array_on_dim1, min_dims=2),
    **same(lambda x, i: x[:, i, ...]))
add("getitem_bool_mask_full", _getitem_cases(lambda d, r, s: ((r.random(s) < 0.5,), {})),
    **same(lambda x, m: x[m]))
add("getitem_bool_mask_first_dim", _getitem_cases(lambda d, r, s: ((r.random(s[:1]) < 0.5,), {})),
    **same(lambda x, m: x[m]))
add("getitem_tensor_int_scalar", _getitem_cases(lambda d, r, s: ((np.array(s[0] - 1),), {})),
    **same(lambda x, i: x[i]))


# ---- gather -----------------------------------------------------------------------------------------
def _gather_cases(mode):
    @st.composite
    def build(draw):
        shape = draw(shapes(mode, 1, 3))
        nd = len(shape)
        dim = draw(st.integers(-nd, nd - 1))
        d = dim % nd
        rng = np.random.default_rng(draw(seeds()))
        ishape = [draw(st.integers(0 if mode == "empty" else min(1, s), s)) for s in shape]
        ishape[d] = draw(st.integers(1, 4)) if shape[d] else 0
        index = rng.integers(0, max(shape[d], 1), ishape).astype(np.int64)
        return Case((values(rng, shape), index), {"dim": dim})
    return build()


add("gather", _gather_cases, **same(lambda x, index, dim: x.gather(dim, index)))
add("gather_function", _gather_cases, ours=lambda x, index, dim: tg.gather(x, dim, index),
    ref=lambda x, index, dim: torch.gather(x, dim, index))


# ---- one_hot: forward only, int64 ---------------------------------------------------------------------
def _one_hot_cases(mode):
    @st.composite
    def build(draw):
        shape = draw(shapes(mode, 0, 2))
        rng = np.random.default_rng(draw(seeds()))
        c = draw(st.integers(1, 4))
        kw = {"num_classes": c} if draw(st.booleans()) else {}
        return Case((rng.integers(0, c, shape).astype(np.int64),), kw)
    return build()


add("one_hot", _one_hot_cases, has_grad=False, edge_modes=("smallest",),
    ours=lambda i, **kw: tg.one_hot(i, **kw), ref=lambda i, **kw: TF.one_hot(i, **kw))


def _one_hot_num_classes_cases(mode):
    @st.composite
    def build(draw):
        shape = draw(shapes(mode, 0, 2))
        rng = np.random.default_rng(draw(seeds()))
        c = draw(st.integers(1, 4))
        return Case((rng.integers(0, c, shape).astype(np.int64),), {"num_classes": c})
    return build()


add("F.one_hot", _one_hot_num_classes_cases, has_grad=False, **f_call("one_hot"))
