"""``F.scaled_dot_product_attention`` beyond the generated op suite (``tests/op_registry/attention.py``
covers parity with torch, gradcheck and gradgradcheck without dropout):

* dropout: ``dropout_p=0`` is the no-dropout path, the mask has the right statistics and scaling, the
  forward and backward use the same mask, ``manual_seed`` reproduces it;
* the fused ``Function`` equals the composite ``attention_with_weights`` (values, gradients, second
  derivatives through ``create_graph``);
* rows with every key masked give 0 (and zero gradients) as in torch;
* errors name the op and the shapes.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu.autograd import gradcheck
from tinygrad_edu.nn.attention import attention_with_weights

torch.set_num_threads(1)


def qkv(shape_q=(2, 3, 5, 4), shape_k=(2, 3, 6, 4), ev=3, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    arrays = (rng.standard_normal(shape_q), rng.standard_normal(shape_k),
              rng.standard_normal(shape_k[:-1] + (ev,)))
    return [tg.tensor(a.astype(dtype), requires_grad=True) for a in arrays]


def grads(out, inputs, seed=1):
    g = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
    return tg.autograd.grad(out, inputs, grad_outputs=tg.tensor(g))


# ---------------------------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------------------------
def test_dropout_p_zero_is_the_no_dropout_path():
    q, k, v = qkv()
    plain = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    zero = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0, is_causal=True)
    np.testing.assert_array_equal(zero.detach().numpy(), plain.detach().numpy())
    for a, b in zip(grads(plain, [q, k, v]), grads(zero, [q, k, v])):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def _revealed_weights(p, seed=0, L=16, S=16, mask=None):
    """With v = identity (S x S) the output *is* the dropped attention matrix."""
    rng = np.random.default_rng(seed)
    q = tg.tensor(rng.standard_normal((4, 8, L, 5)))
    k = tg.tensor(rng.standard_normal((4, 8, S, 5)))
    v = tg.tensor(np.broadcast_to(np.eye(S), (4, 8, S, S)).copy())
    tg.manual_seed(seed)
    dropped = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p).numpy()
    _, weights = attention_with_weights(q, k, v, attn_mask=mask)
    return dropped, weights.numpy()


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_dropout_drops_a_fraction_p_and_scales_survivors_by_one_over_one_minus_p(p):
    dropped, weights = _revealed_weights(p)
    kept = dropped != 0
    assert abs(1 - kept.mean() - p) < 0.03, f"dropped fraction {1 - kept.mean():.3f}, expected {p}"
    np.testing.assert_allclose(dropped[kept], weights[kept] / (1 - p), rtol=1e-12)
    # the expected value is unchanged: averaged over many draws each row still sums to ~1
    assert abs(dropped.sum(-1).mean() - 1.0) < 0.05


def test_dropout_one_gives_zeros_and_masked_keys_stay_zero():
    dropped, _ = _revealed_weights(1.0)
    assert not dropped.any()
    allowed = np.tril(np.ones((16, 16), dtype=bool))
    dropped, weights = _revealed_weights(0.3, mask=tg.tensor(allowed))
    assert not dropped[..., ~allowed].any() and not weights[..., ~allowed].any()


def test_dropout_mask_is_reproducible_with_manual_seed_and_differs_without():
    q, k, v = qkv()
    tg.manual_seed(7)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.4).detach().numpy()
    tg.manual_seed(7)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.4).detach().numpy()
    c = F.scaled_dot_product_attention(q, k, v, dropout_p=0.4).detach().numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_dropout_forward_and_backward_use_the_same_mask():
    """Reseeding inside the function fixes the mask, so finite differences see one smooth function:
    gradcheck passes only if backward multiplies by the very mask forward drew."""
    q, k, v = qkv((2, 3, 4), (2, 5, 4), ev=2)

    def attend(q, k, v):
        tg.manual_seed(3)
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.4, is_causal=True)
    assert gradcheck(attend, [q, k, v], eps=1e-6, atol=1e-6, rtol=1e-4)


def test_dropout_gradient_of_v_is_the_dropped_weights_transposed():
    S = 6
    rng = np.random.default_rng(0)
    q, k = tg.tensor(rng.standard_normal((3, 5, 4))), tg.tensor(rng.standard_normal((3, S, 4)))
    eye = tg.tensor(np.broadcast_to(np.eye(S), (3, S, S)).copy(), requires_grad=True)
    tg.manual_seed(11)
    dropped = F.scaled_dot_product_attention(q, k, eye, dropout_p=0.5)
    g = rng.standard_normal(dropped.shape)
    grad_v, = tg.autograd.grad(dropped, [eye], grad_outputs=tg.tensor(g))
    expected = np.swapaxes(dropped.detach().numpy(), -1, -2) @ g      # (P ⊙ M)ᵀ · G
    np.testing.assert_allclose(grad_v.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_invalid_dropout_p_is_rejected():
    q, k, v = qkv()
    with pytest.raises(ValueError, match="scaled_dot_product_attention: dropout_p"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)


# ---------------------------------------------------------------------------------------------
# the fused Function against the composite
# ---------------------------------------------------------------------------------------------
MASKS = {
    "none": lambda L, S: {},
    "causal": lambda L, S: {"is_causal": True},
    "bool": lambda L, S: {"attn_mask": tg.tensor(np.random.default_rng(5).random((L, S)) < 0.6)},
    "float": lambda L, S: {"attn_mask": tg.tensor(np.random.default_rng(5).standard_normal((3, L, S)))},
}


@pytest.mark.parametrize("mask", list(MASKS))
def test_fused_equals_composite_values_and_gradients(mask):
    q, k, v = qkv()
    kw = MASKS[mask](5, 6)
    if "attn_mask" in kw and kw["attn_mask"].dtype != np.bool_:
        kw["attn_mask"].requires_grad_()
    inputs = [q, k, v] + ([kw["attn_mask"]] if kw.get("attn_mask") is not None
                          and kw["attn_mask"].requires_grad else [])
    fused = F.scaled_dot_product_attention(q, k, v, scale=0.3, **kw)
    composite, _ = attention_with_weights(q, k, v, scale=0.3, **kw)
    np.testing.assert_allclose(fused.detach().numpy(), composite.detach().numpy(), rtol=1e-12, atol=1e-13)
    for a, b in zip(grads(fused, inputs), grads(composite, inputs)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-11, atol=1e-12)


def test_fused_second_derivatives_equal_the_composites():
    """create_graph=True makes the fused backward recompute P with Tensor ops: the gradient of the
    gradient must equal the composite's, for every input."""
    q, k, v = qkv((2, 4, 3), (2, 5, 3), ev=2)
    results = []
    for fn in (lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True),
               lambda: attention_with_weights(q, k, v, is_causal=True)[0]):
        out = fn()
        first = tg.autograd.grad((out * out).sum(), [q, k, v], create_graph=True)
        second = tg.autograd.grad(sum((g * g).sum() for g in first), [q, k, v])
        results.append([g.numpy() for g in second])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_fused_is_one_graph_node():
    q, k, v = qkv()
    out = F.scaled_dot_product_attention(q, k, v)
    assert type(out.grad_fn).__name__ == "ScaledDotProductAttention"
    assert all(p is leaf for p, leaf in zip(out.grad_fn.parents, [q, k, v]))


