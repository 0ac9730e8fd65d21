"""Lab 6, hidden checks (``lab grade`` only): more shapes and dims (1-D and 4-D softmax, ties, -inf
entries, float32 kept), softmax's gradient summing to zero, mask and is_causal together, a single key,
the head split's round trip and its ValueError, multi-head attention without biases and with a padding
mask, and a KV cache fed a prompt then single tokens, with and without a heads axis."""
import numpy as np

from tinygrad_edu.labs.checks import expect_close, expect_equal, expect_true
from tinygrad_edu.labs.testing import lab_test

from ..public_tests import (GENERATE_NOTE, LENT, check_attention, check_cache_contents, check_decoding,
                            check_generate, check_gpt_block, check_mha, check_softmax, check_softmax_backward,
                            draw_block, draw_heads, draw_qkv, lent, random_keep, torch_gpt_block,
                            torch_merge_heads, torch_softmax, torch_split_heads)


# ----------------------------------------------------------------------------- softmax
@lab_test("softmax", points=1)
def test_softmax_more_shapes_ties_and_minus_inf(student, ctx):
    check_softmax(student, ctx.rng.standard_normal(7), 0)
    check_softmax(student, ctx.rng.standard_normal((2, 3, 4, 5)), 2)
    check_softmax(student, ctx.rng.standard_normal((2, 3, 4, 5)), -4)
    check_softmax(student, np.zeros((3, 4)), -1, note=" of equal inputs (every weight 1/n)")
    x = ctx.rng.standard_normal((3, 5))
    x[:, [1, 3]] = -np.inf
    check_softmax(student, x, -1, note=" with -inf entries (a masked score: weight exactly 0)")
    x32 = ctx.rng.standard_normal((3, 4)).astype(np.float32)
    expect_equal("softmax of a float32 input: the dtype of the output", str(np.asarray(
        student.softmax(x32, dim=-1)).dtype), "float32")
    expect_close("softmax of a float32 input", student.softmax(x32, dim=-1), torch_softmax(x32, -1),
                 rtol=1e-5, atol=1e-7)


