"""mini-GPT (tinygrad_edu.models.gpt): architecture, initialisation, optimizer groups, the KV cache,
sampling, and parity with Hugging Face's GPT2LMHeadModel (logits, loss and every gradient)."""
import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import gradcheck
from tinygrad_edu.models.gpt import (GPT, GPTConfig, KVCache, get_batch, gpt_state_dict_from_hf,
                                     gpt_state_dict_to_hf, sample_next_token)

TINY = dict(n_layer=2, n_head=2, n_embd=16, block_size=8, vocab_size=11)


def tiny_gpt(seed=0, **overrides):
    tg.manual_seed(seed)
    return GPT(GPTConfig(**{**TINY, **overrides}))


def tokens(shape, vocab=TINY["vocab_size"], seed=0):
    return np.random.default_rng(seed).integers(0, vocab, shape).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Architecture and initialisation
# ---------------------------------------------------------------------------------------------
def test_config_rejects_heads_that_do_not_divide_the_width():
    with pytest.raises(ValueError, match=r"n_embd \(30\) must be divisible by n_head \(4\)"):
        GPTConfig(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="dropout"):
        GPTConfig(dropout=1.5)


def test_parameter_names_are_gpt2s_and_the_head_is_tied():
    model = tiny_gpt()
    names = list(model.state_dict())
    assert names[:2] == ["transformer.wte.weight", "transformer.wpe.weight"]
    assert "transformer.h.1.attn.c_attn.weight" in names and "transformer.h.0.mlp.c_fc.bias" in names
    assert names[-1] == "lm_head.weight" and "transformer.ln_f.weight" in names
    assert model.lm_head.weight is model.transformer.wte.weight
    assert tuple(model.transformer.h[0].attn.c_attn.weight.shape) == (48, 16)
    # the tied matrix is one parameter: counted once, and optimised once
    assert len(list(model.parameters())) == len(names) - 1
    c = model.config
    per_block = 2 * 2 * c.n_embd + (3 * c.n_embd ** 2 + 3 * c.n_embd) + (c.n_embd ** 2 + c.n_embd) \
        + (4 * c.n_embd ** 2 + 4 * c.n_embd) + (4 * c.n_embd ** 2 + c.n_embd)
    expected = c.vocab_size * c.n_embd + c.n_layer * per_block + 2 * c.n_embd
    assert model.get_num_params() == expected
    assert model.get_num_params(non_embedding=False) == expected + c.block_size * c.n_embd


def test_nanogpt_cpu_config_has_nanogpts_parameter_count():
    tg.manual_seed(0)
    assert GPT(GPTConfig()).get_num_params() == 801_664   # nanoGPT prints "0.80M"


def test_gpt2_initialisation():
    tg.manual_seed(0)
    config = GPTConfig(n_layer=8, n_head=4, n_embd=64, block_size=32, vocab_size=300)
    model = GPT(config)
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    residual = np.concatenate([sd[f"transformer.h.{i}.{m}.c_proj.weight"].ravel()
                               for i in range(8) for m in ("attn", "mlp")])
    assert residual.std() == pytest.approx(0.02 / math.sqrt(2 * 8), rel=0.03)
    for key in ("transformer.wte.weight", "transformer.wpe.weight", "transformer.h.3.mlp.c_fc.weight",
                "transformer.h.5.attn.c_attn.weight"):
        assert sd[key].std() == pytest.approx(0.02, rel=0.05), key
        assert abs(sd[key].mean()) < 2e-3
    for key, value in sd.items():
        if key.endswith(".bias"):
            assert not value.any(), key
        if ".ln_" in key and key.endswith(".weight"):
            assert (value == 1).all(), key


def test_bias_false_drops_every_bias():
    model = tiny_gpt(bias=False)
    assert not [k for k in model.state_dict() if k.endswith(".bias")]
    logits, _ = model(tokens((2, 5)))
    assert logits.shape == (2, 5, TINY["vocab_size"])


