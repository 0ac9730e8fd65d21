"""The CNN kernels agree with their references and with PyTorch: max pooling's forward (max + argmax in
one pass) and backward (a scatter), and the convolution's channel-major col2im (``nn/conv_im2col.py``,
the folded layout of the convolution's matrix products).  Hypothesis draws the shapes, the window
geometry, where NaN, -inf and ties fall, and non-contiguous strides."""
import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import backend
from tinygrad_edu.autograd.gradcheck import gradcheck, gradgradcheck
from tinygrad_edu.nn import conv_im2col
from tinygrad_edu.nn import functional as F
from tinygrad_edu.nn.conv_im2col import _col2im_folded, im2col_folded
from tinygrad_edu.nn.conv_args import conv_geometry
from tinygrad_edu.nn.pooling_arrays import _max_pool_backward, _max_pool_forward
from tinygrad_edu.nn.pooling_args import PoolError, pool_geometry

from tinygrad_edu.kernels.conv2d_col2im import conv2d_col2im_numba
from tinygrad_edu.kernels.max_pool2d_backward import max_pool2d_backward_numba
from tinygrad_edu.kernels.max_pool2d_forward import max_pool2d_forward_numba

TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}
KERNELS = ("max_pool2d_forward", "max_pool2d_backward", "conv2d_col2im")


@pytest.fixture
def restore_kernels():
    previous = backend.use_kernels(True)
    yield
    backend.use_kernels(previous)


def test_kernels_loaded_and_registered():
    for name in KERNELS:
        assert name in tg.kernels.loaded and name not in tg.kernels.failed
        assert backend.registered_kernels()[(name, "numpy")] == ["fast", "reference"]


# ---------------------------------------------------------------------------------------------
# max pooling
# ---------------------------------------------------------------------------------------------
@st.composite
def pool_cases(draw):
    """An input with ties (small integers), NaN and -inf at drawn places, maybe a non-contiguous
    view, and a window geometry the op accepts."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    n, c = draw(st.integers(0, 2)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    ceil_mode = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=(n, c, h, w)).astype(dtype)          # few values: many ties
    special = draw(st.sampled_from(["none", "nan", "inf", "both"]))
    if x.size and special != "none":
        flat = x.reshape(-1)
        spots = rng.choice(x.size, size=max(1, x.size // 7), replace=True)
        flat[spots[::2]] = np.nan if special in ("nan", "both") else -np.inf
        flat[spots[1::2]] = -np.inf if special in ("inf", "both") else np.nan
    if draw(st.booleans()):                                              # a non-contiguous view
        x = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
        x = np.concatenate([x, x], axis=1)[:, ::2]
    try:
        geom = pool_geometry("max_pool2d", x.shape, kernel, stride, padding, dilation, ceil_mode)
    except PoolError:
        assume(False)
    return x, geom, dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                         ceil_mode=ceil_mode)


@settings(max_examples=60, deadline=None)
@given(pool_cases())
def test_max_pool_forward_and_backward_kernels_equal_the_reference_and_torch(case):
    x, geom, kwargs = case
    y, arg = max_pool2d_forward_numba(x, geom)
    y_ref, arg_ref = _max_pool_forward(x, geom)
    assert y.dtype == y_ref.dtype == x.dtype and arg.dtype == arg_ref.dtype
    np.testing.assert_array_equal(y, y_ref)              # NaN in the same places, exactly equal
    np.testing.assert_array_equal(arg, arg_ref)          # the same winner: ties and NaN rules
    g = np.random.default_rng(1).standard_normal(y.shape).astype(x.dtype)
    dx = max_pool2d_backward_numba(g, arg, geom)
    dx_ref = _max_pool_backward(g, arg, geom)
    assert dx.shape == x.shape and dx.dtype == x.dtype
    np.testing.assert_allclose(dx, dx_ref, **TOL[x.dtype.type])
    if x.shape[0] == 0 or _some_window_is_all_padding(arg, geom):
        return   # torch's backward writes out of bounds for such windows (dilation + padding): skip it
    xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    yt, it = torch.nn.functional.max_pool2d(xt, return_indices=True, **kwargs)
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(y, yt.detach().numpy())
    got = F.max_pool2d(tg.tensor(x), return_indices=True, **kwargs)[1].numpy()
    np.testing.assert_array_equal(got, it.numpy())
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOL[x.dtype.type])


def _some_window_is_all_padding(arg, geom):
    """A window wins in the padding only when none of its taps is in the image."""
    (sh, sw), (dh, dw), kw = geom.stride, geom.dilation, geom.kernel[1]
    oh, ow = geom.out_hw
    rows = (np.arange(oh) * sh)[:, None] - geom.pads[0] + (arg // kw) * dh
    cols = (np.arange(ow) * sw)[None, :] - geom.pads[2] + (arg % kw) * dw
    return bool(((rows < 0) | (rows >= geom.in_hw[0]) | (cols < 0) | (cols >= geom.in_hw[1])).any())


@pytest.mark.parametrize("kernels", [True, False])
def test_max_pool_op_with_and_without_kernels_matches_torch(kernels, restore_kernels):
    backend.use_kernels(kernels)
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((4, 3, 10, 9)).astype(np.float32)
    x0[0, 0, 2, 3] = np.nan
    x0[1, 2, :4, :4] = 1.5                               # a tie across whole windows
    for kwargs in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                   dict(kernel_size=(3, 2), stride=1, dilation=(2, 1), ceil_mode=True)):
        x = tg.tensor(x0, requires_grad=True)
        y = F.max_pool2d(x, **kwargs)
        g0 = rng.standard_normal(y.shape).astype(np.float32)
        y.backward(tg.tensor(g0))
        xt = torch.tensor(x0, requires_grad=True)
        yt = torch.nn.functional.max_pool2d(xt, **kwargs)
        yt.backward(torch.tensor(g0))
        np.testing.assert_array_equal(y.detach().numpy(), yt.detach().numpy())
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_max_pool_fast_2x2_path_and_the_general_loop_agree():
    """The unrolled 2×2/2 loop and the general one (reached here with ceil_mode's ragged edge)."""
    x = np.random.default_rng(4).standard_normal((2, 3, 9, 8)).astype(np.float32)
    x[0, 1, 4, 4] = np.nan
    for ceil_mode in (False, True):
        geom = pool_geometry("max_pool2d", x.shape, 2, None, 0, 1, ceil_mode)
        y, arg = max_pool2d_forward_numba(x, geom)
        y_ref, arg_ref = _max_pool_forward(x, geom)
        np.testing.assert_array_equal(y, y_ref)
        np.testing.assert_array_equal(arg, arg_ref)
    assert y.shape == (2, 3, 5, 4)


def test_max_pool_float16_and_empty_fall_back_or_pass_through():
    x = np.random.default_rng(5).standard_normal((2, 2, 6, 6)).astype(np.float16)
    geom = pool_geometry("max_pool2d", x.shape, 2, None, 0, 1, False)
    y, arg = max_pool2d_forward_numba(x, geom)
    y_ref, arg_ref = _max_pool_forward(x, geom)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(arg, arg_ref)
    g = np.ones(y.shape, np.float16)
    np.testing.assert_array_equal(max_pool2d_backward_numba(g, arg, geom), _max_pool_backward(g, arg, geom))
    empty = np.zeros((0, 3, 6, 6), np.float32)
    y, arg = max_pool2d_forward_numba(empty, geom)
    assert y.shape == (0, 3, 3, 3) and arg.shape == (0, 3, 3, 3)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                    dict(kernel_size=2, stride=1, dilation=2)])
