"""Lab 4, public checks: ``python -m tinygrad_edu lab check 4 DIR``.

Every expected value comes from tinygrad_edu's own ops (``F.unfold``, ``F.fold``, ``F.conv2d``,
``F.max_pool2d`` and their autograd), in float64, on shapes drawn at grading time.  Each task is checked
alone: the conv2d tests lend your ``conv2d_forward`` / ``conv2d_backward`` an im2col and a col2im made
of those engine ops, so a mistake in ``im2col`` never costs points in ``conv_forward``."""

import numpy as np

from tinygrad_edu import Tensor
import tinygrad_edu.nn.functional as F
from tinygrad_edu.labs.checks import LabFailure, expect_close, expect_equal, expect_true
from tinygrad_edu.labs.testing import lab_test, lent


# ----------------------------------------------------------------------------- engine stand-ins
def out_size(size, k, stride, padding):
    return (size + 2 * padding - k) // stride + 1


def engine_im2col(x, kernel_size, stride=1, padding=0):
    """im2col from F.unfold: (N, C*kh*kw, L) laid out as rows (n, oh, ow), columns (c, i, j)."""
    n, _, h, w = x.shape
    blocks = F.unfold(Tensor(x), kernel_size, padding=padding, stride=stride).numpy()
    size = (out_size(h, kernel_size[0], stride, padding), out_size(w, kernel_size[1], stride, padding))
    return blocks.transpose(0, 2, 1).reshape(n * size[0] * size[1], -1), size


def engine_col2im(cols, x_shape, kernel_size, stride=1, padding=0):
    """col2im from F.fold (overlaps add up)."""
    n, _, h, w = x_shape
    blocks = cols.reshape(n, -1, cols.shape[1]).transpose(0, 2, 1)
    return F.fold(Tensor(np.ascontiguousarray(blocks)), (h, w), kernel_size, padding=padding,
                  stride=stride).numpy()


def draw_geometry(rng, n=None, c=None):
    """A random conv geometry: batch, channels, a non-square kernel, stride 1-3, padding 0-2."""
    kh, kw = (int(v) for v in rng.integers(1, 5, size=2))
    stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    h = int(rng.integers(max(kh - 2 * padding, 1), 9))
    w = int(rng.integers(max(kw - 2 * padding, 1), 9))
    n = int(rng.integers(2, 4)) if n is None else n
    c = int(rng.integers(2, 4)) if c is None else c
    return (n, c, h, w), (kh, kw), stride, padding


def geometry_text(x_shape, kernel, stride, padding):
    return f"x of shape {tuple(x_shape)}, kernel {tuple(kernel)}, stride {stride}, padding {padding}"


def check_im2col(student, x, kernel, stride, padding):
    where = geometry_text(x.shape, kernel, stride, padding)
    got = student.im2col(x, kernel, stride, padding)
    expect_true(f"im2col({where})", isinstance(got, tuple) and len(got) == 2,
                "should return a pair (cols, (OH, OW))")
    cols, size = got
    want, want_size = engine_im2col(x, kernel, stride, padding)
    expect_equal(f"im2col({where}): the output size (OH, OW) = ((H + 2p - kh) // stride + 1, ...)",
                 tuple(int(v) for v in size), want_size)
    expect_close(f"im2col({where}): cols (row = (n, oh, ow), column = (c, i, j))", cols, want,
                 rtol=0, atol=0)


def conv_expected(x, w, b, stride, padding, grad_out=None):
    """F.conv2d's output, and with ``grad_out`` the autograd gradients (dx, dw, db)."""
    tx, tw = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    tb = None if b is None else Tensor(b, requires_grad=True)
    out = F.conv2d(tx, tw, tb, stride=stride, padding=padding)
    if grad_out is None:
        return out.detach().numpy()
    (out * Tensor(grad_out)).sum().backward()
    return tx.grad.numpy(), tw.grad.numpy(), None if tb is None else tb.grad.numpy()