# ---------------------------------------------------------------------------------------------
# forward and the loss
# ---------------------------------------------------------------------------------------------
def test_loss_at_init_is_about_log_vocab_and_ignores_minus_one():
    model = tiny_gpt()
    x, y = tokens((4, 8)), tokens((4, 8), seed=1)
    logits, loss = model(x, y)
    assert logits.shape == (4, 8, 11)
    assert abs(loss.item() - math.log(11)) < 0.3        # small init: nearly uniform predictions
    y_ignored = y.copy()
    y_ignored[:, :3] = -1
    _, partial = model(x, y_ignored)
    lp = logits.detach().numpy()[:, 3:].reshape(-1, 11).astype(np.float64)
    lse = np.log(np.exp(lp - lp.max(1, keepdims=True)).sum(1)) + lp.max(1)
    expected = (lse - lp[np.arange(len(lp)), y[:, 3:].ravel()]).mean()
    assert partial.item() == pytest.approx(expected, rel=1e-5)
    assert logits.detach().numpy()[:, :, :].std() > 0 and loss.item() != partial.item()


def test_sequence_longer_than_block_size_is_a_clear_error():
    model = tiny_gpt()
    with pytest.raises(ValueError, match=r"length 9.*block_size is only 8"):
        model(tokens((1, 9)))
    with pytest.raises(ValueError, match=r"targets must have the shape of idx"):
        model(tokens((2, 4)), tokens((2, 3)))


def test_crop_block_size_keeps_the_first_positions():
    model = tiny_gpt()
    x = tokens((2, 4))
    before, _ = model(x)
    model.crop_block_size(4)
    assert tuple(model.transformer.wpe.weight.shape) == (4, 16) and model.config.block_size == 4
    np.testing.assert_array_equal(model(x)[0].detach().numpy(), before.detach().numpy())
    with pytest.raises(ValueError, match="block_size is only 4"):
        model(tokens((1, 5)))
    assert any(p is model.transformer.wpe.weight for p in model.parameters())


def test_the_model_is_causal():
    """Changing a token changes no logit at an earlier position."""
    model = tiny_gpt()
    x = tokens((1, 8))
    x2 = x.copy()
    x2[0, 5] = (x2[0, 5] + 1) % 11
    a, _ = model(x)
    b, _ = model(x2)
    np.testing.assert_array_equal(a.detach().numpy()[:, :5], b.detach().numpy()[:, :5])
    assert np.abs(a.detach().numpy()[:, 5:] - b.detach().numpy()[:, 5:]).max() > 1e-4


def test_gradcheck_float64_loss_wrt_parameters():
    model = tiny_gpt(n_layer=1, n_head=2, n_embd=8, block_size=4, vocab_size=7).double()
    # larger weights than the 0.02 init, so every path contributes visibly to the loss
    rng = np.random.default_rng(3)
    for p in model.parameters():
        p.data[...] = rng.standard_normal(p.shape) * 0.5
    x, y = tokens((2, 4), vocab=7), tokens((2, 4), vocab=7, seed=5)
    block = model.transformer.h[0]
    params = (block.attn.c_attn.weight, block.ln_2.weight, model.transformer.wpe.weight)

    def loss_fn(*_):
        return model(x, y)[1]

    assert gradcheck(loss_fn, params, eps=1e-6, atol=1e-7, rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# configure_optimizers
# ---------------------------------------------------------------------------------------------
def test_configure_optimizers_decays_matrices_only():
    model = tiny_gpt()
    opt = model.configure_optimizers(weight_decay=0.1, learning_rate=1e-2, betas=(0.9, 0.95))
    assert isinstance(opt, tg.optim.AdamW)
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim >= 2 for p in decay["params"]) and all(p.ndim == 1 for p in no_decay["params"])
    everything = {id(p) for p in model.parameters()}
    assert {id(p) for p in decay["params"]} | {id(p) for p in no_decay["params"]} == everything
    assert decay["betas"] == (0.9, 0.95) and decay["lr"] == 1e-2
    # with zero gradients Adam's step is 0, so only the decoupled decay moves anything
    before = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = tg.zeros_like(p)
        p.data[...] = 1.0
    opt.step()
    for name, p in model.named_parameters():
        expected = 1.0 - 1e-2 * 0.1 if p.ndim >= 2 else 1.0
        np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-6, err_msg=name)
    assert before  # the model had parameters


