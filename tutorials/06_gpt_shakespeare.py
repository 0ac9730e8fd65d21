# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Tutorial 06 — A mini-GPT writes Shakespeare
#
# Tutorial 05 built attention.  Here it becomes a **language model**: a GPT that reads a window
# of characters and predicts, at every position, the next one.  Trained on the complete works of
# Shakespeare (1 MB of text), it learns to spell, to break lines, and to invent characters who
# speak in turn — with 0.8 million parameters, on a CPU, in a few minutes.
#
# 1. the data: tinyshakespeare, a character tokenizer (65 symbols), the 90/10 split, and batches
#    of windows where the target is the input shifted by one;
# 2. the model piece by piece: token and position embeddings, one causal attention head written
#    by hand, then the full `GPT` — its parameter count, the pre-LN block, weight tying, GPT-2's
#    initialisation, and why the loss at initialisation is ln 65;
# 3. training: the warm-up + cosine learning-rate schedule, `train_gpt`, the loss curve;
# 4. sampling: temperature, top-k and top-p, and the KV cache that makes generation fast.
#
# This follows Karpathy's nanoGPT (`shakespeare_char`, the "I only have a MacBook" configuration):
# same model, same recipe, same names.  With `TUTORIAL_QUICK=1` a tiny model trains for 150 steps
# (seconds); without it the real 0.8M-parameter model trains for 2000 steps (about 4 minutes on
# a free core) and reaches a validation loss of about 1.91.  nanoGPT's README reports 1.88 for this
# recipe: that is one 20-batch estimate of one run.  nanoGPT's own code, run with its own seed, prints
# 1.8857 (the exact validation loss of that model is 1.898; over six seeds 1.906 ± 0.010), and our
# engine given the same random numbers reproduces that run to within 1e-6
# (`benchmarks/experiments/gpt_nanogpt_native.py`, `benchmarks/results/transformers.md`).

# %%
import math
import os
import time
from pathlib import Path

import matplotlib
if "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
from tinygrad_edu.data import TinyShakespeare
from tinygrad_edu.models.gpt import GPT, GPTConfig, sample_next_token
from tinygrad_edu.text import CharTokenizer
from tinygrad_edu.training.gpt_trainer import (GPTTrainConfig, learning_rate_at, random_windows,
                                               train_gpt)

QUICK = os.environ.get("TUTORIAL_QUICK") == "1"  # CI sets this: a tiny model, a short run, same lessons

# One BLAS thread: the matrices here are small, and when the cores are busy OpenBLAS's threads
# spend more time waiting for each other than multiplying.  (threadpoolctl is in the dev extra.)
try:
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
except ImportError:
    pass
try:
    HERE = Path(__file__).resolve().parent
except NameError:  # inside a notebook the working directory is the notebook's folder
    HERE = Path.cwd()
OUTPUT = HERE / "output"
OUTPUT.mkdir(exist_ok=True)
START = time.perf_counter()


from tinygrad_edu.viz import show  # noqa: E402  (prints where a picture is; shows it inline in Jupyter)


# %% [markdown]
# ## 1. The data
#
# `TinyShakespeare` finds `input.txt` (1,115,394 characters) in `$TINYGRAD_EDU_DATA`, or downloads
# it once, checked, into `~/.cache/tinygrad_edu`.  Split as nanoGPT does: the first 90% of the
# characters for training, the last 10% for validation.  (A contiguous split, not a shuffled one:
# the validation text is a part of the plays the model has never read.)

# %%
train_set = TinyShakespeare(split="train")
val_set = TinyShakespeare(split="val")
print(train_set)
print(val_set)
print("-" * 40)
print(train_set.text[:250])
print("-" * 40)
n_total = len(train_set.text) + len(val_set.text)
assert len(train_set.text) == int(0.9 * n_total)
print(f"{n_total:,} characters: {len(train_set.text):,} for training, {len(val_set.text):,} for validation")

