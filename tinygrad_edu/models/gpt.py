"""mini-GPT: the GPT-2 architecture (Radford et al., 2019) as nanoGPT writes it, on tinygrad_edu.

A GPT is a *language model*: given tokens t₀ … t_{T-1} it outputs, at every position i, a
probability distribution over the next token t_{i+1}.  Trained with cross entropy on text, it
learns to continue text; sampling one token at a time from its own predictions writes new text.

    idx (B, T) token ids
      → wte[idx] + wpe[0..T-1]          token embedding + learned position embedding   (B, T, C)
      → dropout
      → n_layer × Block                 x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))    (pre-LN)
      → ln_f → lm_head                  logits over the vocabulary                       (B, T, V)

* **Causal self-attention** (``CausalSelfAttention``): one Linear ``c_attn`` makes queries, keys
  and values for all heads at once; each of ``n_head`` heads attends over positions 0..i only
  (``is_causal=True``), so the prediction at i never sees the token it must predict.
* **MLP**: C → 4C → C with GELU (GPT-2's "gelu_new", the tanh approximation).
* **Pre-LN residual blocks**: LayerNorm *before* each sublayer and a clean residual stream, which
  trains stably without warm-up tricks; a final ``ln_f`` normalises the stream before the head.
* **Weight tying**: the output layer ``lm_head`` uses the token embedding matrix itself
  (logits = h · wteᵀ): one matrix both reads and writes tokens (fewer parameters, better models).
* **GPT-2 initialisation**: every Linear/Embedding weight ~ N(0, 0.02²), biases 0, and the two
  projections that write into the residual stream (``c_proj``) ~ N(0, (0.02/√(2·n_layer))²), so
  the stream's variance does not grow with depth (each block adds two such writes).

Parameter names are nanoGPT's, which are Hugging Face ``GPT2LMHeadModel``'s: ``transformer.wte``,
``transformer.h.0.attn.c_attn``, ``lm_head`` …  HF stores the four projections as ``Conv1D``
with the weight transposed (``[in, out]``); ``gpt_state_dict_from_hf`` / ``gpt_state_dict_to_hf``
translate, and ``GPT.from_hf_state_dict`` builds a model from a GPT-2 checkpoint.

Generation (``GPT.generate``) keeps a **KV cache**: the keys and values of the positions already
seen are stored per layer, so each new token costs one position's worth of work instead of a
forward pass over the whole context.

    from tinygrad_edu.models.gpt import GPT, GPTConfig
    model = GPT(GPTConfig(vocab_size=65))                    # nanoGPT's Shakespeare-char CPU model
    logits, loss = model(x, y)                               # x, y: (B, T) int64, y = x shifted by one
    opt = model.configure_optimizers(weight_decay=0.1, learning_rate=1e-3, betas=(0.9, 0.99))
    out = model.generate(prompt, max_new_tokens=200, temperature=0.8, top_k=40, generator=0)
"""
import math
from dataclasses import dataclass

import numpy as np

from .. import creation, nn
from .. import random as _random
from ..autograd import grad_mode
from ..nn import functional as F
from ..nn import init
from ..ops.shape import cat
from ..optim import AdamW
from ..tensor import Tensor

