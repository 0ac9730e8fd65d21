"""Lab 6 — attention from scratch, in plain NumPy: softmax, masks, multi-head attention, a KV cache.

Shapes follow PyTorch: a query is ``(..., T_q, D)``, keys ``(..., T_k, D)``, values ``(..., T_k, D_v)``
(``...`` is any batch shape, usually ``(B, H)``: batch and heads).  Multi-head inputs are
``(B, T, E)`` with ``E = H * D``.

**Softmax** along ``dim``:  ``y_i = exp(x_i - m) / sum_j exp(x_j - m)`` with ``m = max_j x_j``.  The
shift by ``m`` changes nothing mathematically (it cancels) but keeps ``exp`` from overflowing (x = 1000)
or every term from underflowing to 0 (x = -1000, then 0 / 0).  Its backward, for ``g = dL/dy``:

    dL/dx_i = y_i * (g_i - sum_j g_j y_j)            (the Jacobian is diag(y) - y y^T)

**Scaled dot-product attention**:

    out = softmax(q @ k^T / sqrt(D), dim=-1) @ v        (..., T_q, D_v)

Row ``i`` of the softmax is how much query ``i`` reads from each key.  A boolean ``mask``
(broadcastable to ``(..., T_q, T_k)``) keeps key ``j`` for query ``i`` where it is True: the other
scores become ``-inf`` before the softmax, so their weight is exactly 0.  ``is_causal=True`` keeps key
``j`` for query ``i`` only when ``j <= i`` (counted from the first position, as PyTorch).  Given both,
a key must pass both.  A row whose keys are *all* masked out is undefined (0 / 0: PyTorch returns NaN);
the tests never make one.

**Multi-head attention** (PyTorch's ``nn.MultiheadAttention(batch_first=True)``): ``in_proj_weight``
``(3E, E)`` stacks ``W_q``, ``W_k``, ``W_v`` by rows, ``in_proj_bias`` ``(3E,)`` likewise; then

    q = query @ W_q.T + b_q   (and k, v from key, value)  -> split into H heads of size D = E / H
    out = merge(attention(q_h, k_h, v_h)) @ out_proj_weight.T + out_proj_bias

**KV cache**: when a model generates one token at a time, the keys and values of the past positions
never change, so they are kept (appended along the time axis, -2) instead of recomputed; the new
query attends to every cached position, its own included.

Your tasks (see handout.md).  Run the public checks with ``python -m tinygrad_edu lab check 6 .``.
"""
import numpy as np


def softmax(x, dim=-1):
    """``exp(x)`` normalised to sum to 1 along ``dim`` (any int, negative too), computed stably: subtract
    the maximum along ``dim`` first.  Same shape (and dtype) as ``x``."""
    # BEGIN SOLUTION softmax
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)
    # END SOLUTION


def softmax_backward(grad_out, y, dim=-1):
    """The gradient of ``softmax`` with respect to its input, from its OUTPUT ``y = softmax(x, dim)`` and
    ``grad_out = dL/dy``:  ``dx = y * (grad_out - sum(grad_out * y, dim, keepdims=True))``."""
    # BEGIN SOLUTION softmax
    inner = (grad_out * y).sum(axis=dim, keepdims=True)
    return y * (grad_out - inner)
    # END SOLUTION


def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):
    """``softmax(q @ k^T / sqrt(D), dim=-1) @ v`` for ``q`` (..., T_q, D), ``k`` (..., T_k, D), ``v``
    (..., T_k, D_v) -> (..., T_q, D_v), with ``D = q.shape[-1]``.

    ``mask``: None or a boolean array broadcastable to (..., T_q, T_k), True = query i may attend to key
    j.  ``is_causal``: keep key j for query i only when j <= i.  Masked-out scores become ``-inf`` before
    the softmax (call this module's ``softmax``)."""
    # BEGIN SOLUTION attention
    scale = 1.0 / np.sqrt(q.shape[-1])
    scores = (q @ np.swapaxes(k, -1, -2)) * scale
    t_q, t_k = scores.shape[-2:]
    keep = np.ones((t_q, t_k), dtype=bool)
    if is_causal:
        keep = np.tril(keep)
    if mask is not None:
        keep = keep & mask
    scores = np.where(keep, scores, -np.inf)
    return softmax(scores, dim=-1) @ v
    # END SOLUTION