def test_max_pool_gradients_by_finite_differences(kwargs, restore_kernels):
    """float64, distinct values (no ties for the finite differences to straddle); overlapping windows
    too.  gradgradcheck runs the recorded (create_graph) path."""
    x0 = np.random.default_rng(6).permutation(2 * 2 * 7 * 7).reshape(2, 2, 7, 7) / 10.0
    x = tg.tensor(x0, requires_grad=True)
    assert gradcheck(lambda t: F.max_pool2d(t, **kwargs), (x,))
    assert gradgradcheck(lambda t: F.max_pool2d(t, **kwargs), (x,))


# ---------------------------------------------------------------------------------------------
# convolution: col2im and the two matmul layouts
# ---------------------------------------------------------------------------------------------
@st.composite
def conv_cases(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    groups = draw(st.sampled_from([1, 1, 2]))
    n, c = draw(st.integers(0, 3)), groups * draw(st.integers(1, 3))
    out = groups * draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    assume(all(d * (k - 1) + 1 <= s + 2 * p for d, k, s, p in zip(dilation, kernel, (h, w), padding)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    if draw(st.booleans()):                                              # a non-contiguous view
        x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    weight = rng.standard_normal((out, c // groups) + kernel).astype(dtype)
    return x, weight, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


@settings(max_examples=40, deadline=None)
@given(conv_cases())
def test_col2im_kernel_equals_reference_and_is_the_adjoint_of_im2col(case):
    x, weight, kwargs = case
    n, c = x.shape[:2]
    geom = conv_geometry("conv2d", x.shape[2:], weight.shape[2:], kwargs["stride"], kwargs["padding"],
                         kwargs["dilation"], 1)
    cols = im2col_folded(x, geom)[0]                                     # (K, N·L)
    d = np.random.default_rng(2).standard_normal(cols.shape).astype(x.dtype)
    fast, ref = conv2d_col2im_numba(d, geom, n, c), _col2im_folded(d, geom, n, c)
    assert fast.shape == x.shape and fast.dtype == x.dtype
    np.testing.assert_allclose(fast, ref, **TOL[x.dtype.type])
    # the adjoint: <im2col x, d> = <x, col2im d>
    np.testing.assert_allclose(np.vdot(cols, d), np.vdot(x, fast), rtol=1e-4, atol=1e-4)
    non_contiguous = np.asfortranarray(d)
    np.testing.assert_allclose(conv2d_col2im_numba(non_contiguous, geom, n, c), ref, **TOL[x.dtype.type])


@settings(max_examples=30, deadline=None)
@given(case=conv_cases(), kernels=st.booleans())
def test_conv2d_with_and_without_kernels_matches_torch(case, kernels):
    x, weight, kwargs = case
    previous = backend.use_kernels(kernels)
    try:
        xt_, wt_ = tg.tensor(x, requires_grad=True), tg.tensor(weight, requires_grad=True)
        y = F.conv2d(xt_, wt_, **kwargs)
        g = np.random.default_rng(7).standard_normal(y.shape).astype(x.dtype)
        y.backward(tg.tensor(g))
    finally:
        backend.use_kernels(previous)
    xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    wt = torch.tensor(weight, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, **kwargs)
    yt.backward(torch.tensor(g))
    tol = dict(rtol=1e-4, atol=1e-4) if x.dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), **tol)
    np.testing.assert_allclose(xt_.grad.numpy(), xt.grad.numpy(), **tol)
    np.testing.assert_allclose(wt_.grad.numpy(), wt.grad.numpy(), **tol)


def test_conv2d_weight_gradient_both_product_orders_match_torch():
    """dL/dw takes cols @ gᵀ with few filters per group (<= 64) and g @ colsᵀ with many."""
    rng = np.random.default_rng(10)
    for out_ch in (8, 130):
        x0, w0 = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((out_ch, 3, 3, 3))
        x, w = tg.tensor(x0), tg.tensor(w0, requires_grad=True)
        F.conv2d(x, w, padding=1).sum().backward()
        wt = torch.tensor(w0, requires_grad=True)
        torch.nn.functional.conv2d(torch.tensor(x0), wt, padding=1).sum().backward()
        np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kernels", [True, False])
@pytest.mark.parametrize("chunk_bytes", [1, 20000, 3 << 19])
def test_conv2d_input_gradient_in_chunks_of_images_matches_torch(chunk_bytes, kernels, monkeypatch):
    """Planes of 16×16 and up take dL/dx a few images at a time (col2im adds into a slice of dx)."""
    monkeypatch.setattr(conv_im2col, "CHUNK_BYTES", chunk_bytes)
    previous = backend.use_kernels(kernels)
    rng = np.random.default_rng(11)
    try:
        for groups, stride in ((1, 1), (2, 2)):
            x0, w0 = rng.standard_normal((5, 4, 17, 16)), rng.standard_normal((6, 4 // groups, 3, 3))
            x, w = tg.tensor(x0, requires_grad=True), tg.tensor(w0, requires_grad=True)
            y = F.conv2d(x, w, stride=stride, padding=1, groups=groups)
            g0 = rng.standard_normal(tuple(y.shape))
            y.backward(tg.tensor(g0))
            xt = torch.tensor(x0, requires_grad=True)
            torch.nn.functional.conv2d(xt, torch.tensor(w0), stride=stride, padding=1,
                                       groups=groups).backward(torch.tensor(g0))
            np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    finally:
        backend.use_kernels(previous)


def test_col2im_float16_falls_back_to_reference():
    geom = conv_geometry("conv2d", (5, 5), (3, 3), 1, 1, 1, 1)
    d = np.random.default_rng(8).standard_normal((2 * 9, 3 * 25)).astype(np.float16)
    out = conv2d_col2im_numba(d, geom, 3, 2)
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, _col2im_folded(d, geom, 3, 2))


@pytest.mark.parametrize("groups", [1, 2])
def test_conv2d_gradients_by_finite_differences(groups, restore_kernels):
    rng = np.random.default_rng(9)
    x = tg.tensor(rng.standard_normal((2, 4, 5, 6)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((4, 4 // groups, 3, 2)), requires_grad=True)
    b = tg.tensor(rng.standard_normal(4), requires_grad=True)
    fn = lambda x_, w_, b_: F.conv2d(x_, w_, b_, stride=(2, 1), padding=1, dilation=(1, 2), groups=groups)
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))
