"""Winograd F(2×2, 3×3) convolutions (``tinygrad_edu/nn/conv_winograd.py``, ``kernels/conv2d_winograd.py``).

* the compiled transforms equal the NumPy reference, and each transform pair is an adjoint pair
  (⟨T a, b⟩ = ⟨a, Tᵀ b⟩), on hypothesis-drawn shapes, paddings and dtypes;
* convolutions computed by Winograd equal PyTorch (forward and every gradient, float32), pass float64
  gradcheck and gradgradcheck — through the op suite's own checks, on both kernel tiers;
* Inf and NaN anywhere give PyTorch's results (the transforms detect them and im2col takes over);
* the automatic choice: Winograd exactly where the module docstring says;
* the reusable workspace is safe across shapes, dtypes and threads.
"""
import os
import sys
import threading

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import tinygrad_edu as tg
from tinygrad_edu import backend
from tinygrad_edu.autograd import gradcheck, gradgradcheck
from tinygrad_edu.kernels.conv2d_winograd import WinogradNumba
from tinygrad_edu.nn import conv_winograd as cw
from tinygrad_edu.nn import functional as F
from tinygrad_edu.nn.conv_args import ConvGeometry, conv_geometry

from op_registry.spec import Case, OpSpec, values
from test_ops_generated import check_backward, check_forward, float64_inputs, on_both_tiers

TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


@pytest.fixture
def algorithm():
    """Set the convolution algorithm for one test (restored afterwards)."""
    previous = []

    def choose(name):
        previous.append(cw.set_conv_algorithm(name))
    yield choose
    if previous:
        cw.set_conv_algorithm(previous[0])


# ---------------------------------------------------------------------------------------------
# The transforms
# ---------------------------------------------------------------------------------------------
@st.composite
def geometries(draw):
    """A 3×3 stride-1 geometry with any padding (up to 2 a side) on a small image, and a batch."""
    pads = tuple(draw(st.integers(0, 2)) for _ in range(4))
    h = draw(st.integers(max(1, 3 - pads[0] - pads[1]), 9))
    w = draw(st.integers(max(1, 3 - pads[2] - pads[3]), 9))
    geom = ConvGeometry((3, 3), (1, 1), (1, 1), pads, 1, (h, w),
                        (h + pads[0] + pads[1] - 2, w + pads[2] + pads[3] - 2))
    return draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4)), geom


def _transform_inputs(n, c, o, geom, dtype, seed):
    rng = np.random.default_rng(seed)
    tiles_hw = cw.tile_grid(geom.out_hw)
    t = n * tiles_hw[0] * tiles_hw[1]
    x = rng.standard_normal((n, c) + geom.in_hw).astype(dtype)
    m = rng.standard_normal((16, o, t)).astype(dtype)
    g = rng.standard_normal((n, o) + geom.out_hw).astype(dtype)
    dv = rng.standard_normal((16, c, t)).astype(dtype)
    return tiles_hw, x, m, g, dv


def _all_transforms(tier, n, c, o, geom, tiles_hw, x, m, g, dv):
    t = m.shape[2]
    v = cw.plane_buffer(c, t, x.dtype)
    finite_x = tier.input(x, geom.pads, tiles_hw, v)
    y = np.empty((n, o) + geom.out_hw, x.dtype)
    tier.output(m, geom.out_hw, y)
    dm = cw.plane_buffer(o, t, x.dtype)
    finite_g = tier.output_adjoint(g, dm)
    dx = np.empty((n, c) + geom.in_hw, x.dtype)
    tier.input_adjoint(dv, geom.pads, tiles_hw, dx)
    return (finite_x, finite_g), (np.array(v), y, np.array(dm), dx)


@given(geometries(), st.sampled_from([np.float32, np.float64]), st.integers(0, 2**31))
def test_compiled_transforms_equal_the_reference(drawn, dtype, seed):
    n, c, o, geom = drawn
    inputs = _transform_inputs(n, c, o, geom, dtype, seed)
    flags_fast, fast = _all_transforms(WinogradNumba, n, c, o, geom, *inputs)
    flags_ref, ref = _all_transforms(cw.WinogradReference, n, c, o, geom, *inputs)
    assert flags_fast == flags_ref == (True, True)
    for name, a, b in zip(("input", "output", "output_adjoint", "input_adjoint"), fast, ref):
        np.testing.assert_allclose(a, b, err_msg=name, **TOL[dtype])


