"""Registry entries for ``tinygrad_edu/ops/elementwise.py``: arithmetic (+ - * / ** neg, with
broadcasting and Python numbers, integer dtypes), elementwise math and activations, clamp /
maximum / minimum, ``Tensor.where``, masked_fill, tril/triu and comparisons."""
import numpy as np
import torch
import torch.nn.functional as TF
from hypothesis import strategies as st

import tinygrad_edu as tg

from .cases import where_cases
from .spec import Case, OpSpec, binary, broadcast_pair, same, seeds, shapes, unary, values

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="elementwise", **kw))


def fn_pair(name, torch_fn=None, **kwargs):
    """``tg.<name>(x, **kw)`` here, ``torch.<name>`` (or ``torch_fn``) in torch."""
    ours = getattr(tg, name)
    ref = torch_fn or getattr(torch, name)
    return dict(ours=lambda x, **kw: ours(x, **kw), ref=lambda x, **kw: ref(x, **kw))


# ---- tensor (op) tensor, broadcasting -------------------------------------------------------
add("add", binary(), **same(lambda a, b: a + b))
add("sub", binary(), **same(lambda a, b: a - b))
add("mul", binary(), **same(lambda a, b: a * b))
add("div", binary("real", "nonzero"), **same(lambda a, b: a / b))
add("pow", binary("positive", "real"), **same(lambda a, b: a ** b))
add("neg", unary(), **same(lambda a: -a))
add("add_method_alpha", binary(), **same(lambda a, b: a.add(b, alpha=2)))
add("sub_method_alpha", binary(), **same(lambda a, b: a.sub(b, alpha=0.5)))

# ---- tensor (op) Python number, and number (op) tensor (reflected forms) ---------------------
add("add_scalar", unary(), **same(lambda a: a + 2.5))
add("radd_scalar", unary(), **same(lambda a: 2.5 + a))
add("sub_scalar", unary(), **same(lambda a: a - 1.5))
add("rsub_scalar", unary(), **same(lambda a: 1.5 - a))
add("mul_scalar", unary(), **same(lambda a: a * -3.0))
add("rmul_int_scalar", unary(), **same(lambda a: 3 * a))
add("div_scalar", unary(), **same(lambda a: a / 4.0))
add("rdiv_scalar", unary("nonzero"), **same(lambda a: 4.0 / a))
add("pow_scalar_2", unary(), **same(lambda a: a ** 2))
add("pow_scalar_3_int", unary(), **same(lambda a: a ** 3))
add("pow_scalar_half", unary("positive"), **same(lambda a: a ** 0.5))
add("pow_scalar_neg", unary("positive"), **same(lambda a: a ** -1.5))
add("pow_scalar_0", unary(), **same(lambda a: a ** 0))
add("rpow_scalar", unary(), **same(lambda a: 2.0 ** a))


# ---- integer tensors: forward only (dtype promotion as PyTorch) -----------------------------
def _int_binary(mode):
    @st.composite
    def build(draw):
        sa = draw(shapes(mode))
        rng = np.random.default_rng(draw(seeds()))
        a = rng.integers(-5, 6, sa)
        b = rng.integers(1, 6, sa) * rng.choice([-1, 1], sa)
        return Case((a, b))
    return build()


add("add_int", _int_binary, has_grad=False, **same(lambda a, b: a + b))
add("mul_int", _int_binary, has_grad=False, **same(lambda a, b: a * b))
add("div_int_int_true_division", _int_binary, has_grad=False, **same(lambda a, b: a / b))
add("int_plus_float_scalar", _int_binary, has_grad=False, **same(lambda a, b: a + 2.5))
add("int_times_int_scalar", _int_binary, has_grad=False, **same(lambda a, b: a * 3))

# ---- exponentials, logs, roots, trigonometry ------------------------------------------------
add("exp", unary(), **fn_pair("exp"))
add("exp_method", unary(), **same(lambda x: x.exp()))
add("log", unary("positive"), **fn_pair("log"))
add("log1p", unary("log1p"), **fn_pair("log1p"))
add("sqrt", unary("positive"), **fn_pair("sqrt"))
add("rsqrt", unary("positive"), **fn_pair("rsqrt"))
add("sin", unary(), **fn_pair("sin"))
add("cos", unary(), **fn_pair("cos"))
add("tanh", unary(), **fn_pair("tanh"))

