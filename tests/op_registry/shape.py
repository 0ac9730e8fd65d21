"""Registry entries for ``tinygrad_edu/ops/shape.py``: shape ops (reshape view permute transpose T mT
expand broadcast_to expand_as squeeze unsqueeze flatten contiguous flip); cat, split, pad and repeat
are in ``join_split.py``."""
import numpy as np
import torch
from hypothesis import strategies as st

import tinygrad_edu as tg

from .cases import with_shape
from .spec import OpSpec, same

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="shape", **kw))


# ---- reshape / view -------------------------------------------------------------------------------
def _reshape_target(draw, shape):
    n = int(np.prod(shape, dtype=np.int64))
    choice = draw(st.sampled_from(["flat", "minus_one", "shuffled", "shuffled_minus_one", "ones"]))
    if choice == "flat":
        target = [n]
    elif choice == "minus_one":
        target = [-1]
    else:
        target = list(draw(st.permutations(list(shape))))
        for _ in range(draw(st.integers(0, 2))):
            target.insert(draw(st.integers(0, len(target))), 1)
        if choice == "shuffled_minus_one" and target:
            target[draw(st.integers(0, len(target) - 1))] = -1
    return {"shape": tuple(target)}


add("reshape", with_shape(_reshape_target), **same(lambda x, shape: x.reshape(shape)))
add("reshape_varargs", with_shape(_reshape_target),
    **same(lambda x, shape: x.reshape(*shape) if shape else x.reshape(shape)))
add("reshape_function", with_shape(_reshape_target), ours=lambda x, shape: tg.reshape(x, shape),
    ref=lambda x, shape: torch.reshape(x, shape))
add("view", with_shape(_reshape_target), **same(lambda x, shape: x.view(*shape) if shape else x.view(shape)))


# ---- permute / transpose ------------------------------------------------------------------------------
def _perm(draw, shape):
    order = draw(st.permutations(list(range(len(shape)))))
    return {"dims": tuple(d - len(shape) if draw(st.booleans()) else d for d in order)}


def _two_dims(draw, shape):
    nd = len(shape)
    return {"dim0": draw(st.integers(-nd, nd - 1)), "dim1": draw(st.integers(-nd, nd - 1))}


add("permute", with_shape(_perm), **same(lambda x, dims: x.permute(*dims) if dims else x.permute(dims)))
add("permute_function", with_shape(_perm), ours=lambda x, dims: tg.permute(x, dims),
    ref=lambda x, dims: torch.permute(x, dims))
add("transpose", with_shape(_two_dims, min_dims=1), **same(lambda x, dim0, dim1: x.transpose(dim0, dim1)))
add("T_2d", with_shape(lambda d, s: {}, min_dims=2, max_dims=2), **same(lambda x: x.T))
add("mT", with_shape(lambda d, s: {}, min_dims=2), **same(lambda x: x.mT))


# ---- expand / broadcast_to --------------------------------------------------------------------------
def _expand_target(allow_minus_one):
    def make(draw, shape):
        target = []
        for s in shape:
            if s == 1:
                target.append(draw(st.sampled_from([1, 2, 3])))
            elif allow_minus_one and draw(st.booleans()):
                target.append(-1)
            else:
                target.append(s)
        lead = draw(st.lists(st.integers(1, 2), max_size=2))
        return {"shape": tuple(lead + target)}
    return make


add("expand", with_shape(_expand_target(True), sides=[1, 1, 2, 3]),
    **same(lambda x, shape: x.expand(*shape) if shape else x.expand(shape)))
add("expand_tuple", with_shape(_expand_target(True), sides=[1, 2]),
    **same(lambda x, shape: x.expand(shape)))
add("broadcast_to", with_shape(_expand_target(False), sides=[1, 1, 2, 3]),
    ours=lambda x, shape: tg.broadcast_to(x, shape), ref=lambda x, shape: torch.broadcast_to(x, shape))
add("expand_as", with_shape(_expand_target(False), sides=[1, 2]),
    ours=lambda x, shape: x.expand_as(tg.zeros(shape)),
    ref=lambda x, shape: x.expand_as(torch.zeros(shape)))


# ---- squeeze / unsqueeze / flatten ------------------------------------------------------------------------
def _squeeze_dim(kind):
    def make(draw, shape):
        nd = len(shape)
        if kind == "none" or nd == 0:
            return {}
        if kind == "int":
            return {"dim": draw(st.integers(-nd, nd - 1))}
        return {"dim": tuple(draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True)))}
    return make


add("squeeze_all", with_shape(_squeeze_dim("none"), sides=[1, 1, 2, 3]),
    **same(lambda x, **kw: x.squeeze(**kw)))
add("squeeze_dim_int", with_shape(_squeeze_dim("int"), sides=[1, 1, 2, 3]),
    **same(lambda x, **kw: x.squeeze(**kw)))
add("squeeze_dim_tuple", with_shape(_squeeze_dim("tuple"), sides=[1, 1, 2]),
    ours=lambda x, **kw: tg.squeeze(x, **kw), ref=lambda x, **kw: torch.squeeze(x, **kw))
add("unsqueeze", with_shape(lambda d, s: {"dim": d(st.integers(-len(s) - 1, len(s)))}),
    **same(lambda x, dim: x.unsqueeze(dim)))


def _flatten_dims(draw, shape):
    nd = len(shape)
    if nd == 0:
        return {}
    a, b = sorted((draw(st.integers(0, nd - 1)), draw(st.integers(0, nd - 1))))
    return {"start_dim": a - nd if draw(st.booleans()) else a,
            "end_dim": b - nd if draw(st.booleans()) else b}


add("flatten", with_shape(_flatten_dims), **same(lambda x, **kw: x.flatten(**kw)))
add("flatten_function", with_shape(_flatten_dims), ours=lambda x, **kw: tg.flatten(x, **kw),
    ref=lambda x, **kw: torch.flatten(x, **kw))


# ---- contiguous -------------------------------------------------------------------------------------
add("contiguous_of_transpose", with_shape(lambda d, s: {}, min_dims=1),
    **same(lambda x: x.transpose(0, -1).contiguous()))
add("contiguous", with_shape(lambda d, s: {}), **same(lambda x: x.contiguous()))


# ---- flip -------------------------------------------------------------------------------------------
def _flip_dims(draw, shape):
    nd = len(shape)
    return {"dims": tuple(draw(st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=nd,
                                        unique_by=lambda d: d % nd)))}


add("flip", with_shape(_flip_dims, min_dims=1), ours=lambda x, dims: x.flip(*dims),
    ref=lambda x, dims: x.flip(dims))
add("flip_function", with_shape(_flip_dims, min_dims=1), ours=lambda x, dims: tg.flip(x, dims),
    ref=lambda x, dims: torch.flip(x, dims))