@given(geometries(), st.sampled_from(["numba", "reference"]), st.integers(0, 2**31))
def test_each_transform_pair_is_an_adjoint_pair(drawn, tier_name, seed):
    """⟨input(x), dV⟩ = ⟨x, input_adjoint(dV)⟩ and ⟨output(M), g⟩ = ⟨M, output_adjoint(g)⟩: what
    makes the backward the exact gradient of the forward."""
    n, c, o, geom = drawn
    tier = WinogradNumba if tier_name == "numba" else cw.WinogradReference
    tiles_hw, x, m, g, dv = _transform_inputs(n, c, o, geom, np.float64, seed)
    _, (v, y, dm, dx) = _all_transforms(tier, n, c, o, geom, tiles_hw, x, m, g, dv)
    assert np.isclose(np.vdot(v, dv), np.vdot(x, dx), rtol=1e-12, atol=1e-12)
    assert np.isclose(np.vdot(y, g), np.vdot(m, dm), rtol=1e-12, atol=1e-12)


def test_filter_transform_pair_is_an_adjoint_pair():
    rng = np.random.default_rng(0)
    w, du = rng.standard_normal((5, 3, 3, 3)), rng.standard_normal((16, 5, 3))
    u, dw = cw.filter_transform(w), cw.filter_transform_adjoint(du, w.shape)
    assert np.isclose(np.vdot(u, du), np.vdot(w, dw), rtol=1e-12)


def test_transforms_report_non_finite_input():
    n, c, o, geom = 1, 2, 2, conv_geometry("conv2d", (5, 5), (3, 3), 1, 1, 1, 1)
    tiles_hw, x, m, g, dv = _transform_inputs(n, c, o, geom, np.float32, 0)
    x[0, 1, 4, 4], g[0, 0, 2, 3] = np.inf, np.nan
    for tier in (WinogradNumba, cw.WinogradReference):
        flags, _ = _all_transforms(tier, n, c, o, geom, tiles_hw, x, m, g, dv)
        assert flags == (False, False), tier.__name__


# ---------------------------------------------------------------------------------------------
# Convolutions by Winograd against PyTorch, through the op suite's checks
# ---------------------------------------------------------------------------------------------
def _winograd_cases(mode):
    """3×3, stride 1 convolutions with any int or pair padding, odd and even sizes, with and
    without bias: the shapes Winograd computes (with the algorithm forced, even tiny channels)."""
    @st.composite
    def build(draw):
        n = 0 if mode == "empty" else draw(st.integers(1, 2))
        c, o = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        padding = draw(st.sampled_from([0, 1, 2, (1, 0), (0, 2), "same"]))
        pads = (padding, padding) if isinstance(padding, int) else (
            (1, 1) if padding == "same" else padding)
        big = 2 if mode == "small" else 6
        h = draw(st.integers(max(1, 3 - 2 * pads[0]), max(1, 3 - 2 * pads[0]) + big))
        w = draw(st.integers(max(1, 3 - 2 * pads[1]), max(1, 3 - 2 * pads[1]) + big))
        rng = np.random.default_rng(draw(st.integers(0, 2**31)))
        arrays = (values(rng, (n, c, h, w)), values(rng, (o, c, 3, 3)), values(rng, (o,)))
        return Case(arrays, {"padding": padding})
    return build()


class forced_winograd:  # noqa: N801  (used like a function)
    """Run a check with every eligible convolution forced through Winograd."""

    def __init__(self, check):
        self.check = check

    def __call__(self, *args):
        previous = cw.set_conv_algorithm("winograd")
        try:
            with backend.record_kernel_dispatch() as used:
                self.check(*args)
            return used
        finally:
            cw.set_conv_algorithm(previous)