# ---------------------------------------------------------------------------------------------
# KV cache and generation
# ---------------------------------------------------------------------------------------------
def test_incremental_logits_equal_the_full_forward():
    model = tiny_gpt()
    x = tokens((3, 8))
    full, _ = model(x)
    cache = KVCache(model.config.n_layer)
    pieces = []
    for start, stop in ((0, 3), (3, 5), (5, 6), (6, 7), (7, 8)):   # prefill, a chunk, then 1 by 1
        with tg.no_grad():
            logits, _ = model(x[:, start:stop], kv_cache=cache)
        pieces.append(logits.detach().numpy())
        assert cache.length == stop
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), full.detach().numpy(), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"after 8 cached positions: block_size is only 8"):
        model(x[:, :1], kv_cache=cache)


def test_greedy_generation_with_and_without_cache_agree_beyond_block_size():
    model = tiny_gpt()
    prompt = tokens((2, 3))
    with_cache = model.generate(prompt, 12, top_k=1, use_cache=True)       # 15 > block_size 8
    without = model.generate(prompt, 12, top_k=1, use_cache=False)
    assert with_cache.shape == (2, 15) and with_cache.dtype == np.int64
    np.testing.assert_array_equal(with_cache.numpy(), without.numpy())
    np.testing.assert_array_equal(with_cache.numpy()[:, :3], prompt)
    # greedy: each new token is the argmax of the full forward over the (cropped) context
    seq = with_cache.numpy()
    for t in range(3, 15):
        context = seq[:, max(0, t - 8):t]
        logits, _ = model(context)
        np.testing.assert_array_equal(seq[:, t], logits.detach().numpy()[:, -1].argmax(-1))
    np.testing.assert_array_equal(model.generate(prompt, 12, temperature=0).numpy(), seq)


def test_seeded_sampling_with_and_without_cache_agree():
    model = tiny_gpt(seed=4)
    prompt = tokens((3, 2), seed=2)
    for kwargs in (dict(temperature=1.0), dict(temperature=0.7, top_k=5), dict(top_p=0.8)):
        a = model.generate(prompt, 10, use_cache=True, generator=123, **kwargs).numpy()
        b = model.generate(prompt, 10, use_cache=False, generator=np.random.default_rng(123),
                           **kwargs).numpy()
        np.testing.assert_array_equal(a, b)
    c = model.generate(prompt, 10, generator=124).numpy()
    assert (c != a).any()           # another seed, other samples: the draws are really random


def test_generate_restores_training_mode_and_records_no_graph():
    model = tiny_gpt(dropout=0.5)
    model.train()
    out = model.generate(tokens((1, 2)), 3, generator=0)
    assert model.training and out.grad_fn is None and not out.requires_grad
    # dropout is off while generating: the cached and uncached paths agree even with p = 0.5
    np.testing.assert_array_equal(model.generate(tokens((1, 2)), 6, generator=1).numpy(),
                                  model.generate(tokens((1, 2)), 6, generator=1, use_cache=False).numpy())


