"""GPT generation's fast path (models/gpt/decode.py: the forward on raw arrays) and the preallocated
KVCache: the fast path gives the Tensor path's logits and tokens, falls back where it must (hooks,
subclasses, other GELUs), and the preallocated cache grows and refuses exactly as the old one."""
import os
import sys

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.models.gpt import GPT, GPTConfig, KVCache
from tinygrad_edu.models.gpt import decode
from tinygrad_edu.models.gpt.decode import DecodePlan

TINY = dict(n_layer=2, n_head=2, n_embd=16, block_size=8, vocab_size=11)
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}


def tiny_gpt(seed=0, dtype=np.float32, **overrides):
    tg.manual_seed(seed)
    model = GPT(GPTConfig(**{**TINY, **overrides}))
    # larger weights than GPT-2's init: logits that differ from token to token, so a wrong
    # formula shows (at std 0.02 every logit is nearly the same)
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        p.array[...] = rng.normal(0.0, 0.3, p.shape)
    model = model.double() if dtype == np.float64 else model
    return model.eval()


def tokens(shape, vocab=TINY["vocab_size"], seed=0):
    return np.random.default_rng(seed).integers(0, vocab, shape).astype(np.int64)


def both_paths(model, prompt, n, **kwargs):
    model.fast_generation = True
    fast = model.generate(prompt, n, **kwargs).numpy()
    model.fast_generation = False
    slow = model.generate(prompt, n, **kwargs).numpy()
    model.fast_generation = True
    return fast, slow


def count_fast_steps(monkeypatch):
    calls = []
    original = DecodePlan.logits

    def counting(self, idx, cache=None):
        calls.append(idx.shape)
        return original(self, idx, cache)
    monkeypatch.setattr(DecodePlan, "logits", counting)
    return calls


