"""The generation fast path: the GPT forward on raw arrays, for ``GPT.generate`` under ``no_grad``.

Why it exists.  At batch 1 a decode step is one position through every layer: about a hundred
tiny ops ((1, 128) rows, (128, 384) matrices) whose math takes a few µs each.  Through Tensors
each op also pays the framework's bookkeeping (module calls, argument checks, graph checks,
wrapping results): measured, 63% of the time of a generated token.  Generation records no graph
(it runs under ``no_grad``) and, when no module has a forward hook, nothing can observe the
intermediate tensors — so the same math can run directly on the parameters' arrays.

What it computes is exactly what the modules compute, formula by formula and in the same order
(the test checks equal logits, 1e-5 in float32, 1e-12 in float64, and identical tokens):

    x      = wte[idx] + wpe[past .. past+T-1]
    per block:
      h    = LayerNorm(x):  (x − mean) / √(var + eps) · w + b    (biased variance, last dim)
      qkv  = h Wᵀ + b   → (B, T, 3, n_head, hs) → q, k, v (B, n_head, T, hs) in one transpose
      k, v → written into the KV cache's preallocated buffers (``KVCache.write``)
      y    = softmax(q kᵀ / √hs, causal mask shifted by past) v
      x    = x + (y (B, T, C)) Wᵀ + b
      x    = x + c_proj(gelu_tanh(c_fc(LayerNorm(x))))
    logits = LayerNorm_f(x[:, -1]) wteᵀ   (only the last position is needed for the next token)

Layer norms here use ``sum · (1/C)`` for the means (NumPy's ``mean`` is a Python wrapper that costs
more than the sum of 128 numbers), a difference of one rounding.

When it applies (``DecodePlan.build`` / ``DecodePlan.usable``): grad mode off, every module in
eval mode, the model made of exactly the stock classes (a subclass might override a forward), no
forward (pre-)hook anywhere, GELU with ``approximate='tanh'``, embeddings without ``max_norm``,
one float dtype (float32 or float64) for all parameters.  Otherwise ``GPT.generate`` runs the
Tensor path, which gives the same tokens.

Measured (GPTConfig() 4L4H128, 63 tokens after a 1-token prompt, top_k=1, batch 1, one thread,
``benchmarks.bench_gpt --rows generate_cache``'s step): 1.35 ms/token before (Tensor path, concatenating
cache), 0.95 through the modules now (cheaper op glue, one qkv transpose, preallocated cache), 0.39
here; torch 0.62 on a quiet machine.  The 17 matrix-vector products alone take 0.13-0.15 ms/token:
most of the rest is ~40 NumPy calls per layer on (1, 128) rows, each ~1 µs, and slower just after
the 3 MB of weights have streamed through the cache.
"""
import math

import numpy as np

from ... import nn
from ...autograd import grad_mode
from ...backend import array_module
from .blocks import MLP, Block, CausalSelfAttention

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_STOCK = (nn.ModuleDict, nn.ModuleList, nn.Embedding, nn.Dropout, nn.LayerNorm, nn.Linear, nn.GELU,
          Block, CausalSelfAttention, MLP)


class DecodePlan:
    """The modules of one GPT, checked once per generation; ``logits`` runs a step on arrays."""

    def __init__(self, model, modules):
        self.model = model
        self.modules = modules[1:]        # what a step calls (generation never calls the GPT itself)
        self.blocks = list(model.transformer.h)

    @classmethod
    def build(cls, model):
        """A plan for ``model``, or None when the fast path does not apply to its structure."""
        modules = list(model.modules())
        for m in modules[1:]:
            if type(m) not in _STOCK:
                return None
            if type(m) is nn.GELU and m.approximate != "tanh":
                return None
            if type(m) is nn.Embedding and m.max_norm is not None:
                return None
            if type(m) is nn.LayerNorm and len(m.normalized_shape) != 1:
                return None
        dtypes = {p.dtype for p in model.parameters()}
        if len(dtypes) != 1 or dtypes.pop() not in (np.float32, np.float64):
            return None
        return cls(model, modules)

    def usable(self):
        """Checked before every step: no graph wanted, eval mode, no forward hooks."""
        if grad_mode.is_grad_enabled():
            return False
        for m in self.modules:
            if m.training or m._forward_hooks or m._forward_pre_hooks:
                return False
        return True

    # ---- the step ---------------------------------------------------------------------------------
    def logits(self, idx, cache=None):
        """Next-token logits (B, vocab) for the token ids ``idx`` (B, T) (a NumPy int array), at
        positions ``cache.length`` … (0 … without a cache); their keys and values are appended to
        the (preallocated) ``cache``."""
        wte = _param(self.model.transformer._modules["wte"], "weight")
        wpe = _param(self.model.transformer._modules["wpe"], "weight")
        xp = array_module(wte)
        past = 0 if cache is None else cache.length
        T = idx.shape[1]
        idx = xp.asarray(idx)
        x = wte[idx]
        x += wpe[past:past + T]
        for layer, block in enumerate(self.blocks):
            x = _block(block._modules, x, past, cache, layer, xp)
        last = _layer_norm(self.model.transformer._modules["ln_f"], x[:, -1, :])
        return _linear(self.model._modules["lm_head"], last)


