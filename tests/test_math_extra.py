"""Direct torch comparisons for ops/rounding.py and ops/trig.py where the generated suite cannot go:
integer dtypes, type promotion, NaN/Inf and negative zero, division by zero, ops without gradient."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import tinygrad_edu as tg

EDGE = [1.0, -1.0, 0.0, -0.0, 5.5, -5.5, 3.0, -3.0, 0.5, -0.5, float("nan"), float("inf"), float("-inf")]


def same(ours, ref):
    """Equal values (nan where nan, the sign of every zero) and equal dtype."""
    o, r = ours.numpy(), ref.numpy()
    assert str(o.dtype) == str(r.dtype).replace("torch.", ""), (o.dtype, r.dtype)
    assert o.shape == r.shape
    np.testing.assert_array_equal(o, r)
    if o.dtype.kind == "f":
        np.testing.assert_array_equal(np.signbit(o), np.signbit(r))


def pair(values_a, values_b, dtype=np.float32):
    a = np.array(values_a, dtype=dtype)[:, None]
    b = np.array(values_b, dtype=dtype)[None, :]
    return (tg.tensor(a), tg.tensor(b)), (torch.from_numpy(a.copy()), torch.from_numpy(b.copy()))


BINARY = {
    "floordiv": (lambda a, b: a // b, lambda a, b: a // b),
    "mod": (lambda a, b: a % b, lambda a, b: a % b),
    "fmod": (lambda a, b: tg.fmod(a, b), lambda a, b: torch.fmod(a, b)),
    "remainder": (lambda a, b: a.remainder(b), lambda a, b: a.remainder(b)),
    "div_trunc": (lambda a, b: a.div(b, rounding_mode="trunc"), lambda a, b: a.div(b, rounding_mode="trunc")),
    "div_floor": (lambda a, b: tg.div(a, b, rounding_mode="floor"),
                  lambda a, b: torch.div(a, b, rounding_mode="floor")),
    "floor_divide": (lambda a, b: tg.floor_divide(a, b), lambda a, b: torch.floor_divide(a, b)),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_float_edge_values_match_torch(name):
    """Every pair of NaN, ±Inf, ±0 and finite values, including division by zero and negative zeros."""
    ours_fn, ref_fn = BINARY[name]
    (a, b), (ta, tb) = pair(EDGE, EDGE)
    same(ours_fn(a, b), ref_fn(ta, tb))


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8])
def test_integer_division_matches_torch(name, dtype):
    ours_fn, ref_fn = BINARY[name]
    lo = 0 if dtype == np.uint8 else -9
    (a, b), (ta, tb) = pair(range(lo, 10), [v for v in range(lo, 10) if v != 0], dtype)
    same(ours_fn(a, b), ref_fn(ta, tb))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(-1000, 1000), min_size=1, max_size=6),
       st.integers(-50, 50).filter(lambda v: v != 0), st.sampled_from(sorted(BINARY)))
def test_integer_division_random_with_python_int(values, divisor, name):
    ours_fn, ref_fn = BINARY[name]
    a, ta = tg.tensor(values), torch.tensor(values)
    same(ours_fn(a, divisor), ref_fn(ta, divisor))


@pytest.mark.parametrize("name", ["floordiv", "mod", "fmod", "div_trunc", "div_floor"])
def test_integer_division_by_zero_raises_like_torch(name):
    ours_fn, ref_fn = BINARY[name]
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        ref_fn(torch.tensor([5, -5]), torch.tensor([1, 0]))
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        ours_fn(tg.tensor([5, -5]), tg.tensor([1, 0]))


@pytest.mark.parametrize("expr", [
    lambda m, a: a % 3.5, lambda m, a: a // 2, lambda m, a: a // 2.5, lambda m, a: 7 // a,
    lambda m, a: 7.5 % a, lambda m, a: m.fmod(a, 3.5), lambda m, a: a.div(2, rounding_mode="trunc"),
    lambda m, a: a.div(2.0, rounding_mode="floor"), lambda m, a: a / 2, lambda m, a: m.remainder(a, -4),
])
def test_type_promotion_and_reflected_forms(expr):
    values = [5, -5, 7, -8, 1]
    a, ta = tg.tensor(values, dtype=tg.int32), torch.tensor(values, dtype=torch.int32)
    same(expr(tg, a), expr(torch, ta))


def test_int32_mod_float_is_float32():
    assert (tg.tensor([5], dtype=tg.int32) % 3.5).dtype == tg.float32


def test_bool_floor_divide_is_not_implemented_like_torch():
    with pytest.raises(NotImplementedError):
        torch.tensor([True]) // torch.tensor([True])
    with pytest.raises(NotImplementedError, match="floor_divide"):
        tg.tensor([True]) // tg.tensor([True])


def test_bad_rounding_mode():
    with pytest.raises(ValueError, match="rounding_mode"):
        tg.tensor([1.0]).div(2, rounding_mode="round")


def test_empty_and_broadcast():
    a, ta = tg.zeros(0, 3), torch.zeros(0, 3)
    same(a // tg.ones(3), ta // torch.ones(3))
    same(tg.fmod(a, 2.0), torch.fmod(ta, 2.0))
    same(a.frac(), ta.frac())
    same(tg.tan(a), torch.tan(ta))


def test_floor_divide_has_no_derivative_like_torch():
    t = torch.tensor([1.5], requires_grad=True)
    with pytest.raises(RuntimeError, match="not implemented"):
        (t // 0.7).sum().backward()
    x = tg.tensor([1.5], requires_grad=True)
    with pytest.raises(RuntimeError, match="not implemented"):
        (x // 0.7).sum().backward()


def test_rounded_div_gradient_is_zero_like_torch():
    x = tg.tensor([1.5, -2.3], requires_grad=True)
    y = tg.tensor([0.7, 0.9], requires_grad=True)
    x.div(y, rounding_mode="floor").sum().backward()
    assert x.grad.tolist() == [0.0, 0.0] and y.grad.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("op", ["fmod", "remainder"])
def test_remainder_gradients_match_torch(op):
    a, b = [1.5, -2.3, 4.1, -0.2], [0.7, 0.9, -1.3, -0.6]
    x, y = tg.tensor(a, requires_grad=True), tg.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    getattr(tg, op)(x, y).sum().backward()
    getattr(torch, op)(tx, ty).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy())


def test_number_mod_tensor_gradient_by_finite_differences():
    """torch has no derivative for ``number % tensor``; ours is -floor(a/b), checked numerically."""
    b = np.array([0.9, -1.3, 0.7], dtype=np.float64)
    x = tg.tensor(b, requires_grad=True)
    (2.5 % x).sum().backward()
    eps = 1e-6
    numeric = (((2.5 % (b + eps)) - (2.5 % (b - eps))) / (2 * eps))
    np.testing.assert_allclose(x.grad.numpy(), numeric, rtol=1e-5)


# ---- rounding of one tensor ---------------------------------------------------------------
UNARY = ["trunc", "floor", "ceil", "round", "frac", "fix"]


@pytest.mark.parametrize("op", UNARY)
def test_rounding_edge_values_match_torch(op):
    values = EDGE + [0.2, -0.2, 1.5, 2.5, -2.5, -1.7, 1e30, 123456.7]
    a, ta = tg.tensor(values), torch.tensor(values)
    same(getattr(a, op)(), getattr(ta, op)())
    same(getattr(tg, op)(a), getattr(torch, op)(ta))


@pytest.mark.parametrize("decimals", [-2, -1, 1, 2, 3])
def test_round_decimals_matches_torch(decimals):
    values = [0.5, 1.5, 2.5, -0.5, 1.2345, -1.2355, 1234.5678, -0.004, float("nan"), float("inf")]
    a, ta = tg.tensor(values), torch.tensor(values)
    same(a.round(decimals=decimals), ta.round(decimals=decimals))
    same(tg.round(a, decimals=decimals), torch.round(ta, decimals=decimals))


@pytest.mark.parametrize("op", ["trunc", "floor", "ceil", "round"])
def test_rounding_integers_is_identity_like_torch(op):
    a, ta = tg.tensor([3, -4, 0]), torch.tensor([3, -4, 0])
    same(getattr(a, op)(), getattr(ta, op)())


def test_integer_frac_and_round_decimals_are_not_implemented_like_torch():
    for fn in (lambda m: m.tensor([3]).frac(), lambda m: m.tensor([3]).round(decimals=1)):
        with pytest.raises(NotImplementedError):
            fn(torch)
        with pytest.raises(NotImplementedError):
            fn(tg)


@pytest.mark.parametrize("op", ["trunc", "floor", "ceil", "round"])
def test_rounding_gradient_is_zero_frac_is_one(op):
    x, tx = tg.tensor([1.3, -2.7], requires_grad=True), torch.tensor([1.3, -2.7], requires_grad=True)
    getattr(x, op)().sum().backward()
    getattr(tx, op)().sum().backward()
    assert x.grad.tolist() == tx.grad.tolist()
    x = tg.tensor([1.3, -2.7], requires_grad=True)
    x.frac().sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


# ---- trig family ------------------------------------------------------------------------------
TRIG = ["tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "exp2", "expm1", "log2",
        "log10", "reciprocal", "square", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh"]


@pytest.mark.parametrize("op", TRIG)
def test_trig_edge_values_match_torch(op):
    """Out of domain gives nan, poles give ±inf, as torch (values compared to float32 rounding)."""
    values = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 10.0, float("nan"), float("inf"), float("-inf")]
    a, ta = tg.tensor(values), torch.tensor(values)
    o, r = getattr(a, op)().numpy(), getattr(ta, op)().numpy()
    assert o.dtype == r.dtype == np.float32
    np.testing.assert_allclose(o, r, rtol=1e-6, atol=0, equal_nan=True)
    np.testing.assert_array_equal(np.signbit(o[:2]), np.signbit(r[:2]))
    np.testing.assert_allclose(getattr(tg, op)(a).numpy(), getattr(torch, op)(ta).numpy(), rtol=1e-6,
                               equal_nan=True)


@pytest.mark.parametrize("op", ["tan", "asin", "atan", "sinh", "exp2", "log2", "log10", "expm1"])
def test_trig_integer_input_becomes_float32(op):
    a, ta = tg.tensor([0, 1, 2]), torch.tensor([0, 1, 2])
    o, r = getattr(tg, op)(a), getattr(torch, op)(ta)
    assert o.dtype == tg.float32 and r.dtype == torch.float32
    np.testing.assert_allclose(o.numpy(), r.numpy(), rtol=1e-6, equal_nan=True)


def test_atan2_quadrants_zeros_and_integers():
    ys = [0.0, -0.0, 1.0, -1.0, float("inf"), float("nan")]
    (a, b), (ta, tb) = pair(ys, ys)
    np.testing.assert_allclose(tg.atan2(a, b).numpy(), torch.atan2(ta, tb).numpy(), rtol=1e-6, equal_nan=True)
    np.testing.assert_array_equal(np.signbit(tg.atan2(a, b).numpy()), np.signbit(torch.atan2(ta, tb).numpy()))
    o = tg.tensor([1, -2]).atan2(tg.tensor([3, 4]))
    assert o.dtype == tg.float32
    ref = torch.tensor([1, -2]).atan2(torch.tensor([3, 4]))
    np.testing.assert_allclose(o.numpy(), ref.numpy(), rtol=1e-6)
    assert math.isclose(tg.atan2(tg.tensor(1.0), -1.0).item(), math.atan2(1.0, -1.0), rel_tol=1e-6)
