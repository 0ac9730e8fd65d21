"""The transformer training step's linear layers: ``F.linear`` does every product on the flattened
(rows, features) matrices (one BLAS call per product instead of one per leading index).  Checked
against PyTorch for every batch rank (none, 1-D, 2-D, 3-D leading dims, empty ones), strided
inputs and gradients, float32 and float64, with finite differences and second derivatives, and
that BERT's layers built on it still match ``torch.nn.functional``."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu.autograd.gradcheck import gradcheck, gradgradcheck
from tinygrad_edu.nn.linear import LinearFunction

TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


def _strided(a, how):
    """``a`` itself, a transposed view of a transposed copy, or every other row of a wider array:
    three layouts holding the same values."""
    if how == "transposed" and a.ndim >= 2:
        return np.ascontiguousarray(np.swapaxes(a, 0, -1)).swapaxes(0, -1)
    if how == "sliced" and a.ndim >= 1:
        wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        wide[..., ::2] = a
        return wide[..., ::2]
    return a


@settings(max_examples=40, deadline=None)
@given(lead=st.sampled_from([(), (0,), (3,), (2, 3), (0, 4), (2, 1, 3), (2, 2, 2, 2)]),
       n_in=st.integers(1, 6), n_out=st.integers(1, 5), bias=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]),
       layout=st.sampled_from(["contiguous", "transposed", "sliced"]), seed=st.integers(0, 2 ** 16))
def test_linear_matches_torch_for_every_batch_rank_and_layout(lead, n_in, n_out, bias, dtype, layout, seed):
    rng = np.random.default_rng(seed)
    x = _strided(rng.standard_normal(lead + (n_in,)).astype(dtype), layout)
    w = rng.standard_normal((n_out, n_in)).astype(dtype)
    b = rng.standard_normal(n_out).astype(dtype) if bias else None
    g = _strided(rng.standard_normal(lead + (n_out,)).astype(dtype), layout)

    tx, tw = tg.tensor(x, requires_grad=True), tg.tensor(w, requires_grad=True)
    tb = tg.tensor(b, requires_grad=True) if bias else None
    y = F.linear(tx, tw, tb)
    y.backward(tg.tensor(g))

    px, pw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    pb = torch.tensor(b, requires_grad=True) if bias else None
    py = torch.nn.functional.linear(px, pw, pb)
    py.backward(torch.tensor(g))

    tol = TOL[dtype]
    assert y.shape == tuple(py.shape) and y.dtype == dtype
    np.testing.assert_allclose(y.detach().numpy(), py.detach().numpy(), **tol)
    assert tx.grad.shape == x.shape
    np.testing.assert_allclose(tx.grad.numpy(), px.grad.numpy(), **tol)
    np.testing.assert_allclose(tw.grad.numpy(), pw.grad.numpy(), **tol)
    if bias:
        np.testing.assert_allclose(tb.grad.numpy(), pb.grad.numpy(), **tol)


def test_linear_flattened_product_equals_the_per_row_definition_exactly_in_float64_small():
    """Integer-valued float64 entries: every sum is exact, so the flattened GEMM must give exactly
    x @ Wᵀ + b computed row by row."""
    rng = np.random.default_rng(1)
    x = rng.integers(-4, 5, (3, 4, 5)).astype(np.float64)
    w = rng.integers(-4, 5, (6, 5)).astype(np.float64)
    b = rng.integers(-4, 5, 6).astype(np.float64)
    y = F.linear(tg.tensor(x), tg.tensor(w), tg.tensor(b)).numpy()
    expected = np.array([[w @ row + b for row in sentence] for sentence in x])
    assert y.shape == (3, 4, 6) and y.flags.c_contiguous
    np.testing.assert_array_equal(y, expected)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_linear_nan_and_inf_propagate_as_in_torch():
    x = np.array([[[1.0, np.nan], [np.inf, 2.0]], [[0.0, -np.inf], [3.0, 4.0]]], np.float32)
    w = np.array([[1.0, 0.0], [0.5, -1.0], [0.0, 2.0]], np.float32)
    b = np.array([0.0, 1.0, -1.0], np.float32)
    y = F.linear(tg.tensor(x), tg.tensor(w), tg.tensor(b)).numpy()
    expected = torch.nn.functional.linear(torch.tensor(x), torch.tensor(w), torch.tensor(b)).numpy()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected))
    np.testing.assert_allclose(y, expected, rtol=1e-6)


@pytest.mark.parametrize("lead", [(), (2,), (2, 3), (1, 2, 2)])
def test_linear_gradients_by_finite_differences_and_second_derivatives(lead):
    rng = np.random.default_rng(len(lead))
    x = tg.tensor(rng.standard_normal(lead + (3,)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = tg.tensor(rng.standard_normal(4), requires_grad=True)
    assert gradcheck(F.linear, (x, w, b))
    assert gradgradcheck(F.linear, (x, w, b))
    assert gradcheck(lambda a, c: F.linear(a, c), (x, w))


def test_linear_gradient_only_for_the_inputs_that_want_one():
    x = tg.tensor(np.ones((2, 3, 4), np.float32))
    w = tg.tensor(np.ones((5, 4), np.float32), requires_grad=True)
    y = F.linear(x, w)
    assert isinstance(y.grad_fn, LinearFunction)
    y.sum().backward()
    assert x.grad is None
    np.testing.assert_array_equal(w.grad.numpy(), np.full((5, 4), 6.0, np.float32))


def test_bert_layer_with_padding_still_matches_torch_functional():
    """A BERT encoder layer (linears on (N, S, H), the padding mask, GELU, LayerNorm) against the
    same computation written with torch.nn.functional."""
    from tinygrad_edu.models.bert import BertConfig, BertModel
    tg.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=4,
                        intermediate_size=32, max_position_embeddings=16, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0)
    model = BertModel(config, add_pooling_layer=False)
    ids = np.random.default_rng(0).integers(1, 50, (2, 5))
    mask = np.ones((2, 5), np.int64)
    mask[1, 3:] = 0
    out = model(tg.tensor(ids), attention_mask=tg.tensor(mask)).last_hidden_state
    out.sum().backward()

    p = {k: torch.tensor(np.array(v.numpy()), requires_grad=True) for k, v in model.state_dict().items()}
    tf = torch.nn.functional
    e = "embeddings."
    x = p[e + "word_embeddings.weight"][torch.tensor(ids)] + p[e + "position_embeddings.weight"][:5] \
        + p[e + "token_type_embeddings.weight"][0]
    x = tf.layer_norm(x, (16,), p[e + "LayerNorm.weight"], p[e + "LayerNorm.bias"], config.layer_norm_eps)
    L = "encoder.layer.0."

    def lin(name, h):
        return tf.linear(h, p[L + name + ".weight"], p[L + name + ".bias"])

    def heads(h):
        return h.reshape(2, 5, 4, 4).transpose(1, 2)

    q, k, v = (heads(lin("attention.self." + n, x)) for n in ("query", "key", "value"))
    bias = (1 - torch.tensor(mask, dtype=torch.float32))[:, None, None, :]
    bias = bias * torch.finfo(torch.float32).min
    ctx = torch.softmax(q @ k.transpose(-1, -2) / 2.0 + bias, -1) @ v
    ctx = ctx.transpose(1, 2).reshape(2, 5, 16)
    a = tf.layer_norm(lin("attention.output.dense", ctx) + x, (16,),
                      p[L + "attention.output.LayerNorm.weight"],
                      p[L + "attention.output.LayerNorm.bias"], config.layer_norm_eps)
    h = lin("output.dense", tf.gelu(lin("intermediate.dense", a)))
    ref = tf.layer_norm(h + a, (16,), p[L + "output.LayerNorm.weight"], p[L + "output.LayerNorm.bias"],
                        config.layer_norm_eps)
    ref.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-5)
    named = dict(model.named_parameters())
    for name in (L + "attention.self.query.weight", L + "intermediate.dense.bias", L + "output.dense.weight",
                 e + "word_embeddings.weight"):
        np.testing.assert_allclose(named[name].grad.numpy(), p[name].grad.numpy(), rtol=1e-3, atol=1e-5)
