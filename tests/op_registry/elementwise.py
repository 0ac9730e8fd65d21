"""Registry entries for ``tinygrad_edu/ops/elementwise.py``: arithmetic (+ - * / ** neg, with
broadcasting and Python numbers, integer dtypes).  The rest of the elementwise family has its own
registry files, named after its source files: unary_math, nonlinearity, where_clamp, comparison."""
import numpy as np
from hypothesis import strategies as st

from .spec import Case, OpSpec, binary, same, seeds, shapes, unary

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="elementwise", **kw))


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
