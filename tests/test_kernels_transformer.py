"""The transformer's elementwise kernels (gelu_tanh, gelu_erf, layer_norm, softmax_cross_entropy,
dropout): each fast tier against its NumPy reference (kernels on / off) and the ops against PyTorch."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import backend
from tinygrad_edu.autograd.gradcheck import gradcheck, gradgradcheck
from tinygrad_edu.kernels import dropout as k_dropout
from tinygrad_edu.kernels import gelu_erf as k_gelu_erf
from tinygrad_edu.kernels import gelu_tanh as k_gelu_tanh
from tinygrad_edu.kernels import layer_norm as k_layer_norm
from tinygrad_edu.kernels import softmax_cross_entropy as k_ce
from tinygrad_edu.nn.dropout import _dropout_mask_reference
from tinygrad_edu.nn.loss import _row_weights, _softmax_cross_entropy_reference
from tinygrad_edu.nn.normalization import LAYER_NORM_REFERENCE
from tinygrad_edu.ops.nonlinearity import GELU_ERF_REFERENCE, GELU_TANH_REFERENCE

from kernel_test_helpers import (FLOAT_DTYPES as floats, cupy_tiers_test, kernels_enabled,
                                 kernels_on_off_fixture, tolerances)

NAMES = ("gelu_tanh", "gelu_erf", "layer_norm", "softmax_cross_entropy", "dropout")
TOL = tolerances(float32_atol=1e-7)
tiers = kernels_on_off_fixture("tiers", ids=["kernels", "reference"])


def _close(a, b, dtype, scale=1.0):
    tol = TOL[np.dtype(dtype).type]
    np.testing.assert_allclose(a, b, rtol=tol["rtol"] * scale, atol=tol["atol"] * scale)


def _strided(a, transposed):
    """``a`` itself, or a non-contiguous view holding the same values (a transposed copy's .T)."""
    return np.ascontiguousarray(a.T).T if transposed and a.ndim >= 2 else a


def _same_function(a, b):
    return a is b or (a.__name__ == b.__name__ and a.__module__.endswith(b.__module__.split(".")[-1]))


def test_every_kernel_has_both_tiers_and_dispatch_follows_use_kernels():
    for name in NAMES:
        assert name in tg.kernels.loaded, tg.kernels.failed.get(name)
        assert backend.registered_kernels()[(name, "numpy")] == ["fast", "reference"]
    with kernels_enabled(True):
        # by module and name: a second import of the kernels package (another sys.path entry)
        # makes second function objects of the same kernels
        assert _same_function(backend.kernel("gelu_tanh", np).forward, k_gelu_tanh.gelu_tanh_forward_numba)
        assert _same_function(backend.kernel("softmax_cross_entropy", np), k_ce.softmax_cross_entropy_numba)
        backend.use_kernels(False)
        assert backend.kernel("layer_norm", np) is LAYER_NORM_REFERENCE
        assert backend.kernel("dropout", np) is _dropout_mask_reference


# ----------------------------------------------------------------------------- GELU
SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, 3.0e38, -3.0e38, 1e-38, -1e-45, 10.0, -10.0, -5.5]
elements = st.floats(-12, 12, width=32) | st.sampled_from(SPECIALS)


@settings(max_examples=15)
@given(hnp.arrays(floats, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=9),
                  elements=elements), st.booleans())
def test_gelu_kernels_match_reference_hypothesis(x, transposed):
    x = _strided(x, transposed)
    g = np.linspace(-2, 2, x.size, dtype=x.dtype).reshape(x.shape)
    with np.errstate(all="ignore"):
        y, t = k_gelu_tanh.gelu_tanh_forward_numba(x)
        y_ref, t_ref = GELU_TANH_REFERENCE.forward(x)
        _close(y, y_ref, x.dtype)
        _close(t, t_ref, x.dtype)
        dx = k_gelu_tanh.gelu_tanh_backward_numba(g, x, t)
        _close(dx, GELU_TANH_REFERENCE.backward(g, x, t_ref), x.dtype)
        y, slope = k_gelu_erf.gelu_erf_forward_numba(x)
        y_ref, slope_ref = GELU_ERF_REFERENCE.forward(x)
        _close(y, y_ref, x.dtype)
        _close(slope, slope_ref, x.dtype)
        assert y.shape == x.shape and y.dtype == x.dtype


