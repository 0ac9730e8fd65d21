"""Lab 4, hidden checks (``lab grade`` only): more geometries, edge cases (1x1 kernels, a kernel as large
as the padded image, stride larger than the kernel, float32 kept), the adjoint identity of col2im, and
gradients through non-square overlapping pools."""
import numpy as np

from tinygrad_edu.labs.checks import expect_close, expect_equal
from tinygrad_edu.labs.testing import lab_test

from ..public_tests import (check_col2im, check_conv_backward, check_conv_forward, check_im2col,
                            check_maxpool_backward, check_maxpool_forward, draw_geometry, engine_im2col,
                            random_cols)

EDGES = (((1, 2, 5, 4), (1, 1), 1, 0), ((2, 1, 4, 3), (4, 3), 1, 0), ((2, 2, 3, 3), (5, 4), 1, 1),
         ((1, 3, 9, 8), (2, 2), 3, 0), ((2, 2, 7, 5), (3, 1), 2, 2), ((3, 1, 1, 1), (3, 3), 1, 1))


@lab_test("im2col", points=2)
def test_im2col_edge_geometries(student, ctx):
    for x_shape, kernel, stride, padding in EDGES:
        check_im2col(student, ctx.rng.standard_normal(x_shape), kernel, stride, padding)
    for _ in range(6):
        x_shape, kernel, stride, padding = draw_geometry(ctx.rng)
        check_im2col(student, ctx.rng.standard_normal(x_shape), kernel, stride, padding)


@lab_test("im2col", points=1)
def test_im2col_keeps_float32(student, ctx):
    x = ctx.rng.standard_normal((2, 2, 5, 6)).astype(np.float32)
    cols, _ = student.im2col(x, (3, 2), 2, 1)
    expect_equal("im2col of a float32 input: the dtype of cols", str(np.asarray(cols).dtype), "float32")


@lab_test("conv_forward", points=2)
def test_conv_forward_edges_and_no_bias(student, ctx):
    for x_shape, kernel, stride, padding in EDGES:
        w = ctx.rng.standard_normal((3, x_shape[1]) + kernel)
        check_conv_forward(student, ctx.rng.standard_normal(x_shape), w, ctx.rng.standard_normal(3),
                           stride, padding)
    x_shape, kernel, stride, padding = draw_geometry(ctx.rng)
    check_conv_forward(student, ctx.rng.standard_normal(x_shape),
                       ctx.rng.standard_normal((2, x_shape[1]) + kernel), None, stride, padding)


@lab_test("col2im", points=2)
def test_col2im_edges(student, ctx):
    for x_shape, kernel, stride, padding in EDGES:
        check_col2im(student, random_cols(ctx.rng, x_shape, kernel, stride, padding), x_shape, kernel,
                     stride, padding)


@lab_test("col2im", points=1)
def test_col2im_is_the_adjoint(student, ctx):
    for _ in range(3):
        x_shape, kernel, stride, padding = draw_geometry(ctx.rng)
        x = ctx.rng.standard_normal(x_shape)
        cols = random_cols(ctx.rng, x_shape, kernel, stride, padding)
        left = float(np.sum(engine_im2col(x, kernel, stride, padding)[0] * cols))
        right = float(np.sum(x * np.asarray(student.col2im(cols, x_shape, kernel, stride, padding))))
        expect_close("<im2col(x), C> - <x, col2im(C)> (col2im is the adjoint of im2col: zero)",
                     right - left, 0.0, rtol=0, atol=1e-9)


@lab_test("conv_backward", points=3)
def test_conv_backward_more_geometries(student, ctx):
    for x_shape, kernel, stride, padding in EDGES:
        check_conv_backward(student, ctx.rng, ctx.rng.standard_normal(x_shape),
                            ctx.rng.standard_normal((2, x_shape[1]) + kernel), stride, padding)
    for _ in range(3):
        x_shape, kernel, stride, padding = draw_geometry(ctx.rng, n=4)
        check_conv_backward(student, ctx.rng, ctx.rng.standard_normal(x_shape),
                            ctx.rng.standard_normal((3, x_shape[1]) + kernel), stride, padding)


@lab_test("maxpool_forward", points=2)
def test_maxpool_forward_more(student, ctx):
    for shape, kernel, stride in (((1, 1, 5, 5), (5, 5), 1), ((2, 2, 7, 9), (3, 3), 3),
                                  ((3, 1, 8, 5), (1, 2), 2), ((2, 2, 6, 7), (2, 2), 1)):
        check_maxpool_forward(student, ctx.rng.standard_normal(shape), kernel, stride)
    x = np.zeros((2, 2, 4, 5))
    check_maxpool_forward(student, x, (2, 2), 1, note=" for an all-zero input (every element ties: the "
                                                      "FIRST maximum, argmax 0, wins)")
    x = -ctx.rng.integers(1, 3, size=(2, 3, 7, 7)).astype(np.float64)
    check_maxpool_forward(student, x, (3, 2), 2, note=" with negative ties: the FIRST maximum wins")


@lab_test("maxpool_backward", points=2)
def test_maxpool_backward_more(student, ctx):
    for shape, kernel, stride in (((1, 1, 5, 5), (5, 5), 1), ((2, 2, 7, 9), (3, 3), 3),
                                  ((3, 1, 8, 5), (1, 2), 2), ((2, 2, 6, 7), (3, 3), 1)):
        check_maxpool_backward(student, ctx.rng, ctx.rng.standard_normal(shape), kernel, stride)
    x = ctx.rng.integers(0, 2, size=(2, 2, 6, 6)).astype(np.float64)
    check_maxpool_backward(student, ctx.rng, x, (2, 3), 1)