WINOGRAD_SPEC = OpSpec(name="F.conv2d[winograd]", cases=_winograd_cases, family="conv",
                       ours=lambda x, w, b, **k: F.conv2d(x, w, b, **k),
                       ref=lambda x, w, b, **k: torch.nn.functional.conv2d(x, w, b, **k),
                       fwd_tol=(1e-4, 1e-4), bwd_tol=(1e-4, 1e-4))


@settings(max_examples=15)
@given(data=st.data())
def test_winograd_forward_matches_torch(data):
    used = forced_winograd(check_forward)(WINOGRAD_SPEC, data.draw(_winograd_cases("any")))
    assert "conv2d_winograd" in used


@settings(max_examples=15)
@given(data=st.data())
def test_winograd_backward_matches_torch(data):
    used = forced_winograd(check_backward)(WINOGRAD_SPEC, data.draw(_winograd_cases("any")))
    assert "conv2d_winograd" in used


@settings(max_examples=6)
@given(data=st.data())
def test_winograd_gradcheck(data):
    fn, inputs = float64_inputs(WINOGRAD_SPEC, data.draw(_winograd_cases("any")))
    forced_winograd(lambda: on_both_tiers(lambda: _true(gradcheck(fn, inputs, eps=1e-6, atol=1e-5,
                                                                  rtol=1e-3))))()


@settings(max_examples=4)
@given(data=st.data())
def test_winograd_gradgradcheck(data):
    fn, inputs = float64_inputs(WINOGRAD_SPEC, data.draw(_winograd_cases("small")))
    forced_winograd(lambda: _true(gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)))()


def test_winograd_empty_batch_matches_torch():
    forced_winograd(check_backward)(WINOGRAD_SPEC, Case(
        (np.zeros((0, 2, 5, 5)), np.ones((3, 2, 3, 3)), np.ones(3)), {"padding": 1}))


def _true(ok):
    assert ok


def _conv_both(x0, w0, b0, g0, padding=1):
    """(y, dx, dw, db) of ours and of torch for float32 inputs."""
    x, w, b = (tg.tensor(a, requires_grad=True) for a in (x0, w0, b0))
    y = F.conv2d(x, w, b, padding=padding)
    y.backward(tg.tensor(g0))
    ours = [y.detach().numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy()]
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x0, w0, b0))
    yt = torch.nn.functional.conv2d(xt, wt, bt, padding=padding)
    yt.backward(torch.tensor(g0))
    return ours, [yt.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()]


def _wide_case(seed=0, n=3, c=16, o=24, hw=(9, 12)):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, c) + hw).astype(np.float32),
            (rng.standard_normal((o, c, 3, 3)) / 12).astype(np.float32),
            rng.standard_normal(o).astype(np.float32),
            rng.standard_normal((n, o) + hw).astype(np.float32))


@pytest.mark.parametrize("kernels", [True, False])
def test_automatic_winograd_on_a_wide_layer_matches_torch(kernels):
    previous = backend.use_kernels(kernels)
    try:
        with backend.record_kernel_dispatch() as used:
            ours, ref = _conv_both(*_wide_case())
    finally:
        backend.use_kernels(previous)
    assert ("conv2d_winograd" in used) == kernels
    for name, a, r in zip(("y", "dx", "dw", "db"), ours, ref):
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-4, err_msg=name)


@pytest.mark.parametrize("wanted", ["x", "w", "x and w", "x and w, graph recorded"])
def test_each_backward_route_matches_torch(wanted, monkeypatch):
    """The plain backward computes dL/dx and dL/dw in one pass (``winograd_gradients``); one of them
    alone, or both with create_graph=True, go through the two gradient Functions: the same numbers."""
    from tinygrad_edu.nn import conv
    calls = []
    monkeypatch.setattr(conv, "winograd_gradients", lambda *a: calls.append(1) or cw.winograd_gradients(*a))
    x0, w0, b0, g0 = _wide_case(5)
    x = tg.tensor(x0, requires_grad="x" in wanted)
    w = tg.tensor(w0, requires_grad="w" in wanted)
    y = F.conv2d(x, w, tg.tensor(b0), padding=1)
    wrt = [t for t in (x, w) if t.requires_grad]
    grads = tg.autograd.grad(y, wrt, grad_outputs=tg.tensor(g0), create_graph="graph" in wanted)
    xt, wt = torch.tensor(x0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, torch.tensor(b0), padding=1)
    ref = dict(zip("xw", torch.autograd.grad(yt, [xt, wt], torch.tensor(g0))))
    for name, got in zip([n for n, t in zip("xw", (x, w)) if t.requires_grad], grads):
        np.testing.assert_allclose(got.detach().numpy(), ref[name].numpy(), rtol=1e-4, atol=1e-4,
                                   err_msg=name)
    assert len(calls) == (wanted == "x and w")


