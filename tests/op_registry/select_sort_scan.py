"""Registry entries: sorting and order statistics (sort, topk, kthvalue, median, nanmedian, mode)
and scans (cumprod, cummax, cummin, logcumsumexp).  Only the values are compared here (their
gradient flows to the chosen entries); indices, ties and NaN are tested in
tests/test_select_sort_scan.py.  Inputs are ``distinct`` where an op picks entries, so that
finite differences never cross a tie."""
import numpy as np
from hypothesis import strategies as st

from .spec import Case, OpSpec, dim_arg, reduction, seeds, shapes, values

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="select_sort_scan", **kw))


def values_of(expr):
    """Same call in both libraries; compare the ``values`` of the returned (values, indices)."""
    return dict(ours=lambda x, **kw: expr(x, **kw)[0], ref=lambda x, **kw: expr(x, **kw)[0])


def with_k(lowest):
    """cases for topk / kthvalue: a shape, an int ``dim`` and ``k`` between ``lowest`` and the size."""
    def cases(mode):
        @st.composite
        def build(draw):
            shape = draw(shapes(mode, 0, 3))
            dim = draw(dim_arg(len(shape), "int"))
            n = shape[dim] if shape else 1
            kwargs = {"dim": dim, "k": draw(st.integers(lowest, max(n, lowest)))}
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, shape, "distinct"),), kwargs)
        return build()
    return cases


sort_kw = {"descending": st.booleans(), "stable": st.just(True)}
add("sort", reduction("distinct", dim="int", keepdim=False, extra=sort_kw),
    **values_of(lambda x, **kw: x.sort(**kw)))
add("topk", with_k(0), **values_of(lambda x, **kw: x.topk(**kw)))
add("topk_smallest", with_k(0), **values_of(lambda x, **kw: x.topk(largest=False, **kw)))
add("kthvalue", with_k(1), edge_modes=("smallest",), **values_of(lambda x, **kw: x.kthvalue(**kw)))
add("median_all", reduction("distinct", dim="none", keepdim=False), edge_modes=("smallest",),
    ours=lambda x: x.median(), ref=lambda x: x.median())
add("median_dim", reduction("distinct", dim="int"), edge_modes=("smallest",),
    **values_of(lambda x, **kw: x.median(**kw)))
add("nanmedian_dim", reduction("distinct", dim="int"), edge_modes=("smallest",),
    **values_of(lambda x, **kw: x.nanmedian(**kw)))
add("mode", reduction("ties", dim="int"), edge_modes=("smallest",), gradcheck=False,
    **values_of(lambda x, **kw: x.mode(**kw)))

add("cumprod", reduction(dim="int", keepdim=False), ours=lambda x, **kw: x.cumprod(**kw),
    ref=lambda x, **kw: x.cumprod(**kw))
add("cumprod_with_zeros", reduction("zeros", dim="int", keepdim=False),
    ours=lambda x, **kw: x.cumprod(**kw), ref=lambda x, **kw: x.cumprod(**kw))
for _op in ("cummax", "cummin"):
    add(_op, reduction("distinct", dim="int", keepdim=False),
        **values_of(lambda x, _op=_op, **kw: getattr(x, _op)(**kw)))
add("logcumsumexp", reduction(dim="int", keepdim=False), ours=lambda x, **kw: x.logcumsumexp(**kw),
    ref=lambda x, **kw: x.logcumsumexp(**kw))
add("logcumsumexp_large_inputs", reduction("big", dim="int", keepdim=False),
    ours=lambda x, **kw: x.logcumsumexp(**kw), ref=lambda x, **kw: x.logcumsumexp(**kw))

# ---- std_mean, var_mean: both parts of the pair feed the loss (their gradients add up) -------------
import tinygrad_edu as tg  # noqa: E402
import torch  # noqa: E402

from .reduce import _enough_entries  # noqa: E402

for _op in ("var_mean", "std_mean"):
    _ours, _ref = getattr(tg, _op), getattr(torch, _op)
    add(f"{_op}_dim_int_correction",
        reduction(dim="int", min_dims=1, extra={"correction": st.sampled_from([0, 1])}),
        smooth_at=_enough_entries,
        ours=lambda x, _f=_ours, **kw: _f(x, **kw)[0] + 3 * _f(x, **kw)[1],
        ref=lambda x, _f=_ref, **kw: _f(x, **kw)[0] + 3 * _f(x, **kw)[1])
    add(f"{_op}_dim_tuple_unbiased", reduction(dim="tuple", extra={"unbiased": st.booleans()}),
        smooth_at=_enough_entries,
        ours=lambda x, _f=_ours, **kw: _f(x, **kw)[0] * _f(x, **kw)[1],
        ref=lambda x, _f=_ref, **kw: _f(x, **kw)[0] * _f(x, **kw)[1])

# ---- layout (roll, diagonal, diag, unfold, repeat_interleave) and selection ----------------------
from .spec import unary  # noqa: E402


def both(expr):
    return dict(ours=expr, ref=expr)


def fixed(shape, domain="real", **kwargs):
    """cases: one input of a fixed ``shape`` (the op's kwargs are fixed too); empty mode zeroes dim 0."""
    def cases(mode):
        @st.composite
        def build(draw):
            s = (0,) + tuple(shape[1:]) if mode == "empty" else tuple(shape)
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, s, domain),), dict(kwargs))
        return build()
    return cases


add("roll_dims", fixed((3, 4, 2)), edge_modes=("empty",),
    **both(lambda x: x.roll((1, -5), (0, -2))))
