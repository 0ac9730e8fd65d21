"""Lab 2, hidden checks (``lab grade`` only): more shapes and edge cases (0-d operands, broadcasting both
ways, unordered and all-negative dims, keepdim with dim=None, 4-D batch broadcasts), float32 kept by
sum_to, and every backward compared with central finite differences of its forward in float64."""
import numpy as np

from tinygrad_edu.labs.checks import expect_close, expect_equal
from tinygrad_edu.labs.testing import lab_test

from ..public_tests import (BINARY, call, check_amax, check_binary, check_matmul, check_pow, check_reduction,
                            check_sum_to, draw_broadcast_pair, draw_dim, draw_operand, draw_shape, lent,
                            shaped, shrink, torch_sum_to, unpack)

FD = dict(rtol=1e-6, atol=1e-7)


def numeric_vjp(forward, inputs, grad, which, h=1e-6):
    """d <grad, forward(*inputs)> / d inputs[which], by central differences, one element at a time."""
    inputs = [np.array(x, dtype=np.float64) for x in inputs]
    x = inputs[which]
    out = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + h
        up = np.sum(grad * forward(*inputs))
        x[index] = saved - h
        down = np.sum(grad * forward(*inputs))
        x[index] = saved
        out[index] = (up - down) / (2 * h)
    return out


# ----------------------------------------------------------------------------- sum_to
@lab_test("sum_to", points=2)
def test_sum_to_more_broadcasts(student, ctx):
    for _ in range(8):
        full = draw_shape(ctx.rng, 1, 5, sizes=(1, 4))
        check_sum_to(student, ctx.rng.standard_normal(full), shrink(ctx.rng, full))
    check_sum_to(student, ctx.rng.standard_normal((1, 1, 3)), (1, 3), ": a leading axis of size 1 in grad")
    check_sum_to(student, ctx.rng.standard_normal((2, 4, 3)), (1, 1, 1), ": every axis of size 1")
    check_sum_to(student, ctx.rng.standard_normal(()), (), ": a 0-d grad to a 0-d shape")


@lab_test("sum_to", points=1)
def test_sum_to_is_the_adjoint_of_broadcasting(student, ctx):
    for _ in range(3):
        full = draw_shape(ctx.rng, 2, 4)
        shape = shrink(ctx.rng, full)
        grad = ctx.rng.standard_normal(full)
        want = numeric_vjp(lambda x: np.broadcast_to(x, full), (np.zeros(shape),), grad, 0)
        what = (f"sum_to(grad of shape {full}, shape {shape}), checked with finite differences of "
                f"np.broadcast_to")
        expect_close(what, call(what, student, "sum_to", grad, shape), want, **FD)
    grad = ctx.rng.standard_normal((3, 1, 4)).astype(np.float32)
    what = "sum_to of a float32 grad: the dtype of the result"
    expect_equal(what, str(np.asarray(call(what, student, "sum_to", grad, (1, 4))).dtype), "float32")


# ----------------------------------------------------------------------------- elementwise
NUMPY_BINARY = {"add_backward": np.add, "sub_backward": np.subtract, "mul_backward": np.multiply,
                "div_backward": np.divide}


@lab_test("elementwise", points=2)
def test_elementwise_edge_broadcasts(student, ctx):
    for name in BINARY:
        for a_shape, b_shape, note in (((3, 1), (1, 4), " (both operands broadcast)"),
                                       ((2, 3), (), " (b is 0-d)"), ((), (2, 3), " (a is 0-d)"),
                                       ((4,), (2, 3, 4), " (a lacks two leading axes)"),
                                       ((2, 1, 3), (4, 1), " (both broadcast on different axes)")):
            check_binary(student, ctx.rng, name, a_shape, b_shape, note)
        for _ in range(2):
            check_binary(student, ctx.rng, name, *draw_broadcast_pair(ctx.rng))


@lab_test("elementwise", points=1)
def test_elementwise_match_finite_differences(student, ctx):
    for name, forward in NUMPY_BINARY.items():
        a_shape, b_shape = (2, 1, 3), (4, 1)
        a, b = draw_operand(ctx.rng, a_shape, name, "a"), draw_operand(ctx.rng, b_shape, name, "b")
        grad = ctx.rng.standard_normal(np.broadcast_shapes(a_shape, b_shape))
        what = f"{name} (a of {shaped(a)}, b of {shaped(b)}), checked with finite differences"
        with lent(student, sum_to=torch_sum_to):
            got = unpack(what, call(what, student, name, grad, a, b), 2)
        expect_close(f"{what}: da", got[0], numeric_vjp(forward, (a, b), grad, 0), **FD)
        expect_close(f"{what}: db", got[1], numeric_vjp(forward, (a, b), grad, 1), **FD)
    for exponent in (1.5, -0.5, 4, 1):
        check_pow(student, ctx.rng, draw_shape(ctx.rng, 1, 3), exponent)
        a, grad = ctx.rng.uniform(0.5, 2.0, size=(2, 3)), ctx.rng.standard_normal((2, 3))
        what = f"pow_backward (out = a ** {exponent}), checked with finite differences"
        expect_close(what, call(what, student, "pow_backward", grad, a, exponent),
                     numeric_vjp(lambda x: x ** exponent, (a,), grad, 0), **FD)