@pytest.mark.parametrize("where", ["x inf", "x nan", "x inf and -inf", "w inf", "g inf", "g nan"])
def test_inf_and_nan_give_the_im2col_results(where, algorithm):
    """A single Inf turns Inf − Inf into NaN inside a tile, where the direct convolution gives ±Inf or
    a finite number: the transforms see it, and im2col computes that product instead (a gradient that
    does not read the non-finite array still runs Winograd) — the NaNs and Infs of Winograd switched
    off, and PyTorch's.  (With an Inf *weight*, im2col multiplies
    it by the padding's zeros, NaN at the image border where PyTorch skips the padding taps: compared
    with im2col only.)"""
    x0, w0, b0, g0 = _wide_case()
    target, kind = where.split(" ", 1)
    array = {"x": x0, "w": w0, "g": g0}[target]
    at = (0, 1, 1, 2) if target == "w" else (0, 1, 4, 5)
    array[at] = np.nan if kind == "nan" else np.inf
    if kind == "inf and -inf":
        array[0, 1, 6, 5] = -np.inf
    with backend.record_kernel_dispatch() as used:
        ours, ref = _conv_both(x0, w0, b0, g0)
    assert "conv2d_winograd" in used or target == "w"      # a non-finite weight is seen before
    algorithm("im2col")
    plain, _ = _conv_both(x0, w0, b0, g0)
    for name, a, p, r in zip(("y", "dx", "dw", "db"), ours, plain, ref):
        for expected in (p, r) if target != "w" else (p,):
            np.testing.assert_array_equal(np.isnan(a), np.isnan(expected), err_msg=name)
            np.testing.assert_array_equal(a[np.isinf(a)], expected[np.isinf(a)], err_msg=name)
            finite = np.isfinite(expected)
            np.testing.assert_allclose(a[finite], expected[finite], rtol=1e-4, atol=1e-4, err_msg=name)


# ---------------------------------------------------------------------------------------------
# Where Winograd is chosen
# ---------------------------------------------------------------------------------------------
def _uses_winograd(x_shape, w_shape, dtype=np.float32, **kwargs):
    x = tg.tensor(np.full(x_shape, 0.01, dtype), requires_grad=True)
    w = tg.tensor(np.full(w_shape, 0.01, dtype), requires_grad=True)
    with backend.record_kernel_dispatch() as used:
        F.conv2d(x, w, **kwargs).sum().backward()
    return "conv2d_winograd" in used


@pytest.mark.parametrize("x_shape,w_shape,kwargs,expected", [
    ((2, 16, 8, 8), (16, 16, 3, 3), {"padding": 1}, True),
    ((2, 32, 7, 9), (48, 32, 3, 3), {"padding": 0}, True),          # valid: 5×7 outputs
    ((2, 3, 8, 8), (16, 3, 3, 3), {"padding": 1}, False),           # the RGB stem: thin products
    ((2, 16, 8, 8), (8, 16, 3, 3), {"padding": 1}, False),          # 8 filters
    ((2, 16, 8, 8), (16, 16, 3, 3), {"padding": 1, "stride": 2}, False),
    ((2, 16, 8, 8), (16, 16, 3, 3), {"padding": 2, "dilation": 2}, False),
    ((2, 32, 8, 8), (32, 16, 3, 3), {"padding": 1, "groups": 2}, False),
    ((2, 16, 8, 8), (16, 16, 1, 1), {}, False),
    ((2, 16, 3, 3), (16, 16, 3, 3), {"padding": 1}, False),         # a 3×3 output plane
])
def test_automatic_choice(x_shape, w_shape, kwargs, expected):
    assert _uses_winograd(x_shape, w_shape, **kwargs) == expected


