"""Lab 7, hidden checks (``lab grade`` only): edge shapes (a single window, no window at all, a height or
width of 1, many channels), all-equal and -inf windows, every tap winning, layer norm of one-column
rows and long rows, and the maxima of max_pool_values on the same edge shapes."""
import numpy as np

from tinygrad_edu.labs.testing import lab_test

from ..public_tests import (check_backward, check_forward, check_layer_norm, check_values, float32,
                            random_image, random_layer_norm)

EDGE_SHAPES = ((1, 1, 2, 2), (2, 3, 1, 5), (2, 2, 5, 1), (3, 2, 3, 3), (2, 9, 4, 7), (1, 2, 12, 13))


@lab_test("max_pool_forward", points=2)
def test_max_pool_forward_edges(student, ctx):
    for shape in EDGE_SHAPES:
        check_forward(student, float32(ctx.rng.standard_normal(shape)))
    check_forward(student, np.zeros((2, 2, 4, 5), dtype=np.float32),
                  note=" for an all-zero input (every tap ties: the first, k = 0, wins)")
    check_forward(student, -float32(ctx.rng.integers(1, 3, size=(2, 3, 7, 6))),
                  note=" with negative ties: the first maximum wins")
    x = float32(ctx.rng.standard_normal((2, 2, 4, 4)))
    x[:, :, :2, :2] = -np.inf
    check_forward(student, x, note=" with a window of -inf only (its maximum is -inf, argmax 0)")


@lab_test("max_pool_backward", points=2)
def test_max_pool_backward_edges(student, ctx):
    for shape in EDGE_SHAPES:
        check_backward(student, ctx.rng, float32(ctx.rng.standard_normal(shape)))
    for _ in range(2):
        x = random_image(ctx.rng)
        check_backward(student, ctx.rng, float32(ctx.rng.integers(0, 2, size=x.shape)),
                       note="; with ties the gradient goes to the first maximum only")


@lab_test("layer_norm_rows", points=2)
def test_layer_norm_edges(student, ctx):
    x, weight, bias = random_layer_norm(ctx.rng, rows=3, n=1)
    check_layer_norm(student, x, weight, bias, 1e-5, note=" for rows of one entry (var = 0, y = b)")
    x, weight, bias = random_layer_norm(ctx.rng, rows=2, n=300, offset=5.0)
    check_layer_norm(student, x, weight, bias, 0.1)
    x, weight, bias = random_layer_norm(ctx.rng, rows=40, n=8, scale=0.5)
    check_layer_norm(student, x, weight, bias, 1e-5)


@lab_test("speed", points=1)
def test_max_pool_values_edges(student, ctx):
    for shape in EDGE_SHAPES:
        check_values(student, float32(ctx.rng.standard_normal(shape)))