@lab_test("softmax", points=1)
def test_softmax_backward_more(student, ctx):
    for shape, dim in (((6,), 0), ((2, 3, 4, 5), 2), ((3, 2, 4), -1), ((5, 3), -2)):
        check_softmax_backward(student, ctx.rng, ctx.rng.standard_normal(shape), dim)
    y = torch_softmax(ctx.rng.standard_normal((4, 6)), -1)
    dx = np.asarray(student.softmax_backward(ctx.rng.standard_normal((4, 6)), y, dim=-1))
    expect_close("softmax_backward: dx summed along dim (softmax's outputs always sum to 1, so the "
                 "gradient along dim sums to zero)", dx.sum(axis=-1), np.zeros(4), rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- attention
@lab_test("attention", points=1)
def test_attention_mask_and_causal_together(student, ctx):
    t = 5
    q, k, v = draw_qkv(ctx.rng, (2, 2), t, t)
    keep = random_keep(ctx.rng, (2, 1, t, t))
    keep[..., 0] = True                          # key 0 is never cut by the causal mask: no empty row
    check_attention(student, q, k, v, mask=keep, is_causal=True,
                    note=": with both, a key is kept when the mask AND causality both keep it")
    check_attention(student, q, k, v, mask=np.ones((t, t), dtype=bool),
                    note=": an all-True mask changes nothing")


@lab_test("attention", points=1)
def test_attention_edge_shapes(student, ctx):
    q, k, v = draw_qkv(ctx.rng, (3,), 4, 1)
    check_attention(student, q, k, v, note=": with a single key every weight is 1 (each output row is v)")
    q, k, v = draw_qkv(ctx.rng, (2, 3), 1, 6, d=7, d_v=2)
    check_attention(student, q, k, v, note=": one query, six keys, D = 7 (scale by 1 / sqrt(7))")
    q, k, v = draw_qkv(ctx.rng, (2, 2), 6, 6, d=4, d_v=4)
    check_attention(student, q * 3, k * 3, v, is_causal=True)


@lab_test("attention", points=1)
def test_attention_padding_mask(student, ctx):
    b, h, t = 3, 2, 6
    lengths = ctx.rng.integers(1, t + 1, size=b)
    keep = (np.arange(t)[None, :] < lengths[:, None])[:, None, None, :]
    q, k, v = draw_qkv(ctx.rng, (b, h), t, t)
    check_attention(student, q, k, v, mask=keep, note=f": a padding mask (sequence lengths "
                                                      f"{[int(n) for n in lengths]}, shape (B, 1, 1, T))")


# ----------------------------------------------------------------------------- split / merge heads
@lab_test("split_merge_heads", points=1)
def test_heads_more(student, ctx):
    for b, t, h, d in ((1, 3, 1, 4), (2, 1, 4, 1), (3, 4, 6, 2)):
        x = ctx.rng.standard_normal((b, t, h * d))
        expect_close(f"split_heads(x of shape {x.shape}, num_heads={h})", student.split_heads(x, h),
                     torch_split_heads(x, h), rtol=0, atol=0)
        y = ctx.rng.standard_normal((b, h, t, d))
        expect_close(f"merge_heads(x of shape {y.shape})", student.merge_heads(y), torch_merge_heads(y),
                     rtol=0, atol=0)
    b, t, h, d = draw_heads(ctx.rng)
    x = ctx.rng.standard_normal((b, t, h * d))
    expect_close(f"merge_heads(split_heads(x, {h})) for x of shape {x.shape} (should give x back)",
                 student.merge_heads(torch_split_heads(x, h)), x, rtol=0, atol=0)


@lab_test("split_merge_heads", points=1)
def test_split_heads_rejects_a_bad_head_count(student, ctx):
    x = ctx.rng.standard_normal((2, 3, 6))
    try:
        student.split_heads(x, 4)
    except ValueError:
        return
    expect_true("split_heads(x of shape (2, 3, 6), num_heads=4)", False,
                "should raise ValueError: 6 features cannot be split into 4 equal heads")


# ----------------------------------------------------------------------------- multi-head attention
@lab_test("multi_head_attention", points=2)
def test_mha_without_biases_and_more_shapes(student, ctx):
    check_mha(student, ctx.rng, 2, 4, 4, 6, 3, bias=False, is_causal=True, self_attention=True,
              note=": with bias=False, in_proj_bias and out_proj_bias are None")
    check_mha(student, ctx.rng, 3, 2, 6, 8, 4, bias=False)
    check_mha(student, ctx.rng, 1, 5, 5, 4, 1, is_causal=True, self_attention=True)


@lab_test("multi_head_attention", points=1)
def test_mha_padding_mask(student, ctx):
    b, t = 3, 5
    lengths = ctx.rng.integers(1, t + 1, size=b)
    keep = (np.arange(t)[None, :] < lengths[:, None])[:, None, None, :]
    check_mha(student, ctx.rng, b, t, t, 6, 2, mask=keep, is_causal=True, self_attention=True,
              note=": a padding mask of shape (B, 1, 1, T_k) and is_causal together")


# ----------------------------------------------------------------------------- KV cache
@lab_test("kv_cache", points=1)
def test_cache_without_a_heads_axis(student, ctx):
    check_cache_contents(student, ctx.rng, (3,), [2, 1, 1, 3])
    check_decoding(student, ctx.rng, (3,), [1, 1, 1, 1],
                   note=": k, v of shape (B, t, D), no heads axis (the time axis is -2)")


@lab_test("kv_cache", points=2)
def test_chunks_of_several_positions(student, ctx):
    check_decoding(student, ctx.rng, (2, 2), [4, 1, 1, 2, 1],
                   note=": a chunk of t new positions is the LAST t of the cache: new query i sees key j "
                        "when j <= i + (T - t)")
    check_decoding(student, ctx.rng, (1, 3), [1, 3, 1],
                   note=": a chunk of 3 after one cached position (j <= i + (T - t))")


# ----------------------------------------------------------------------------- GPT block
@lab_test("gpt_block", points=1)
def test_gpt_block_more_shapes(student, ctx):
    check_gpt_block(student, ctx.rng, 1, 7, 16, 2)
    check_gpt_block(student, ctx.rng, 3, 1, 8, 2, note=": one position (it attends only to itself)")


@lab_test("gpt_block", points=1)
def test_gpt_block_uses_every_parameter(student, ctx):
    x, params, got = check_gpt_block(student, ctx.rng, 2, 3, 8, 2)
    for name in ("ln1.bias", "attn.in_proj_bias", "ln2.weight", "fc.bias", "proj.bias"):
        changed = dict(params, **{name: params[name] + 0.5})
        with lent(student, **LENT):
            again = student.gpt_block(x, changed, 2)
        expect_close(f"gpt_block after adding 0.5 to {name}", again, torch_gpt_block(x, changed, 2),
                     rtol=1e-9, atol=1e-10)


# ----------------------------------------------------------------------------- generate
@lab_test("generate", points=1)
def test_generate_longer_and_a_single_step(student, ctx):
    check_generate(student, ctx.rng, 2, 3, 6, note=GENERATE_NOTE)
    check_generate(student, ctx.rng, 1, 5, 1, note=": one step reads the prompt only")


@lab_test("generate", points=1)
def test_generate_step_by_step_block(student, ctx):
    params = draw_block(ctx.rng, 8)
    x = ctx.rng.standard_normal((2, 6, 8))
    want = torch_gpt_block(x, params, 2)
    cache, start = {}, 0
    with lent(student, **LENT):
        for t in (3, 1, 2):
            got = student.gpt_block_step(x[:, start:start + t], params, 2, cache)
            expect_close(f"gpt_block_step for positions {start}..{start + t - 1} (cached before: {start}): "
                         f"the last t positions of gpt_block over all of them", got, want[:, start:start + t],
                         rtol=1e-9, atol=1e-10)
            start += t