def test_attention_with_weights_rows_sum_to_one_and_match_torch():
    q, k, v = qkv(dtype=np.float32)
    out, weights = attention_with_weights(q, k, v, is_causal=True)
    qt, kt = (torch.tensor(t.detach().numpy()) for t in (q, k))
    causal = torch.triu(torch.full((5, 6), float("-inf")), 1)
    ref = torch.softmax(qt @ kt.transpose(-1, -2) / 2.0 + causal, -1)      # scale 1/√4
    np.testing.assert_allclose(weights.detach().numpy(), ref.numpy(), atol=1e-6)
    np.testing.assert_allclose(weights.detach().numpy().sum(-1), 1.0, atol=1e-6)
    assert weights.requires_grad


# ---------------------------------------------------------------------------------------------
# rows with nothing to attend to, empty inputs
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_fully_masked_rows_give_zero_output_and_zero_gradient_like_torch(kind):
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 2))]
    allowed = rng.random((3, 5)) < 0.7
    allowed[1] = False
    if kind == "bool":
        mask_o, mask_t = tg.tensor(allowed), torch.tensor(allowed)
    else:
        m = np.where(allowed, rng.standard_normal((3, 5)), -np.inf)
        mask_o, mask_t = tg.tensor(m), torch.tensor(m)
    ours = [tg.tensor(a, requires_grad=True) for a in arrays]
    ref = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_o = F.scaled_dot_product_attention(*ours, attn_mask=mask_o)
    out_t = TF.scaled_dot_product_attention(*ref, attn_mask=mask_t)
    assert not out_o.detach().numpy()[:, 1].any()
    np.testing.assert_allclose(out_o.detach().numpy(), out_t.detach().numpy(), atol=1e-12)
    g = rng.standard_normal(out_t.shape)
    out_t.backward(torch.tensor(g))
    for x, xt in zip(tg.autograd.grad(out_o, ours, grad_outputs=tg.tensor(g)), ref):
        assert np.isfinite(x.numpy()).all()
        np.testing.assert_allclose(x.numpy(), xt.grad.numpy(), atol=1e-12)
    _, weights = attention_with_weights(*ours, attn_mask=mask_o)
    assert not weights.detach().numpy()[:, 1].any()


def test_no_keys_gives_zeros_like_torch():
    q, k, v = (tg.zeros(2, 3, 4), tg.zeros(2, 0, 4), tg.zeros(2, 0, 5))
    out = F.scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 3, 5) and not out.numpy().any()