def test_sample_next_token_top_k_and_top_p():
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]] * 2000))
    rng = np.random.default_rng(0)
    counts = lambda s: np.bincount(s, minlength=4) / len(s)
    free = counts(sample_next_token(logits, generator=rng))
    np.testing.assert_allclose(free, [0.5, 0.3, 0.15, 0.05], atol=0.04)
    top2 = counts(sample_next_token(logits, top_k=2, generator=rng))
    assert top2[2:].sum() == 0 and top2[0] == pytest.approx(0.5 / 0.8, abs=0.04)
    nucleus = counts(sample_next_token(logits, top_p=0.75, generator=rng))    # 0.5 + 0.3 reach 0.75
    assert nucleus[2:].sum() == 0 and nucleus[1] > 0.3
    nucleus = counts(sample_next_token(logits, top_p=0.85, generator=rng))    # needs the third too
    assert nucleus[3] == 0 and nucleus[2] > 0.1
    assert set(sample_next_token(logits, top_p=0.1, generator=rng)) == {0}   # the top token stays
    cold = counts(sample_next_token(logits, temperature=0.1, generator=rng))
    assert cold[0] > 0.95
    np.testing.assert_array_equal(sample_next_token(logits[:3], temperature=0), [0, 0, 0])
    with pytest.raises(ValueError, match="top_p must be in"):
        sample_next_token(logits, top_p=0.0)


def test_get_batch_targets_are_inputs_shifted_by_one():
    data = np.arange(100, dtype=np.uint16)
    x, y = get_batch(data, block_size=8, batch_size=5, rng=np.random.default_rng(0))
    assert x.shape == (5, 8) and y.shape == (5, 8) and x.dtype == np.int64
    np.testing.assert_array_equal(y.numpy(), x.numpy() + 1)
    np.testing.assert_array_equal(np.diff(x.numpy(), axis=1), 1)   # consecutive tokens
    with pytest.raises(ValueError, match="longer than block_size"):
        get_batch(data[:8], 8, 2)


# ---------------------------------------------------------------------------------------------
# Hugging Face GPT-2 parity
# ---------------------------------------------------------------------------------------------
def _hf_model():
    transformers = pytest.importorskip("transformers")
    import torch
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=2, n_head=2, n_embd=32, n_positions=16, vocab_size=50,
                                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                                     activation_function="gelu_new", bos_token_id=0, eos_token_id=0)
    model = transformers.GPT2LMHeadModel(config)
    model.eval()
    with torch.no_grad():   # HF's init leaves biases and LayerNorms at 0/1: make them visible
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                p.add_(0.1 * torch.randn_like(p))
    return model, config


def test_logits_loss_and_every_gradient_match_hugging_face_gpt2():
    import torch
    hf, hf_config = _hf_model()
    ours = GPT.from_hf_state_dict(hf.state_dict(), hf_config)
    assert ours.config == GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=16, vocab_size=50)
    ids = tokens((3, 16), vocab=50, seed=7)

    out = hf(input_ids=torch.from_numpy(ids), labels=torch.from_numpy(ids))   # HF shifts labels
    out.loss.backward()
    targets = np.concatenate([ids[:, 1:], np.full((3, 1), -1)], axis=1)      # ours: pre-shifted
    logits, loss = ours(ids, targets)
    loss.backward()

    np.testing.assert_allclose(logits.detach().numpy(), out.logits.detach().numpy(), rtol=1e-4, atol=1e-4)
    assert loss.item() == pytest.approx(out.loss.item(), rel=1e-5)
    hf_grads = gpt_state_dict_from_hf({n: p.grad for n, p in hf.named_parameters()})
    ours_params = dict(ours.named_parameters())
    assert set(ours_params) == set(hf_grads) - {"lm_head.weight"}
    for name, p in ours_params.items():
        np.testing.assert_allclose(p.grad.detach().numpy(), hf_grads[name], rtol=1e-4, atol=1e-4,
                                   err_msg=name)
        assert np.abs(hf_grads[name]).max() > 1e-6, name   # a real gradient was compared


