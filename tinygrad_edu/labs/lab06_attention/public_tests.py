"""Lab 6, public checks: ``python -m tinygrad_edu lab check 6 DIR``.

Every expected value comes from PyTorch in float64 (``torch.softmax`` and its autograd,
``F.scaled_dot_product_attention``, ``nn.MultiheadAttention(batch_first=True)``), on shapes drawn at
grading time.  Each task is checked alone: the attention tests lend your
``scaled_dot_product_attention`` a correct softmax, the multi-head and KV-cache tests lend theirs a
correct attention and head split/merge (all made of torch ops), so a mistake in one task never costs
points in another."""

import numpy as np
import torch
import torch.nn.functional as TF

from tinygrad_edu.labs.checks import LabFailure, expect_close, expect_equal, expect_true
from tinygrad_edu.labs.testing import lab_test, lent


# ----------------------------------------------------------------------------- torch stand-ins
def t64(x):
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))


def torch_softmax(x, dim=-1):
    return torch.softmax(t64(x), dim=dim).numpy()


def torch_attention(q, k, v, mask=None, is_causal=False):
    """F.scaled_dot_product_attention in float64, with our conventions (True = keep; mask and
    is_causal together keep the keys both allow)."""
    keep = None if mask is None else torch.from_numpy(np.asarray(mask, dtype=bool))
    if is_causal:
        causal = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
        keep = causal if keep is None else keep & causal
    return TF.scaled_dot_product_attention(t64(q), t64(k), t64(v), attn_mask=keep).numpy()