# %% [markdown]
# ### A character tokenizer
#
# A neural network reads numbers, not letters.  The simplest **tokenizer**: the vocabulary is the
# sorted set of characters in the text, a character's id is its rank.  Tinyshakespeare uses 65
# characters: newline, space, 10 punctuation marks, the digit `3` and the 52 letters.  Real GPTs
# use sub-word tokens (byte-pair encoding, ~50,000 of them): shorter sequences, but a much larger
# table.  Characters keep the model tiny.

# %%
text = train_set.text + val_set.text
tokenizer = CharTokenizer.from_text(text)
print(tokenizer, repr(tokenizer.chars_string()))
assert tokenizer.vocab_size == 65 and tokenizer.chars == train_set.chars

ids = tokenizer.encode("hii there")
print("encode('hii there') =", ids)
print("decode(...)         =", repr(tokenizer.decode(ids)))
assert tokenizer.decode(ids) == "hii there"
# the data set encodes its split with the same table (vectorised, as uint16 like nanoGPT's .bin files)
assert tokenizer.encode(train_set.text[:1000]) == train_set.ids[:1000].tolist()
train_ids = train_set.ids          # the training text as uint16 ids (val_set.ids: the validation text)

# %% [markdown]
# ### Batches: windows, and the target is the input shifted by one
#
# A training example is a window of T consecutive characters x = ids[i : i+T] with the target
# y = ids[i+1 : i+T+1]: at every position t the model must predict the character that comes
# next.  One window is therefore T examples at once, with contexts of length 1, 2, …, T — the
# causal mask (section 2) is what keeps position t from simply reading its answer at t+1.
#
# `random_windows` draws a batch of windows at random offsets, as nanoGPT's `get_batch` does.

# %%
rng = np.random.default_rng(0)
xb, yb = random_windows(train_ids, block_size=8, batch_size=4, rng=rng)
print("x:", xb.shape, xb.dtype, " y:", yb.shape)
for row_x, row_y in zip(xb, yb):
    print(f"  x = {tokenizer.decode(row_x)!r:14}  y = {tokenizer.decode(row_y)!r}")
assert (xb[:, 1:] == yb[:, :-1]).all()       # y is x shifted left by one

print("\nthe 8 examples inside the first window:")
for t in range(8):
    print(f"  context {tokenizer.decode(xb[0, :t + 1])!r:12} -> next {tokenizer.decode([yb[0, t]])!r}")

# %% [markdown]
# ## 2. The model, piece by piece
#
# ### Token and position embeddings
#
# Each id picks a row of a learned table `wte` (vocab × C): the token's vector.  Attention by
# itself has no notion of order (it is a weighted average over a *set*), so a second table `wpe`
# (block_size × C) gives every position its own learned vector, which is simply added.

# %%
C, T = 32, 8
tg.manual_seed(0)
wte = nn.Embedding(tokenizer.vocab_size, C)
wpe = nn.Embedding(T, C)
idx = tg.tensor(xb)                                   # (B, T) int64
x = wte(idx) + wpe(tg.arange(T))                      # (B, T, C) + (T, C) broadcast over the batch
print("idx", tuple(idx.shape), "-> token vectors + position vectors", tuple(x.shape))

# the same character at two positions: equal token vectors, different inputs to the network
row = xb[0]
first, again = next((i, j) for i in range(T) for j in range(i + 1, T) if row[i] == row[j])
tok_vectors, inputs = wte(idx).detach().numpy(), x.detach().numpy()
print(f"{tokenizer.decode([row[first]])!r} at positions {first} and {again}: same token vector, "
      f"inputs differ by up to {np.abs(inputs[0, first] - inputs[0, again]).max():.3f}")
assert np.array_equal(tok_vectors[0, first], tok_vectors[0, again])
assert not np.allclose(inputs[0, first], inputs[0, again])

# %% [markdown]
# ### One causal self-attention head, by hand
#
# Three linear maps give every position a query, a key and a value (tutorial 05).  The scores
# q·kᵀ/√d say how much position t wants to read from position s.  For a language model, position t
# must not read positions s > t — they hold the answers.  The **causal mask** is a lower-triangular
# matrix: the scores above the diagonal are set to −∞ before the softmax, so those weights are
# exactly 0 and each row still sums to 1.