def _param(module, name):
    p = module._parameters[name]
    return None if p is None else p.array


def _linear(module, x):
    """y = x Wᵀ + b, as ``LinearFunction``."""
    y = x @ module._parameters["weight"].array.T
    b = _param(module, "bias")
    if b is not None:
        y += b
    return y


def _row_sum(x, xp):
    """Σ over the last dim, kept; ``np.add.reduce`` skips ``ndarray.sum``'s Python wrapper."""
    return np.add.reduce(x, axis=-1, keepdims=True) if xp is np else x.sum(axis=-1, keepdims=True)


def _layer_norm(module, x):
    """LayerNorm over the last dim, as ``Normalize``: x̂ = (x − mean)/√(var + eps), x̂ · w + b."""
    xp = array_module(x)
    scale = 1.0 / x.shape[-1]
    centred = x - _row_sum(x, xp) * scale
    var = _row_sum(centred * centred, xp) * scale
    var += module.eps
    centred *= 1.0 / xp.sqrt(var)
    w, b = _param(module, "weight"), _param(module, "bias")
    if w is not None:
        centred *= w
    if b is not None:
        centred += b
    return centred


def _gelu_tanh(x, xp):
    """½x(1 + tanh(√(2/π)(x + 0.044715x³))), in place on the fresh ``x`` (``Gelu``'s formula)."""
    u = x * x
    u *= x
    u *= 0.044715
    u += x
    u *= _SQRT_2_OVER_PI
    xp.tanh(u, out=u)
    u += 1.0
    u *= x
    u *= 0.5
    return u


def _attention(attn, h, past, cache, layer, xp):
    """Causal multi-head self-attention of the new positions ``h`` (B, T, C) after ``past``
    cached ones; returns c_proj of the heads side by side (B, T, C)."""
    B, T, C = h.shape
    heads = attn.n_head
    qkv = _linear(attn._modules["c_attn"], h).reshape(B, T, 3, heads, C // heads)
    qkv = qkv.transpose(2, 0, 3, 1, 4)                              # (3, B, nh, T, hs)
    q, k, v = qkv[0], qkv[1], qkv[2]
    if cache is not None:
        k, v = cache.write(layer, k, v)                              # (B, nh, S, hs)
    S = k.shape[2]
    scores = q @ k.swapaxes(-1, -2)
    scores *= 1.0 / math.sqrt(C // heads)
    if T > 1:                                                        # query i sees keys 0..past+i
        blocked = np.triu(np.ones((T, S), dtype=bool), k=S - T + 1)
        scores = xp.where(xp.asarray(blocked), -np.inf, scores).astype(scores.dtype, copy=False)
    scores -= np.maximum.reduce(scores, axis=-1, keepdims=True) if xp is np else \
        scores.max(axis=-1, keepdims=True)
    xp.exp(scores, out=scores)
    scores /= _row_sum(scores, xp)
    y = (scores @ v).transpose(0, 2, 1, 3).reshape(B, T, C)
    return _linear(attn._modules["c_proj"], y)


def _block(parts, x, past, cache, layer, xp):
    """x + attn(ln_1(x)), then + mlp(ln_2(x)): the pre-LN ``Block``."""
    x = x + _attention(parts["attn"], _layer_norm(parts["ln_1"], x), past, cache, layer, xp)
    mlp = parts["mlp"]._modules
    hidden = _gelu_tanh(_linear(mlp["c_fc"], _layer_norm(parts["ln_2"], x)), xp)
    x += _linear(mlp["c_proj"], hidden)
    return x
