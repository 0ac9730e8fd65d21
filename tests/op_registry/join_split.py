"""Registry entries for ``tinygrad_edu/ops/join_split.py``: cat (list and tuple), stack, split (size
and sections), chunk, constant pad, repeat."""
import numpy as np
import torch
import torch.nn.functional as TF
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.ops.join_split import pad as tg_pad

from .cases import with_shape
from .spec import Case, OpSpec, same, seeds, shapes, values

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="join_split", **kw))


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


# ---- pad, repeat ------------------------------------------------------------------------------------
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