# %%
head_size = 16
tg.manual_seed(1)
query, key, value = (nn.Linear(C, head_size, bias=False) for _ in range(3))

x = (wte(idx) + wpe(tg.arange(T))).detach().requires_grad_()   # a leaf, to ask for d out / d x below
q, k, v = query(x), key(x), value(x)                          # (B, T, head_size) each
scores = q @ k.transpose(-2, -1) / math.sqrt(head_size)        # (B, T, T)
causal_mask = tg.tril(tg.ones(T, T))                           # 1 = may attend
weights = scores.masked_fill(causal_mask == 0, float("-inf")).softmax(dim=-1)
out = weights @ v                                              # (B, T, head_size)

print("causal mask:\n", causal_mask.numpy().astype(int))
print("weights of the first window (row t = where position t reads from):\n",
      np.round(weights[0].detach().numpy(), 2))
assert np.allclose(np.triu(weights.detach().numpy(), 1), 0)
assert np.allclose(weights.detach().numpy().sum(-1), 1, atol=1e-6)
# the engine's fused attention with is_causal=True computes the same thing
fused = F.scaled_dot_product_attention(q, k, v, is_causal=True)
assert np.allclose(fused.detach().numpy(), out.detach().numpy(), atol=1e-6)

# causality, checked with the gradient: the output at position 3 depends on inputs 0..3 only
out[:, 3].sum().backward()
influence = np.abs(x.grad.numpy()).sum(axis=(0, 2))            # how much each input position matters
print("|d out[3] / d x[s]| for s = 0..7:", np.round(influence, 4))
assert (influence[:4] > 0).all() and np.allclose(influence[4:], 0)

fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.8))
labels = list(tokenizer.decode(xb[0]).replace("\n", "⏎").replace(" ", "␣"))
axes[0].imshow(causal_mask.numpy(), cmap="gray_r", vmin=0, vmax=1.6)
axes[0].set_title("causal mask (dark = may attend)")
im = axes[1].imshow(weights[0].detach().numpy(), cmap="viridis", vmin=0, vmax=1)
axes[1].set_title("weights of one random head")
for ax in axes:
    ax.set_xticks(range(T), labels)
    ax.set_yticks(range(T), labels)
    ax.set_xlabel("key (read from)")
    ax.set_ylabel("query (reading)")
fig.colorbar(im, ax=axes[1], shrink=0.8)
fig.savefig(OUTPUT / "06_causal_head.png", dpi=110, bbox_inches="tight")
plt.close(fig)
show(OUTPUT / "06_causal_head.png")

# %% [markdown]
# ### The whole GPT
#
# `models.gpt.GPT` stacks these ideas (the names are nanoGPT's, which are Hugging Face GPT-2's):
#
#     idx → wte[idx] + wpe[0..T-1] → n_layer × Block → ln_f → lm_head → logits (B, T, 65)
#     Block:  x = x + attn(ln_1(x));   x = x + mlp(ln_2(x))
#
# `attn` is `n_head` causal heads side by side (tutorial 05's multi-head split), `mlp` is
# C → 4C → GELU → C.  The configuration is nanoGPT's CPU one: 4 layers, 4 heads, 128 features,
# a context of 64 characters, no biases.  nanoGPT reports "number of parameters: 0.80M" for it.

# %%
config = GPTConfig(n_layer=4, n_head=4, n_embd=128, block_size=64, vocab_size=tokenizer.vocab_size,
                   bias=False)
tg.manual_seed(1337)
model = GPT(config)
n_params = model.get_num_params()
print(config)
print(f"parameters: {n_params:,} (≈{n_params / 1e6:.2f}M, nanoGPT's count: without the position "
      f"table); with it {model.get_num_params(non_embedding=False):,}")

C = config.n_embd
per_block = {"attn.c_attn (C → 3C: q, k, v of all heads)": C * 3 * C,
             "attn.c_proj (C → C)": C * C,
             "mlp.c_fc (C → 4C)": C * 4 * C,
             "mlp.c_proj (4C → C)": 4 * C * C,
             "ln_1, ln_2 (gains)": 2 * C}