# ---------------------------------------------------------------------------------------------
# the fast path equals the Tensor path
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("prompt_len", [1, 3, 8])
def test_step_logits_equal_the_modules(dtype, prompt_len):
    model = tiny_gpt(seed=prompt_len, dtype=dtype)
    seq = tokens((2, 8), seed=prompt_len)
    plan = DecodePlan.build(model)
    assert plan is not None
    fast_cache, slow_cache = KVCache(2, max_length=8), KVCache(2)
    chunks = [(0, prompt_len)] + [(t, t + 1) for t in range(prompt_len, 8)]
    with tg.no_grad():
        for start, stop in chunks:
            fast = plan.logits(seq[:, start:stop], fast_cache)
            slow, _ = model(seq[:, start:stop], kv_cache=slow_cache)
            assert fast.dtype == dtype and fast.shape == (2, TINY["vocab_size"])
            np.testing.assert_allclose(fast, slow.numpy()[:, -1], rtol=TOLERANCE[dtype],
                                       atol=TOLERANCE[dtype])
            assert fast_cache.length == slow_cache.length == stop
        for layer in range(2):
            np.testing.assert_allclose(fast_cache.keys[layer].numpy(), slow_cache.keys[layer].numpy(),
                                       rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
        no_cache = plan.logits(seq)                      # the whole window, no cache
        full, _ = model(seq)
        np.testing.assert_allclose(no_cache, full.numpy()[:, -1], rtol=TOLERANCE[dtype],
                                   atol=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("prompt_len", [1, 2, 5])
def test_greedy_and_seeded_sampling_give_the_same_tokens(dtype, prompt_len, monkeypatch):
    model = tiny_gpt(seed=10 + prompt_len, dtype=dtype)
    prompt = tokens((1, prompt_len), seed=prompt_len)
    calls = count_fast_steps(monkeypatch)
    for kwargs in (dict(temperature=0), dict(top_k=1), dict(temperature=0.8, top_k=4, generator=3),
                   dict(top_p=0.7, generator=5), dict(temperature=1.3, generator=np.random.default_rng(9)),
                   dict(top_k=3, top_p=0.9, generator=7, use_cache=False)):
        if "generator" in kwargs and isinstance(kwargs["generator"], np.random.Generator):
            kwargs["generator"] = np.random.default_rng(9)       # a fresh one for each path
            fast = model.generate(prompt, 12, **kwargs).numpy()
            model.fast_generation = False
            kwargs["generator"] = np.random.default_rng(9)
            slow = model.generate(prompt, 12, **kwargs).numpy()
            model.fast_generation = True
        else:
            fast, slow = both_paths(model, prompt, 12, **kwargs)  # 12 new tokens: past block_size 8
        np.testing.assert_array_equal(fast, slow, err_msg=str(kwargs))
        assert fast.shape == (1, prompt_len + 12)
    assert len(calls) == 6 * 12                                    # every step ran on arrays


def test_batch_of_prompts_of_one_length(monkeypatch):
    model = tiny_gpt(seed=3, dtype=np.float64)
    prompt = tokens((3, 4), seed=1)
    calls = count_fast_steps(monkeypatch)
    fast, slow = both_paths(model, prompt, 7, temperature=0)
    np.testing.assert_array_equal(fast, slow)
    assert calls and calls[0] == (3, 4) and calls[1] == (3, 1)
    for row in range(3):               # each sequence continues as it would alone
        alone = model.generate(prompt[row:row + 1], 7, temperature=0).numpy()
        np.testing.assert_array_equal(alone[0], fast[row])
    sampled = both_paths(model, prompt, 7, top_p=0.9, generator=11)
    np.testing.assert_array_equal(*sampled)


def test_a_model_without_biases(monkeypatch):
    model = tiny_gpt(seed=9, dtype=np.float64, bias=False)
    assert model.lm_head.bias is None and model.transformer.ln_f.bias is None
    calls = count_fast_steps(monkeypatch)
    fast, slow = both_paths(model, tokens((2, 2), seed=9), 6, temperature=0.9, generator=4)
    np.testing.assert_array_equal(fast, slow)
    assert len(calls) == 6


def test_generate_stream_yields_the_fast_paths_tokens():
    model = tiny_gpt(seed=2)
    prompt = tokens((2, 3))
    streamed = np.stack(list(model.generate_stream(prompt, 9, top_k=3, generator=1)), axis=1)
    model.fast_generation = False
    np.testing.assert_array_equal(streamed, model.generate(prompt, 9, top_k=3, generator=1).numpy()[:, 3:])


# ---------------------------------------------------------------------------------------------
# where the fast path must not run
# ---------------------------------------------------------------------------------------------
def test_a_forward_hook_sends_generation_through_the_modules(monkeypatch):
    model = tiny_gpt(seed=5)
    prompt = tokens((1, 2))
    expected = model.generate(prompt, 5, temperature=0).numpy()
    seen = []
    handle = model.transformer.h[1].mlp.register_forward_hook(lambda m, args, out: seen.append(out.shape))
    calls = count_fast_steps(monkeypatch)
    np.testing.assert_array_equal(model.generate(prompt, 5, temperature=0).numpy(), expected)
    assert len(seen) == 5 and not calls            # the hook saw every step; no step ran on arrays
    handle.remove()
    model.generate(prompt, 5, temperature=0)
    assert len(calls) == 5


def test_a_pre_hook_that_changes_the_input_is_honoured():
    model = tiny_gpt(seed=6)
    prompt = tokens((1, 2))
    plain = model.generate(prompt, 4, temperature=0).numpy()
    model.transformer.ln_f.register_forward_pre_hook(lambda m, args: (args[0] * 0.0,))
    hooked = model.generate(prompt, 4, temperature=0).numpy()
    assert (hooked[:, 2:] == 0).all() != (plain[:, 2:] == 0).all() or not np.array_equal(hooked, plain)
    model.fast_generation = False
    np.testing.assert_array_equal(model.generate(prompt, 4, temperature=0).numpy(), hooked)


class ScaledGPT(GPT):
    def hidden_states(self, idx, kv_cache=None):
        return super().hidden_states(idx, kv_cache) * 2.0


def test_subclasses_and_other_modules_fall_back():
    tg.manual_seed(0)
    model = ScaledGPT(GPTConfig(**TINY))
    assert model._decode_plan() is None
    exact = tiny_gpt()
    exact.transformer.h[0].mlp.gelu = tg.nn.GELU()                 # exact GELU: not the fast formula
    assert DecodePlan.build(exact) is None
    mixed = tiny_gpt()
    mixed.lm_head.weight = tg.nn.Parameter(mixed.lm_head.weight.double())
    assert DecodePlan.build(mixed) is None
    model = tiny_gpt()
    plan = DecodePlan.build(model)
    assert not plan.usable()                                       # grad mode on: a graph is wanted
    with tg.no_grad():
        assert plan.usable()
        model.transformer.h[1].attn.train()
        assert not plan.usable()                                   # dropout would be active


def test_generation_keeps_restoring_training_mode_and_records_no_graph():
    model = tiny_gpt(seed=1, dropout=0.5)
    model.train()
    out = model.generate(tokens((1, 2)), 4, generator=0)
    assert model.training and out.grad_fn is None and not out.requires_grad
    model.eval()
    np.testing.assert_array_equal(model.generate(tokens((1, 2)), 4, generator=0).numpy(), out.numpy())


# ---------------------------------------------------------------------------------------------
# the preallocated KV cache
# ---------------------------------------------------------------------------------------------
def test_preallocated_cache_refuses_past_the_block_size_as_before():
    model = tiny_gpt()
    x = tokens((2, 8))
    for cache in (KVCache(2), KVCache(2, max_length=8)):
        with tg.no_grad():
            model(x[:, :5], kv_cache=cache)
            model(x[:, 5:8], kv_cache=cache)
            assert cache.length == 8
            with pytest.raises(ValueError, match=r"after 8 cached positions: block_size is only 8"):
                model(x[:, :1], kv_cache=cache)
        assert cache.length == 8 and cache.keys[1].shape == (2, 2, 8, 8)


def test_preallocated_cache_grows_past_max_length():
    model = tiny_gpt(seed=4, dtype=np.float64)
    x = tokens((1, 8), seed=4)
    full, _ = model(x)
    cache = KVCache(2, max_length=3)
    pieces = []
    with tg.no_grad():
        for start, stop in ((0, 2), (2, 3), (3, 7), (7, 8)):
            logits, _ = model(x[:, start:stop], kv_cache=cache)
            pieces.append(logits.numpy())
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), full.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert cache.length == 8 and cache._buffers[0][0].shape[2] >= 8 and "max_length=3" in repr(cache)


def test_preallocated_cache_views_do_not_change_when_more_positions_come():
    cache = KVCache(1, max_length=4)
    first = np.arange(6.0).reshape(1, 1, 2, 3)
    keys, values = cache.write(0, first, -first)
    cache.write(0, first + 100, first)
    np.testing.assert_array_equal(keys, first)
    np.testing.assert_array_equal(values, -first)
    grown_keys, _ = cache.write(0, first + 200, first)              # 6 > 4: a new, larger buffer
    np.testing.assert_array_equal(grown_keys[:, :, 2:4], first + 100)
    assert cache.length == 6
    with pytest.raises(ValueError, match="caches float64 keys/values of shape"):
        cache.write(0, np.zeros((2, 1, 1, 3)), np.zeros((2, 1, 1, 3)))
    with pytest.raises(ValueError, match="got keys"):
        cache.write(0, np.zeros((1, 1, 1, 3), np.float32), np.zeros((1, 1, 1, 3), np.float32))


def test_preallocated_cache_refuses_tensors_that_require_grad():
    cache = KVCache(1, max_length=4)
    k = tg.randn(1, 1, 2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="preallocated cache"):
        cache.update(0, k, k * 1.0)
    with tg.no_grad():
        keys, _ = cache.update(0, k, k)
    assert cache.length == 2 and not keys.requires_grad
    with pytest.raises(ValueError, match="max_length"):
        KVCache(1, max_length=0)


def test_decode_plan_formulas_match_the_functional_ops():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 16))
    ln = tg.nn.LayerNorm(16).double()
    ln.weight.array[...] = rng.standard_normal(16)
    np.testing.assert_allclose(decode._layer_norm(ln, x), ln(tg.tensor(x)).detach().numpy(), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(decode._gelu_tanh(x.copy(), np), tg.nn.functional.gelu(
        tg.tensor(x), approximate="tanh").numpy(), rtol=1e-14, atol=1e-14)


def test_generation_on_the_fake_cuda_device_equals_the_cpu():
    """The fast path is xp-generic (CuPy on a GPU): on tests/gpu's fake device (NumPy inside, CuPy's
    refusals outside) both paths give the CPU's tokens, and the logits come back to the host to be
    sampled."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "gpu"))
    try:
        import fake_cupy
    finally:
        sys.path.pop(0)
    model = tiny_gpt(seed=8)
    prompt = tokens((2, 3), seed=8)
    cpu = model.generate(prompt, 9, top_k=4, generator=2).numpy()
    with fake_cupy.installed():
        model.cuda()
        assert model.lm_head.weight.device == "cuda:0"
        fast, slow = both_paths(model, prompt, 9, top_k=4, generator=2)
    np.testing.assert_array_equal(fast, cpu)
    np.testing.assert_array_equal(slow, cpu)