__all__ = ["GPTConfig", "GPT", "Block", "CausalSelfAttention", "MLP", "KVCache",
           "sample_next_token", "gpt_state_dict_from_hf", "gpt_state_dict_to_hf", "get_batch"]


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------
@dataclass
class GPTConfig:
    """The shape of a GPT.  Defaults: nanoGPT's Shakespeare-char CPU configuration (0.8M
    parameters with 65 characters).  ``bias=False`` drops every Linear and LayerNorm bias."""
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    vocab_size: int = 65
    dropout: float = 0.0
    bias: bool = True

    def __post_init__(self):
        for name in ("n_layer", "n_head", "n_embd", "block_size", "vocab_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"GPTConfig: {name} must be a positive integer, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig: n_embd ({self.n_embd}) must be divisible by n_head "
                             f"({self.n_head}): each head gets n_embd / n_head features")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig: dropout must be in [0, 1), got {self.dropout}")

    @classmethod
    def from_hf_config(cls, hf_config, **overrides):
        """The config matching a Hugging Face ``GPT2Config`` (read by attribute name, so
        ``transformers`` is not imported): n_layer, n_head, n_embd, n_positions → block_size,
        vocab_size, resid_pdrop → dropout.  Only what this model computes is accepted:
        ``activation_function`` "gelu_new" and LayerNorm eps 1e-5, attention scaled by
        1/sqrt(head_size) only (no per-layer scaling, no reordered upcast).  ``hf_config`` may
        also be a plain dict (``GPT2Config.to_dict()``)."""
        if isinstance(hf_config, dict):
            from types import SimpleNamespace
            hf_config = SimpleNamespace(**hf_config)
        activation = getattr(hf_config, "activation_function", "gelu_new")
        if activation not in ("gelu_new", "gelu_pytorch_tanh"):
            raise ValueError(f"GPTConfig.from_hf_config: activation_function {activation!r} is not "
                             "supported; this GPT uses GPT-2's 'gelu_new' (tanh approximation)")
        unsupported = {"scale_attn_weights": (True, "attention scores are always divided by "
                                                    "sqrt(head_size)"),
                       "scale_attn_by_inverse_layer_idx": (False, "no per-layer 1/(layer+1) scaling"),
                       "reorder_and_upcast_attn": (False, "attention is not reordered/upcast")}
        for name, (computed, what) in unsupported.items():
            value = getattr(hf_config, name, computed)
            if bool(value) != computed:
                raise ValueError(f"GPTConfig.from_hf_config: {name}={value!r} is not supported; this "
                                 f"GPT computes only {name}={computed} ({what})")
        eps = getattr(hf_config, "layer_norm_epsilon", 1e-5)
        if abs(eps - 1e-5) > 1e-12:
            raise ValueError(f"GPTConfig.from_hf_config: layer_norm_epsilon {eps} is not supported "
                             "(this GPT's LayerNorms use 1e-5, as GPT-2)")
        values = dict(n_layer=hf_config.n_layer, n_head=hf_config.n_head, n_embd=hf_config.n_embd,
                      block_size=hf_config.n_positions, vocab_size=hf_config.vocab_size,
                      dropout=float(getattr(hf_config, "resid_pdrop", 0.0)), bias=True)
        values.update(overrides)
        return cls(**values)


# ---------------------------------------------------------------------------------------------
# The KV cache
# ---------------------------------------------------------------------------------------------
class KVCache:
    """The keys and values every layer has computed so far, for incremental decoding.

    Attention at a new position t needs the keys and values of positions 0..t; those of 0..t-1
    do not change when a token is appended (causal masking: earlier positions never see later
    ones), so they are computed once and kept here.  Each layer ``i`` holds ``keys[i]`` and
    ``values[i]`` of shape (B, n_head, length, head_size); ``update`` appends the new positions'
    and returns everything so far.  ``length`` is the number of positions cached (the position
    the next token will have).
    """

    def __init__(self, n_layer):
        self.keys = [None] * n_layer
        self.values = [None] * n_layer

    @property
    def length(self):
        return 0 if self.keys[0] is None else self.keys[0].shape[2]

    def update(self, layer, k, v):
        """Append this step's (B, n_head, T, head_size) keys and values for ``layer``; return
        the layer's keys and values of all positions so far."""
        if self.keys[layer] is not None:
            k = cat([self.keys[layer], k], dim=2)
            v = cat([self.values[layer], v], dim=2)
        self.keys[layer], self.values[layer] = k, v
        return k, v

    def __repr__(self):
        return f"KVCache(n_layer={len(self.keys)}, length={self.length})"