for name, count in per_block.items():
    print(f"  one block, {name:44s} {count:8,}")
by_hand = (config.n_layer * sum(per_block.values())
           + config.vocab_size * C          # wte, which is also lm_head (weight tying, below)
           + C)                             # ln_f
print(f"  {config.n_layer} blocks + wte (65 × 128) + ln_f = {by_hand:,}")
assert by_hand == n_params and round(n_params / 1e6, 2) == 0.80

# %% [markdown]
# ### The pre-LN block
#
# GPT-2 puts the LayerNorm **before** each sublayer, inside the branch: the residual stream x
# flows from the embeddings to `ln_f` untouched, and every sublayer reads a normalised copy and
# *adds* its result.  Gradients reach the first layers through the plain additions, which is why
# such stacks train without tricks (the original Transformer normalised after the addition and
# needed a careful warm-up).  Here is block 0, computed by hand:

# %%
block = model.transformer.h[0]
print(block)
with tg.no_grad():
    h = model.transformer.wte(tg.tensor(xb)) + model.transformer.wpe(tg.arange(8))
    by_hand = h + block.attn(block.ln_1(h))
    by_hand = by_hand + block.mlp(block.ln_2(by_hand))
    assert np.allclose(block(h).numpy(), by_hand.numpy(), atol=1e-6)
print("block(x) == x + attn(ln_1(x)), then + mlp(ln_2(·))")

# %% [markdown]
# ### Weight tying
#
# The first layer turns a token id into a vector (a row of `wte`); the last turns a vector into a
# score per token (logits = h · Wᵀ).  GPT-2 uses **one** matrix for both: a token's input vector is
# also the direction that predicts it.  It saves 65 × 128 parameters here (38M in GPT-2 small), and
# the tied model trains better.  It is one `Parameter` object, so both uses add to its gradient.

# %%
assert model.lm_head.weight is model.transformer.wte.weight
tied = sum(p.numel() for p in model.parameters())
print(f"lm_head.weight is transformer.wte.weight: True; counted once: {tied:,} parameters, "
      f"untied it would be {tied + config.vocab_size * config.n_embd:,}")

# %% [markdown]
# ### GPT-2's initialisation
#
# Every weight starts ~ N(0, 0.02²) — except the two projections that **write into the residual
# stream** (`attn.c_proj` and `mlp.c_proj`), whose std is 0.02/√(2·n_layer).  Each block adds two
# such writes to the stream; if each added variance σ², after n_layer blocks the stream would have
# grown by 2·n_layer·σ².  Scaling each write's std by 1/√(2·n_layer) makes the total the same at any
# depth.  We measure it: the std of the residual stream (before `ln_f`) at initialisation, for
# deeper and deeper models, with GPT-2's scaling and without it.

# %%
stds = {name: float(np.std(p.detach().numpy())) for name, p in model.named_parameters()
        if name.startswith("transformer.h.0.") and name.endswith("weight") and p.ndim == 2}
for name, s in stds.items():
    print(f"  {name:32s} std {s:.4f}")
assert abs(stds["transformer.h.0.mlp.c_proj.weight"] - 0.02 / math.sqrt(2 * config.n_layer)) < 1e-3
assert abs(stds["transformer.h.0.mlp.c_fc.weight"] - 0.02) < 1e-3


def residual_stream_std(n_layer, scaled):
    tg.manual_seed(0)
    m = GPT(GPTConfig(n_layer=n_layer, n_head=4, n_embd=128, block_size=64, bias=False))
    if not scaled:                                         # undo the 1/sqrt(2 n_layer)
        for name, p in m.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02)
    batch = tg.tensor(random_windows(train_ids, 64, 4, np.random.default_rng(0))[0])
    with tg.no_grad():
        h = m.transformer.wte(batch) + m.transformer.wpe(tg.arange(64))
        for blk in m.transformer.h:
            h = blk(h)
    return float(np.std(h.numpy()))