def test_gelu_erf_float32_dense_grid_tails_and_specials():
    """The rational Φ against the reference's erf over [-14, 14] (2·10⁶ points) and the specials:
    |Δy| ≤ 1e-7 + 2e-6 |y| everywhere, NaN where the reference has NaN, signed zeros kept."""
    x = np.concatenate([np.linspace(-14, 14, 2_000_001), SPECIALS]).astype(np.float32)
    with np.errstate(all="ignore"):
        y, slope = k_gelu_erf.gelu_erf_forward_numba(x)
        y_ref, slope_ref = GELU_ERF_REFERENCE.forward(x)
    np.testing.assert_allclose(y, y_ref, rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(slope, slope_ref, rtol=2e-6, atol=1e-7)
    np.testing.assert_array_equal(np.signbit(y[np.isnan(y) == 0]), np.signbit(y_ref[np.isnan(y_ref) == 0]))
    # relative accuracy where Φ is tiny, against float64 truth (e^(-x²/2) of a float32 x² is good
    # to about 40 float32 roundings at x = -9; an erf good to 1e-7 absolute would be off by 25% at -5)
    tail = np.linspace(-9, -3, 601).astype(np.float32)
    truth = np.array([0.5 * v * math.erfc(-v / math.sqrt(2)) for v in tail.astype(np.float64)])
    np.testing.assert_allclose(k_gelu_erf.gelu_erf_forward_numba(tail)[0], truth, rtol=1e-5)
    y, none = k_gelu_erf.gelu_erf_forward_numba(x[:100], keep_slope=False)
    assert none is None and np.array_equal(y, k_gelu_erf.gelu_erf_forward_numba(x[:100])[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_forward_blocks_give_the_same_bits_as_one_pass(dtype, monkeypatch):
    """The forwards run in blocks of CHUNK entries; a size that is not a multiple of it (and one
    smaller than a block, and an empty one) must give exactly what one pass over the whole array
    gives, in y and in what is kept for the backward."""
    rng = np.random.default_rng(3)
    sizes = [2 * k_gelu_tanh.CHUNK + 77, k_gelu_erf.CHUNK + 1, 1000, 0]
    arrays = [(rng.standard_normal(n) * 4).astype(dtype).reshape(-1, 1) for n in sizes]
    blocked = [(k_gelu_tanh.gelu_tanh_forward_numba(x), k_gelu_erf.gelu_erf_forward_numba(x),
                k_gelu_erf.gelu_erf_forward_numba(x, keep_slope=False)) for x in arrays]
    monkeypatch.setattr(k_gelu_tanh, "CHUNK", 1 << 40)
    monkeypatch.setattr(k_gelu_erf, "CHUNK", 1 << 40)
    for x, (tanh_pair, erf_pair, erf_only) in zip(arrays, blocked):
        for got, want in ((tanh_pair, k_gelu_tanh.gelu_tanh_forward_numba(x)),
                          (erf_pair, k_gelu_erf.gelu_erf_forward_numba(x))):
            assert got[0].shape == x.shape and got[1].shape == x.shape
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
        assert erf_only[1] is None
        np.testing.assert_array_equal(erf_only[0], erf_pair[0])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float16_and_float64_fall_back_to_the_reference(approximate):
    for dtype in (np.float16, np.float64):
        x = np.linspace(-4, 4, 33).astype(dtype)
        tier = backend.kernel("gelu_tanh" if approximate == "tanh" else "gelu_erf", np)
        ref = GELU_TANH_REFERENCE if approximate == "tanh" else GELU_ERF_REFERENCE
        got, want = tier.forward(x), ref.forward(x)
        assert got[0].dtype == dtype
        if dtype == np.float16 or approximate == "none":   # the very same code ran
            np.testing.assert_array_equal(got[0], want[0])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("shape", [(12 * 4, 64), (0, 5), (7,)])
def test_gelu_op_matches_torch_forward_and_backward(tiers, approximate, shape):
    x = np.random.default_rng(1).normal(scale=3.0, size=shape).astype(np.float32)
    g = np.random.default_rng(2).normal(size=shape).astype(np.float32)
    ours = tg.tensor(x, requires_grad=True)
    y = tg.gelu(ours, approximate=approximate)
    y.backward(tg.tensor(g))
    theirs = torch.tensor(x, requires_grad=True)
    y_t = torch.nn.functional.gelu(theirs, approximate=approximate)
    y_t.backward(torch.tensor(g))
    np.testing.assert_allclose(y.detach().numpy(), y_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradcheck_and_gradgradcheck_float64(tiers, approximate):
    x = tg.tensor(np.random.default_rng(3).normal(scale=2.0, size=(3, 4)), requires_grad=True)
    assert gradcheck(lambda a: tg.gelu(a, approximate=approximate), (x,))
    assert gradgradcheck(lambda a: tg.gelu(a, approximate=approximate), (x,))


# ----------------------------------------------------------------------------- layer norm
def _layer_norm_truth(x, w, b, eps):
    """Layer norm of the very same (float32) numbers, in float64."""
    x = x.astype(np.float64)
    y = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps)
    return y * (1 if w is None else w) + (0 if b is None else b)


def _offset_bound(x, w):
    """What rounding μ to the dtype can cost, per row: half a spacing of the data, times r and |w|."""
    x64 = x.astype(np.float64)
    rstd = 1 / np.sqrt(x64.var(-1, keepdims=True) + 1e-5)
    return np.spacing(np.abs(x).max(-1, keepdims=True)) * rstd * (1 if w is None else np.abs(w).max()) + 1e-5


@settings(max_examples=15)
@given(st.integers(0, 5), st.integers(2, 70), floats, st.sampled_from(["wb", "w", "b", ""]), st.booleans(),
       st.sampled_from([0.0, 1e4]))
def test_layer_norm_kernel_matches_reference_hypothesis(rows, n, dtype, params, transposed, offset):
    rng = np.random.default_rng(rows * 100 + n)
    x = _strided((offset + rng.normal(size=(rows, n))).astype(dtype), transposed)
    w = rng.normal(size=n).astype(dtype) if "w" in params else None
    b = rng.normal(size=n).astype(dtype) if "b" in params else None
    g = rng.normal(size=(rows, n)).astype(dtype)
    y, mean, rstd = k_layer_norm.layer_norm_forward_numba(x, w, b, 1e-5)
    y_ref, mean_ref, rstd_ref = LAYER_NORM_REFERENCE.forward(x, w, b, 1e-5)
    grads = k_layer_norm.layer_norm_backward_numba(g, x, w, mean, rstd, True, True, True)
    grads_ref = LAYER_NORM_REFERENCE.backward(g, x, w, mean_ref, rstd_ref, True, True, True)
    assert [a is None for a in grads] == [a is None for a in grads_ref] == [False, w is None, False]
    if offset:   # both round μ (differently): each is that close to the truth
        assert np.all(np.abs(y - _layer_norm_truth(x, w, b, 1e-5)) <= _offset_bound(x, w))
        return
    _close(y, y_ref, dtype, 30.0)   # the sums run in other orders (float64 here, pairwise there)
    _close(rstd, rstd_ref, dtype, 30.0)
    for got, want in zip(grads, grads_ref):
        if got is not None:
            _close(got, want, dtype, 300.0)


@pytest.mark.parametrize("shape, eps", [((768, 128), 1e-5), ((2, 16, 384), 1e-12), ((3, 1), 1e-5)])
@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_layer_norm_op_matches_torch(tiers, shape, eps, offset):
    rng = np.random.default_rng(4)
    x = (offset + rng.normal(size=shape)).astype(np.float32)
    w, b = rng.normal(size=shape[-1:]).astype(np.float32), rng.normal(size=shape[-1:]).astype(np.float32)
    g = rng.normal(size=shape).astype(np.float32)
    ours = [tg.tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    y = F.layer_norm(ours[0], shape[-1:], ours[1], ours[2], eps)
    y.backward(tg.tensor(g))
    y_t = torch.nn.functional.layer_norm(theirs[0], shape[-1:], theirs[1], theirs[2], eps)
    y_t.backward(torch.tensor(g))
    y, y_t = y.detach().numpy(), y_t.detach().numpy()
    if offset:   # float32 μ of numbers at 1e4 is off by up to half a spacing (5e-4) in either library
        truth = _layer_norm_truth(x, w, b, eps)
        limit = _offset_bound(x, w)   # the kernel's float64 row sums: within half a spacing
        if not tiers:                 # the reference's float32 pairwise mean: about torch's error
            limit = np.maximum(limit, 4 * np.abs(y_t - truth).max())
        assert np.all(np.abs(y - truth) <= limit)
        if shape[-1] == 1:   # x̂ = 0 exactly here; torch's x − μ at 1e4 is rounding noise times 1/√ε
            return
        grad_tol = dict(rtol=1e-2, atol=2e-2 * np.abs(theirs[0].grad.numpy()).max())
    else:
        np.testing.assert_allclose(y, y_t, rtol=1e-4, atol=2e-5)
        grad_tol = dict(rtol=1e-3, atol=1e-3)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), **grad_tol)


def test_layer_norm_float16_empty_and_other_normalized_shapes():
    x16 = np.linspace(-2, 2, 24).astype(np.float16).reshape(4, 6)
    got, want = k_layer_norm.layer_norm_forward_numba(x16, None, None, 1e-5), LAYER_NORM_REFERENCE.forward(
        x16, None, None, 1e-5)
    assert got[0].dtype == np.float16 and np.array_equal(got[0], want[0])
    empty = k_layer_norm.layer_norm_forward_numba(np.zeros((0, 5), np.float32), None, None, 1e-5)
    assert empty[0].shape == (0, 5)
    x = tg.tensor(np.random.default_rng(5).normal(size=(2, 3, 4)), requires_grad=True)
    y = F.layer_norm(x, (3, 4))   # two normalised dims: the general reference
    assert abs(float(y.detach().numpy().mean())) < 1e-12 and y.grad_fn is not None


def test_layer_norm_gradcheck_and_gradgradcheck_float64(tiers):
    rng = np.random.default_rng(6)
    x = tg.tensor(rng.normal(size=(3, 5)), requires_grad=True)
    w = tg.tensor(rng.normal(size=5), requires_grad=True)
    b = tg.tensor(rng.normal(size=5), requires_grad=True)
    assert gradcheck(lambda a, c, d: F.layer_norm(a, (5,), c, d), (x, w, b))
    assert gradgradcheck(lambda a, c, d: F.layer_norm(a, (5,), c, d), (x, w, b))
    assert gradcheck(lambda a: F.layer_norm(a, (5,)), (x,))


# ----------------------------------------------------------------------------- cross-entropy
@settings(max_examples=15)
@given(st.integers(0, 12), st.integers(1, 70), floats, st.booleans(), st.booleans())
def test_softmax_cross_entropy_kernel_matches_reference_hypothesis(rows, classes, dtype, weighted, special):
    rng = np.random.default_rng(rows * 71 + classes)
    x = (rng.normal(size=(rows, classes)) * 5).astype(dtype)
    if special and x.size:
        x.flat[rng.integers(0, x.size, 2)] = [np.nan, np.inf]
    target = rng.integers(0, classes, size=rows)
    target[::3] = -100
    weight = rng.uniform(0.5, 2, size=classes).astype(dtype) if weighted else None
    safe, valid, row_weight = _row_weights(target, weight, -100, dtype)
    with np.errstate(all="ignore"):
        losses, dlogits = k_ce.softmax_cross_entropy_numba(x, safe, valid, row_weight)
        losses_ref, dlogits_ref = _softmax_cross_entropy_reference(x, safe, valid, row_weight)
    _close(losses, losses_ref, dtype, 10.0)
    _close(dlogits, dlogits_ref, dtype, 10.0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted, smoothing", [(False, 0.0), (True, 0.0), (True, 0.1)])
def test_cross_entropy_op_matches_torch(tiers, reduction, weighted, smoothing):
    rng = np.random.default_rng(7)
    x = (rng.normal(size=(12 * 8, 65)) * 3).astype(np.float32)
    target = rng.integers(0, 65, size=12 * 8)
    target[::5] = -100
    weight = rng.uniform(0.5, 2, size=65).astype(np.float32) if weighted else None
    ours = tg.tensor(x, requires_grad=True)
    loss = F.cross_entropy(ours, tg.tensor(target), None if weight is None else tg.tensor(weight),
                           reduction=reduction, label_smoothing=smoothing)
    (loss.sum() if reduction == "none" else loss).backward()
    theirs = torch.tensor(x, requires_grad=True)
    loss_t = torch.nn.functional.cross_entropy(theirs, torch.tensor(target),
                                               None if weight is None else torch.tensor(weight),
                                               reduction=reduction, label_smoothing=smoothing)
    (loss_t.sum() if reduction == "none" else loss_t).backward()
    np.testing.assert_allclose(loss.detach().numpy(), loss_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-4, atol=1e-7)


def test_cross_entropy_all_ignored_and_gradcheck_float64(tiers):
    x = tg.tensor(np.random.default_rng(8).normal(size=(4, 3)), requires_grad=True)
    target = tg.tensor(np.array([2, -100, 0, 1]))
    assert np.isnan(F.cross_entropy(tg.tensor(np.ones((2, 3), np.float32)), tg.tensor([-100, -100])).item())
    for reduction in ("mean", "none"):
        assert gradcheck(lambda a: F.cross_entropy(a, target, reduction=reduction), (x,))
    assert gradgradcheck(lambda a: F.cross_entropy(a, target), (x,))


# ----------------------------------------------------------------------------- the ops vs torch, drawn
@settings(max_examples=10)
@given(st.integers(1, 40), st.integers(2, 80), st.booleans(), st.sampled_from(["none", "tanh"]))
def test_ops_on_transposed_views_match_torch_hypothesis(rows, n, transposed, approximate):
    """GELU, layer_norm and cross_entropy (kernels on) on a drawn (rows, n) input that is a
    non-contiguous view (the transpose of a contiguous (n, rows) tensor) or contiguous."""
    rng = np.random.default_rng(rows * 997 + n)
    data = (rng.normal(size=(n, rows) if transposed else (rows, n)) * 2).astype(np.float32)
    w, b = rng.normal(size=n).astype(np.float32), rng.normal(size=n).astype(np.float32)
    target = rng.integers(0, n, size=rows)
    with kernels_enabled(True):
        ours = tg.tensor(data, requires_grad=True)
        x = ours.T if transposed else ours
        out = F.layer_norm(tg.gelu(x, approximate=approximate), (n,), tg.tensor(w), tg.tensor(b))
        loss = F.cross_entropy(out, tg.tensor(target))
        loss.backward()
    theirs = torch.tensor(data, requires_grad=True)
    x_t = theirs.T if transposed else theirs
    out_t = torch.nn.functional.layer_norm(torch.nn.functional.gelu(x_t, approximate=approximate), (n,),
                                           torch.tensor(w), torch.tensor(b))
    loss_t = torch.nn.functional.cross_entropy(out_t, torch.tensor(target))
    loss_t.backward()
    np.testing.assert_allclose(loss.item(), loss_t.item(), rtol=1e-5)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=2e-3, atol=1e-5)


# ----------------------------------------------------------------------------- dropout
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.999])
def test_dropout_mask_equals_reference_exactly(dtype, p):
    uniform = np.random.default_rng(9).random((33, 17))
    uniform[0, :3] = [p, 0.0, np.nextafter(p, 0)]   # the tie u = p is kept, as u >= p says
    got, want = k_dropout.dropout_mask_numba(uniform, p, dtype), _dropout_mask_reference(uniform, p, dtype)
    assert got.dtype == want.dtype == dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    strided = uniform[:, ::2]
    np.testing.assert_array_equal(k_dropout.dropout_mask_numba(strided, p, dtype),
                                  _dropout_mask_reference(strided, p, dtype))