add("roll_flat", unary(), **both(lambda x: x.roll(3)))
add("diagonal", fixed((3, 4, 2)), edge_modes=("empty",), **both(lambda x: x.diagonal(1, 0, 1)))
add("diagonal_negative_offset", fixed((4, 2, 3)), edge_modes=("empty",),
    **both(lambda x: x.diagonal(-1, -1, 0)))
add("diag_vector", fixed((3,)), edge_modes=("empty",), **both(lambda x: x.diag(-2)))
add("diag_matrix", fixed((3, 4)), edge_modes=("empty",), **both(lambda x: x.diag(1)))
add("tensor_unfold", fixed((7, 2)), edge_modes=(), **both(lambda x: x.unfold(0, 3, 2)))
add("tensor_unfold_overlapping", fixed((2, 6)), edge_modes=("empty",), **both(lambda x: x.unfold(-1, 4, 1)))
add("repeat_interleave_flat", unary(), **both(lambda x: x.repeat_interleave(2)))
add("repeat_interleave_tensor", fixed((3, 2)), edge_modes=(),
    ours=lambda x: x.repeat_interleave(tg.tensor([2, 0, 1]), dim=0),
    ref=lambda x: x.repeat_interleave(torch.tensor([2, 0, 1]), dim=0))
add("index_select", fixed((3, 4)), edge_modes=(),
    ours=lambda x: x.index_select(1, tg.tensor([3, 0, 3])),
    ref=lambda x: x.index_select(1, torch.tensor([3, 0, 3])))
add("masked_select_broadcast", fixed((3, 4)), edge_modes=(),
    ours=lambda x: x.masked_select(tg.tensor([True, False, True, True])),
    ref=lambda x: x.masked_select(torch.tensor([True, False, True, True])))

# ---- scatter, scatter_add, index_add: x and src both get gradients ------------------------------


def fixed2(shape_a, shape_b):
    """cases: two inputs of fixed shapes (x and src)."""
    def cases(mode):
        @st.composite
        def build(draw):
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, shape_a), values(rng, shape_b)), {})
        return build()
    return cases


_perm = [[2, 0, 1, 1], [0, 1, 2, 0]]          # no position written twice along dim 0
_dups = [[0, 2, 1, 0], [2, 2, 0, 0], [0, 0, 0, 1]]
add("scatter", fixed2((3, 4), (2, 4)), edge_modes=(),  # (torch's backward fails if src > index)
    ours=lambda x, s: x.scatter(0, tg.tensor(_perm), s),
    ref=lambda x, s: x.scatter(0, torch.tensor(_perm), s))
add("scatter_add_duplicates", fixed2((3, 4), (3, 4)), edge_modes=(),
    ours=lambda x, s: tg.scatter_add(x, 0, tg.tensor(_dups), s),
    ref=lambda x, s: torch.scatter_add(x, 0, torch.tensor(_dups), s))
add("scatter_add_dim1", fixed2((3, 4), (2, 4)), edge_modes=(),
    ours=lambda x, s: x.scatter_add(-1, tg.tensor(_perm), s),
    ref=lambda x, s: x.scatter_add(-1, torch.tensor(_perm), s))
add("index_add_alpha", fixed2((3, 4), (3, 5)), edge_modes=(),
    ours=lambda x, s: x.index_add(1, tg.tensor([3, 0, 3, 1, 3]), s, alpha=-2.5),
    ref=lambda x, s: x.index_add(1, torch.tensor([3, 0, 3, 1, 3]), s, alpha=-2.5))

_reduce_index = [[0, 2, 1, 0], [2, 2, 0, 0]]
for _r in ("sum", "mean", "prod", "amax", "amin"):
    for _inc in (True, False):
        add(f"scatter_reduce_{_r}_{'self' if _inc else 'noself'}", fixed2((3, 4), (2, 4)), edge_modes=(),
            ours=lambda x, s, _r=_r, _inc=_inc: x.scatter_reduce(0, tg.tensor(_reduce_index), s, _r,
                                                                 include_self=_inc),
            ref=lambda x, s, _r=_r, _inc=_inc: x.scatter_reduce(0, torch.tensor(_reduce_index), s, _r,
                                                                include_self=_inc))

# ---- einsum ------------------------------------------------------------------------------------


def fixed_n(*shape_list):
    def cases(mode):
        @st.composite
        def build(draw):
            rng = np.random.default_rng(draw(seeds()))
            return Case(tuple(values(rng, s) for s in shape_list), {})
        return build()
    return cases


for _name, _eq, _shapes in [
        ("matmul", "ij,jk->ik", [(2, 3), (3, 4)]), ("batched_implicit", "bij,bjk", [(2, 2, 3), (2, 3, 2)]),
        ("ellipsis", "...ij,...jk->...ik", [(2, 2, 3), (2, 3, 2)]), ("trace", "ii", [(3, 3)]),
        ("diagonal", "iij->ji", [(2, 2, 3)]), ("outer", "i,j->ij", [(3,), (2,)]),
        ("sum_only_operand_letter", "ij,k->i", [(2, 3), (4,)]), ("three_operands", "ab,bc,cd->ad",
                                                                  [(2, 3), (3, 2), (2, 2)])]:
    add(f"einsum_{_name}", fixed_n(*_shapes), edge_modes=(),
        ours=lambda *xs, _eq=_eq: tg.einsum(_eq, *xs), ref=lambda *xs, _eq=_eq: torch.einsum(_eq, *xs))
