"""The attention softmax, Adam step and embedding backward kernels: fast tiers against their NumPy
references (kernels on / off) and against PyTorch, with hypothesis-drawn shapes, masks, dtypes, NaN/Inf,
empty and non-contiguous inputs; gradients by float64 finite differences."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import backend
from tinygrad_edu.autograd.gradcheck import gradcheck
from tinygrad_edu.kernels import adam_step as adam_kernel
from tinygrad_edu.kernels.adam_step import adam_step_numba
from tinygrad_edu.kernels.attention_softmax import attention_softmax_backward_numba, attention_softmax_numba
from tinygrad_edu.kernels.embedding_backward import embedding_backward_numba
from tinygrad_edu.nn.attention import (_attention_softmax_backward_reference, _attention_softmax_reference,
                                       _causal_blocked)
from tinygrad_edu.nn.embedding import _embedding_backward_reference
from tinygrad_edu.optim.adam import _adam_step_reference

from kernel_test_helpers import (FLOAT_DTYPES as DTYPES, cupy_tiers_test, kernels_enabled,
                                 kernels_on_off_fixture, tolerances)

TOL = tolerances(float32_atol=2e-7)
kernels = kernels_on_off_fixture("kernels", ids=["kernels_on", "kernels_off"])


def _is(fn, name):
    return getattr(fn, "__name__", "") == name


def test_fast_tiers_are_registered_and_dispatched():
    with kernels_enabled(True):
        for name, fast in [("attention_softmax", "attention_softmax_numba"), ("adam_step", "adam_step_numba"),
                           ("embedding_backward", "embedding_backward_numba")]:
            assert backend.registered_kernels()[(name, "numpy")] == ["fast", "reference"]
            backend.use_kernels(True)
            chosen = backend.kernel(name, np)
            assert _is(getattr(chosen, "forward", chosen), fast)
            backend.use_kernels(False)
            chosen = backend.kernel(name, np)
            assert not _is(getattr(chosen, "forward", chosen), fast)
        assert _is(backend.kernel("attention_softmax", np).backward, "_attention_softmax_backward_reference")


# ============================================================================ attention softmax
MASKS = ["none", "causal", "bool", "bias", "bias+bool"]


@st.composite
def softmax_case(draw):
    dtype = draw(DTYPES)
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    L, S = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    scores = (rng.standard_normal(batch + (L, S)) * 3).astype(dtype)
    if draw(st.booleans()):                            # a few special values
        flat = scores.reshape(-1)
        spots = rng.integers(0, flat.size, 2)
        flat[spots] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    kind = draw(st.sampled_from(MASKS))
    bias = blocked = None
    if kind == "causal":
        blocked = _causal_blocked(L, S)
    if "bool" in kind:                                 # broadcast over the heads, some rows all blocked
        blocked = rng.random(batch[:1] + (1,) * max(len(batch) - 1, 0) + (L, S)) < 0.4
        blocked[..., 0, :] = True
    if "bias" in kind:
        bias = np.where(rng.random(batch[:1] + (1, S) if batch else (1, S)) < 0.3, -np.inf,
                        rng.standard_normal(batch[:1] + (1, S) if batch else (1, S))).astype(dtype)
    return scores, draw(st.sampled_from([1.0, 0.125, 2.5])), bias, blocked


@settings(max_examples=40)
@given(softmax_case())
def test_attention_softmax_fast_matches_reference(case):
    scores, scale, bias, blocked = case
    ref = _attention_softmax_reference(scores.copy(), scale, bias, blocked)
    fast = attention_softmax_numba(scores.copy(), scale, bias, blocked)
    assert fast.dtype == ref.dtype == scores.dtype and fast.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(ref))
    np.testing.assert_allclose(fast, ref, **TOL[scores.dtype.type])
    dead = np.isneginf(np.where(np.broadcast_to(blocked, ref.shape) if blocked is not None else False,
                                -np.inf, scores * scale + (0 if bias is None else bias))).all(-1)
    assert (fast[dead] == 0).all()                     # fully masked rows: 0, as PyTorch


@settings(max_examples=30)
@given(softmax_case())
def test_attention_softmax_backward_fast_matches_reference(case):
    scores, scale, bias, blocked = case
    p = _attention_softmax_reference(scores.copy(), scale, bias, blocked)
    grad_p = np.random.default_rng(1).standard_normal(p.shape).astype(p.dtype)
    ref = _attention_softmax_backward_reference(p, grad_p.copy())
    fast = attention_softmax_backward_numba(p, grad_p.copy())
    tol = TOL[p.dtype.type]
    np.testing.assert_allclose(fast, ref, rtol=tol["rtol"] * 4, atol=tol["atol"] * 4)


def test_attention_softmax_odd_inputs_fall_back():
    rng = np.random.default_rng(0)
    half = rng.standard_normal((2, 3, 3)).astype(np.float16)
    causal = _causal_blocked(3, 3)
    out = attention_softmax_numba(half.copy(), 0.5, None, causal)
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, _attention_softmax_reference(half.copy(), 0.5, None, causal))
    empty = np.zeros((2, 0, 4), np.float32)
    assert attention_softmax_numba(empty, 1.0).shape == (2, 0, 4)
    five = rng.standard_normal((1, 2, 1, 3, 4))          # 5 dims, and a bias that enlarges the scores
    np.testing.assert_allclose(attention_softmax_numba(five.copy(), 1.0),
                               _attention_softmax_reference(five.copy(), 1.0), rtol=1e-13)
    small, big_bias = rng.standard_normal((3, 4)), rng.standard_normal((2, 3, 4))
    np.testing.assert_allclose(attention_softmax_numba(small.copy(), 1.0, big_bias),
                               _attention_softmax_reference(small.copy(), 1.0, big_bias), rtol=1e-13)
    strided = rng.standard_normal((3, 8, 4))[:, ::2]      # not C-contiguous
    np.testing.assert_allclose(attention_softmax_numba(strided.copy(order="K")[:, :], 1.0),
                               _attention_softmax_reference(strided.copy(), 1.0), rtol=1e-13)


def _sdpa_inputs(rng, dtype, B=2, H=3, L=5, S=5, E=4, transposed=False):
    """q, k, v as arrays, as leaf tensors, and as the (B, H, ·, E) tensors passed to attention: with
    ``transposed`` the leaves are (B, ·, H, E) and the inputs non-contiguous views, as in GPT."""
    shapes = [(B, n, H, E) if transposed else (B, H, n, E) for n in (L, S, S)]
    arrays = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    leaves = [tg.tensor(a, requires_grad=True) for a in arrays]
    inputs = [t.transpose(1, 2) for t in leaves] if transposed else leaves
    return arrays, leaves, inputs


@pytest.mark.parametrize("mask", ["none", "causal", "bool", "bias"])
@pytest.mark.parametrize("transposed", [False, True])
def test_sdpa_matches_torch_forward_and_backward(kernels, mask, transposed):
    rng = np.random.default_rng(3)
    arrays, leaves, (q, k, v) = _sdpa_inputs(rng, np.float32, L=6, S=6, transposed=transposed)
    attn = None
    if mask == "bool":
        attn = rng.random((2, 1, 6, 6)) < 0.7
        attn[0, 0, 2] = False                          # one row with nothing to attend to
    if mask == "bias":
        attn = np.where(rng.random((2, 1, 1, 6)) < 0.3, -1e4, 0.0).astype(np.float32)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=None if attn is None else tg.tensor(attn),
                                         is_causal=mask == "causal")
    g = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(tg.tensor(g))
    tleaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    views = [t.transpose(1, 2) for t in tleaves] if transposed else tleaves
    tout = torch.nn.functional.scaled_dot_product_attention(
        *views, attn_mask=None if attn is None else torch.tensor(attn), is_causal=mask == "causal")
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    for leaf, tleaf in zip(leaves, tleaves):
        np.testing.assert_allclose(leaf.grad.numpy(), tleaf.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_sdpa_kernels_on_equal_off():
    results = []
    for on in (True, False):
        with kernels_enabled(on):
            _, _, (q, k, v) = _sdpa_inputs(np.random.default_rng(5), np.float32, L=7, S=7)
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            (out * out).sum().backward()
            results.append([out.detach().numpy()] + [t.grad.numpy() for t in (q, k, v)])
    for fast, ref in zip(*results):
        np.testing.assert_allclose(fast, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mask", ["causal", "bias"])
def test_sdpa_gradcheck_float64(kernels, mask):
    rng = np.random.default_rng(7)
    _, _, (q, k, v) = _sdpa_inputs(rng, np.float64, B=1, H=2, L=3, S=3, E=2)
    bias = tg.tensor(rng.standard_normal((1, 1, 3, 3)), requires_grad=True) if mask == "bias" else None
    inputs = (q, k, v) + ((bias,) if bias is not None else ())

    def fn(q, k, v, *rest):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=rest[0] if rest else None,
                                              is_causal=mask == "causal")
    assert gradcheck(fn, inputs)


def test_sdpa_double_backward_still_differentiable(kernels):
    rng = np.random.default_rng(8)
    _, _, (q, k, v) = _sdpa_inputs(rng, np.float64, B=1, H=1, L=3, S=3, E=2)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    (gq,) = tg.autograd.grad((out * out).sum(), [q], create_graph=True)
    gq.sum().backward()
    assert k.grad is not None and np.isfinite(k.grad.numpy()).all()


def test_sdpa_dropout_uses_the_kernel_for_the_softmax(monkeypatch):
    calls = []
    fast = backend._KERNELS[("attention_softmax", "numpy")]["fast"]
    counting = SimpleNamespace(forward=lambda *a: calls.append("forward") or fast.forward(*a),
                               backward=lambda *a: calls.append("backward") or fast.backward(*a))
    monkeypatch.setitem(backend._KERNELS[("attention_softmax", "numpy")], "fast", counting)
    with kernels_enabled(True):
        _, _, (q, k, v) = _sdpa_inputs(np.random.default_rng(9), np.float32)
        tg.manual_seed(0)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, is_causal=True)
        out.sum().backward()
    assert calls == ["forward", "backward"] and np.isfinite(q.grad.numpy()).all()


# ============================================================================ Adam step
def _adam_run(step_fn, arrays, grads, amsgrad, **options):
    param, m, v = (a.copy() for a in arrays)
    vmax = np.zeros_like(param) if amsgrad else None
    for t, g in enumerate(grads, start=1):
        step_fn(param, g, m, v, vmax, step=t, **options)
    return param, m, v, vmax


@settings(max_examples=12)
@given(dtype=DTYPES, amsgrad=st.booleans(), maximize=st.booleans(), decoupled=st.booleans(),
       weight_decay=st.sampled_from([0.0, 0.01, 0.3]), beta1=st.sampled_from([0.9, 0.3, 0.0]),
       special=st.booleans())
def test_adam_step_fast_equals_reference_over_20_steps(dtype, amsgrad, maximize, decoupled, weight_decay,
                                                       beta1, special):
    rng = np.random.default_rng(11)
    n = adam_kernel.MIN_SIZE + 37
    arrays = (rng.standard_normal(n).astype(dtype), np.zeros(n, dtype), np.zeros(n, dtype))
    grads = [(rng.standard_normal(n) * (t % 4)).astype(dtype) for t in range(20)]
    if special:
        grads[3][:3] = [np.nan, np.inf, -np.inf]
    options = dict(lr=1e-2, beta1=beta1, beta2=0.99, eps=1e-8, weight_decay=weight_decay, decoupled=decoupled,
                   maximize=maximize)
    ref = _adam_run(_adam_step_reference, arrays, grads, amsgrad, **options)
    fast = _adam_run(adam_step_numba, arrays, grads, amsgrad, **options)
    for a, b in zip(ref, fast):
        if a is not None:
            np.testing.assert_array_equal(a, b)        # same operations, same order: bit for bit


def test_adam_step_other_layouts_fall_back():
    rng = np.random.default_rng(12)
    n = adam_kernel.MIN_SIZE * 2
    half = rng.standard_normal((2, n)).astype(np.float16)
    for param, grad in [(half[0], half[1]),
                        (rng.standard_normal((n, 2))[:, 0], rng.standard_normal(n)),      # strided
                        (rng.standard_normal(5), rng.standard_normal(5))]:                # tiny
        options = dict(step=1, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1, decoupled=True,
                       maximize=False)
        a, b = param.copy(), param.copy()
        ma, va = np.zeros_like(a), np.zeros_like(a)
        mb, vb = np.zeros_like(b), np.zeros_like(b)
        _adam_step_reference(a, grad, ma, va, None, **options)
        adam_step_numba(b, grad, mb, vb, None, **options)
        np.testing.assert_array_equal(a, b)
        assert b.dtype == param.dtype


@pytest.mark.parametrize("name, kwargs", [("AdamW", dict(weight_decay=0.1)),
                                          ("Adam", dict(weight_decay=0.05, amsgrad=True)),
                                          ("Adam", dict(maximize=True))])
def test_adam_optimizers_match_torch_on_a_large_tensor(kernels, name, kwargs):
    rng = np.random.default_rng(13)
    init = rng.standard_normal((64, 80)).astype(np.float32)   # 5120 entries: above MIN_SIZE
    assert init.size >= adam_kernel.MIN_SIZE
    p, tp = tg.tensor(init.copy(), requires_grad=True), torch.tensor(init.copy(), requires_grad=True)
    opt = getattr(tg.optim, name)([p], lr=1e-2, betas=(0.9, 0.99), **kwargs)
    topt = getattr(torch.optim, name)([tp], lr=1e-2, betas=(0.9, 0.99), **kwargs)
    for t in range(20):
        g = (rng.standard_normal(init.shape) * (1 + t % 3)).astype(np.float32)
        p.grad, tp.grad = tg.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(opt.state[p]["exp_avg_sq"], topt.state[tp]["exp_avg_sq"].numpy(), rtol=1e-5,
                               atol=1e-9)


# ============================================================================ embedding backward
@settings(max_examples=25)
@given(dtype=DTYPES, K=st.integers(0, 40), V=st.integers(1, 12), D=st.integers(1, 9),
       padding=st.one_of(st.none(), st.integers(0, 11)), seed=st.integers(0, 2 ** 16), special=st.booleans())
def test_embedding_backward_fast_equals_reference(dtype, K, V, D, padding, seed, special):
    rng = np.random.default_rng(seed)
    padding = None if padding is None else padding % V
    indices = rng.integers(0, V, K)
    rows = rng.standard_normal((K, D)).astype(dtype)
    if special and K:
        rows[0, 0] = np.nan
        rows[-1, -1] = np.inf
    ref = _embedding_backward_reference(indices, rows, V, padding)
    fast = embedding_backward_numba(indices, rows, V, padding)
    assert fast.shape == ref.shape == (V, D) and fast.dtype == dtype
    np.testing.assert_array_equal(fast, ref)           # same additions in the same order
    if padding is not None:
        assert (fast[padding] == 0).all()


def test_embedding_backward_odd_inputs_fall_back():
    rng = np.random.default_rng(14)
    indices = rng.integers(0, 5, 12)
    for rows in (rng.standard_normal((12, 3)).astype(np.float16), rng.standard_normal((3, 12)).T):
        np.testing.assert_array_equal(embedding_backward_numba(indices, rows, 5, 2),
                                      _embedding_backward_reference(indices, rows, 5, 2))
    rows = rng.standard_normal((12, 3))
    np.testing.assert_array_equal(embedding_backward_numba(indices.astype(np.int32), rows, 5, None),
                                  _embedding_backward_reference(indices, rows, 5, None))


@pytest.mark.parametrize("padding_idx, scale_grad_by_freq", [(None, False), (1, False), (2, True)])
def test_embedding_matches_torch(kernels, padding_idx, scale_grad_by_freq):
    rng = np.random.default_rng(15)
    weight = rng.standard_normal((7, 5)).astype(np.float32)
    idx = rng.integers(0, 7, (4, 6))
    idx[0, :3] = padding_idx if padding_idx is not None else 0
    g = rng.standard_normal((4, 6, 5)).astype(np.float32)
    g[0, 0, 0] = np.nan                                 # at a padding position: the padding row stays 0
    w, tw = tg.tensor(weight, requires_grad=True), torch.tensor(weight, requires_grad=True)
    F.embedding(tg.tensor(idx), w, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq).backward(
        tg.tensor(g))
    torch.nn.functional.embedding(torch.tensor(idx), tw, padding_idx=padding_idx,
                                  scale_grad_by_freq=scale_grad_by_freq).backward(torch.tensor(g))
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_embedding_backward_of_a_sum_counts_the_lookups(kernels):
    w = tg.tensor(np.zeros((6, 4), np.float32), requires_grad=True)
    idx = np.array([[5, 0, 5], [2, 5, 3]])
    F.embedding(tg.tensor(idx), w, padding_idx=3).sum().backward()   # g may arrive as a broadcast view
    expected = np.bincount(idx.reshape(-1), minlength=6).astype(np.float32)
    expected[3] = 0
    np.testing.assert_array_equal(w.grad.numpy(), np.repeat(expected[:, None], 4, axis=1))


def test_embedding_gradcheck_and_double_backward(kernels):
    rng = np.random.default_rng(16)
    w = tg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    idx = tg.tensor(np.array([[0, 2, 2], [3, 0, 1]]))
    assert gradcheck(lambda w: F.embedding(idx, w) ** 2, (w,))  # (padding: no gradient by design)
    out = (F.embedding(idx, w) ** 2).sum()
    (gw,) = tg.autograd.grad(out, [w], create_graph=True)
    (gw * gw).sum().backward()
    counts = np.bincount([0, 2, 2, 3, 0, 1])[:, None]
    np.testing.assert_allclose(w.grad.numpy(), 8 * w.detach().numpy() * counts ** 2, rtol=1e-12)


# ============================================================================ CuPy tiers (GPU only)
@pytest.mark.gpu
@cupy_tiers_test
def test_cupy_tiers_match_the_references(dtype):
    import cupy

    from tinygrad_edu.kernels.adam_step import adam_step_cupy
    from tinygrad_edu.kernels.attention_softmax import attention_softmax_backward_cupy, attention_softmax_cupy
    from tinygrad_edu.kernels.embedding_backward import embedding_backward_cupy
    rng = np.random.default_rng(20)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    scores = rng.standard_normal((2, 3, 70, 200)).astype(dtype)
    scores[0, 0, 5, 7] = np.nan
    bias = np.where(rng.random((2, 1, 1, 200)) < 0.2, -np.inf, 0.0).astype(dtype)
    blocked = rng.random((70, 200)) < 0.3
    blocked[3] = True
    for b, m in [(None, _causal_blocked(70, 200)), (bias, None), (bias, blocked)]:
        ref = _attention_softmax_reference(scores.copy(), 0.3, b, m)
        fast = attention_softmax_cupy(cupy.asarray(scores), 0.3, None if b is None else cupy.asarray(b),
                                      None if m is None else cupy.asarray(m))
        np.testing.assert_allclose(cupy.asnumpy(fast), ref, **tol)
    grad_p = rng.standard_normal(ref.shape).astype(dtype)
    fast = attention_softmax_backward_cupy(cupy.asarray(ref), cupy.asarray(grad_p))
    expected = _attention_softmax_backward_reference(ref, grad_p.copy())
    np.testing.assert_allclose(cupy.asnumpy(fast), expected, **tol)
    indices, rows = rng.integers(0, 9, 300), rng.standard_normal((300, 17)).astype(dtype)
    fast = embedding_backward_cupy(cupy.asarray(indices), cupy.asarray(rows), 9, 4)
    np.testing.assert_allclose(cupy.asnumpy(fast), _embedding_backward_reference(indices, rows, 9, 4), **tol)
    n = 5000
    arrays = (rng.standard_normal(n).astype(dtype), np.zeros(n, dtype), np.zeros(n, dtype))
    grads = [rng.standard_normal(n).astype(dtype) for _ in range(5)]
    options = dict(lr=1e-2, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.1, decoupled=True, maximize=False)
    ref = _adam_run(_adam_step_reference, arrays, grads, True, **options)
    param, m, v = (cupy.asarray(a) for a in arrays)
    vmax = cupy.zeros_like(param)
    for t, g in enumerate(grads, start=1):
        adam_step_cupy(param, cupy.asarray(g), m, v, vmax, step=t, **options)
    for a, b in zip(ref, (param, m, v, vmax)):
        np.testing.assert_allclose(cupy.asnumpy(b), a, **tol)