def torch_split_heads(x, num_heads):
    b, t, e = x.shape
    return t64(x).view(b, t, num_heads, e // num_heads).transpose(1, 2).numpy()


def torch_merge_heads(x):
    b, h, t, d = x.shape
    return t64(x).transpose(1, 2).reshape(b, t, h * d).numpy()


def shape_text(*arrays):
    return ", ".join(str(tuple(np.shape(a))) for a in arrays)


# ----------------------------------------------------------------------------- softmax
def check_softmax(student, x, dim, note=""):
    got = student.softmax(x, dim=dim)
    expect_close(f"softmax(x of shape {x.shape}, dim={dim}){note}", got, torch_softmax(x, dim), rtol=1e-10,
                 atol=1e-14)


def check_softmax_backward(student, rng, x, dim):
    tx = t64(x).requires_grad_(True)
    y = torch.softmax(tx, dim=dim)
    g = rng.standard_normal(x.shape)
    (y * t64(g)).sum().backward()
    got = student.softmax_backward(g, y.detach().numpy(), dim=dim)
    expect_close(f"softmax_backward(grad_out, y of shape {x.shape}, dim={dim}): dx = y * (g - sum(g * y, "
                 f"dim, keepdims=True))", got, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


@lab_test("softmax", points=2)
def test_softmax_values(student, ctx):
    for shape, dim in (((3, 5), -1), ((3, 5), 0), ((2, 3, 4), 1), ((2, 3, 4), -3), ((4, 2, 3), -2)):
        check_softmax(student, ctx.rng.standard_normal(shape) * 3, dim)


@lab_test("softmax", points=1)
def test_softmax_is_stable(student, ctx):
    for offset in (1000.0, -1000.0):
        x = ctx.rng.standard_normal((3, 4)) * 5 + offset
        check_softmax(student, x, -1, note=f" with inputs near {offset:g}: subtract the max along dim "
                                           f"before exp (or exp overflows / every term underflows)")


@lab_test("softmax", points=2)
def test_softmax_backward(student, ctx):
    for shape, dim in (((3, 5), -1), ((4, 3), 0), ((2, 3, 4), 1), ((2, 4, 3), -3)):
        check_softmax_backward(student, ctx.rng, ctx.rng.standard_normal(shape) * 2, dim)


# ----------------------------------------------------------------------------- attention
def draw_qkv(rng, batch=(2, 3), t_q=None, t_k=None, d=None, d_v=None):
    """q, k, v with T_q != T_k and D != D_v unless told."""
    t_q = int(rng.integers(2, 6)) if t_q is None else t_q
    t_k = t_q + int(rng.integers(1, 3)) if t_k is None else t_k
    d = int(rng.integers(2, 6)) if d is None else d
    d_v = d + int(rng.integers(1, 3)) if d_v is None else d_v
    return (rng.standard_normal(batch + (t_q, d)), rng.standard_normal(batch + (t_k, d)),
            rng.standard_normal(batch + (t_k, d_v)))


def random_keep(rng, shape):
    """A random boolean mask with at least one True in every row (no fully-masked query) and, where a row
    has two keys or more, at least one False (so that the mask always matters)."""
    n = shape[-1]
    keep = rng.random(shape) < 0.6
    kept = rng.integers(0, n, size=shape[:-1] + (1,))
    dropped = (kept + rng.integers(1, n, size=kept.shape)) % n if n > 1 else kept
    columns = np.arange(n)
    return (keep & (columns != dropped)) | (columns == kept)


def check_attention(student, q, k, v, mask=None, is_causal=False, note=""):
    where = f"q, k, v of shapes {shape_text(q, k, v)}"
    if mask is not None:
        where += f", mask of shape {np.shape(mask)}"
    if is_causal:
        where += ", is_causal=True"
    with lent(student, softmax=torch_softmax):
        got = student.scaled_dot_product_attention(q, k, v, mask=mask, is_causal=is_causal)
    expect_close(f"scaled_dot_product_attention({where}){note}", got,
                 torch_attention(q, k, v, mask, is_causal), rtol=1e-10, atol=1e-12)


@lab_test("attention", points=2)
def test_attention_matches_torch(student, ctx):
    for batch in ((2, 3), (3,), (2, 1)):
        q, k, v = draw_qkv(ctx.rng, batch)
        check_attention(student, q, k, v, note=": softmax(q k^T / sqrt(D)) v with D = q.shape[-1] "
                                               "(here D differs from v's last dim)")


@lab_test("attention", points=2)
def test_attention_causal(student, ctx):
    for t_q, t_k in ((4, 4), (5, 3), (3, 5)):
        q, k, v = draw_qkv(ctx.rng, (2, 2), t_q, t_k)
        check_attention(student, q, k, v, is_causal=True,
                        note=": causal keeps key j for query i when j <= i (no peeking at the future)")


@lab_test("attention", points=2)
def test_attention_boolean_mask(student, ctx):
    b, h, t_q, t_k = 2, 3, 4, 5
    for mask_shape in ((t_q, t_k), (b, 1, t_q, t_k), (b, 1, 1, t_k)):
        q, k, v = draw_qkv(ctx.rng, (b, h), t_q, t_k)
        check_attention(student, q, k, v, mask=random_keep(ctx.rng, mask_shape),
                        note=": True = keep; a masked-out key gets weight exactly 0 (its score -inf)")


# ----------------------------------------------------------------------------- split / merge heads
def draw_heads(rng):
    b, t = int(rng.integers(2, 4)), int(rng.integers(2, 6))
    h, d = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    return b, t, h, d


@lab_test("split_merge_heads", points=2)
def test_split_heads(student, ctx):
    for _ in range(3):
        b, t, h, d = draw_heads(ctx.rng)
        x = ctx.rng.standard_normal((b, t, h * d))
        expect_close(f"split_heads(x of shape {x.shape}, num_heads={h}) (B, H, T, D): head h holds the "
                     f"features h*D:(h+1)*D (reshape to (B, T, H, D), then transpose)",
                     student.split_heads(x, h), torch_split_heads(x, h), rtol=0, atol=0)


@lab_test("split_merge_heads", points=1)
def test_merge_heads(student, ctx):
    for _ in range(3):
        b, t, h, d = draw_heads(ctx.rng)
        x = ctx.rng.standard_normal((b, h, t, d))
        expect_close(f"merge_heads(x of shape {x.shape}) (B, T, H*D): transpose to (B, T, H, D), then "
                     f"reshape", student.merge_heads(x), torch_merge_heads(x), rtol=0, atol=0)


# ----------------------------------------------------------------------------- multi-head attention
def draw_mha(rng, embed, bias=True):
    """A float64 nn.MultiheadAttention with random weights, and the same weights as NumPy arrays."""
    torch.manual_seed(int(rng.integers(0, 2 ** 31)))
    heads = embed[1]
    module = torch.nn.MultiheadAttention(embed[0], heads, bias=bias, batch_first=True).double()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(t64(rng.standard_normal(tuple(p.shape)) * 0.5))
    weights = (module.in_proj_weight.detach().numpy().copy(),
               None if module.in_proj_bias is None else module.in_proj_bias.detach().numpy().copy(),
               module.out_proj.weight.detach().numpy().copy(),
               None if module.out_proj.bias is None else module.out_proj.bias.detach().numpy().copy())
    return module, weights


def check_mha(student, rng, b, t_q, t_k, e, h, bias=True, mask=None, is_causal=False, self_attention=False,
              note=""):
    module, weights = draw_mha(rng, (e, h), bias)
    query = rng.standard_normal((b, t_q, e))
    key, value = (query, query) if self_attention else \
        (rng.standard_normal((b, t_k, e)), rng.standard_normal((b, t_k, e)))
    keep = np.ones((b, h, t_q, key.shape[1]), dtype=bool)
    if mask is not None:
        keep = keep & mask
    if is_causal:
        keep = keep & np.tri(t_q, key.shape[1], dtype=bool)
    # torch's boolean attn_mask: True = NOT allowed, one (T_q, T_k) mask per (batch, head) pair
    attn_mask = torch.from_numpy(~keep.reshape(b * h, t_q, key.shape[1]))
    with torch.no_grad():
        want, _ = module(t64(query), t64(key), t64(value), attn_mask=attn_mask, need_weights=False)
    where = (f"query {query.shape}, key {key.shape}, value {value.shape}, num_heads={h}"
             f"{'' if bias else ', no biases'}{', a mask' if mask is not None else ''}"
             f"{', is_causal=True' if is_causal else ''}")
    with lent(student, scaled_dot_product_attention=torch_attention, split_heads=torch_split_heads,
              merge_heads=torch_merge_heads):
        got = student.multi_head_attention(query, key, value, h, *weights, mask=mask, is_causal=is_causal)
    expect_close(f"multi_head_attention({where}){note}", got, want.numpy(), rtol=1e-9, atol=1e-10)


@lab_test("multi_head_attention", points=3)
def test_mha_causal_self_attention(student, ctx):
    for b, t, h, d in ((2, 5, 2, 3), (3, 4, 3, 2), (2, 6, 1, 4)):
        check_mha(student, ctx.rng, b, t, t, h * d, h, is_causal=True, self_attention=True,
                  note=": equal to nn.MultiheadAttention(batch_first=True) with a causal attn_mask (x @ W.T "
                       "+ b; in_proj_weight rows = [W_q; W_k; W_v])")


@lab_test("multi_head_attention", points=2)
def test_mha_cross_attention(student, ctx):
    b, t_q, t_k, h, d = 2, 3, 5, 2, 3
    check_mha(student, ctx.rng, b, t_q, t_k, h * d, h,
              note=": query, key and value are different arrays; each has its own projection")
    check_mha(student, ctx.rng, b, t_q, t_k, h * d, h, mask=random_keep(ctx.rng, (t_q, t_k)),
              note=": the mask (True = keep) goes to the attention as it is")


# ----------------------------------------------------------------------------- KV cache
def check_cache_contents(student, rng, lead, chunks, d=3, d_v=4):
    cache = student.KVCache()
    expect_equal("len(KVCache()) before any update", len(cache), 0)
    ks, vs = [], []
    for t in chunks:
        k, v = rng.standard_normal(lead + (t, d)), rng.standard_normal(lead + (t, d_v))
        ks.append(k)
        vs.append(v)
        got = cache.update(k, v)
        where = f"KVCache.update with chunks of {chunks[:len(ks)]} positions, each k of shape {k.shape}"
        expect_true(where, isinstance(got, tuple) and len(got) == 2, "should return a pair (keys, values)")
        expect_close(f"{where}: the keys returned (every position so far, in order, along axis -2)",
                     got[0], np.concatenate(ks, axis=-2), rtol=0, atol=0)
        expect_close(f"{where}: the values returned", got[1], np.concatenate(vs, axis=-2), rtol=0, atol=0)
        expect_equal(f"{where}: len(cache) (positions cached, the size of axis -2)", len(cache),
                     sum(chunks[:len(ks)]))


def check_decoding(student, rng, lead, chunks, d=3, d_v=4, note=""):
    total = sum(chunks)
    q = rng.standard_normal(lead + (total, d))
    k = rng.standard_normal(lead + (total, d))
    v = rng.standard_normal(lead + (total, d_v))
    cache, outs, start = student.KVCache(), [], 0
    with lent(student, scaled_dot_product_attention=torch_attention):
        for t in chunks:
            step = slice(start, start + t)
            out = student.cached_attention(cache, q[..., step, :], k[..., step, :], v[..., step, :])
            expect_close(f"cached_attention for positions {start}..{start + t - 1} (q of shape "
                         f"{q[..., step, :].shape}, positions cached before: {start}){note}", out,
                         torch_attention(q, k, v, is_causal=True)[..., step, :], rtol=1e-10, atol=1e-12)
            outs.append(out)
            start += t


@lab_test("kv_cache", points=2)
def test_cache_appends_along_time(student, ctx):
    try:
        check_cache_contents(student, ctx.rng, (2, 3), [1, 1, 1, 1])
        check_cache_contents(student, ctx.rng, (2, 2), [3, 1, 2])
    except (ValueError, TypeError, AttributeError) as exc:
        raise LabFailure(f"KVCache.update raised {type(exc).__name__}: {exc} (concatenate along axis -2, "
                         f"the time axis)") from None


@lab_test("kv_cache", points=2)
def test_single_steps_equal_causal_attention(student, ctx):
    check_decoding(student, ctx.rng, (2, 3), [1] * 5,
                   note=": T single steps should equal causal attention over the T tokens (each new "
                        "query sees every cached position, its own included)")


@lab_test("kv_cache", points=1)
def test_a_prompt_then_single_tokens(student, ctx):
    check_decoding(student, ctx.rng, (2, 2), [3, 1, 1],
                   note=": a chunk of t new positions is the LAST t of the cache: new query i sees key j "
                        "when j <= i + (T - t)")


# ----------------------------------------------------------------------------- GPT block
def torch_layer_norm(x, weight, bias, eps=1e-5):
    return TF.layer_norm(t64(x), (np.shape(x)[-1],), t64(weight), t64(bias), eps).numpy()


def torch_gelu(x):
    return TF.gelu(t64(x), approximate="tanh").numpy()


def torch_mha(query, key, value, num_heads, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias,
              mask=None, is_causal=False):
    """multi_head_attention with torch's F.multi_head_attention_forward (True = keep, as ours)."""
    keep = np.ones((query.shape[1], key.shape[1]), dtype=bool)
    if is_causal:
        keep = np.tril(keep)
    if mask is not None:
        keep = keep & mask
    b, t_q, e = query.shape
    keep = np.broadcast_to(keep, (b, num_heads, t_q, key.shape[1])).reshape(b * num_heads, t_q, -1)
    out, _ = TF.multi_head_attention_forward(
        t64(query).transpose(0, 1), t64(key).transpose(0, 1), t64(value).transpose(0, 1), e, num_heads,
        t64(in_proj_weight), t64(in_proj_bias), None, None, False, 0.0, t64(out_proj_weight),
        t64(out_proj_bias), need_weights=False, attn_mask=torch.from_numpy(~keep))
    return out.transpose(0, 1).numpy()


def torch_gpt_block(x, params, num_heads):
    """The pre-LN GPT block in torch float64: F.layer_norm, F.multi_head_attention_forward with a causal
    mask, F.gelu(approximate="tanh")."""
    p = {name: t64(value) for name, value in params.items()}
    e = x.shape[-1]
    a = TF.layer_norm(t64(x), (e,), p["ln1.weight"], p["ln1.bias"])
    h = t64(x) + t64(torch_mha(a.numpy(), a.numpy(), a.numpy(), num_heads, params["attn.in_proj_weight"],
                               params["attn.in_proj_bias"], params["attn.out_proj.weight"],
                               params["attn.out_proj.bias"], is_causal=True))
    m = TF.layer_norm(h, (e,), p["ln2.weight"], p["ln2.bias"])
    m = TF.gelu(TF.linear(m, p["fc.weight"], p["fc.bias"]), approximate="tanh")
    return (h + TF.linear(m, p["proj.weight"], p["proj.bias"])).numpy()


def draw_block(rng, e):
    """A block's parameters (PyTorch's names and layouts), every one random (layer norms too)."""
    shapes = {"ln1.weight": (e,), "ln1.bias": (e,), "attn.in_proj_weight": (3 * e, e),
              "attn.in_proj_bias": (3 * e,), "attn.out_proj.weight": (e, e), "attn.out_proj.bias": (e,),
              "ln2.weight": (e,), "ln2.bias": (e,), "fc.weight": (4 * e, e), "fc.bias": (4 * e,),
              "proj.weight": (e, 4 * e), "proj.bias": (e,)}
    params = {name: rng.standard_normal(shape) * (0.5 if name.endswith("weight") else 0.3)
              for name, shape in shapes.items()}
    for ln in ("ln1", "ln2"):
        params[f"{ln}.weight"] = params[f"{ln}.weight"] + 1.0
    return params


#: correct stand-ins for every other task's functions (and the given helpers)
LENT = dict(softmax=torch_softmax, scaled_dot_product_attention=torch_attention,
            split_heads=torch_split_heads, merge_heads=torch_merge_heads, multi_head_attention=torch_mha,
            layer_norm=torch_layer_norm, gelu=torch_gelu)

BLOCK_NOTE = (": h = x + MHA(LN1(x)) with a causal mask, out = h + proj(gelu(fc(LN2(h)))) (pre-LN: each "
              "layer norm is applied to the input of its sub-layer, the residual adds the un-normalised one)")


def check_gpt_block(student, rng, b, t, e, h, note=BLOCK_NOTE):
    x = rng.standard_normal((b, t, e))
    params = draw_block(rng, e)
    with lent(student, **LENT):
        got = student.gpt_block(x, params, h)
    expect_close(f"gpt_block(x of shape {x.shape}, num_heads={h}){note}", got, torch_gpt_block(x, params, h),
                 rtol=1e-9, atol=1e-10)
    return x, params, got


@lab_test("gpt_block", points=3)
def test_gpt_block_matches_torch(student, ctx):
    for b, t, e, h in ((2, 5, 8, 2), (3, 4, 12, 2)):
        check_gpt_block(student, ctx.rng, b, t, e, h)


@lab_test("gpt_block", points=1)
def test_gpt_block_is_causal(student, ctx):
    x = ctx.rng.standard_normal((2, 6, 8))
    params = draw_block(ctx.rng, 8)
    later = x.copy()
    later[:, 3:] = ctx.rng.standard_normal(later[:, 3:].shape)
    with lent(student, **LENT):
        first, second = student.gpt_block(x, params, 2), student.gpt_block(later, params, 2)
    expect_close("gpt_block: positions 0..2 when positions 3..5 change (the attention is causal: no "
                 "position may read a later one)", second[:, :3], first[:, :3], rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- generation with a KV cache
def draw_gpt(rng, vocab=11, e=8, heads=2, layers=2, t_max=12):
    params = {"wte": rng.standard_normal((vocab, e)), "wpe": rng.standard_normal((t_max, e)),
              "blocks": [draw_block(rng, e) for _ in range(layers)],
              "ln_f.weight": 1.0 + 0.3 * rng.standard_normal(e), "ln_f.bias": 0.3 * rng.standard_normal(e),
              "lm_head.weight": rng.standard_normal((vocab, e)), "num_heads": heads}
    return params


def full_recompute_logits(ids, params):
    """The logits at the last position after running the WHOLE sequence ``ids`` (B, T) through the model
    again (torch float64, no cache)."""
    x = params["wte"][ids] + params["wpe"][:ids.shape[1]]
    for block in params["blocks"]:
        x = torch_gpt_block(x, block, params["num_heads"])
    last = torch_layer_norm(x[:, -1], params["ln_f.weight"], params["ln_f.bias"])
    return last @ params["lm_head.weight"].T


def check_generate(student, rng, b, t0, n, note=""):
    params = draw_gpt(rng)
    prompt = rng.integers(0, params["wte"].shape[0], size=(b, t0))
    with lent(student, **LENT):
        got = student.generate(prompt.copy(), params, n)
    expect_true(f"generate(prompt of shape {prompt.shape}, params, {n})",
                isinstance(got, tuple) and len(got) == 2, "should return a pair (ids, logits)")
    ids, logits = np.asarray(got[0]), np.asarray(got[1])
    expect_equal(f"generate(prompt of shape {prompt.shape}, params, {n}): the shape of ids (the prompt, then "
                 f"the new tokens)", ids.shape, (b, t0 + n))
    expect_equal(f"generate(prompt of shape {prompt.shape}, params, {n}): the shape of logits (B, n, V)",
                 logits.shape, (b, n, params["wte"].shape[0]))
    expect_equal("generate: ids[:, :T0] (the prompt comes first, unchanged)", ids[:, :t0].tolist(),
                 prompt.tolist())
    want = prompt
    for step in range(n):
        expected = full_recompute_logits(want, params)
        expect_close(f"generate with a prompt of {t0} tokens, step {step} (the logits read at position "
                     f"{t0 + step - 1}), compared with recomputing the whole sequence{note}", logits[:, step],
                     expected, rtol=1e-8, atol=1e-9)
        choice = expected.argmax(axis=-1)
        expect_equal(f"generate, step {step}: the token chosen (greedy: the argmax of the logits)",
                     ids[:, t0 + step].tolist(), choice.tolist())
        want = np.concatenate([want, choice[:, None]], axis=1)


GENERATE_NOTE = (" (the prompt in one call with a causal mask, then one token a step at position len(cache); "
                 "each block keeps its own cache of every position so far)")


@lab_test("generate", points=3)
def test_generate_matches_full_recompute(student, ctx):
    check_generate(student, ctx.rng, 2, 4, 4, note=GENERATE_NOTE)


@lab_test("generate", points=1)
def test_generate_a_one_token_prompt(student, ctx):
    check_generate(student, ctx.rng, 3, 1, 3, note=": the positions of the new tokens are 1, 2, ... (the "
                                                   "position embedding of len(cache), not 0)")