depths = [1, 4, 16] if QUICK else [1, 2, 4, 8, 16, 32]
with_scaling = [residual_stream_std(n, True) for n in depths]
without = [residual_stream_std(n, False) for n in depths]
print(f"{'n_layer':>8} {'std, GPT-2 init':>16} {'std, all 0.02':>14}")
for n, a, b in zip(depths, with_scaling, without):
    print(f"{n:8d} {a:16.4f} {b:14.4f}")
# without the scaling the stream keeps growing with depth; with it, it levels off
assert without[-1] / without[0] > 2 * with_scaling[-1] / with_scaling[0]

# %% [markdown]
# ### The loss at initialisation: ln 65
#
# At initialisation the logits are tiny (weights of std 0.02), so the softmax is almost uniform:
# every character gets probability ≈ 1/65 and the cross entropy −log p(target) ≈ ln 65 = 4.174.
# This is the first number to check when a model starts training — much higher means the
# initial predictions are confidently wrong (bad init), and a model that starts much *lower* is
# probably reading its answers.  It is slightly above ln 65: for small random logits of std σ,
# E[logsumexp] ≈ ln 65 + σ²/2.

# %%
x_np, y_np = random_windows(train_ids, config.block_size, 32, np.random.default_rng(1))
with tg.no_grad():
    logits, loss = model(tg.tensor(x_np), tg.tensor(y_np))
sigma = float(np.std(logits.numpy()))
print(f"logits {tuple(logits.shape)}, std {sigma:.3f}")
print(f"loss at init {loss.item():.4f};  ln 65 = {math.log(65):.4f};  ln 65 + σ²/2 = "
      f"{math.log(65) + sigma ** 2 / 2:.4f}")
assert abs(loss.item() - math.log(65)) < 0.1

# %% [markdown]
# ## 3. Training
#
# `training.gpt_trainer.train_gpt` is nanoGPT's `train.py` in short: every iteration draws a batch
# of random windows, computes the loss, backpropagates, clips the gradient norm to 1 and takes an
# AdamW step (weight decay 0.1 on the matrices only, β₂ = 0.99); every `eval_interval` steps it
# estimates the train and validation losses on fresh batches, without a graph, and writes a
# checkpoint.
#
# ### The learning-rate schedule
#
# `learning_rate_at(it, config)`: a linear **warm-up** over the first 100 steps (Adam's moment
# estimates are noisy at first; large steps then can wreck the init), then a **cosine** decay from
# 1e-3 to 1e-4 (big steps while far from a minimum, small ones to settle into it).

# %%
full_config = GPTTrainConfig()                        # nanoGPT's CPU recipe: 2000 iterations
quick_config = GPTTrainConfig(n_layer=2, n_head=2, n_embd=64, block_size=32, max_iters=150,
                              warmup_iters=15, learning_rate=2e-3, min_lr=2e-4, eval_interval=50,
                              eval_iters=5, final_eval_iters=20, sample_tokens=100)
train_config = quick_config if QUICK else full_config
print("training with:", train_config)

fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
for ax, (name, cfg) in zip(axes, [("nanoGPT CPU recipe", full_config), ("this run", train_config)]):
    steps = np.arange(cfg.max_iters)
    lrs = np.array([learning_rate_at(int(s), cfg) for s in steps])
    ax.plot(steps, lrs)
    ax.axvline(cfg.warmup_iters, color="gray", ls=":", lw=0.8)
    ax.set_title(f"{name}: {cfg.max_iters} iterations")
    ax.set_xlabel("iteration")
    ax.set_ylabel("learning rate")
    ax.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(OUTPUT / "06_lr_schedule.png", dpi=110)
plt.close(fig)
show(OUTPUT / "06_lr_schedule.png")

