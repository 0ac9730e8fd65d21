"""Registry entries for ``tinygrad_edu/ops/shape.py``: shape ops (reshape view permute transpose T mT
expand broadcast_to expand_as squeeze unsqueeze flatten contiguous cat stack split chunk constant pad
repeat flip)."""
import numpy as np
import torch
import torch.nn.functional as TF
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.ops.shape import pad as tg_pad

from .spec import Case, OpSpec, same, seeds, shapes, values

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="shape", **kw))


def with_shape(kwargs_of_shape, min_dims=0, max_dims=3, sides=None, n_inputs=1, same_shape=True):
    """cases(mode) that draw a shape, then kwargs from ``kwargs_of_shape(draw, shape)``."""
    def cases(mode):
        @st.composite
        def build(draw):
            if sides is not None and mode == "any":
                ndim = draw(st.integers(min_dims, max_dims))
                shape = tuple(draw(st.lists(st.sampled_from(sides), min_size=ndim, max_size=ndim)))
            else:
                shape = draw(shapes(mode, min_dims, max_dims))
            kwargs = kwargs_of_shape(draw, shape)
            rng = np.random.default_rng(draw(seeds()))
            return Case(tuple(values(rng, shape) for _ in range(n_inputs)), kwargs)
        return build()
    return cases


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


# ---- cat / stack ------------------------------------------------------------------------------------
def _cat_cases(mode):
    @st.composite
    def build(draw):
        base = list(draw(shapes(mode, 1, 3, max_numel=8)))
        nd = len(base)
        dim = draw(st.integers(-nd, nd - 1))
        lo = 0 if mode == "empty" else 1
        rng = np.random.default_rng(draw(seeds()))
        arrays = []
        for _ in range(3):
            s = list(base)
            s[dim] = draw(st.integers(lo, 3)) if mode != "smallest" else 1
            arrays.append(values(rng, s))
        return Case(tuple(arrays), {"dim": dim})
    return build()


add("cat", _cat_cases, ours=lambda a, b, c, dim: tg.cat([a, b, c], dim=dim),
    ref=lambda a, b, c, dim: torch.cat([a, b, c], dim=dim))
add("cat_tuple_positional_dim", _cat_cases, ours=lambda a, b, c, dim: tg.cat((a, b, c), dim),
    ref=lambda a, b, c, dim: torch.cat((a, b, c), dim))
add("stack", with_shape(lambda d, s: {"dim": d(st.integers(-len(s) - 1, len(s)))}, n_inputs=3),
    ours=lambda a, b, c, dim: tg.stack([a, b, c], dim=dim),
    ref=lambda a, b, c, dim: torch.stack([a, b, c], dim=dim))


# ---- split / chunk ---------------------------------------------------------------------------------
def _split_args(kind):
    def make(draw, shape):
        nd = len(shape)
        dim = draw(st.integers(-nd, nd - 1))
        n = shape[dim]
        if kind == "size":
            return {"size": draw(st.integers(1, 3)), "dim": dim}
        if kind == "chunks":
            return {"chunks": draw(st.integers(1, 4)), "dim": dim}
        cuts = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
        sections = [b - a for a, b in zip([0] + cuts, cuts + [n])]
        return {"size": sections, "dim": dim}
    return make


add("split_size", with_shape(_split_args("size"), min_dims=1),
    **same(lambda x, size, dim: x.split(size, dim)))
add("split_sections", with_shape(_split_args("sections"), min_dims=1),
    ours=lambda x, size, dim: tg.split(x, size, dim=dim),
    ref=lambda x, size, dim: torch.split(x, size, dim=dim))
add("chunk", with_shape(_split_args("chunks"), min_dims=1), **same(lambda x, **kw: x.chunk(**kw)))


# ---- pad, repeat, flip ------------------------------------------------------------------------------
def _pad_args(draw, shape):
    k = draw(st.integers(1, max(1, len(shape)))) if shape else 0
    return {"pad": tuple(draw(st.integers(0, 2)) for _ in range(2 * k)),
            "value": draw(st.sampled_from([0.0, 1.5]))}


add("pad_constant", with_shape(_pad_args, min_dims=1),
    ours=lambda x, pad, value: tg_pad(x, pad, value=value),
    ref=lambda x, pad, value: TF.pad(x, pad, value=value))


def _repeat_args(draw, shape):
    extra = draw(st.integers(0, 1))
    return {"sizes": tuple(draw(st.integers(1, 2)) for _ in range(len(shape) + extra))}


add("repeat", with_shape(_repeat_args, max_dims=2),
    **same(lambda x, sizes: x.repeat(*sizes) if sizes else x.repeat(sizes)))
add("repeat_tuple", with_shape(_repeat_args, max_dims=2), **same(lambda x, sizes: x.repeat(sizes)))


def _flip_dims(draw, shape):
    nd = len(shape)
    return {"dims": tuple(draw(st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=nd,
                                        unique_by=lambda d: d % nd)))}


add("flip", with_shape(_flip_dims, min_dims=1), ours=lambda x, dims: x.flip(*dims),
    ref=lambda x, dims: x.flip(dims))
add("flip_function", with_shape(_flip_dims, min_dims=1), ours=lambda x, dims: tg.flip(x, dims),
    ref=lambda x, dims: torch.flip(x, dims))