# ---- activations ------------------------------------------------------------------------------
add("sigmoid", unary(), **fn_pair("sigmoid"))
add("sigmoid_large_inputs", unary("big"), gradgrad=False, **fn_pair("sigmoid"))
add("relu", unary("kink"), **fn_pair("relu"))
add("leaky_relu", unary("kink"), **fn_pair("leaky_relu", TF.leaky_relu))
add("leaky_relu_slope", unary("kink", negative_slope=0.2), **fn_pair("leaky_relu", TF.leaky_relu))
add("elu", unary("kink"), **fn_pair("elu", TF.elu))
add("elu_alpha", unary("kink", alpha=0.5), **fn_pair("elu", TF.elu))
add("gelu_exact", unary(), **fn_pair("gelu", TF.gelu))
add("gelu_tanh", unary(approximate="tanh"), **fn_pair("gelu", TF.gelu))
add("silu", unary(), **fn_pair("silu", TF.silu))
add("softplus", unary(), **fn_pair("softplus", TF.softplus))
add("softplus_beta_threshold", unary(("away", 1.0), beta=2.0, threshold=2.0),
    **fn_pair("softplus", TF.softplus))
add("softplus_large_inputs", unary("big"), gradgrad=False, **fn_pair("softplus", TF.softplus))
add("abs", unary("kink"), **fn_pair("abs"))
add("abs_operator", unary("kink"), **same(lambda x: abs(x)))
add("sign", unary("kink"), **fn_pair("sign"))

# ---- clamp, maximum, minimum --------------------------------------------------------------------
add("clamp_both", unary(("away", -0.5, 0.7), min=-0.5, max=0.7), **fn_pair("clamp"))
add("clamp_min_only", unary(("away", 0.3), min=0.3), **fn_pair("clamp"))
add("clamp_max_only", unary(("away", -0.2), max=-0.2), **same(lambda x, **kw: x.clamp(**kw)))
add("maximum", binary("grid_even", "grid_odd"),
    ours=lambda a, b: tg.maximum(a, b), ref=lambda a, b: torch.maximum(a, b))
add("minimum", binary("grid_even", "grid_odd"),
    ours=lambda a, b: tg.minimum(a, b), ref=lambda a, b: torch.minimum(a, b))
# ties: the gradient is split in half (PyTorch's convention); no finite differences at a kink
add("maximum_ties", binary("ties", "ties"), gradcheck=False, gradgrad=False,
    ours=lambda a, b: tg.maximum(a, b), ref=lambda a, b: torch.maximum(a, b))
add("minimum_ties", binary("ties", "ties"), gradcheck=False, gradgrad=False,
    ours=lambda a, b: tg.minimum(a, b), ref=lambda a, b: torch.minimum(a, b))

# ---- Tensor.where (tg.where is ops/selection.py: selection.py), masked_fill ---------------------
add("where_method", where_cases, ours=lambda c, a, b: a.where(c, b),
    ref=lambda c, a, b: a.where(c, b))


def _masked_fill_cases(mode):
    @st.composite
    def build(draw):
        sx, sm = draw(broadcast_pair(mode))
        # the mask broadcasts to x's shape, not the other way round
        sx = tuple(np.broadcast_shapes(sx, sm))
        rng = np.random.default_rng(draw(seeds()))
        return Case((values(rng, sx), rng.random(sm) < 0.5), {"value": draw(st.sampled_from([0.0, -1.5]))})
    return build()


add("masked_fill", _masked_fill_cases, **same(lambda x, m, value: x.masked_fill(m, value)))


# ---- tril, triu ---------------------------------------------------------------------------------
def _tri_cases(mode):
    @st.composite
    def build(draw):
        shape = draw(shapes(mode, min_dims=2, max_dims=3))
        rng = np.random.default_rng(draw(seeds()))
        return Case((values(rng, shape),), {"diagonal": draw(st.integers(-1, 1))})
    return build()


add("tril", _tri_cases, ours=lambda x, diagonal: tg.tril(x, diagonal),
    ref=lambda x, diagonal: torch.tril(x, diagonal))
add("triu", _tri_cases, **same(lambda x, diagonal: x.triu(diagonal)))


# ---- comparisons: bool results, no gradient ---------------------------------------------------
for _name, _expr in [("lt", lambda a, b: a < b), ("le", lambda a, b: a <= b),
                     ("gt", lambda a, b: a > b), ("ge", lambda a, b: a >= b),
                     ("eq", lambda a, b: a == b), ("ne", lambda a, b: a != b)]:
    add(f"compare_{_name}", binary("ties", "ties"), has_grad=False, **same(_expr))
add("compare_gt_scalar", unary("ties"), has_grad=False, **same(lambda a: a > 0))
add("compare_eq_scalar", unary("ties"), has_grad=False, **same(lambda a: a == 1.0))
add("compare_and", binary("ties", "ties"), has_grad=False,
    **same(lambda a, b: (a > 0) & (b < 1)))
add("compare_or_not", binary("ties", "ties"), has_grad=False,
    **same(lambda a, b: ~((a > 0) | (b < 1))))