lrs = [learning_rate_at(s, full_config) for s in range(full_config.max_iters + 1)]
assert lrs[0] < lrs[50] < lrs[99] and abs(max(lrs) - 1e-3) < 1e-5
assert all(a >= b for a, b in zip(lrs[100:], lrs[101:])) and abs(lrs[-1] - 1e-4) < 1e-9
print(f"lr: {lrs[0]:.1e} at step 0, {max(lrs):.1e} after warm-up, {lrs[1000]:.1e} halfway, "
      f"{lrs[-1]:.1e} at the end")

# %% [markdown]
# ### Train
#
# `train_gpt` builds the tokenizer and the model from the config (seeded, so the run is
# reproducible), trains, and writes `checkpoint.safetensors`, `history.json`, `loss.png` and
# `samples.txt` into its folder.  The quick run is a 2-layer, 64-wide model with a 32-character
# context for 150 iterations; the full run is the 0.8M model above for 2000 iterations.

# %%
run_dir = OUTPUT / "06_gpt_run"
began = time.perf_counter()
gpt, gpt_tokenizer, history = train_gpt(train_set.text, val_set.text, train_config, run_dir,
                                        progress_bar=not QUICK)
train_seconds = time.perf_counter() - began
final_train, final_val = history["eval_train"][-1], history["eval_val"][-1]
print(f"\n{train_config.max_iters} iterations in {train_seconds:.0f} s: train loss {final_train:.3f}, "
      f"val loss {final_val:.3f} (nanoGPT's own code gives 1.886 by its estimate, 1.898 exactly, "
      "for the full 2000-step recipe)")
assert gpt_tokenizer.chars == tokenizer.chars
assert history["eval_val"][0] > 4.0 and final_val < history["eval_val"][0] - 1.0
assert final_val < (3.0 if QUICK else 1.95)

# %% [markdown]
# ### The loss curve
#
# The faint line is the loss of each training batch (12 windows: noisy); the markers are the
# estimates over many batches at every evaluation.  The steep drop of the first steps is the model
# learning character frequencies (a unigram model scores ≈ 3.35); the long tail is spelling and
# words.  Train and validation stay close at first; in the full run a small gap opens after ~1000
# steps (≈ 1.78 vs 1.91 at the end): the first sign of overfitting, which is why nanoGPT's larger
# GPU configuration adds dropout.

# %%
# the unigram baseline: predict every character with its frequency in the training text
frequencies = np.bincount(train_ids, minlength=65) / len(train_ids)
unigram = float(-np.log(frequencies[val_set.ids]).mean())
print(f"unigram model on the validation text: {unigram:.3f} nats / character; "
      f"this run: {final_val:.3f}")
assert final_val < unigram < math.log(65)

fig, ax = plt.subplots(figsize=(6.5, 3.8))
ax.plot(history["train_iter"], history["train_loss"], color="tab:blue", alpha=0.3, lw=0.8,
        label="train (one batch)")
ax.plot(history["eval_iter"], history["eval_train"], "o-", color="tab:blue", label="train (estimate)")
ax.plot(history["eval_iter"], history["eval_val"], "s-", color="tab:orange", label="validation (estimate)")
ax.axhline(math.log(65), color="gray", ls=":", lw=1, label="ln 65 (uniform guess)")
ax.axhline(unigram, color="tab:red", ls=":", lw=1, label="unigram (character frequencies)")
ax.axhline(1.88, color="tab:green", ls="--", lw=1, label="nanoGPT's README figure (1.88)")
ax.set_xlabel("iteration")
ax.set_ylabel("cross entropy (nats / character)")
ax.set_title(f"mini-GPT {train_config.n_layer}×{train_config.n_embd} on tinyshakespeare")
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(OUTPUT / "06_loss.png", dpi=110)
plt.close(fig)
show(OUTPUT / "06_loss.png")

# %% [markdown]
# ## 4. Sampling
#
# To write text, the model predicts a distribution for the next character, one character is
# *drawn* from it and appended, and the longer sequence goes back in.  How it is drawn matters.
#
# * **Temperature** τ divides the logits before the softmax: p_i ∝ exp(z_i / τ).  τ < 1 sharpens
#   the distribution (safer, more repetitive), τ > 1 flattens it (more surprising, more typos),
#   τ → 0 is **greedy** decoding (always the argmax).
# * **top-k** keeps only the k most likely tokens; **top-p** (nucleus sampling) keeps the smallest
#   set whose probabilities add up to p.  Both cut off the long tail of unlikely tokens, which
#   would otherwise be drawn now and then and derail the text.
#
# Here is the model's distribution for the character after a prompt, at three temperatures.