def test_no_winograd_with_kernels_off_or_im2col_chosen(algorithm):
    previous = backend.use_kernels(False)
    try:
        assert not _uses_winograd((2, 16, 8, 8), (16, 16, 3, 3), padding=1)
        algorithm("winograd")   # forced: the NumPy reference transforms run (no fast tier to log)
        x = tg.tensor(np.ones((2, 16, 8, 8), np.float32))
        assert cw.winograd_applies(x.array, (16, 16, 3, 3), conv_geometry(
            "conv2d", (8, 8), (3, 3), 1, 1, 1, 1), 16, 16)
    finally:
        backend.use_kernels(previous)
    algorithm("im2col")
    assert not _uses_winograd((2, 16, 8, 8), (16, 16, 3, 3), padding=1)


def test_set_conv_algorithm_rejects_an_unknown_name():
    with pytest.raises(ValueError, match="set_conv_algorithm: expected one of auto, im2col, winograd, "
                                         "got 'fft'"):
        cw.set_conv_algorithm("fft")


def test_gpu_arrays_run_im2col():
    """On CuPy arrays (here the fake device of ``tests/gpu/fake_cupy.py``) a wide 3×3 layer runs
    im2col, and gives the CPU's numbers (where the CPU ran Winograd)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpu"))
    try:
        import fake_cupy
    finally:
        sys.path.pop(0)
    x0, w0, b0, g0 = _wide_case()
    cpu, _ = _conv_both(x0, w0, b0, g0)
    with fake_cupy.installed():
        x, w, b = (tg.tensor(a, device="cuda", requires_grad=True) for a in (x0, w0, b0))
        geom = conv_geometry("conv2d", x0.shape[2:], (3, 3), 1, 1, 1, 1)
        assert not cw.winograd_applies(x.array, w.shape, geom, 16, 24)
        with backend.record_kernel_dispatch() as used:
            y = F.conv2d(x, w, b, padding=1)
            y.backward(tg.tensor(g0, device="cuda"))
        gpu = [t.detach().to("cpu").numpy() for t in (y, x.grad, w.grad, b.grad)]
    assert "conv2d_winograd" not in used
    for name, a, c in zip(("y", "dx", "dw", "db"), gpu, cpu):
        np.testing.assert_allclose(a, c, rtol=1e-4, atol=1e-4, err_msg=name)


def test_float16_runs_im2col():
    assert not _uses_winograd((2, 16, 8, 8), (16, 16, 3, 3), dtype=np.float16, padding=1)


# ---------------------------------------------------------------------------------------------
# The workspace and the chunks
# ---------------------------------------------------------------------------------------------
def test_workspace_reuse_across_shapes_and_dtypes_keeps_results_right():
    cases = [_wide_case(0, 2, 16, 16, (12, 12)), _wide_case(1, 1, 16, 32, (6, 7)),
             _wide_case(2, 2, 24, 16, (10, 5)), _wide_case(0, 2, 16, 16, (12, 12))]
    cw.release_workspace()
    for case in cases:
        ours, ref = _conv_both(*case)
        for a, r in zip(ours, ref):
            np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-4)
    x0, w0, b0, g0 = (a.astype(np.float64) for a in _wide_case(3, 2, 16, 16, (8, 8)))
    x = tg.tensor(x0, requires_grad=True)
    F.conv2d(x, tg.tensor(w0), tg.tensor(b0), padding=1).backward(tg.tensor(g0))
    ref = torch.nn.functional.grad.conv2d_input(x0.shape, torch.tensor(w0), torch.tensor(g0), padding=1)
    np.testing.assert_allclose(x.grad.numpy(), ref.numpy(), rtol=1e-12, atol=1e-12)


def test_small_chunks_give_the_same_numbers(monkeypatch):
    """One image per chunk (the 32×32 case) and the whole batch in one chunk agree."""
    case = _wide_case(4, 5, 16, 16, (10, 10))
    whole, ref = _conv_both(*case)
    monkeypatch.setattr(cw, "CHUNK_BYTES", 1)
    monkeypatch.setattr(cw, "MIN_COLUMNS_PER_CHANNEL", 0)
    assert len(cw._image_chunks(5, 25, 16, 16, 4)) == 5
    chunked, _ = _conv_both(*case)
    for a, b, r in zip(whole, chunked, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(b, r, rtol=1e-4, atol=1e-4)


def test_concurrent_threads_get_their_own_workspace():
    """Forward passes in several threads at once (grad mode is process-wide, so threads run
    inference only: the server's compute thread beside the main thread, say) each use their own
    workspace."""
    cases = [_wide_case(seed, 2, 16, 16 + 8 * seed, (8 + seed, 8)) for seed in range(4)]
    expected = [_conv_both(*case)[1][0] for case in cases]
    results, errors = [None] * len(cases), []

    def work(k):
        x0, w0, b0, _ = cases[k]
        try:
            for _ in range(20):
                y = F.conv2d(tg.tensor(x0), tg.tensor(w0), tg.tensor(b0), padding=1)
                np.testing.assert_allclose(y.numpy(), expected[k], rtol=1e-4, atol=1e-4)
            results[k] = y.numpy()
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)
    with tg.no_grad():
        threads = [threading.Thread(target=work, args=(k,)) for k in range(len(cases))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert not errors and all(r is not None for r in results), errors


@pytest.mark.parametrize("wanted", ["x and w", "w only", "x only"])
def test_chunk_threads_give_the_same_bits_as_one_thread(wanted, monkeypatch):
    """After set_num_threads(2) a narrow layer's chunks run on two threads: the chunks, and the
    order the weight gradient's parts are summed in, are those of one thread, so every number is
    bit for bit the same; an Inf in one chunk still sends the whole convolution to im2col."""
    monkeypatch.setattr(cw, "CHUNK_BYTES", 1)
    monkeypatch.setattr(cw, "MIN_COLUMNS_PER_CHANNEL", 0)
    x0, w0, b0, g0 = _wide_case(6, 5, 16, 24, (9, 10))
    x_inf = x0.copy()
    x_inf[3, 2, 4, 4] = np.inf

    def run(x_array):
        x = tg.tensor(x_array, requires_grad=wanted != "w only")
        w = tg.tensor(w0, requires_grad=wanted != "x only")
        y = F.conv2d(x, w, tg.tensor(b0), padding=1)
        y.backward(tg.tensor(g0))
        return [y.detach().numpy()] + [t.grad.numpy() for t in (x, w) if t.requires_grad]
    pools = []
    real_pool = cw._thread_pool
    monkeypatch.setattr(cw, "_thread_pool", lambda k: pools.append(k) or real_pool(k))
    one = [run(x0), run(x_inf)]
    assert not pools
    before = backend.intra_op_threads()
    backend.set_intra_op_threads(2)
    try:
        two = [run(x0), run(x_inf)]
    finally:
        backend.set_intra_op_threads(before)
    assert pools and set(pools) == {2}
    for a_run, b_run in zip(one, two):
        for a, b in zip(a_run, b_run):
            np.testing.assert_array_equal(a, b)


def test_wide_layers_leave_the_threads_to_blas(monkeypatch):
    pools = []
    monkeypatch.setattr(cw, "_thread_pool", lambda k: pools.append(k))
    before = backend.intra_op_threads()
    backend.set_intra_op_threads(2)
    try:
        wide = 2 * cw.MAX_WIDTH_FOR_CHUNK_THREADS
        x0, w0, b0, g0 = _wide_case(7, 2, wide, wide, (6, 6))
        ours, ref = _conv_both(x0, w0, b0, g0)
    finally:
        backend.set_intra_op_threads(before)
    assert not pools
    for a, r in zip(ours, ref):
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match=r"set_intra_op_threads: expected a positive int, got 0"):
        backend.set_intra_op_threads(0)