# ---------------------------------------------------------------------------------------------
# The blocks
# ---------------------------------------------------------------------------------------------
class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention.

    ``c_attn`` maps x (B, T, C) to queries, keys and values (3 × C) in one matmul; each is split
    into ``n_head`` heads of size C / n_head, giving (B, n_head, T, head_size).  Every head runs
    ``softmax(q kᵀ / √head_size + causal mask) v``; the heads are concatenated back to (B, T, C)
    and mixed by ``c_proj``.

    With a ``kv_cache`` the T new positions are appended to S - T cached ones: query i (at
    absolute position S - T + i) may see keys 0..S-T+i, a causal mask shifted by S - T.
    """

    def __init__(self, config):
        super().__init__()
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x, kv_cache=None, layer_idx=0):
        B, T, C = x.shape
        head_size = C // self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = q.view(B, T, self.n_head, head_size).transpose(1, 2)        # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, head_size).transpose(1, 2)
        v = v.view(B, T, self.n_head, head_size).transpose(1, 2)
        if kv_cache is not None:
            k, v = kv_cache.update(layer_idx, k, v)                     # (B, nh, S, hs)
        S = k.shape[2]
        dropout_p = self.dropout if self.training else 0.0
        if S == T:        # no past: the plain causal mask
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
        elif T == 1:      # one new token: it may see every cached position and itself
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
        else:             # T new tokens after S - T cached ones: the causal mask shifted by S - T
            may_attend = np.tril(np.ones((T, S), dtype=bool), k=S - T)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=creation.tensor(may_attend),
                                               dropout_p=dropout_p)
        y = y.transpose(1, 2).reshape(B, T, C)                          # heads side by side
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """The position-wise feed-forward network: C → 4C, GELU (tanh approximation, GPT-2's
    "gelu_new"), → C, dropout."""

    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """A pre-LN Transformer block: x + attn(ln_1(x)), then + mlp(ln_2(x)).  The residual
    stream x passes through untouched; each sublayer reads a normalised copy and adds to it."""

    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, kv_cache=None, layer_idx=0):
        x = x + self.attn(self.ln_1(x), kv_cache=kv_cache, layer_idx=layer_idx)
        return x + self.mlp(self.ln_2(x))


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------
class GPT(nn.Module):
    """A GPT-2-style decoder-only language model (see the module docstring for the idea).

    ``forward(idx, targets=None)`` returns ``(logits, loss)``: logits (B, T, vocab_size) and the
    mean cross entropy against ``targets`` (B, T) — positions whose target is -1 are ignored —
    or None without targets."""

    def __init__(self, config):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"GPT: expected a GPTConfig, got {type(config).__name__}")
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight   # weight tying: one (V, C) matrix
        self.apply(self._init_weights)
        residual_std = 0.02 / math.sqrt(2 * config.n_layer)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                init.normal_(p, mean=0.0, std=residual_std)

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=0.02)

    def get_num_params(self, non_embedding=True):
        """Number of parameters (the tied matrix counted once); ``non_embedding`` leaves out the
        position embedding, as nanoGPT reports (the token embedding is the output layer too)."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.transformer.wpe.weight.numel()
        return n

    # ---- forward --------------------------------------------------------------------------------
    def _check_idx(self, idx, past=0):
        idx = idx if isinstance(idx, Tensor) else creation.tensor(np.asarray(idx))
        if idx.ndim != 2 or idx.dtype.kind not in "iu":
            raise ValueError(f"GPT: idx must be an integer tensor of shape (batch, sequence), got "
                             f"shape {tuple(idx.shape)} and dtype {idx.dtype}")
        if past + idx.shape[1] > self.config.block_size:
            extra = f" after {past} cached positions" if past else ""
            raise ValueError(f"GPT: cannot forward a sequence of length {idx.shape[1]}{extra}: "
                             f"block_size is only {self.config.block_size} (the number of learned "
                             "positions); crop the context to the last block_size tokens")
        return idx

    def hidden_states(self, idx, kv_cache=None):
        """The final residual stream after ``ln_f``, (B, T, n_embd).  With ``kv_cache`` the
        tokens are positions ``kv_cache.length`` … of a sequence whose earlier keys and values are
        cached (and get appended to the cache)."""
        past = 0 if kv_cache is None else kv_cache.length
        idx = self._check_idx(idx, past)
        positions = np.arange(past, past + idx.shape[1], dtype=np.int64)
        tok_emb = self.transformer.wte(idx)                       # (B, T, C)
        pos_emb = self.transformer.wpe(positions)                 # (T, C), broadcast over B
        x = self.transformer.drop(tok_emb + pos_emb)
        for i, block in enumerate(self.transformer.h):
            x = block(x, kv_cache=kv_cache, layer_idx=i)
        return self.transformer.ln_f(x)

    def forward(self, idx, targets=None, kv_cache=None):
        x = self.hidden_states(idx, kv_cache)
        logits = self.lm_head(x)
        loss = None
        if targets is not None:
            targets = targets if isinstance(targets, Tensor) else creation.tensor(np.asarray(targets))
            if tuple(targets.shape) != tuple(logits.shape[:2]):
                raise ValueError(f"GPT: targets must have the shape of idx {tuple(logits.shape[:2])}, "
                                 f"got {tuple(targets.shape)}")
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                   ignore_index=-1)
        return logits, loss

    def crop_block_size(self, block_size):
        """Shrink the context length (e.g. after loading GPT-2's 1024 positions): keep the first
        ``block_size`` position embeddings."""
        if not 0 < block_size <= self.config.block_size:
            raise ValueError(f"GPT.crop_block_size: block_size must be in 1..{self.config.block_size}, "
                             f"got {block_size}")
        self.config.block_size = block_size
        self.transformer.wpe.weight = nn.Parameter(self.transformer.wpe.weight.array[:block_size].copy())
        self.transformer.wpe.num_embeddings = block_size

    # ---- training ---------------------------------------------------------------------------------
    def configure_optimizers(self, weight_decay, learning_rate, betas=(0.9, 0.95), eps=1e-8,
                             device_type=None):
        """AdamW with two parameter groups, as nanoGPT: weight decay on every parameter with 2 or
        more dims (the Linear weights and the embeddings, i.e. the matrices that multiply), none on
        biases and LayerNorm gains (1-D: decaying them towards 0 only hurts).  ``device_type`` is
        accepted for nanoGPT's signature and ignored."""
        params = [p for p in self.parameters() if p.requires_grad]
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        groups = [{"params": decay, "weight_decay": weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}]
        return AdamW(groups, lr=learning_rate, betas=betas, eps=eps)

    # ---- generation -----------------------------------------------------------------------------
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, use_cache=True,
                 generator=None):
        """Append ``max_new_tokens`` tokens to ``idx`` (B, T), each sampled from the model's
        distribution for the next position; returns (B, T + max_new_tokens) int64.

        * ``temperature`` divides the logits (< 1 sharper, > 1 flatter); 0 means greedy (argmax).
        * ``top_k`` keeps the k most likely tokens, ``top_p`` the smallest set whose probability
          reaches p (nucleus sampling); see ``sample_next_token``.
        * ``generator``: a ``tinygrad_edu.Generator``, a ``numpy.random.Generator`` or an int seed
          (reproducible samples);
          default: the library's generator (``tinygrad_edu.manual_seed``).
        * ``use_cache``: keep a KV cache, so each step runs one position through the network.

        The context is cropped to the last ``block_size`` tokens, as the model has only that many
        positions.  While the sequence fits, the cache grows by one position per step.  Once it
        would exceed ``block_size``, every position of the cropped window moves to a new
        position index (so its cached keys and values, computed with the old position embedding,
        are stale): the step then falls back to recomputing the whole cropped window, exactly what
        generation without a cache does — so both give the same tokens, and the cache only speeds
        up the first ``block_size`` positions.

        Runs under ``no_grad`` and in eval mode (dropout off); the previous mode is restored.
        ``generate_stream`` is the same loop, handing out each token as soon as it is drawn.
        """
        tokens = self._check_prompt(idx, max_new_tokens, temperature)
        steps = [tokens] + [t[:, None] for t in self.generate_stream(tokens, max_new_tokens, temperature,
                                                                     top_k, top_p, use_cache, generator)]
        return creation.tensor(np.concatenate(steps, axis=1))

    def generate_stream(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None,
                        use_cache=True, generator=None):
        """``generate`` one token at a time: a Python generator that yields, for each of the
        ``max_new_tokens`` steps, the new tokens as a (B,) int64 NumPy array, as soon as each is
        drawn (so a command line can print text while it is being written).  The same arguments,
        the same tokens as ``generate``.

            for token in model.generate_stream(prompt, 200, temperature=0.8, generator=0):
                print(tokenizer.decode(token.tolist()), end="", flush=True)

        Each step runs under ``no_grad``; the model stays in eval mode until the generator is
        exhausted or closed, then its previous mode is restored.  Bad arguments raise here, before
        the first token."""
        tokens = self._check_prompt(idx, max_new_tokens, temperature)
        return self._stream(tokens, max_new_tokens, temperature, top_k, top_p, use_cache,
                            _as_generator(generator))

    def _stream(self, tokens, max_new_tokens, temperature, top_k, top_p, use_cache, rng):
        block_size = self.config.block_size
        was_training = self.training
        self.eval()
        try:
            cache = None
            for _ in range(max_new_tokens):
                total = tokens.shape[1]
                with grad_mode.no_grad():
                    if cache is not None and total <= block_size:
                        x = self.hidden_states(tokens[:, -1:], kv_cache=cache)     # one new position
                    else:  # first step, no cache, or the context no longer fits: the whole window
                        cache = KVCache(self.config.n_layer) if use_cache and total <= block_size else None
                        x = self.hidden_states(tokens[:, -block_size:], kv_cache=cache)
                    logits = self.lm_head(x[:, -1, :])                            # (B, V)
                next_token = sample_next_token(logits.array, temperature, top_k, top_p, rng)
                tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
                yield next_token
        finally:
            self.train(was_training)

    @staticmethod
    def _check_prompt(idx, max_new_tokens, temperature):
        """The prompt as an int64 (B, T) array, after checking the generation arguments."""
        if temperature < 0:
            raise ValueError(f"GPT.generate: temperature must be >= 0, got {temperature}")
        if max_new_tokens < 0:
            raise ValueError(f"GPT.generate: max_new_tokens must be >= 0, got {max_new_tokens}")
        tokens = np.array(idx.array if isinstance(idx, Tensor) else idx, dtype=np.int64)
        if tokens.ndim != 2 or tokens.shape[1] == 0:
            raise ValueError(f"GPT.generate: idx must have shape (batch, sequence) with at least one "
                             f"token, got shape {tokens.shape}")
        return tokens

    # ---- Hugging Face GPT-2 checkpoints ------------------------------------------------------------
    @classmethod
    def from_hf_state_dict(cls, state_dict, config):
        """A GPT holding the weights of a Hugging Face ``GPT2LMHeadModel`` (or ``GPT2Model``)
        ``state_dict``.  ``config``: a ``GPTConfig`` or an HF ``GPT2Config``."""
        if not isinstance(config, GPTConfig):
            config = GPTConfig.from_hf_config(config)
        model = cls(config)
        ours = gpt_state_dict_from_hf(state_dict)
        tied = ours["lm_head.weight"]
        if not np.array_equal(tied, ours["transformer.wte.weight"]):
            raise ValueError("GPT.from_hf_state_dict: lm_head.weight differs from transformer.wte.weight; "
                             "this GPT ties them (an untied checkpoint cannot be represented)")
        model.load_state_dict(ours)
        return model