# ----------------------------------------------------------------------------- sum and mean
HIDDEN_REDUCTIONS = (((5,), 0, False), ((5,), -1, True), ((3, 4), None, True), ((2, 3, 4), (2, 0), False),
                     ((2, 3, 4), (-1, -3), True), ((2, 3, 4), (0, 1, 2), False), ((3, 1, 4), 1, False),
                     ((2, 3, 4, 2), (-2,), False))


@lab_test("sum_mean", points=2)
def test_sum_mean_more_dims(student, ctx):
    for op in ("sum", "mean"):
        for x_shape, dim, keepdim in HIDDEN_REDUCTIONS:
            check_reduction(student, ctx.rng, op, x_shape, dim, keepdim)
        for _ in range(4):
            x_shape = draw_shape(ctx.rng, 1, 4)
            check_reduction(student, ctx.rng, op, x_shape, draw_dim(ctx.rng, len(x_shape)),
                            bool(ctx.rng.integers(0, 2)))


@lab_test("sum_mean", points=1)
def test_sum_mean_match_finite_differences(student, ctx):
    x = ctx.rng.standard_normal((2, 3, 4))
    for dim, keepdim in ((None, False), (1, True), ((0, -1), False)):
        for op, forward in (("sum", lambda t: t.sum(axis=dim, keepdims=keepdim)),
                            ("mean", lambda t: t.mean(axis=dim, keepdims=keepdim))):
            grad = ctx.rng.standard_normal(np.shape(forward(x)))
            what = (f"{op}_backward(x_shape {x.shape}, dim={dim!r}, keepdim={keepdim}), checked with "
                    f"finite differences")
            got = call(what, student, f"{op}_backward", grad, x.shape, dim, keepdim)
            expect_close(what, got, numeric_vjp(forward, (x,), grad, 0), **FD)


# ----------------------------------------------------------------------------- amax
@lab_test("max", points=2)
def test_amax_more(student, ctx):
    for shape, dim, keepdim in (((2, 3, 4, 5), 2, False), ((2, 3, 4, 5), -4, True), ((1, 4), 0, False),
                                ((7,), -1, True)):
        check_amax(student, ctx.rng, ctx.rng.standard_normal(shape), dim, keepdim)
        x = ctx.rng.integers(-2, 0, size=shape).astype(np.float64)
        check_amax(student, ctx.rng, x, dim, keepdim, " with negative ties")
    x = ctx.rng.standard_normal((3, 5))
    grad = ctx.rng.standard_normal(3)
    what = "amax_backward(x of shape (3, 5), dim=1), checked with finite differences"
    expect_close(what, call(what, student, "amax_backward", grad, x, 1, False),
                 numeric_vjp(lambda t: t.max(axis=1), (x,), grad, 0), **FD)


# ----------------------------------------------------------------------------- matmul
@lab_test("matmul", points=2)
def test_matmul_more_batches(student, ctx):
    for a_shape, b_shape in (((2, 1, 3, 4), (1, 3, 4, 2)), ((1, 2, 3), (4, 3, 2)), ((3, 1, 2, 5), (5,)),
                             ((5,), (2, 1, 5, 3)), ((1, 4), (4, 1)), ((2, 3, 1), (1, 4))):
        check_matmul(student, ctx.rng, a_shape, b_shape)
    for _ in range(3):
        m, k, n = (int(v) for v in ctx.rng.integers(1, 6, size=3))
        batch = draw_shape(ctx.rng, 1, 2, sizes=(2, 4))
        check_matmul(student, ctx.rng, shrink(ctx.rng, batch) + (m, k), shrink(ctx.rng, batch) + (k, n))


@lab_test("matmul", points=1)
def test_matmul_matches_finite_differences(student, ctx):
    for a_shape, b_shape in (((2, 1, 3, 4), (5, 4, 2)), ((3,), (3, 2)), ((2, 4), (4,))):
        a, b = ctx.rng.standard_normal(a_shape), ctx.rng.standard_normal(b_shape)
        grad = ctx.rng.standard_normal(np.shape(a @ b))
        what = f"matmul_backward(a of {shaped(a)}, b of {shaped(b)}), checked with finite differences"
        with lent(student, sum_to=torch_sum_to):
            got = unpack(what, call(what, student, "matmul_backward", grad, a, b), 2)
        expect_close(f"{what}: da", got[0], numeric_vjp(np.matmul, (a, b), grad, 0), **FD)
        expect_close(f"{what}: db", got[1], numeric_vjp(np.matmul, (a, b), grad, 1), **FD)