def engine_argmax(x, kernel, stride):
    """The window position i * kw + j of each window's first maximum, from F.max_pool2d's indices."""
    out, flat = F.max_pool2d(Tensor(x), kernel, stride, return_indices=True)
    flat = flat.numpy()
    w = x.shape[3]
    oh = np.arange(flat.shape[2])[:, None] * stride
    ow = np.arange(flat.shape[3])[None, :] * stride
    return out.numpy(), (flat // w - oh) * kernel[1] + (flat % w - ow)


# ----------------------------------------------------------------------------- im2col
@lab_test("im2col", points=3)
def test_im2col_values(student, ctx):
    for _ in range(4):
        x_shape, kernel, stride, padding = draw_geometry(ctx.rng)
        check_im2col(student, ctx.rng.standard_normal(x_shape), kernel, stride, padding)


@lab_test("im2col", points=2)
def test_im2col_pads_both_sides(student, ctx):
    x = ctx.rng.uniform(1, 2, size=(1, 1, 4, 5))
    cols, _ = student.im2col(x, (3, 3), 1, 1)
    first = np.asarray(cols)[0].reshape(3, 3)
    expect_close("im2col with kernel (3, 3), padding 1: the window of output (0, 0) (its top row and left "
                 "column are padding: zeros; pad both sides by `padding`)", first,
                 np.pad(x[0, 0, :2, :2], ((1, 0), (1, 0))), rtol=0, atol=0)
    check_im2col(student, x, (3, 3), 1, 1)


# ----------------------------------------------------------------------------- conv_forward
def check_conv_forward(student, x, w, b, stride, padding):
    where = geometry_text(x.shape, w.shape[2:], stride, padding)
    with lent(student, im2col=engine_im2col):
        got = student.conv2d_forward(x, w, b, stride, padding)
    expect_close(f"conv2d_forward({where}, {w.shape[0]} output channels"
                 f"{', no bias' if b is None else ''}): the output (N, C_out, OH, OW)", got,
                 conv_expected(x, w, b, stride, padding), rtol=1e-10, atol=1e-10)


@lab_test("conv_forward", points=4)
def test_conv_forward_matches_conv2d(student, ctx):
    for _ in range(4):
        x_shape, kernel, stride, padding = draw_geometry(ctx.rng)
        c_out = int(ctx.rng.integers(2, 5))
        check_conv_forward(student, ctx.rng.standard_normal(x_shape),
                           ctx.rng.standard_normal((c_out, x_shape[1]) + kernel),
                           ctx.rng.standard_normal(c_out), stride, padding)


# ----------------------------------------------------------------------------- col2im
def check_col2im(student, cols, x_shape, kernel, stride, padding, note=""):
    where = geometry_text(x_shape, kernel, stride, padding)
    got = student.col2im(cols, x_shape, kernel, stride, padding)
    expect_close(f"col2im({where}){note}", got, engine_col2im(cols, x_shape, kernel, stride, padding),
                 rtol=1e-12, atol=1e-12)


def random_cols(rng, x_shape, kernel, stride, padding):
    n, c, h, w = x_shape
    rows = n * out_size(h, kernel[0], stride, padding) * out_size(w, kernel[1], stride, padding)
    return rng.standard_normal((rows, c * kernel[0] * kernel[1]))


@lab_test("col2im", points=2)
def test_col2im_overlapping_windows_add(student, ctx):
    x_shape = (2, 2, 5, 4)
    check_col2im(student, random_cols(ctx.rng, x_shape, (3, 2), 1, 0), x_shape, (3, 2), 1, 0,
                 ": windows overlap, so a pixel's entries must add up (+=), not overwrite each other")


@lab_test("col2im", points=2)
def test_col2im_steps_by_stride(student, ctx):
    x_shape = (2, 3, 6, 7)
    check_col2im(student, random_cols(ctx.rng, x_shape, (2, 2), 2, 0), x_shape, (2, 2), 2, 0,
                 ": with stride 2, window (oh, ow) starts at pixel (2 oh, 2 ow)")


@lab_test("col2im", points=2)
def test_col2im_values(student, ctx):
    for _ in range(3):
        x_shape, kernel, stride, padding = draw_geometry(ctx.rng)
        check_col2im(student, random_cols(ctx.rng, x_shape, kernel, stride, padding), x_shape, kernel,
                     stride, padding)


# ----------------------------------------------------------------------------- conv_backward
def check_conv_backward(student, rng, x, w, stride, padding):
    where = geometry_text(x.shape, w.shape[2:], stride, padding)
    b = np.zeros(w.shape[0])
    out_shape = conv_expected(x, w, b, stride, padding).shape
    grad_out = rng.standard_normal(out_shape)
    dx, dw, db = conv_expected(x, w, b, stride, padding, grad_out)
    with lent(student, im2col=engine_im2col, col2im=engine_col2im):
        got = student.conv2d_backward(grad_out, x, w, stride, padding)
    expect_true(f"conv2d_backward({where})", isinstance(got, tuple) and len(got) == 3,
                "should return a triple (dx, dw, db)")
    expect_close(f"conv2d_backward({where}): db (the sum of grad_out over the batch and every output "
                 f"position)", got[2], db, rtol=1e-10, atol=1e-10)
    expect_close(f"conv2d_backward({where}): dw (g.T @ cols, shaped like w (C_out, C_in, kh, kw))",
                 got[1], dw, rtol=1e-10, atol=1e-10)
    expect_close(f"conv2d_backward({where}): dx", got[0], dx, rtol=1e-10, atol=1e-10)


@lab_test("conv_backward", points=4)
def test_conv_backward_matches_autograd(student, ctx):
    for _ in range(3):
        x_shape, kernel, stride, padding = draw_geometry(ctx.rng)
        c_out = int(ctx.rng.integers(2, 5))
        check_conv_backward(student, ctx.rng, ctx.rng.standard_normal(x_shape),
                            ctx.rng.standard_normal((c_out, x_shape[1]) + kernel), stride, padding)


# ----------------------------------------------------------------------------- max pooling
def check_maxpool_forward(student, x, kernel, stride, note=""):
    where = f"x of shape {x.shape}, kernel {kernel}, stride {stride}"
    got = student.maxpool2d_forward(x, kernel, stride)
    expect_true(f"maxpool2d_forward({where})", isinstance(got, tuple) and len(got) == 2,
                "should return a pair (out, argmax)")
    want, want_argmax = engine_argmax(x, kernel, stride)
    expect_close(f"maxpool2d_forward({where}): out", got[0], want, rtol=0, atol=0)
    argmax = np.asarray(got[1])
    expect_true(f"maxpool2d_forward({where}): argmax", np.issubdtype(argmax.dtype, np.integer),
                f"should hold integers, got dtype {argmax.dtype}")
    expect_close(f"maxpool2d_forward({where}): argmax (i * kw + j inside the window){note}", argmax,
                 want_argmax, rtol=0, atol=0)


@lab_test("maxpool_forward", points=2)
def test_maxpool_forward(student, ctx):
    for kernel, stride in (((2, 2), 2), ((2, 3), 1), ((3, 2), 2)):
        check_maxpool_forward(student, ctx.rng.standard_normal((2, 3, 7, 8)), kernel, stride)


@lab_test("maxpool_forward", points=2)
def test_maxpool_forward_ties_go_to_the_first(student, ctx):
    x = ctx.rng.integers(0, 2, size=(2, 2, 6, 6)).astype(np.float64)
    check_maxpool_forward(student, x, (2, 3), 1, note=" with ties: the FIRST maximum in the window "
                                                      "(row by row) wins, as np.argmax")


def check_maxpool_backward(student, rng, x, kernel, stride):
    where = f"x of shape {x.shape}, kernel {kernel}, stride {stride}"
    _, argmax = engine_argmax(x, kernel, stride)
    tx = Tensor(x, requires_grad=True)
    out = F.max_pool2d(tx, kernel, stride)
    grad_out = rng.standard_normal(out.shape)
    (out * Tensor(grad_out)).sum().backward()
    try:
        got = student.maxpool2d_backward(grad_out, argmax, x.shape, kernel, stride)
    except (IndexError, ValueError) as exc:
        raise LabFailure(f"maxpool2d_backward({where}) raised {type(exc).__name__}: {exc}") from None
    expect_close(f"maxpool2d_backward({where}): dx (each output's gradient goes to its argmax element "
                 f"only; where windows overlap the gradients add)", got, tx.grad.numpy(),
                 rtol=1e-12, atol=1e-12)


@lab_test("maxpool_backward", points=3)
def test_maxpool_backward(student, ctx):
    for kernel, stride in (((2, 2), 2), ((3, 2), 1), ((2, 3), 2)):
        check_maxpool_backward(student, ctx.rng, ctx.rng.standard_normal((2, 3, 7, 8)), kernel, stride)
