"""Lab 6: attention from scratch — softmax, masks, multi-head attention, a KV cache, a GPT block
and generation (NumPy only)."""
from ..lab import Lab, Task

LAB = Lab(
    number=6,
    name="attention",
    title="attention from scratch: softmax, masks, multi-head, KV cache, a GPT block and generation",
    student_file="attention.py",
    tutorial="tutorials/05_attention_from_scratch.py",
    tasks=(
        Task("softmax", "a numerically stable softmax along one dim, and its backward",
             "y = exp(x - max) / sum(exp(x - max)) along `dim` (keepdims=True); "
             "dx = y * (g - sum(g * y, dim, keepdims=True))"),
        Task("attention", "scaled dot-product attention with a boolean mask and is_causal",
             "softmax(q @ k^T / sqrt(D), dim=-1) @ v, D = q.shape[-1]; scores of masked-out keys "
             "(mask False) become -inf; causal keeps key j for query i when j <= i"),
        Task("split_merge_heads", "(B, T, E) <-> (B, H, T, E/H) by a reshape and a transpose",
             "split: reshape (B, T, H, D) then transpose to (B, H, T, D); merge: the inverse"),
        Task("multi_head_attention", "multi-head attention with PyTorch's in_proj/out_proj weights",
             "q, k, v = x @ W.T + b with W = in_proj_weight split in 3 along rows; split heads, "
             "attend, merge heads, then out_proj"),
        Task("kv_cache", "incremental decoding: a cache of keys and values, attention over it",
             "append along the time axis (-2); the t new queries are the LAST t positions: query i "
             "sees key j when j <= i + (T_cached - t)"),
        Task("gpt_block", "a pre-LayerNorm GPT block: causal multi-head attention and a GELU MLP",
             "h = x + MHA(LN1(x)) with is_causal=True; out = h + gelu(LN2(h) @ fc.weight.T + fc.bias) "
             "@ proj.weight.T + proj.bias"),
        Task("generate", "greedy generation with a per-layer KV cache",
             "the prompt in one call (positions 0..T0-1), then one token a step at position len(cache); "
             "each block appends to its own cache, new query i sees key j when j <= i + (T - t); "
             "next = argmax(LN_f(last) @ lm_head.weight.T)"),
    ),
)
