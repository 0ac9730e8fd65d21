"""tinygrad_edu.explain.attention: attention maps equal Hugging Face's, the models' head_mask equals
Hugging Face's head-mask semantics (probabilities × ξ, as transformers 4.x computed it), GPT maps
equal a hand softmax(QKᵀ/√d + causal mask), attention rollout by hand, head importance (ablation
and the gradient proxy against finite differences), the BertViz JSON and the heatmaps.

transformers is a test-time reference only.
"""
import json

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.explain import attention_maps, attention_rollout, bertviz_export, head_importance
from tinygrad_edu.explain.attention import plot_attention
from tinygrad_edu.models import bert as B
from tinygrad_edu.models.gpt import GPT, GPTConfig

TINY = dict(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
            max_position_embeddings=64, type_vocab_size=2)
GPT_TINY = dict(n_layer=2, n_head=4, n_embd=16, block_size=8, vocab_size=11, dropout=0.0, bias=True)
CLOSE = dict(rtol=1e-6, atol=1e-8)


def _batch(seed=0, batch=3, length=7):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 100, (batch, length)).astype(np.int64)
    mask = np.ones((batch, length), np.int64)
    mask[1, 5:] = 0
    mask[2, 3:] = 0
    ids[mask == 0] = 0
    return ids, mask


def _bert(cls=B.BertForSequenceClassification, seed=0):
    tg.manual_seed(seed)
    kwargs = {} if cls is B.BertModel else {"num_labels": 3}
    return cls(B.BertConfig(**TINY), **kwargs).eval()


def _gpt(seed=0):
    tg.manual_seed(seed)
    model = GPT(GPTConfig(**GPT_TINY)).double().eval()
    for p in model.parameters():          # GPT-2's init puts biases at 0: make them count
        p.array[...] += np.random.default_rng(seed).normal(0, 0.1, p.shape)
    return model


def _gpt_ids(seed=0, batch=2, length=6):
    return np.random.default_rng(seed).integers(0, GPT_TINY["vocab_size"], (batch, length)).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Hugging Face: the same weights, attentions and head masks
# ---------------------------------------------------------------------------------------------
_HF_HEAD_MASK = {"mask": None}        # (layers, heads) torch tensor read by the attention below


@pytest.fixture(scope="module")
def hf():
    transformers = pytest.importorskip("transformers")
    import torch
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    def head_masked_eager(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
        """transformers 4.x's eager BERT attention with its ``head_mask``: the probabilities of layer
        l are multiplied by head_mask[l] (1, heads, 1, 1) before they mix the values."""
        scores = torch.matmul(query, key.transpose(2, 3)) * scaling
        if attention_mask is not None:
            scores = scores + attention_mask
        probs = torch.nn.functional.softmax(scores, dim=-1)
        if _HF_HEAD_MASK["mask"] is not None:
            probs = probs * _HF_HEAD_MASK["mask"][module.layer_idx].view(1, -1, 1, 1)
        return torch.matmul(probs, value).transpose(1, 2).contiguous(), probs

    AttentionInterface.register("head_masked_eager", head_masked_eager)
    AttentionMaskInterface.register("head_masked_eager", AttentionMaskInterface._global_mapping["eager"])
    return transformers, torch


def _hf_pair(hf, cls_name="BertForSequenceClassification", dtype=np.float32, seed=0):
    transformers, torch = hf
    torch.manual_seed(seed)
    config = transformers.BertConfig(**TINY, num_labels=3)
    config._attn_implementation = "head_masked_eager"
    theirs = getattr(transformers, cls_name)(config).eval()
    kwargs = {"num_labels": 3} if cls_name != "BertModel" else {}
    ours = getattr(B, cls_name)(B.BertConfig(**TINY), **kwargs).eval()
    if dtype == np.float64:
        theirs, ours = theirs.double(), ours.double()
    missing, unexpected = ours.load_hf_state_dict({k: v.detach().numpy()
                                                   for k, v in theirs.state_dict().items()})
    assert missing == [] and unexpected == []
    return theirs, ours


def test_bert_attention_maps_equal_hugging_faces(hf):
    transformers, torch = hf
    theirs, ours = _hf_pair(hf, "BertModel")
    ids, mask = _batch()
    _HF_HEAD_MASK["mask"] = None
    ref = theirs(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask), output_attentions=True)
    maps = attention_maps(ours, ids, attention_mask=mask)
    assert maps.shape == (2, 3, 4, 7, 7)
    np.testing.assert_allclose(maps, np.stack([a.detach().numpy() for a in ref.attentions]),
                               rtol=0, atol=1e-6)
    assert np.all(maps[:, 2, :, :, 3:] == 0)                          # padding keys get no weight
    np.testing.assert_allclose(maps.sum(-1), 1.0, atol=1e-6)


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-6), (np.float64, 1e-10)])
def test_bert_head_mask_equals_hugging_faces(hf, dtype, tol):
    transformers, torch = hf
    theirs, ours = _hf_pair(hf, dtype=dtype, seed=1)
    ids, mask = _batch(seed=2)
    for head_mask in (np.array([[1.0, 0.0, 1.0, 0.5], [0.0, 1.0, 1.0, 0.0]]), np.array([1.0, 1.0, 0.0, 1.0])):
        full = np.broadcast_to(head_mask, (2, 4))
        _HF_HEAD_MASK["mask"] = torch.tensor(full,
                                             dtype=torch.float64 if dtype == np.float64 else torch.float32)
        ref = theirs(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask), output_attentions=True)
        out = ours(ids, attention_mask=mask, head_mask=head_mask, output_attentions=True)
        np.testing.assert_allclose(out.logits.detach().numpy(), ref.logits.detach().numpy(), rtol=0, atol=tol)
        for a, b in zip(out.attentions, ref.attentions, strict=True):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=0, atol=tol)
    _HF_HEAD_MASK["mask"] = None
    # and the mask really changed the output (the comparison is not of two unmasked models)
    plain = ours(ids, attention_mask=mask).logits.detach().numpy()
    assert np.abs(plain - out.logits.detach().numpy()).max() > 1e-4