def test_state_dict_round_trip_through_hugging_face_names():
    import torch
    transformers = pytest.importorskip("transformers")
    hf, hf_config = _hf_model()
    hf_sd = {k: v.clone() for k, v in hf.state_dict().items()}
    ours = GPT.from_hf_state_dict(hf_sd, hf_config)
    exported = gpt_state_dict_to_hf(ours.state_dict())
    assert set(exported) == set(hf_sd)
    for key, value in hf_sd.items():
        np.testing.assert_array_equal(exported[key], value.numpy(), err_msg=key)
    # ours -> HF: a fresh HF model loads our weights and computes our logits
    tg.manual_seed(1)
    mine = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=16, vocab_size=50))
    fresh = transformers.GPT2LMHeadModel(hf_config).eval()
    exported = gpt_state_dict_to_hf(mine.state_dict())
    fresh.load_state_dict({k: torch.from_numpy(v) for k, v in exported.items()})
    ids = tokens((2, 10), vocab=50, seed=9)
    with torch.no_grad():
        theirs = fresh(input_ids=torch.from_numpy(ids)).logits.detach().numpy()
    np.testing.assert_allclose(mine(ids)[0].detach().numpy(), theirs, rtol=1e-4, atol=1e-4)
    # and back again: the same numbers
    again = gpt_state_dict_from_hf(fresh.state_dict())
    for key, value in mine.state_dict().items():
        np.testing.assert_array_equal(again[key], value.numpy(), err_msg=key)


def test_hf_import_checks_names_shapes_and_tying():
    hf, hf_config = _hf_model()
    sd = {k: v.clone() for k, v in hf.state_dict().items()}
    sd["transformer.h.0.attn.bias"] = np.tril(np.ones((16, 16)))   # an old version's mask buffer
    GPT.from_hf_state_dict(sd, hf_config)                            # is skipped
    sd["lm_head.weight"] = sd["lm_head.weight"] + 1
    with pytest.raises(ValueError, match="lm_head.weight differs from transformer.wte.weight"):
        GPT.from_hf_state_dict(sd, hf_config)
    with pytest.raises(RuntimeError, match="size mismatch for transformer.wpe.weight"):
        GPT.from_hf_state_dict(hf.state_dict(), GPTConfig(n_layer=2, n_head=2, n_embd=32,
                                                          block_size=8, vocab_size=50))
    hf_config.activation_function = "relu"
    with pytest.raises(ValueError, match="activation_function 'relu' is not supported"):
        GPTConfig.from_hf_config(hf_config)


# ---------------------------------------------------------------------------------------------
# benchmarks/bench_gpt.py at a tiny size: both libraries compute the same thing (no timing)
# ---------------------------------------------------------------------------------------------
def _bench_gpt():
    import os
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:   # benchmarks/ is a folder of the repo, not part of the package
        sys.path.insert(0, root)
    pytest.importorskip("torch")
    from benchmarks import bench_gpt, harness
    return bench_gpt, harness


def test_bench_gpt_rows_agree_with_the_torch_twin_at_a_tiny_size():
    bench_gpt, harness = _bench_gpt()
    config = GPTConfig(**TINY)
    rows = [bench_gpt.train_row(batch=2, config=config), bench_gpt.generate_row(True, config=config),
            bench_gpt.generate_row(False, new_tokens=10, config=config)]
    results = [harness.check_same_results(row, {lib: build() for lib, build in row.build.items()})
               for row in rows]
    assert all(set(r) == {"torch", "tinygrad_edu"} for r in results)
    assert np.abs(results[0]["torch"]["transformer.h.0.attn.c_attn.weight.grad"]).max() > 0
    assert results[1]["tinygrad_edu"]["tokens"].shape == (1, TINY["block_size"])
    assert rows[1].unit == "ms/token" and rows[1].scale(0.07) == pytest.approx(10.0)   # 7 tokens
    with pytest.raises(SystemExit, match="unknown row 'bert'"):
        bench_gpt.build_rows(["bert"])