# %%
prompt_text = "ROMEO:\nI will th"
context = tg.tensor(np.array([gpt_tokenizer.encode(prompt_text)[-train_config.block_size:]]))
with tg.no_grad():
    next_logits = gpt(context)[0][0, -1].numpy().astype(np.float64)      # (65,)


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


top = np.argsort(-next_logits)[:10]
temperatures = [0.5, 1.0, 2.0]
print(f"next character after {prompt_text!r}:")
print("  char  " + "  ".join(f"τ={t:<4}" for t in temperatures))
for i in top:
    print(f"  {gpt_tokenizer.decode([i])!r:5} " + "  ".join(f"{softmax(next_logits / t)[i]:6.3f}"
                                                             for t in temperatures))
entropies = [float(-(softmax(next_logits / t) * np.log(softmax(next_logits / t) + 1e-30)).sum())
             for t in temperatures]
print("  entropy (nats): " + ", ".join(f"{e:.2f}" for e in entropies), f"(uniform: {math.log(65):.2f})")
assert entropies[0] < entropies[1] < entropies[2]

fig, ax = plt.subplots(figsize=(7, 3.2))
width = 0.27
for j, t in enumerate(temperatures):
    ax.bar(np.arange(10) + (j - 1) * width, softmax(next_logits / t)[top], width, label=f"τ = {t}")
ax.set_xticks(range(10), [repr(gpt_tokenizer.decode([i]))[1:-1].replace(" ", "␣") for i in top])
ax.set_xlabel(f"the 10 likeliest next characters after {prompt_text!r}")
ax.set_ylabel("probability")
ax.legend()
ax.set_title("Temperature reshapes the distribution")
fig.tight_layout()
fig.savefig(OUTPUT / "06_temperature.png", dpi=110)
plt.close(fig)
show(OUTPUT / "06_temperature.png")

# %% [markdown]
# `sample_next_token` (what `generate` calls) draws with these rules.  Drawing many times from
# the same logits shows what top-k and top-p leave: top-k = 5 keeps exactly 5 candidates; the
# nucleus for p = 0.9 is as large as this particular distribution needs.

# %%
probs = softmax(next_logits)
nucleus_size = int(np.searchsorted(np.cumsum(np.sort(probs)[::-1]), 0.9) + 1)
many = np.tile(next_logits, (4000, 1))                 # 4000 draws at once, one per row
for name, kwargs in [("plain, τ=1", {}), ("top_k=5", {"top_k": 5}), ("top_p=0.9", {"top_p": 0.9}),
                     ("greedy, τ=0", {"temperature": 0})]:
    drawn = sample_next_token(many, generator=0, **kwargs)
    print(f"  {name:12s} {len(np.unique(drawn)):2d} different characters drawn; most frequent "
          f"{gpt_tokenizer.decode([np.bincount(drawn).argmax()])!r}")
    if "top_k" in kwargs:
        assert set(np.unique(drawn)) <= set(np.argsort(-next_logits)[:5].tolist())
    if "top_p" in kwargs:
        assert set(np.unique(drawn)) <= set(np.argsort(-probs)[:nucleus_size].tolist())
    if kwargs.get("temperature") == 0:
        assert (drawn == next_logits.argmax()).all()
print(f"  (the 0.9-nucleus of this distribution holds {nucleus_size} characters)")

# %% [markdown]
# Now whole samples.  The quick model has learned letters, spaces and line breaks; the full one
# writes names in capitals followed by a colon, line-broken verse and mostly real words.

