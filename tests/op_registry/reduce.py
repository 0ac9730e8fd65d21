"""Registry entries for ``tinygrad_edu/ops/reduce.py``: reductions (sum mean max min amax amin prod
var std logsumexp, var_mean/std_mean), softmax, log_softmax, cumsum, argmax/argmin (forward only)
and integer sums."""
import numpy as np
import torch
from hypothesis import strategies as st

import tinygrad_edu as tg

from .spec import Case, OpSpec, reduction, same, seeds, shapes

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="reduce", **kw))


def method(name):
    """``x.<name>(**kwargs)`` in both libraries."""
    return same(lambda x, **kw: getattr(x, name)(**kw))


def function(name):
    """``tg.<name>(x, **kwargs)`` / ``torch.<name>(x, **kwargs)``."""
    ours, ref = getattr(tg, name), getattr(torch, name)
    return dict(ours=lambda x, **kw: ours(x, **kw), ref=lambda x, **kw: ref(x, **kw))


# ---- sum, mean: dim None / int / tuple, keepdim --------------------------------------------------
for _op in ("sum", "mean"):
    add(f"{_op}_all", reduction(dim="none", keepdim=False), **method(_op))
    add(f"{_op}_dim_int", reduction(dim="int"), **method(_op))
    add(f"{_op}_dim_tuple", reduction(dim="tuple"), **function(_op))

# ---- amax, amin: ties share the gradient evenly (as PyTorch) --------------------------------------
for _op in ("amax", "amin"):
    add(f"{_op}_all", reduction("distinct", dim="none", keepdim=False), **method(_op))
    add(f"{_op}_dim_int", reduction("distinct", dim="int"), **function(_op))
    add(f"{_op}_dim_tuple", reduction("distinct", dim="tuple"), **method(_op))
    # ties: backward parity only (finite differences at a tie measure a one-sided slope)
    add(f"{_op}_ties", reduction("ties", dim="tuple"), gradcheck=False, gradgrad=False,
        **method(_op))

# ---- max, min: full reduction, along a dim -> (values, indices), and the binary form -------------
for _op in ("max", "min"):
    add(f"{_op}_all", reduction("distinct", dim="none", keepdim=False), **method(_op))
    add(f"{_op}_dim", reduction("distinct", dim="int", min_dims=0), **method(_op))
    add(f"{_op}_dim_function", reduction("distinct", dim="int", min_dims=1), **function(_op))

# ---- prod -------------------------------------------------------------------------------------------
add("prod_all", reduction("nonzero", dim="none", keepdim=False, max_dims=2), **method("prod"))
add("prod_dim", reduction("nonzero", dim="int"), **method("prod"))
# with an exact zero the backward uses the division-free formula, which is once-differentiable
add("prod_with_zero", reduction("zeros", dim="none", keepdim=False, min_dims=1),
    gradgrad=False, double_backward_raises=True, edge_modes=(), **method("prod"))

# ---- var, std: correction, unbiased -------------------------------------------------------------------
_corr = {"correction": st.sampled_from([0, 1])}


def _enough_entries(case):
    """var/std are finite and smooth only when more entries are reduced than ``correction``
    (and, for std, at least 2: the std of one entry is 0, where √ has no derivative)."""
    x = case.arrays[0]
    dim = case.kwargs.get("dim")
    dims = range(x.ndim) if dim is None else ((dim,) if isinstance(dim, int) else dim)
    n = int(np.prod([x.shape[d] for d in dims])) if x.ndim else 1
    correction = case.kwargs.get("correction", 0 if case.kwargs.get("unbiased") is False else 1)
    return n > max(correction, 1)


for _op in ("var", "std"):
    add(f"{_op}_all", reduction(dim="none", keepdim=False, min_dims=1), smooth_at=_enough_entries,
        **method(_op))
    add(f"{_op}_dim_int_correction", reduction(dim="int", min_dims=1, extra=_corr),
        smooth_at=_enough_entries, **method(_op))
    add(f"{_op}_dim_tuple_unbiased", reduction(dim="tuple", extra={"unbiased": st.booleans()}),
        smooth_at=_enough_entries, **function(_op))

# ---- std_mean, var_mean: both parts of the pair feed the loss (their gradients add up) -------------
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

# ---- logsumexp, softmax, log_softmax, cumsum --------------------------------------------------------
add("logsumexp_dim_int", reduction(dim="int"), **method("logsumexp"))
add("logsumexp_dim_tuple", reduction(dim="tuple"), **function("logsumexp"))
add("logsumexp_large_inputs", reduction("big", dim="int"), **method("logsumexp"))
add("softmax", reduction(dim="int", keepdim=False), **method("softmax"))
add("softmax_function", reduction(dim="int", keepdim=False), **function("softmax"))
add("softmax_large_inputs", reduction("big", dim="int", keepdim=False), **method("softmax"))
add("log_softmax", reduction(dim="int", keepdim=False), **method("log_softmax"))
add("log_softmax_large_inputs", reduction("big", dim="int", keepdim=False),
    **function("log_softmax"))
add("cumsum", reduction(dim="int", keepdim=False), **method("cumsum"))
add("cumsum_function", reduction(dim="int", keepdim=False), **function("cumsum"))

# ---- argmax, argmin: forward only (int64 indices) ------------------------------------------------------
for _op in ("argmax", "argmin"):
    add(f"{_op}_all", reduction("distinct", dim="none", keepdim=False), has_grad=False,
        **method(_op))
    add(f"{_op}_dim", reduction("distinct", dim="int"), has_grad=False, **function(_op))


# ---- integer reductions: dtype as PyTorch (sum of ints is int64) --------------------------------------
def _int_reduction(mode):
    @st.composite
    def build(draw):
        shape = draw(shapes(mode, 1, 3))
        rng = np.random.default_rng(draw(seeds()))
        dtype = draw(st.sampled_from([np.int64, np.int32, np.bool_]))
        dim = draw(st.integers(0, len(shape) - 1))
        return Case((rng.integers(-3, 4, shape).astype(dtype),), {"dim": dim})
    return build()


add("sum_integer", _int_reduction, has_grad=False, **same(lambda x, dim: x.sum(dim)))
add("cumsum_integer", _int_reduction, has_grad=False, **same(lambda x, dim: x.cumsum(dim)))