# ---------------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------------
def _as_generator(generator):
    if generator is None:
        return creation.default_generator()
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, _random.Generator):      # tg.Generator(): draw from its NumPy generator
        return _random.numpy_rng(generator)
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(f"GPT.generate: generator must be a tinygrad_edu.Generator, a "
                    f"numpy.random.Generator, an int seed or None, got {type(generator).__name__}")


def sample_next_token(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    """Draw one token per row of ``logits`` (B, V) (a NumPy array); returns (B,) int64.

        p = softmax(logits / temperature)
        top_k: logits below the k-th largest → -inf (ties with the k-th are kept)
        top_p: sort p descending, keep the shortest prefix whose sum reaches top_p (the most
               likely token always stays), renormalise
        draw:  u ~ U(0, 1); the token is the first index whose cumulative probability exceeds
               u · Σp (inverse-CDF sampling: one uniform per row)

    ``temperature=0`` is greedy decoding (argmax, no random number drawn).
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2:
        raise ValueError(f"sample_next_token: logits must have shape (batch, vocab), got {logits.shape}")
    if temperature == 0:
        return logits.argmax(axis=-1).astype(np.int64)
    logits = logits / temperature
    vocab = logits.shape[-1]
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"sample_next_token: top_k must be >= 1, got {top_k}")
        k = min(int(top_k), vocab)
        kth = np.partition(logits, vocab - k, axis=-1)[:, vocab - k:vocab - k + 1]
        logits = np.where(logits < kth, -np.inf, logits)
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    if top_p is not None:
        if not 0.0 < top_p <= 1.0:
            raise ValueError(f"sample_next_token: top_p must be in (0, 1], got {top_p}")
        order = np.argsort(-probs, axis=-1, kind="stable")
        sorted_probs = np.take_along_axis(probs, order, axis=-1)
        mass_before = np.cumsum(sorted_probs, axis=-1) - sorted_probs
        drop_sorted = mass_before >= top_p            # the prefix already reached top_p
        drop = np.empty_like(drop_sorted)
        np.put_along_axis(drop, order, drop_sorted, axis=-1)
        probs = np.where(drop, 0.0, probs)
    cdf = np.cumsum(probs, axis=-1)
    u = _as_generator(generator).random((logits.shape[0], 1)) * cdf[:, -1:]
    return np.minimum((cdf <= u).sum(axis=-1), vocab - 1).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Hugging Face GPT-2 names
# ---------------------------------------------------------------------------------------------
# HF's GPT-2 computes these projections with Conv1D, y = x W + b with W stored as [in, out]:
# the transpose of a Linear's [out, in].
_CONV1D_WEIGHTS = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight",
                   "mlp.c_proj.weight")


def _to_numpy(value):
    """A NumPy array from one of our Tensors, a NumPy array or a PyTorch tensor (duck-typed: the
    engine does not import torch)."""
    if isinstance(value, Tensor):
        return np.asarray(value.detach().numpy())
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _is_hf_attention_buffer(key):
    """HF's causal-mask buffers ``h.N.attn.bias`` / ``h.N.attn.masked_bias`` (older versions save
    them): constants, not weights."""
    parts = key.split(".")
    return len(parts) >= 2 and parts[-2] == "attn" and parts[-1] in ("bias", "masked_bias")


def gpt_state_dict_from_hf(state_dict):
    """Translate a Hugging Face GPT-2 ``state_dict`` to this GPT's names: NumPy arrays, the four
    Conv1D weights transposed to Linear's [out, in], mask buffers dropped, ``transformer.``
    prefixed when the checkpoint is a bare ``GPT2Model``, and ``lm_head.weight`` added (tied to
    ``transformer.wte.weight``) when the checkpoint leaves it out."""
    out = {}
    for key, value in state_dict.items():
        if _is_hf_attention_buffer(key):
            continue
        name = key if key.startswith(("transformer.", "lm_head.")) else "transformer." + key
        array = _to_numpy(value)
        if name.endswith(_CONV1D_WEIGHTS):
            array = np.ascontiguousarray(array.T)
        out[name] = array
    if "lm_head.weight" not in out and "transformer.wte.weight" in out:
        out["lm_head.weight"] = out["transformer.wte.weight"]
    return out


def gpt_state_dict_to_hf(state_dict):
    """Translate this GPT's ``state_dict`` to Hugging Face ``GPT2LMHeadModel`` names and layouts:
    NumPy arrays (``torch.from_numpy`` each before ``load_state_dict``), the four projection
    weights transposed to Conv1D's [in, out].  The names are already HF's."""
    out = {}
    for name, value in state_dict.items():
        array = _to_numpy(value)
        if name.endswith(_CONV1D_WEIGHTS):
            array = array.T
        out[name] = np.array(array, copy=True, order="C")
    return out


# ---------------------------------------------------------------------------------------------
# Training data
# ---------------------------------------------------------------------------------------------
def get_batch(data, block_size, batch_size, rng=None):
    """A random batch of language-modelling examples from a 1-D array of token ids, as nanoGPT
    draws them: ``batch_size`` windows of ``block_size + 1`` consecutive tokens at random
    offsets; x is each window without its last token, y without its first (y[i] is the token
    that follows x[..i]).  Returns (x, y) as int64 Tensors of shape (batch_size, block_size)."""
    data = np.asarray(data)
    if data.ndim != 1 or data.shape[0] <= block_size:
        raise ValueError(f"get_batch: data must be a 1-D array longer than block_size ({block_size}), "
                         f"got shape {data.shape}")
    rng = _as_generator(rng)
    starts = rng.integers(0, data.shape[0] - block_size, size=batch_size)
    windows = np.lib.stride_tricks.sliding_window_view(data, block_size + 1)[starts]
    windows = windows.astype(np.int64)
    return creation.tensor(windows[:, :-1].copy()), creation.tensor(windows[:, 1:].copy())
