"""``GPT``: the decoder-only language model (see the package docstring for the idea): embeddings,
``n_layer`` Blocks, the tied output layer, the loss, ``configure_optimizers`` (nanoGPT's two AdamW
groups), ``generate`` / ``generate_stream`` and ``from_hf_state_dict``.

Its parts are in the sibling files: ``config.py`` (``GPTConfig``), ``blocks.py`` (the layers),
``generation.py`` (``KVCache``, ``sample_next_token``), ``huggingface.py`` (GPT-2 names).
"""
import math

import numpy as np

from ... import creation, nn
from ...autograd import grad_mode
from ...backend import to_device
from ...nn import functional as F
from ...nn import init
from ...optim import AdamW
from ...tensor import Tensor
from ..head_mask import layer_head_masks
from .blocks import Block
from .config import GPTConfig
from .decode import DecodePlan
from .generation import KVCache, _as_generator, sample_next_token
from .huggingface import gpt_state_dict_from_hf


class GPT(nn.Module):
    """A GPT-2-style decoder-only language model (see the module docstring for the idea).

    ``forward(idx, targets=None)`` returns ``(logits, loss)``: logits (B, T, vocab_size) and the
    mean cross entropy against ``targets`` (B, T) — positions whose target is -1 are ignored —
    or None without targets.

    ``fast_generation`` (a class attribute; set it on an instance to change one model): let
    ``generate`` run its steps on raw arrays (``decode.py``) where nothing can tell the difference;
    False forces every step through the modules."""

    fast_generation = True

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

    def hidden_states(self, idx, kv_cache=None, head_mask=None, output_attentions=False):
        """The final residual stream after ``ln_f``, (B, T, n_embd).  With ``kv_cache`` the
        tokens are positions ``kv_cache.length`` … of a sequence whose earlier keys and values are
        cached (and get appended to the cache).

        ``head_mask``: Hugging Face's, (n_head,) for every layer or (n_layer, n_head); 1.0 keeps a
        head, 0.0 removes it (its attention probabilities are multiplied by the entry).
        ``output_attentions=True`` returns ``(hidden, attentions)``: one (B, n_head, T, S) Tensor of
        attention probabilities per layer."""
        past = 0 if kv_cache is None else kv_cache.length
        idx = self._check_idx(idx, past)
        positions = np.arange(past, past + idx.shape[1], dtype=np.int64)
        tok_emb = self.transformer.wte(idx)                       # (B, T, C)
        pos_emb = self.transformer.wpe(positions)                 # (T, C), broadcast over B
        x = self.transformer.drop(tok_emb + pos_emb)
        if head_mask is None and not output_attentions:                 # the everyday path
            for i, block in enumerate(self.transformer.h):
                x = block(x, kv_cache=kv_cache, layer_idx=i)
            return self.transformer.ln_f(x)
        masks = layer_head_masks("GPT", head_mask, self.config.n_layer, self.config.n_head, x)
        attentions = []
        for i, block in enumerate(self.transformer.h):
            out = block(x, kv_cache=kv_cache, layer_idx=i, head_mask=None if masks is None else masks[i],
                        return_attention=output_attentions)
            x, weights = out if output_attentions else (out, None)
            attentions.append(weights)
        x = self.transformer.ln_f(x)
        return (x, tuple(attentions)) if output_attentions else x

    def forward(self, idx, targets=None, kv_cache=None, head_mask=None):
        """``(logits, loss)``; ``head_mask`` as in ``hidden_states``."""
        x = self.hidden_states(idx, kv_cache) if head_mask is None else \
            self.hidden_states(idx, kv_cache, head_mask=head_mask)
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

        The cache is preallocated (``KVCache(n_layer, max_length=block_size)``).  Where nothing can
        tell the difference (stock modules, no forward hooks), each step runs the same formulas
        on the parameters' raw arrays (``decode.py``: about 3.5x faster per token at batch 1);
        ``model.fast_generation = False`` sends every step through the modules instead.
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
            plan = self._decode_plan()
            cache = None
            for _ in range(max_new_tokens):
                total = tokens.shape[1]
                with grad_mode.no_grad():
                    if cache is not None and total <= block_size:
                        window = tokens[:, -1:]                                     # one new position
                    else:  # first step, no cache, or the context no longer fits: the whole window
                        cache = KVCache(self.config.n_layer, max_length=block_size) \
                            if use_cache and total <= block_size else None
                        window = tokens[:, -block_size:]
                    logits = self._next_logits(plan, window, cache)                # (B, V)
                next_token = sample_next_token(logits, temperature, top_k, top_p, rng)
                tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
                yield next_token
        finally:
            self.train(was_training)

    def _decode_plan(self):
        """The raw-array fast path (``decode.py``) for a stock GPT, None for a subclass that
        changes how the network runs (its own ``hidden_states``) or with ``fast_generation`` off."""
        if not self.fast_generation or type(self).hidden_states is not GPT.hidden_states:
            return None
        return DecodePlan.build(self)

    def _next_logits(self, plan, window, cache):
        """The logits (B, V) array of the position after ``window`` (B, T), appending its keys and
        values to ``cache``: on raw arrays when the plan may run (no hooks, no grad, eval mode),
        else through the modules.  Both compute the same numbers."""
        if plan is not None and plan.usable():   # (_stream keeps window + cache within block_size)
            logits = plan.logits(window, cache)
        else:
            logits = self.lm_head(self.hidden_states(window, kv_cache=cache)[:, -1, :]).array
        return logits if type(logits) is np.ndarray else to_device(logits, "cpu")   # sampling: on the host

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
