"""Registry entries: arithmetic (+ - * / ** neg, with broadcasting and Python numbers) and matmul."""
import numpy as np
import torch
from hypothesis import strategies as st

import tinygrad_edu as tg

from .spec import Case, OpSpec, binary, same, seeds, shapes, unary, values

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="arith", **kw))


# tensor (op) tensor, broadcasting
add("add", binary(), **same(lambda a, b: a + b))
add("sub", binary(), **same(lambda a, b: a - b))
add("mul", binary(), **same(lambda a, b: a * b))
add("div", binary("real", "nonzero"), **same(lambda a, b: a / b))
add("pow", binary("positive", "real"), **same(lambda a, b: a ** b))
add("neg", unary(), **same(lambda a: -a))
add("add_method_alpha", binary(), **same(lambda a, b: a.add(b, alpha=2)))
add("sub_method_alpha", binary(), **same(lambda a, b: a.sub(b, alpha=0.5)))

# tensor (op) Python number, and number (op) tensor (reflected forms)
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

# integer tensors: forward only (dtype promotion as PyTorch)
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


# ---------------------------------------------------------------------------------------------
# matmul: 1-D, 2-D, batched with broadcasting
# ---------------------------------------------------------------------------------------------
def _matmul_cases(kind):
    def cases(mode):
        @st.composite
        def build(draw):
            lo = 0 if mode == "empty" else 1
            n, k, m = (draw(st.integers(lo, 4)) for _ in range(3))
            if mode == "smallest":
                n = k = m = 1
            if mode == "empty" and 0 not in (n, k, m):
                k = 0
            if kind == "1d_1d":
                sa, sb = (k,), (k,)
            elif kind == "1d_2d":
                sa, sb = (k,), (k, m)
            elif kind == "2d_1d":
                sa, sb = (n, k), (k,)
            elif kind == "2d_2d":
                sa, sb = (n, k), (k, m)
            else:  # batched with broadcasting of the batch dims
                b1 = draw(st.integers(1, 3))
                batch_a, batch_b = draw(st.sampled_from([
                    ((b1,), (b1,)), ((b1,), ()), ((), (b1,)), ((2, 1), (b1,)), ((1,), (2, b1))]))
                sa, sb = batch_a + (n, k), batch_b + (k, m)
                if kind == "batched_1d":
                    sb = (k,)
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, sa), values(rng, sb)))
        return build()
    return cases


for kind in ("1d_1d", "1d_2d", "2d_1d", "2d_2d", "batched", "batched_1d"):
    add(f"matmul_{kind}", _matmul_cases(kind), **same(lambda a, b: a @ b))
add("matmul_function", _matmul_cases("batched"),
    ours=lambda a, b: tg.matmul(a, b), ref=lambda a, b: torch.matmul(a, b))
