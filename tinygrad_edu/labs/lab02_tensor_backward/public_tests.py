"""Lab 2, public checks: ``python -m tinygrad_edu lab check 2 DIR``.

Every expected gradient comes from PyTorch's autograd in float64 (``out.backward(grad)`` and the
inputs' ``.grad``), on shapes drawn at grading time.  Each task is checked alone: the tests of the
broadcasting ops and of matmul lend your module a ``sum_to`` made of ``torch.Tensor.sum_to_size``, so a
mistake in ``sum_to`` never costs points in ``elementwise`` or ``matmul``."""

import numpy as np
import torch

from tinygrad_edu.labs.checks import LabFailure, expect_close, expect_true
from tinygrad_edu.labs.runner import _describe
from tinygrad_edu.labs.testing import lab_test, lent

TIGHT = dict(rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- helpers
def torch_sum_to(grad, shape):
    """A correct sum_to, lent to the elementwise and matmul tests (PyTorch's ``sum_to_size``)."""
    return torch.from_numpy(np.ascontiguousarray(grad, dtype=np.float64)).sum_to_size(tuple(shape)).numpy()


def torch_vjp(forward, inputs, grad):
    """The gradients of ``forward(*inputs)`` (torch ops) against the upstream ``grad``, by autograd."""
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    out = forward(*tensors)
    out.backward(torch.tensor(grad, dtype=torch.float64))
    return [t.grad.numpy() for t in tensors]


def upstream(rng, forward, inputs):
    """A random upstream gradient shaped like ``forward(*inputs)``."""
    with torch.no_grad():
        shape = tuple(forward(*(torch.tensor(x, dtype=torch.float64) for x in inputs)).shape)
    return rng.standard_normal(shape)


def call(what, student, name, *args):
    """``student.<name>(*args)``; an exception it raises becomes feedback that names the case."""
    try:
        return getattr(student, name)(*args)
    except (NotImplementedError, LabFailure, MemoryError, RecursionError):
        raise
    except Exception as exc:
        raise LabFailure(f"{what}: your code raised {_describe(exc, student.__file__)}") from None


def unpack(what, got, count):
    if count == 1:
        return (got,)
    expect_true(what, isinstance(got, tuple) and len(got) == count,
                f"should return a tuple of {count} gradients, one per input")
    return got


def shaped(x):
    return f"shape {tuple(np.shape(x))}"


def draw_shape(rng, low=1, high=4, sizes=(2, 5)):
    return tuple(int(v) for v in rng.integers(sizes[0], sizes[1], size=int(rng.integers(low, high + 1))))


def shrink(rng, shape, drop=True):
    """A shape that broadcasts to ``shape``: some leading axes dropped, some axes set to 1."""
    start = int(rng.integers(0, len(shape) + 1)) if drop else 0
    return tuple(1 if rng.random() < 0.4 else size for size in shape[start:])


def draw_broadcast_pair(rng):
    """Two shapes that broadcast together: each is the common shape with axes dropped or set to 1."""
    full = draw_shape(rng, 1, 4)
    return shrink(rng, full), shrink(rng, full)


# ----------------------------------------------------------------------------- sum_to
def expected_sum_to(grad, shape):
    """d/dx of <grad, x.expand(grad.shape)>: what a broadcast's backward must give."""
    x = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    x.expand(grad.shape).backward(torch.tensor(grad))
    return x.grad.numpy()


def check_sum_to(student, grad, shape, note=""):
    what = f"sum_to(grad of shape {grad.shape}, shape {tuple(shape)}){note}"
    got = call(what, student, "sum_to", grad, shape)
    expect_close(what, got,
                 expected_sum_to(grad, shape), **TIGHT)


@lab_test("sum_to", points=2)
def test_sum_to_sums_leading_axes(student, ctx):
    for _ in range(3):
        shape = draw_shape(ctx.rng, 1, 2)
        grad = ctx.rng.standard_normal(draw_shape(ctx.rng, 1, 2) + shape)
        check_sum_to(student, grad, shape, ": the extra leading axes of grad are summed away")


@lab_test("sum_to", points=2)
def test_sum_to_keeps_size_one_axes(student, ctx):
    for _ in range(3):
        full = draw_shape(ctx.rng, 2, 4)
        shape = list(full)
        shape[int(ctx.rng.integers(0, len(full)))] = 1
        grad = ctx.rng.standard_normal(full)
        check_sum_to(student, grad, tuple(shape), ": an axis of size 1 in the shape is summed and stays "
                                                  "of size 1 (keepdims=True)")
    grad = ctx.rng.standard_normal((3, 1, 4))
    check_sum_to(student, grad, (1, 4), ": an axis of size 1 in both stays as it is")


@lab_test("sum_to", points=1)
def test_sum_to_random_broadcasts(student, ctx):
    for _ in range(4):
        full = draw_shape(ctx.rng, 1, 4)
        check_sum_to(student, ctx.rng.standard_normal(full), shrink(ctx.rng, full))
    check_sum_to(student, ctx.rng.standard_normal((2, 3)), (), ": to a 0-d (scalar) shape: the total")
    check_sum_to(student, ctx.rng.standard_normal((2, 3)), (2, 3), ": to its own shape: unchanged")


# ----------------------------------------------------------------------------- elementwise
BINARY = {
    "add_backward": ("a + b", lambda a, b: a + b),
    "sub_backward": ("a - b", lambda a, b: a - b),
    "mul_backward": ("a * b", lambda a, b: a * b),
    "div_backward": ("a / b", lambda a, b: a / b),
}


def draw_operand(rng, shape, name, op):
    if name == "div_backward" and op == "b":                # keep b away from 0
        return rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return rng.standard_normal(shape)


def check_binary(student, rng, name, a_shape, b_shape, note=""):
    text, forward = BINARY[name]
    a, b = draw_operand(rng, a_shape, name, "a"), draw_operand(rng, b_shape, name, "b")
    grad = upstream(rng, forward, (a, b))
    want = torch_vjp(forward, (a, b), grad)
    what = f"{name} (out = {text}, a of {shaped(a)}, b of {shaped(b)}){note}"
    with lent(student, sum_to=torch_sum_to):
        got = unpack(what, call(what, student, name, grad, a, b), 2)
    expect_close(f"{what}: da", got[0], want[0], **TIGHT)
    expect_close(f"{what}: db", got[1], want[1], **TIGHT)


@lab_test("elementwise", points=2)
def test_add_sub_broadcast(student, ctx):
    for name in ("add_backward", "sub_backward"):
        check_binary(student, ctx.rng, name, (3, 4), (3, 4), " (no broadcasting)")
        for _ in range(3):
            check_binary(student, ctx.rng, name, *draw_broadcast_pair(ctx.rng))


@lab_test("elementwise", points=2)
def test_mul_div_broadcast(student, ctx):
    for name in ("mul_backward", "div_backward"):
        check_binary(student, ctx.rng, name, (2, 3), (2, 3), " (no broadcasting)")
        check_binary(student, ctx.rng, name, (2, 3, 4), (3, 1), " (b broadcast along axes 0 and 2)")
        for _ in range(3):
            check_binary(student, ctx.rng, name, *draw_broadcast_pair(ctx.rng))


def check_pow(student, rng, shape, exponent):
    a = rng.uniform(0.5, 2.0, size=shape)
    grad = rng.standard_normal(shape)
    (want,) = torch_vjp(lambda t: t ** exponent, (a,), grad)
    what = f"pow_backward (out = a ** {exponent}, a of {shaped(a)}): da = k a^(k-1) * grad"
    expect_close(what, call(what, student, "pow_backward", grad, a, exponent), want, **TIGHT)


@lab_test("elementwise", points=2)
def test_pow(student, ctx):
    for exponent in (2, 3, 0.5, -1, -2.5):
        check_pow(student, ctx.rng, draw_shape(ctx.rng, 1, 3), exponent)


# ----------------------------------------------------------------------------- sum and mean
def torch_reduce(op, dim, keepdim):
    def forward(x):
        axes = tuple(range(x.ndim)) if dim is None else dim
        return getattr(x, op)(dim=axes, keepdim=keepdim)
    return forward


def check_reduction(student, rng, op, x_shape, dim, keepdim, note=""):
    x = rng.standard_normal(x_shape)
    forward = torch_reduce(op, dim, keepdim)
    grad = upstream(rng, forward, (x,))
    (want,) = torch_vjp(forward, (x,), grad)
    what = (f"{op}_backward(grad of {shaped(grad)}, x_shape {tuple(x_shape)}, dim={dim!r}, "
            f"keepdim={keepdim}){note}: dx")
    expect_close(what, call(what, student, f"{op}_backward", grad, tuple(x_shape), dim, keepdim), want,
                 **TIGHT)


def draw_dim(rng, ndim):
    """A dim argument: None, an int (maybe negative) or a tuple of distinct axes (maybe negative)."""
    kind = rng.integers(0, 3)
    if kind == 0:
        return None
    if kind == 1:
        return int(rng.integers(-ndim, ndim))
    count = int(rng.integers(1, ndim + 1))
    axes = rng.choice(ndim, size=count, replace=False)
    return tuple(int(a) - ndim if rng.random() < 0.5 else int(a) for a in axes)


REDUCTION_CASES = (((3, 4), None, False), ((2, 3, 4), 1, False), ((2, 3, 4), -1, True),
                   ((2, 3, 4, 5), (0, 2), False), ((2, 3, 4, 5), (-1, 1), True), ((4, 2, 3), -3, False))


@lab_test("sum_mean", points=2)
def test_sum_backward(student, ctx):
    for x_shape, dim, keepdim in REDUCTION_CASES:
        check_reduction(student, ctx.rng, "sum", x_shape, dim, keepdim)
    for _ in range(3):
        x_shape = draw_shape(ctx.rng, 1, 4)
        check_reduction(student, ctx.rng, "sum", x_shape, draw_dim(ctx.rng, len(x_shape)),
                        bool(ctx.rng.integers(0, 2)))


@lab_test("sum_mean", points=1)
def test_sum_backward_puts_the_axis_back(student, ctx):
    for dim in (1, -1, 0):
        check_reduction(student, ctx.rng, "sum", (4, 4), dim, False,
                        " (without keepdim, put the reduced axis back as size 1 before broadcasting)")


@lab_test("sum_mean", points=2)
def test_mean_backward(student, ctx):
    for x_shape, dim, keepdim in REDUCTION_CASES:
        check_reduction(student, ctx.rng, "mean", x_shape, dim, keepdim,
                        " (divide by the number of elements averaged into one output)")
    for _ in range(3):
        x_shape = draw_shape(ctx.rng, 1, 4)
        check_reduction(student, ctx.rng, "mean", x_shape, draw_dim(ctx.rng, len(x_shape)),
                        bool(ctx.rng.integers(0, 2)))


# ----------------------------------------------------------------------------- amax
def check_amax(student, rng, x, dim, keepdim, note=""):
    forward = lambda t: torch.amax(t, dim=dim, keepdim=keepdim)      # noqa: E731
    grad = upstream(rng, forward, (x,))
    (want,) = torch_vjp(forward, (x,), grad)
    what = f"amax_backward(x of {shaped(x)}, dim={dim}, keepdim={keepdim}){note}: dx"
    expect_close(what, call(what, student, "amax_backward", grad, x, dim, keepdim), want, **TIGHT)


@lab_test("max", points=2)
def test_amax_without_ties(student, ctx):
    for shape, dim, keepdim in (((3, 5), 1, False), ((4, 3), 0, True), ((2, 3, 4), -1, False),
                                ((2, 3, 4), -2, True), ((6,), 0, False)):
        check_amax(student, ctx.rng, ctx.rng.standard_normal(shape), dim, keepdim,
                   " (the gradient goes to the maximum only)")


@lab_test("max", points=2)
def test_amax_ties_share_the_gradient(student, ctx):
    for shape, dim, keepdim in (((4, 6), 1, False), ((5, 3), 0, True), ((2, 4, 5), -1, True),
                                ((3, 4, 2), 1, False)):
        x = ctx.rng.integers(0, 3, size=shape).astype(np.float64)
        check_amax(student, ctx.rng, x, dim, keepdim,
                   " with ties (t tied maxima share the gradient equally: grad / t each)")
    check_amax(student, ctx.rng, np.ones((3, 4)), -1, False, " for an all-equal input (every element ties)")


# ----------------------------------------------------------------------------- matmul
def check_matmul(student, rng, a_shape, b_shape, note=""):
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    forward = lambda x, y: x @ y                                     # noqa: E731
    grad = upstream(rng, forward, (a, b))
    want = torch_vjp(forward, (a, b), grad)
    what = f"matmul_backward(a of {shaped(a)}, b of {shaped(b)}){note}"
    with lent(student, sum_to=torch_sum_to):
        got = unpack(what, call(what, student, "matmul_backward", grad, a, b), 2)
    expect_close(f"{what}: da (grad @ b^T)", got[0], want[0], **TIGHT)
    expect_close(f"{what}: db (a^T @ grad)", got[1], want[1], **TIGHT)


@lab_test("matmul", points=2)
def test_matmul_matrices(student, ctx):
    for _ in range(3):
        m, k, n = (int(v) for v in ctx.rng.integers(2, 7, size=3))
        check_matmul(student, ctx.rng, (m, k), (k, n))
    check_matmul(student, ctx.rng, (2, 5), (5, 3), " (non-square)")


@lab_test("matmul", points=1)
def test_matmul_vectors(student, ctx):
    check_matmul(student, ctx.rng, (4,), (4, 3), " (a vector @ a matrix: a is the row (1, k))")
    check_matmul(student, ctx.rng, (3, 5), (5,), " (a matrix @ a vector: b is the column (k, 1))")
    check_matmul(student, ctx.rng, (5,), (5,), " (a dot product: the output is 0-d)")


@lab_test("matmul", points=2)
def test_matmul_batched_broadcast(student, ctx):
    for a_shape, b_shape in (((3, 2, 4), (3, 4, 5)), ((2, 1, 3, 4), (5, 4, 6)), ((3, 2, 4), (4, 5)),
                             ((2, 3), (4, 3, 5)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,))):
        check_matmul(student, ctx.rng, a_shape, b_shape,
                     " (batched: swap only the last two axes; sum_to the broadcast batch axes)")
