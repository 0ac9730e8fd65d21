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
seen are stored per layer (in buffers allocated once for the whole block), so each new token costs
one position's worth of work instead of a forward pass over the whole context.

    from tinygrad_edu.models.gpt import GPT, GPTConfig
    model = GPT(GPTConfig(vocab_size=65))                    # nanoGPT's Shakespeare-char CPU model
    logits, loss = model(x, y)                               # x, y: (B, T) int64, y = x shifted by one
    opt = model.configure_optimizers(weight_decay=0.1, learning_rate=1e-3, betas=(0.9, 0.99))
    out = model.generate(prompt, max_new_tokens=200, temperature=0.8, top_k=40, generator=0)

Where the parts live (every name is importable from here: ``models.gpt.sample_next_token``):

==================  =========================================================================
``config.py``       ``GPTConfig``, the shape of the model (and ``from_hf_config``)
``blocks.py``       ``CausalSelfAttention``, ``MLP`` and the pre-LN ``Block``
``model.py``        ``GPT``: the network, its loss, ``configure_optimizers``, ``generate``
``generation.py``   what generation needs besides the network: ``KVCache`` and
                    ``sample_next_token`` (temperature, top-k, top-p)
``decode.py``       generation's fast path: the same forward on raw arrays (no graph, no
                    hooks), writing into the preallocated ``KVCache``
``huggingface.py``  ``gpt_state_dict_from_hf`` / ``gpt_state_dict_to_hf``: GPT-2 checkpoints
``batches.py``      ``get_batch``: random training windows from a 1-D array of token ids
==================  =========================================================================
"""
from .batches import get_batch
from .blocks import MLP, Block, CausalSelfAttention
from .config import GPTConfig
from .generation import KVCache, sample_next_token
from .huggingface import gpt_state_dict_from_hf, gpt_state_dict_to_hf
from .model import GPT

__all__ = ["GPTConfig", "GPT", "Block", "CausalSelfAttention", "MLP", "KVCache",
           "sample_next_token", "gpt_state_dict_from_hf", "gpt_state_dict_to_hf", "get_batch"]