def split_heads(x, num_heads):
    """(B, T, E) -> (B, H, T, D) with H = ``num_heads``, D = E / H: head h holds the features
    ``h*D : (h+1)*D`` of every position.  Raise ValueError when E is not a multiple of H."""
    b, t, e = x.shape
    # BEGIN SOLUTION split_merge_heads
    if e % num_heads != 0:
        raise ValueError(f"the embedding size {e} is not a multiple of num_heads = {num_heads}")
    return x.reshape(b, t, num_heads, e // num_heads).transpose(0, 2, 1, 3)
    # END SOLUTION


def merge_heads(x):
    """The inverse of ``split_heads``: (B, H, T, D) -> (B, T, H*D), the heads side by side."""
    b, h, t, d = x.shape
    # BEGIN SOLUTION split_merge_heads
    return x.transpose(0, 2, 1, 3).reshape(b, t, h * d)
    # END SOLUTION


def multi_head_attention(query, key, value, num_heads, in_proj_weight, in_proj_bias, out_proj_weight,
                         out_proj_bias, mask=None, is_causal=False):
    """``nn.MultiheadAttention(E, num_heads, batch_first=True)`` of ``query`` (B, T_q, E), ``key`` and
    ``value`` (B, T_k, E), with its weights given: ``in_proj_weight`` (3E, E) = [W_q; W_k; W_v] by rows,
    ``in_proj_bias`` (3E,) or None, ``out_proj_weight`` (E, E), ``out_proj_bias`` (E,) or None.

    Project (x @ W.T + b), ``split_heads``, ``scaled_dot_product_attention`` with ``mask`` (True = keep)
    and ``is_causal``, ``merge_heads``, project with out_proj.  Returns (B, T_q, E)."""
    # BEGIN SOLUTION multi_head_attention
    w_q, w_k, w_v = np.split(in_proj_weight, 3)
    q, k, v = query @ w_q.T, key @ w_k.T, value @ w_v.T
    if in_proj_bias is not None:
        b_q, b_k, b_v = np.split(in_proj_bias, 3)
        q, k, v = q + b_q, k + b_k, v + b_v
    heads = scaled_dot_product_attention(split_heads(q, num_heads), split_heads(k, num_heads),
                                         split_heads(v, num_heads), mask=mask, is_causal=is_causal)
    out = merge_heads(heads) @ out_proj_weight.T
    if out_proj_bias is not None:
        out = out + out_proj_bias
    return out
    # END SOLUTION


class KVCache:
    """The keys and values of every position seen so far, each (..., T_cached, D), grown along the time
    axis (-2) by ``update``."""

    def __init__(self):
        self.keys = None
        self.values = None

    def __len__(self):
        """How many positions are cached (0 before the first ``update``)."""
        # BEGIN SOLUTION kv_cache
        return 0 if self.keys is None else self.keys.shape[-2]
        # END SOLUTION

    def update(self, k, v):
        """Append ``k`` (..., t, D) and ``v`` (..., t, D_v), the keys and values of t new positions, after
        the cached ones (along axis -2); return all of them, ``(keys, values)``."""
        # BEGIN SOLUTION kv_cache
        if self.keys is None:
            self.keys, self.values = k, v
        else:
            self.keys = np.concatenate([self.keys, k], axis=-2)
            self.values = np.concatenate([self.values, v], axis=-2)
        return self.keys, self.values
        # END SOLUTION


def cached_attention(cache, q, k, v):
    """One decoding step: ``q``, ``k``, ``v`` (..., t, D) belong to t new positions (t = 1 when generating
    token by token, t > 1 for a prompt).  Add k and v to ``cache``, then let the new queries attend to
    every cached position up to their own: the new positions are the LAST t of the T cached, so new query
    i sees key j when ``j <= i + (T - t)``.  Use ``scaled_dot_product_attention`` with a boolean mask.
    Over a whole sequence fed step by step, the outputs equal causal attention over all of it."""
    # BEGIN SOLUTION kv_cache
    keys, values = cache.update(k, v)
    t_new, t_all = q.shape[-2], keys.shape[-2]
    keep = np.arange(t_all)[None, :] <= np.arange(t_new)[:, None] + (t_all - t_new)
    return scaled_dot_product_attention(q, keys, values, mask=keep)
    # END SOLUTION


# ----------------------------------------------------------------------------- a GPT block, generation
def layer_norm(x, weight, bias, eps=1e-5):
    """Given (not a task): ``F.layer_norm`` over the last axis, ``(x - mean) / sqrt(var + eps) * weight +
    bias`` with the biased variance."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def gelu(x):
    """Given (not a task): GELU, tanh approximation (GPT-2's, ``F.gelu(x, approximate="tanh")``):
    ``0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))``."""
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def gpt_block(x, params, num_heads):
    """One pre-LayerNorm GPT block (GPT-2's) of ``x`` (B, T, E), causal self-attention:

        h   = x + MHA(LN1(x))                              (is_causal=True)
        out = h + proj(gelu(fc(LN2(h))))                   fc: E -> 4E, proj: 4E -> E, y = z @ W.T + b

    ``params`` holds PyTorch's layouts: ``ln1.weight``, ``ln1.bias``, ``attn.in_proj_weight`` (3E, E),
    ``attn.in_proj_bias``, ``attn.out_proj.weight`` (E, E), ``attn.out_proj.bias``, ``ln2.weight``,
    ``ln2.bias``, ``fc.weight`` (4E, E), ``fc.bias``, ``proj.weight`` (E, 4E), ``proj.bias``.  Use
    ``layer_norm``, ``gelu`` and this module's ``multi_head_attention``.  Returns (B, T, E)."""
    # BEGIN SOLUTION gpt_block
    a = layer_norm(x, params["ln1.weight"], params["ln1.bias"])
    h = x + multi_head_attention(a, a, a, num_heads, params["attn.in_proj_weight"],
                                 params["attn.in_proj_bias"], params["attn.out_proj.weight"],
                                 params["attn.out_proj.bias"], is_causal=True)
    m = layer_norm(h, params["ln2.weight"], params["ln2.bias"])
    m = gelu(m @ params["fc.weight"].T + params["fc.bias"])
    return h + m @ params["proj.weight"].T + params["proj.bias"]
    # END SOLUTION


def gpt_block_step(x, params, num_heads, cache):
    """``gpt_block`` for t NEW positions ``x`` (B, t, E), with ``cache`` a dict (empty at first) that keeps
    this block's keys and values, (B, H, T, D) each, under ``"k"`` and ``"v"``: append the new ones
    along the time axis, attend with the new queries (the LAST t of the T positions: new query i sees
    key j when j <= i + (T - t)), store them back.  Returns (B, t, E), equal to the last t positions of
    ``gpt_block`` over all T."""
    # BEGIN SOLUTION generate
    a = layer_norm(x, params["ln1.weight"], params["ln1.bias"])
    b_q, b_k, b_v = np.split(params["attn.in_proj_bias"], 3)
    w_q, w_k, w_v = np.split(params["attn.in_proj_weight"], 3)
    q = split_heads(a @ w_q.T + b_q, num_heads)
    k = split_heads(a @ w_k.T + b_k, num_heads)
    v = split_heads(a @ w_v.T + b_v, num_heads)
    if "k" in cache:
        k = np.concatenate([cache["k"], k], axis=-2)
        v = np.concatenate([cache["v"], v], axis=-2)
    cache["k"], cache["v"] = k, v
    t, past = q.shape[-2], k.shape[-2] - q.shape[-2]
    keep = np.arange(k.shape[-2])[None, :] <= np.arange(t)[:, None] + past
    heads = merge_heads(scaled_dot_product_attention(q, k, v, mask=keep))
    h = x + heads @ params["attn.out_proj.weight"].T + params["attn.out_proj.bias"]
    m = layer_norm(h, params["ln2.weight"], params["ln2.bias"])
    m = gelu(m @ params["fc.weight"].T + params["fc.bias"])
    return h + m @ params["proj.weight"].T + params["proj.bias"]
    # END SOLUTION


def generate(prompt_ids, params, num_new_tokens):
    """Greedy generation with a KV cache for a tiny GPT.  ``prompt_ids`` (B, T0) ints; ``params``:
    ``wte`` (V, E) token and ``wpe`` (T_max, E) position embeddings, ``blocks`` (a list of ``gpt_block``
    params dicts), ``ln_f.weight``, ``ln_f.bias``, ``lm_head.weight`` (V, E) and ``num_heads``.

    The first step runs the whole prompt (positions 0..T0-1) through the blocks in one call, each later
    step only the token just chosen (at position len(cache)), each block with its OWN cache
    (``gpt_block_step``).  logits = LN_f(last position) @ lm_head.weight.T; the next token is their argmax.
    Returns ``(ids, logits)``: ids (B, T0 + n), the prompt then the n new tokens; logits (B, n, V), those
    each new token was chosen from."""
    # BEGIN SOLUTION generate
    caches = [{} for _ in params["blocks"]]
    ids, new, steps = prompt_ids, prompt_ids, []
    for _ in range(num_new_tokens):
        start = ids.shape[1] - new.shape[1]
        x = params["wte"][new] + params["wpe"][start:ids.shape[1]]
        for block, cache in zip(params["blocks"], caches):
            x = gpt_block_step(x, block, params["num_heads"], cache)
        last = layer_norm(x[:, -1], params["ln_f.weight"], params["ln_f.bias"])
        logits = last @ params["lm_head.weight"].T
        steps.append(logits)
        new = logits.argmax(axis=-1)[:, None]
        ids = np.concatenate([ids, new], axis=1)
    return ids, np.stack(steps, axis=1)
    # END SOLUTION