def test_seeded_dropout_is_the_same_with_kernels_on_and_off():
    x = tg.randn(16, 24, requires_grad=True)
    results = []
    for enabled in (True, False):
        with kernels_enabled(enabled):
            tg.manual_seed(11)
            y = F.dropout(x, 0.3)
            y.sum().backward()
            results.append((y.detach().numpy().copy(), x.grad.numpy().copy()))
            x.grad = None
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    kept = results[0][0] != 0
    assert 0.5 < kept.mean() < 0.9


# ----------------------------------------------------------------------------- CuPy tiers (GPU only)
@pytest.mark.gpu
@cupy_tiers_test
def test_cupy_tiers_match_the_numpy_references(dtype):
    import cupy
    rng = np.random.default_rng(12)
    x = (rng.normal(size=(37, 300)) * 3).astype(dtype)
    g = rng.normal(size=x.shape).astype(dtype)
    w, b = rng.normal(size=300).astype(dtype), rng.normal(size=300).astype(dtype)
    dev = [cupy.asarray(a) for a in (x, g, w, b)]
    tanh_tier, erf_tier = backend.kernel("gelu_tanh", cupy), backend.kernel("gelu_erf", cupy)
    y, t = tanh_tier.forward(dev[0])
    y_ref, t_ref = GELU_TANH_REFERENCE.forward(x)
    _close(cupy.asnumpy(y), y_ref, dtype, 10.0)
    dx_ref = GELU_TANH_REFERENCE.backward(g, x, t_ref)
    _close(cupy.asnumpy(tanh_tier.backward(dev[1], dev[0], t)), dx_ref, dtype, 10.0)
    y, slope = erf_tier.forward(dev[0])
    for got, want in zip((y, slope), GELU_ERF_REFERENCE.forward(x)):
        _close(cupy.asnumpy(got), want, dtype, 10.0)
    ln = backend.kernel("layer_norm", cupy)
    y, mean, rstd = ln.forward(dev[0], dev[2], dev[3], 1e-5)
    y_ref, mean_ref, rstd_ref = LAYER_NORM_REFERENCE.forward(x, w, b, 1e-5)
    _close(cupy.asnumpy(y), y_ref, dtype, 30.0)
    for got, want in zip(ln.backward(dev[1], dev[0], dev[2], mean, rstd, True, True, True),
                         LAYER_NORM_REFERENCE.backward(g, x, w, mean_ref, rstd_ref, True, True, True)):
        _close(cupy.asnumpy(got), want, dtype, 300.0)
    target = rng.integers(0, 300, size=37)
    target[::4] = -100
    safe, valid, row_weight = _row_weights(target, None, -100, dtype)
    ce = backend.kernel("softmax_cross_entropy", cupy)
    got = ce(dev[0], cupy.asarray(safe), cupy.asarray(valid), cupy.asarray(row_weight))
    for a, want in zip(got, _softmax_cross_entropy_reference(x, safe, valid, row_weight)):
        _close(cupy.asnumpy(a), want, dtype, 10.0)