# ---------------------------------------------------------------------------------------------
# errors name the op and the shapes
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes,kwargs,pattern", [
    (((3, 4), (5, 3), (5, 2)), {}, r"scaled_dot_product_attention: query and key must have the same "
                                   r"feature size.*\(3, 4\).*\(5, 3\)"),
    (((3, 4), (5, 4), (6, 2)), {}, r"scaled_dot_product_attention: key and value must have the same "
                                   r"length.*\(5, 4\).*\(6, 2\)"),
    (((4,), (5, 4), (5, 2)), {}, r"scaled_dot_product_attention: .*at least 2 dims.*\(4,\)"),
    (((2, 3, 4), (3, 5, 4), (3, 5, 2)), {}, r"scaled_dot_product_attention: the batch dims.*\(2, 3, 4\)"),
    (((3, 4), (5, 4), (5, 2)), {"attn_mask": np.ones((4, 5), bool)},
     r"scaled_dot_product_attention: attn_mask of shape \(4, 5\) does not broadcast.*L=3, S=5"),
    (((3, 4), (5, 4), (5, 2)), {"attn_mask": np.ones((3, 5), bool), "is_causal": True},
     r"scaled_dot_product_attention: pass either attn_mask or is_causal"),
])
def test_shape_errors_name_the_op_and_shapes(shapes, kwargs, pattern):
    q, k, v = (tg.zeros(*s) for s in shapes)
    with pytest.raises(ValueError, match=pattern):
        F.scaled_dot_product_attention(q, k, v, **kwargs)


def test_dtype_errors():
    q, k, v = tg.zeros(3, 4), tg.zeros(5, 4), tg.zeros(5, 2)
    with pytest.raises(TypeError, match=r"scaled_dot_product_attention: query, key and value must share"):
        F.scaled_dot_product_attention(q, k.double(), v)
    with pytest.raises(TypeError, match=r"scaled_dot_product_attention: attn_mask must be bool or have"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=tg.zeros(3, 5, dtype=tg.float64))
    with pytest.raises(TypeError, match=r"scaled_dot_product_attention: query must be a Tensor"):
        F.scaled_dot_product_attention(np.zeros((3, 4)), k, v)


# ---------------------------------------------------------------------------------------------
# heads that are views of a projection: the products are written in the projection's layout
# ---------------------------------------------------------------------------------------------
def _heads(lib, projection, layout, heads):
    """q, k, v (N, heads, S, d) as the models make them: BERT's three (N, S, H) projections
    reshaped and transposed, or GPT's one (N, S, 3H) projection viewed and permuted."""
    n, s, width = projection.shape
    if layout == "bert":
        d = width // (3 * heads)
        return [projection[..., i * heads * d:(i + 1) * heads * d].reshape(n, s, heads, d).transpose(1, 2)
                for i in range(3)]
    d = width // (3 * heads)
    qkv = projection.reshape(n, s, 3, heads, d).permute(2, 0, 3, 1, 4)
    return [qkv[0], qkv[1], qkv[2]]


@pytest.mark.parametrize("kernels", [True, False], ids=["kernels_on", "kernels_off"])
@pytest.mark.parametrize("layout", ["bert", "gpt"])
@pytest.mark.parametrize("masking", ["causal", "bias"])
def test_heads_as_views_match_torch_and_the_output_keeps_their_layout(kernels, layout, masking):
    from tinygrad_edu import backend
    rng = np.random.default_rng(5)
    n, s, heads, d = 3, 7, 2, 4
    base = rng.standard_normal((n, s, 3 * heads * d)).astype(np.float32)
    bias = np.where(rng.random((n, 1, 1, s)) < 0.3, -np.inf, 0.0).astype(np.float32)
    bias[..., 0] = 0.0
    g = rng.standard_normal((n, heads, s, d)).astype(np.float32)
    previous = backend.use_kernels(kernels)
    try:
        x = tg.tensor(base, requires_grad=True)
        q, k, v = _heads(tg, x, layout, heads)
        kw = dict(is_causal=True) if masking == "causal" else dict(attn_mask=tg.tensor(bias))
        y = F.scaled_dot_product_attention(q, k, v, **kw)
        y.backward(tg.tensor(g))
    finally:
        backend.use_kernels(previous)
    xt = torch.tensor(base, requires_grad=True)
    qt, kt, vt = _heads(torch, xt, layout, heads)
    kwt = dict(is_causal=True) if masking == "causal" else dict(attn_mask=torch.tensor(bias))
    yt = TF.scaled_dot_product_attention(qt, kt, vt, **kwt)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)
    # the output is laid out as the heads are, (N, S, heads, d) in memory: the models' transpose back
    # to (N, S, heads·d) is a view, not a copy
    assert y.transpose(1, 2).is_contiguous()