def test_bert_head_mask_of_ones_is_bit_identical_and_bad_shapes_raise():
    model = _bert()
    ids, mask = _batch()
    plain = model(ids, attention_mask=mask).logits.detach().numpy()
    ones = model(ids, attention_mask=mask, head_mask=np.ones((2, 4))).logits.detach().numpy()
    assert np.array_equal(plain, ones)
    with pytest.raises(ValueError, match=r"head_mask has shape \(3, 4\), expected \(4,\).*\(2, 4\)"):
        model(ids, attention_mask=mask, head_mask=np.ones((3, 4)))


def test_bert_head_mask_is_differentiable():
    """∂loss/∂ξ flows through a head_mask Tensor: the gradient proxy's requirement."""
    model = _bert().double()
    ids, mask = _batch()
    xi = tg.Tensor(np.ones((2, 4)), requires_grad=True)
    model(ids, attention_mask=mask, labels=np.array([0, 1, 2]), head_mask=xi).loss.backward()
    assert xi.grad is not None and xi.grad.shape == (2, 4) and np.abs(xi.grad.detach().numpy()).min() > 0


# ---------------------------------------------------------------------------------------------
# GPT: maps by hand, head mask by hand
# ---------------------------------------------------------------------------------------------
def _attention_inputs(model, ids):
    """The input of every block's attention (ln_1(x)), captured with forward pre-hooks."""
    seen, handles = [], []
    for block in model.transformer.h:
        handles.append(block.attn.register_forward_pre_hook(
            lambda m, args: seen.append(args[0].detach().numpy())))
    model(ids)
    for h in handles:
        h.remove()
    return seen