# %%
n_new = 120 if QUICK else 400
prompt = tg.tensor(np.array([gpt_tokenizer.encode("\n")]))
for temperature in (0.5, 1.0):
    sample = gpt.generate(prompt, n_new, temperature=temperature, top_k=40, generator=1)
    print(f"----- temperature {temperature}, top_k 40 -----")
    print(gpt_tokenizer.decode(sample.numpy()[0].tolist()))
    assert sample.shape == (1, 1 + n_new)

# %% [markdown]
# ### The KV cache
#
# Generating token n+1 needs the keys and values of positions 0..n in every layer.  Without a
# cache, each step runs the whole sequence through the network again: the n-th step processes n
# positions, n tokens cost ≈ n²/2 position-passes.  But with causal attention, the keys and values
# of earlier positions **never change** when a token is appended (they cannot see it).  So
# `generate` keeps them per layer (`KVCache`) and each new step runs **one** position through
# the network, attending over the cached keys — n tokens cost n position-passes.
#
# The model only has `block_size` positions; past that, the window slides, every position shifts
# and the cached keys (computed with the old position embeddings) are stale, so `generate` falls
# back to recomputing the window.  We time the part where the cache applies: 16 prompts, each
# grown to a full context, greedily (τ = 0, so both ways must give the **same** tokens).

# %%
block = train_config.block_size
prompts = tg.tensor(np.array([[gpt_tokenizer.stoi[c]] for c in "ABCDEFGHIJKLMNOP"]))  # 16 prompts, (16, 1)
timings, outputs = {True: [], False: []}, {}
for repeat in range(2):                                # the best of two runs: less noise from other programs
    for use_cache in (True, False):
        began = time.perf_counter()
        outputs[use_cache] = gpt.generate(prompts, block - 1, temperature=0, use_cache=use_cache).numpy()
        timings[use_cache].append(time.perf_counter() - began)
timings = {use_cache: min(times) for use_cache, times in timings.items()}
n_tokens = len(prompts) * (block - 1)
for use_cache in (True, False):
    seconds = timings[use_cache]
    print(f"use_cache={use_cache!s:5}  {seconds:.2f} s  {n_tokens / seconds:7.0f} tokens/s")
passes = sum(range(1, block))
print(f"positions run through the network per sequence: {block - 1} with the cache, {passes} without "
      f"(×{passes / (block - 1):.0f}); measured speed-up ×{timings[False] / timings[True]:.1f}")
assert np.array_equal(outputs[True], outputs[False])
assert timings[False] > 1.5 * timings[True]

# beyond block_size the cache is rebuilt each step, and the tokens still match
long_cached = gpt.generate(prompts[:1], 2 * block, temperature=0, use_cache=True).numpy()
long_plain = gpt.generate(prompts[:1], 2 * block, temperature=0, use_cache=False).numpy()
assert np.array_equal(long_cached, long_plain)
print(f"greedy, {2 * block} new tokens (twice the {block}-character context): identical with and without "
      "the cache")
print(repr(gpt_tokenizer.decode(long_cached[0].tolist())))

# %% [markdown]
# Look at what greedy decoding writes: a few likely words over and over.  Always taking the single
# most likely character walks into a loop the model itself rates as likely; drawing from the
# distribution (with a temperature and a top-k or top-p cut) is what makes the text varied.
#
# ## What to remember
#
# * A character-level language model: 65 symbols, windows of T characters, target = input
#   shifted by one; each window is T next-character examples at once.
# * GPT = token + position embeddings → pre-LN blocks (causal multi-head attention, MLP) with a
#   clean residual stream → `ln_f` → logits through the tied embedding matrix.
# * GPT-2's init scales the residual writes by 1/√(2·n_layer), so the stream does not grow with
#   depth; the loss at init is ≈ ln(vocabulary size) — check it before training.
# * Warm-up then cosine decay; AdamW with weight decay on the matrices; clip the gradient norm.
# * Sampling: temperature sharpens or flattens, top-k / top-p cut the tail; τ = 0 is greedy.
# * The KV cache turns generation from quadratic into linear work in the sequence length.

# %%
print(f"total time {time.perf_counter() - START:.1f} s")
print("tutorial 06 finished")