def _hand_heads(attn, h):
    """softmax(q kᵀ/√d + causal mask) and each head's output P v, in NumPy, from the block's weights."""
    B_, T, C = h.shape
    nh, hs = attn.n_head, C // attn.n_head
    qkv = h @ attn.c_attn.weight.detach().numpy().T + attn.c_attn.bias.detach().numpy()
    q, k, v = (qkv[..., i * C:(i + 1) * C].reshape(B_, T, nh, hs).transpose(0, 2, 1, 3) for i in range(3))
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hs) + np.triu(np.full((T, T), -np.inf), k=1)
    p = np.exp(scores - scores.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return p, p @ v


def test_gpt_maps_are_causal_rows_sum_to_one_and_equal_a_hand_softmax():
    model = _gpt()
    ids = _gpt_ids()
    maps = attention_maps(model, ids)
    assert maps.shape == (2, 2, 4, 6, 6)
    assert np.all(maps[..., np.triu_indices(6, k=1)[0], np.triu_indices(6, k=1)[1]] == 0)
    np.testing.assert_allclose(maps.sum(-1), 1.0, atol=1e-12)
    for layer, h in enumerate(_attention_inputs(model, ids)):
        p, _ = _hand_heads(model.transformer.h[layer].attn, h)
        np.testing.assert_allclose(maps[layer], p, rtol=1e-10, atol=1e-12)


def test_gpt_head_mask_by_hand():
    model = _gpt(seed=1)
    ids = _gpt_ids(seed=1)
    inputs = _attention_inputs(model, ids)
    attn = model.transformer.h[0].attn
    w_proj, b_proj = attn.c_proj.weight.detach().numpy(), attn.c_proj.bias.detach().numpy()
    outputs = []
    handle = attn.register_forward_hook(lambda m, args, out: outputs.append(out.detach().numpy()))
    # every head of layer 0 removed: its attention output is c_proj's bias alone
    model(ids, head_mask=np.array([[0.0] * 4, [1.0] * 4]))
    np.testing.assert_array_equal(outputs[-1], np.broadcast_to(b_proj, outputs[-1].shape))
    # a partial mask: c_proj(concat_h ξ_h · P_h v_h)
    xi = np.array([1.0, 0.0, 0.5, 1.0])
    model(ids, head_mask=xi)
    _, heads = _hand_heads(attn, inputs[0])
    y = (heads * xi[None, :, None, None]).transpose(0, 2, 1, 3).reshape(2, 6, 16)
    np.testing.assert_allclose(outputs[-1], y @ w_proj.T + b_proj, rtol=1e-10, atol=1e-12)
    handle.remove()
    # None, ones and the weights path all give the fused path's logits
    plain = model(ids)[0].detach().numpy()
    assert np.array_equal(plain, model(ids, head_mask=np.ones(4))[0].detach().numpy())
    hidden, attentions = model.hidden_states(tg.tensor(ids), output_attentions=True)
    np.testing.assert_allclose(model.lm_head(hidden).detach().numpy(), plain, rtol=1e-12, atol=1e-12)
    assert len(attentions) == 2 and attentions[0].shape == (2, 4, 6, 6)
    # the maps returned under a head mask are the masked probabilities ξ_h P_h (Hugging Face's)
    # (masking the last layer only, so that its input, hence its P, is unchanged)
    np.testing.assert_allclose(attention_maps(model, ids, head_mask=np.stack([np.ones(4), xi])),
                               attention_maps(model, ids)
                               * np.stack([np.ones(4), xi])[:, None, :, None, None],
                               rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match=r"GPT: head_mask has shape \(3,\)"):
        model(ids, head_mask=np.ones(3))


# ---------------------------------------------------------------------------------------------
# attention rollout
# ---------------------------------------------------------------------------------------------
def test_attention_rollout_equals_a_hand_computation():
    # layer 0: heads [[1, 0], [.5, .5]] and [[0, 1], [.5, .5]] → mean [[.5, .5], [.5, .5]]
    #          → 0.5·A + 0.5·I = [[.75, .25], [.25, .75]]
    # layer 1: heads [[1, 0], [1, 0]] and [[1, 0], [0, 1]]   → mean [[1, 0], [.5, .5]]
    #          → 0.5·A + 0.5·I = [[1, 0], [.25, .75]]
    # rollout = Â₁ Â₀ = [[.75, .25], [.25·.75 + .75·.25, .25·.25 + .75·.75]] = [[.75, .25], [.375, .625]]
    maps = np.array([[[[[1, 0], [.5, .5]], [[0, 1], [.5, .5]]]],
                     [[[[1, 0], [1, 0]], [[1, 0], [0, 1]]]]])
    assert maps.shape == (2, 1, 2, 2, 2)
    np.testing.assert_allclose(attention_rollout(maps), [[[.75, .25], [.375, .625]]], rtol=0, atol=1e-15)
    # without the residual: Ā₁ Ā₀ = [[1, 0], [.5, .5]] · [[.5, .5], [.5, .5]] = [[.5, .5], [.5, .5]]
    np.testing.assert_allclose(attention_rollout(maps, add_residual=False), [[[.5, .5], [.5, .5]]],
                               atol=1e-15)
    # a list of per-layer Tensors gives the same
    as_list = [tg.Tensor(m) for m in maps]
    np.testing.assert_allclose(attention_rollout(as_list), attention_rollout(maps), atol=0)


def test_attention_rollout_discards_and_renormalises_rows():
    maps = np.array([[[[[.7, .2, .1], [.1, .6, .3], [.3, .25, .45]]]]])          # 1 layer, 1 head
    # discard_ratio 0.34 → ⌊0.34·3⌋ = 1 smallest entry per row set to 0, then 0.5·A + 0.5·I, rows renormalised
    a = np.array([[.7, .2, 0], [0, .6, .3], [.3, 0, .45]]) * 0.5 + 0.5 * np.eye(3)
    np.testing.assert_allclose(attention_rollout(maps, discard_ratio=0.34)[0], a / a.sum(1, keepdims=True),
                               atol=1e-15)
    with pytest.raises(ValueError, match=r"attention_rollout: maps has shape \(3, 3\)"):
        attention_rollout(np.eye(3))
    with pytest.raises(ValueError, match="discard_ratio must be in"):
        attention_rollout(maps, discard_ratio=1.0)


def test_rollout_of_a_real_model_has_rows_summing_to_one():
    model = _gpt()
    rollout = attention_rollout(attention_maps(model, _gpt_ids()))
    assert rollout.shape == (2, 6, 6)
    np.testing.assert_allclose(rollout.sum(-1), 1.0, atol=1e-12)
    assert np.all(np.triu(rollout[0], k=1) == 0)                           # still causal


# ---------------------------------------------------------------------------------------------
# head importance
# ---------------------------------------------------------------------------------------------
def _zero_bert_value_head(model, layer, head):
    d = model.config.head_size
    value = model.bert.encoder.layer[layer].attention.self.value
    value.weight.array[head * d:(head + 1) * d] = 0.0
    value.bias.array[head * d:(head + 1) * d] = 0.0


def test_head_importance_by_masking_equals_the_models_head_mask_and_is_zero_for_a_dead_head():
    model = _bert(seed=3).double()
    _zero_bert_value_head(model, 1, 2)                 # head 2 of layer 1 outputs 0 whatever it attends to
    ids, mask = _batch(seed=3)
    labels = np.array([0, 2, 1])
    scores = head_importance(model, ids, labels, attention_mask=mask)
    assert scores.shape == (2, 4)
    base = model(ids, attention_mask=mask, labels=labels).loss.item()
    for layer in range(2):
        for head in range(4):
            head_mask = np.ones((2, 4))
            head_mask[layer, head] = 0.0
            masked = model(ids, attention_mask=mask, labels=labels, head_mask=head_mask).loss.item()
            assert scores[layer, head] == masked - base
    assert scores[1, 2] == 0.0
    assert np.abs(np.delete(scores.reshape(-1), 6)).min() > 1e-9         # every live head matters a bit
    normalized = head_importance(model, ids, labels, attention_mask=mask, normalize=True)
    np.testing.assert_allclose(np.sqrt((normalized ** 2).sum(1)), 1.0)


def test_head_importance_gradient_proxy_equals_finite_differences_and_is_zero_for_a_dead_head():
    """mean over examples of |∂L(x)/∂ξ| at ξ = 1, against central differences of the loss in ξ."""
    model = _gpt(seed=2)
    c_attn = model.transformer.h[0].attn.c_attn                     # zero head 1's value projection
    C, hs = 16, 4
    c_attn.weight.array[2 * C + hs:2 * C + 2 * hs] = 0.0
    c_attn.bias.array[2 * C + hs:2 * C + 2 * hs] = 0.0
    ids = _gpt_ids(seed=2)
    targets = np.roll(ids, -1, axis=1)
    scores = head_importance(model, ids, targets, method="gradient")
    eps = 1e-5
    want = np.zeros((2, 4))
    for i in range(2):
        for layer in range(2):
            for head in range(4):
                up, down = np.ones((2, 4)), np.ones((2, 4))
                up[layer, head] += eps
                down[layer, head] -= eps
                diff = (model(ids[i:i + 1], targets[i:i + 1], head_mask=up)[1].item()
                        - model(ids[i:i + 1], targets[i:i + 1], head_mask=down)[1].item()) / (2 * eps)
                want[layer, head] += abs(diff) / 2
    np.testing.assert_allclose(scores, want, rtol=1e-6, atol=1e-9)
    assert scores[0, 1] == 0.0 and scores.min() == 0.0 and np.delete(scores.reshape(-1), 1).min() > 1e-8
    # and the ablation of the dead head is exactly 0 for a GPT as well
    assert head_importance(model, ids, targets)[0, 1] == 0.0


# ---------------------------------------------------------------------------------------------
# export and drawing
# ---------------------------------------------------------------------------------------------
class _Letters:
    """A tokenizer with only ``decode``: id k → the k-th letter."""

    def decode(self, ids):
        return "".join(chr(ord("a") + i % 26) for i in ids)


def test_bertviz_export_round_trips_through_json(tmp_path):
    model = _bert(B.BertModel)
    ids, mask = _batch()
    path = tmp_path / "attention.json"
    data = bertviz_export(model, _Letters(), ids, path=path, attention_mask=mask, index=1)
    loaded = json.loads(path.read_text())
    assert loaded == data
    attention = np.array(loaded["attention"])
    assert attention.shape == (2, 4, 5, 5)                          # example 1 has 5 real tokens
    np.testing.assert_allclose(attention.sum(-1), 1.0, atol=1e-6)
    assert loaded["tokens"] == [_Letters().decode([i]) for i in ids[1, :5]]
    np.testing.assert_allclose(attention, attention_maps(model, ids, mask)[:, 1, :, :5, :5], atol=1e-7)
    tokens = [f"t{i}" for i in range(7)]
    full = bertviz_export(model, tokens, ids, index=0)
    assert full["tokens"] == tokens and np.array(full["attention"]).shape == (2, 4, 7, 7)
    with pytest.raises(ValueError, match="3 tokens for a sequence of 7 positions"):
        bertviz_export(model, ["a", "b", "c"], ids)


def test_plot_attention_writes_png_and_html(tmp_path):
    model = _gpt()
    ids = _gpt_ids()
    maps = attention_maps(model, ids)
    tokens = [str(t) for t in ids[0]]
    png = plot_attention(maps, tokens, layer=1, head=2, path=tmp_path / "map.png")
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png == tmp_path / "map.png"
    plot_attention(maps, tokens, layer=0, head=0, path=str(tmp_path / "map.html"))
    page = (tmp_path / "map.html").read_text()
    assert page.count("<tr>") == 7 and "layer 0, head 0" in page
    with pytest.raises(ValueError, match="plot_attention: 2 tokens for a 6×6 map"):
        plot_attention(maps, ["a", "b"], 0, 0, tmp_path / "x.png")


# ---------------------------------------------------------------------------------------------
# state, errors
# ---------------------------------------------------------------------------------------------
def test_the_model_is_left_as_it_was_found_even_after_an_error():
    model = _bert().train()
    model.classifier.weight.requires_grad = False
    ids, mask = _batch()
    attention_maps(model, ids, mask)
    head_importance(model, ids, np.array([0, 1, 2]), attention_mask=mask, method="gradient")
    assert all(m.training for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
    assert model.classifier.weight.requires_grad is False
    calls = []

    def fail_on_third_call(module, args, out):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")

    handle = model.classifier.register_forward_hook(fail_on_third_call)
    with pytest.raises(RuntimeError, match="boom"):
        head_importance(model, ids, np.array([0, 1, 2]), attention_mask=mask)
    handle.remove()
    assert all(m.training for m in model.modules()) and model.classifier.weight.requires_grad is False
    with pytest.raises(ValueError, match="expected input batch_size"):
        head_importance(model, ids, np.array([0, 1]), attention_mask=mask, method="gradient")
    assert all(m.training for m in model.modules()) and all(p.grad is None for p in model.parameters())


def test_bad_inputs_raise_clear_errors():
    gpt, bert = _gpt(), _bert(B.BertModel)
    ids = _gpt_ids()
    with pytest.raises(TypeError, match="attention_maps: model must be a tinygrad_edu BERT.*got Linear"):
        attention_maps(tg.nn.Linear(2, 2), ids)
    with pytest.raises(ValueError, match="attention_maps: a GPT takes no attention_mask"):
        attention_maps(gpt, ids, attention_mask=np.ones_like(ids))
    with pytest.raises(ValueError,
                       match="head_importance: method must be 'mask' or 'gradient', got 'taylor'"):
        head_importance(gpt, ids, ids, method="taylor")
    with pytest.raises(TypeError, match="head_importance: a bare BertModel has no loss"):
        head_importance(bert, *_batch()[:1], labels=np.zeros(3, np.int64))
