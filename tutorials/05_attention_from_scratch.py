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
# # Tutorial 05 — Attention from scratch
#
# A convolution looks at a fixed window of neighbours.  **Attention** lets every position decide,
# from the data, which other positions to read from — near or far.  It is the one new operation
# inside every Transformer (GPT, BERT and their descendants); everything else is linear layers,
# layer norm and residual connections that you already know.
#
# 1. queries, keys and values by hand in NumPy: a soft dictionary lookup;
# 2. the same with the engine, gradients included;
# 3. why the scores are divided by √d;
# 4. masks: causal (no peeking at the future) and padding (ignore filler tokens);
# 5. multi-head attention: several small attentions side by side, split by a reshape;
# 6. an attention heatmap of a tiny model that *learns* to look at the previous token;
# 7. our `nn.MultiheadAttention` against PyTorch's, weight for weight;
# 8. what attention replaced: an LSTM step by hand, `nn.LSTM`, and why gradients fade through time.

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
from tinygrad_edu import optim
from tinygrad_edu.autograd import gradcheck

QUICK = os.environ.get("TUTORIAL_QUICK") == "1"  # CI sets this: fewer samples and steps, same lessons
try:
    HERE = Path(__file__).resolve().parent
except NameError:  # inside a notebook the working directory is the notebook's folder
    HERE = Path.cwd()
OUTPUT = HERE / "output"
OUTPUT.mkdir(exist_ok=True)
START = time.perf_counter()


from tinygrad_edu.viz import show  # noqa: E402  (prints where a picture is; shows it inline in Jupyter)


# %% [markdown]
# ## 1. Queries, keys and values, by hand
#
# Think of a Python dict: a query is compared with every key, and the value of the key that
# matches is returned.  Attention is the *soft* version: the query is compared with every key by a
# dot product, the similarities become weights with a softmax, and the result is the weighted
# average of all the values.
#
# Each token's vector x is projected three ways, with three learned matrices:
#
# * the **query** q = x·W_q — "what am I looking for?"
# * the **key** k = x·W_k — "what do I contain?"
# * the **value** v = x·W_v — "what do I hand over if you pick me?"
#
# For token i:  score_ij = q_i·k_j,  weight_ij = softmax_j(score_ij / √d),  out_i = Σ_j weight_ij v_j.
#
# Here are 4 tokens with 6 features each, one query first with loops, then all at once as matrices.

# %%
rng = np.random.default_rng(0)
T, d_model, d = 4, 6, 3                      # 4 tokens, 6 features each, head size 3
tokens = ["the", "cat", "sat", "down"]
x = rng.standard_normal((T, d_model))
W_q, W_k, W_v = (rng.standard_normal((d_model, d)) for _ in range(3))
Q, K, V = x @ W_q, x @ W_k, x @ W_v          # (T, d) each

i = 2                                         # the query of "sat"
scores = np.array([Q[i] @ K[j] for j in range(T)]) / math.sqrt(d)
weights = np.exp(scores - scores.max())
weights /= weights.sum()
out_i = sum(weights[j] * V[j] for j in range(T))
print("scores of 'sat' against each key:", np.round(scores, 3))
print("weights (they sum to 1):         ", np.round(weights, 3), "sum", weights.sum().round(6))

# all queries at once: three matrix products and a row-wise softmax


def softmax_rows(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))   # subtracting the max changes nothing but avoids overflow
    return e / e.sum(axis=-1, keepdims=True)


A = softmax_rows(Q @ K.T / math.sqrt(d))    # (T, T): row i = where token i looks
out_numpy = A @ V                             # (T, d)
assert np.allclose(out_numpy[i], out_i) and np.allclose(A.sum(axis=1), 1)
print("attention matrix (row = query, column = key):\n", np.round(A, 3))

# %% [markdown]
# ## 2. The same with the engine
#
# `F.scaled_dot_product_attention(q, k, v)` has PyTorch's signature.  It accepts any number of
# leading batch dims, `(..., T, d)`, and its gradient flows to q, k and v (and through them to
# W_q, W_k, W_v).  In the engine it is one fused operation whose backward is the chain rule through
# the three steps: dV = Aᵀ·G, dA = G·Vᵀ, dS = A ⊙ (dA − rowsum(dA ⊙ A)), dQ = dS·K/√d, dK = dSᵀ·Q/√d.

# %%
xt = tg.tensor(x, requires_grad=True)
Wq, Wk, Wv = (tg.tensor(w, requires_grad=True) for w in (W_q, W_k, W_v))
out = F.scaled_dot_product_attention(xt @ Wq, xt @ Wk, xt @ Wv)
assert np.allclose(out.detach().numpy(), out_numpy)
out.sum().backward()
print("same output as NumPy; d(sum)/dW_q has shape", Wq.grad.shape)

# the backward formula, checked against finite differences in float64
q0, k0, v0 = (tg.tensor(rng.standard_normal((2, T, d)), requires_grad=True) for _ in range(3))
assert gradcheck(F.scaled_dot_product_attention, [q0, k0, v0])
print("gradcheck passed")

# %% [markdown]
# ## 3. Why divide by √d?
#
# If the entries of q and k are independent with mean 0 and variance 1, then q·k is a sum of d
# products of variance 1: its variance is **d**.  With d = 64 the scores spread over ±16 or so and
# the softmax turns into an argmax: one weight ≈ 1, the rest ≈ 0, and the gradient through a
# saturated softmax is ≈ 0 — learning stalls.  Dividing by √d brings the variance back to 1 for
# every head size.

# %%
n_samples = 200 if QUICK else 2000
print(f"{'d':>5} {'var(q·k)':>10} {'var(q·k/√d)':>12} {'max weight':>11} {'scaled':>8}")
sizes, max_plain, max_scaled = [4, 16, 64, 256], [], []
for dim in sizes:
    q = rng.standard_normal((n_samples, 1, dim))
    k = rng.standard_normal((n_samples, 16, dim))          # 16 keys per query
    s = (q @ k.transpose(0, 2, 1))[:, 0]                   # (n_samples, 16)
    max_plain.append(softmax_rows(s).max(axis=1).mean())
    max_scaled.append(softmax_rows(s / math.sqrt(dim)).max(axis=1).mean())
    print(f"{dim:5d} {s.var():10.1f} {(s / math.sqrt(dim)).var():12.2f} {max_plain[-1]:11.3f} "
          f"{max_scaled[-1]:8.3f}")
assert max_plain[-1] > 0.8 and max_scaled[-1] < 0.5   # unscaled: nearly one-hot; scaled: still spread

fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(sizes, max_plain, "o-", label="softmax(q·k)")
ax.plot(sizes, max_scaled, "s-", label="softmax(q·k / √d)")
ax.set_xscale("log", base=2)
ax.set_xlabel("head size d")
ax.set_ylabel("mean largest weight (16 keys)")
ax.axhline(1 / 16, color="gray", lw=0.8, ls=":")
ax.legend()
ax.set_title("Without scaling the softmax saturates")
fig.savefig(OUTPUT / "05_scaling.png", dpi=110, bbox_inches="tight")
plt.close(fig)
show(OUTPUT / "05_scaling.png")

# %% [markdown]
# ## 4. Masks
#
# A mask removes some (query, key) pairs *before* the softmax by setting their score to −∞, so
# their weight is exactly 0 and the other weights still sum to 1.
#
# * **Causal mask** (GPT): token i may look at tokens 0..i only.  A language model predicts the
#   next token, so it must not see it.  `is_causal=True`, or a lower-triangular bool mask.
# * **Padding mask** (BERT): sentences in a batch have different lengths and are padded to the
#   longest with filler tokens; no real token should attend to the filler.
#
# In `F.scaled_dot_product_attention` a bool mask means **True = may attend** (PyTorch's
# convention).  `nn.MultiheadAttention` uses the opposite one (True = blocked) for its
# `key_padding_mask` and bool `attn_mask` — also PyTorch's convention, so be careful.

# %%
Q_t, K_t, V_t = (tg.tensor(m) for m in (Q, K, V))
_, causal_w = nn.attention.attention_with_weights(Q_t, K_t, V_t, is_causal=True)
print("causal weights (zeros above the diagonal):\n", np.round(causal_w.numpy(), 3))
assert np.allclose(np.triu(causal_w.numpy(), 1), 0)

# causality, tested: changing the last token changes no earlier output
changed = V.copy()
changed[-1] += 10.0
before = F.scaled_dot_product_attention(Q_t, K_t, V_t, is_causal=True).numpy()
after = F.scaled_dot_product_attention(Q_t, K_t, tg.tensor(changed), is_causal=True).numpy()
assert np.allclose(before[:-1], after[:-1]) and not np.allclose(before[-1], after[-1])

# padding: a batch of two "sentences", the second has only 2 real tokens
lengths = [4, 2]
allowed = np.arange(T)[None, :] < np.array(lengths)[:, None]        # (batch, key): True for real tokens
batch_q = tg.tensor(np.stack([Q, Q]))
batch_k, batch_v = tg.tensor(np.stack([K, K])), tg.tensor(np.stack([V, V]))
mask = tg.tensor(allowed[:, None, :])                               # (batch, 1 query row, key): broadcast
_, padded_w = nn.attention.attention_with_weights(batch_q, batch_k, batch_v, attn_mask=mask)
print("sentence 2, weights on its padding keys:", np.round(padded_w.numpy()[1][:, 2:], 6).ravel())
assert np.allclose(padded_w.numpy()[1][:, 2:], 0)

# %% [markdown]
# ## 5. Multi-head attention
#
# One attention can only express one way of looking ("the previous word", *or* "the subject").  A
# **multi-head** layer runs H attentions side by side, each in a space of size E/H, then concatenates
# them and mixes them with one more linear map.  It costs the same as one wide head, and the
# splitting is just a reshape: project to (N, T, E), view it as (N, T, H, E/H), move the head dim
# forward to (N, H, T, E/H), and attention treats H as one more batch dim.
#
# `nn.MultiheadAttention` keeps W_q, W_k, W_v stacked in one `in_proj_weight` (3E, E) — PyTorch's
# layout, so a PyTorch checkpoint loads directly.  Here is its forward pass written out by hand.

# %%
E, H, N = 8, 2, 3
tg.manual_seed(0)
mha = nn.MultiheadAttention(E, H, batch_first=True)
seq = tg.tensor(rng.standard_normal((N, T, E)).astype(np.float32))

W = mha.in_proj_weight.detach().numpy()
b = mha.in_proj_bias.detach().numpy()
s_np = seq.numpy()
q_np, k_np, v_np = (s_np @ W[j * E:(j + 1) * E].T + b[j * E:(j + 1) * E] for j in range(3))


def split_heads(t):                                    # (N, T, E) -> (N, H, T, E/H)
    return t.reshape(N, T, H, E // H).transpose(0, 2, 1, 3)


heads = softmax_rows(split_heads(q_np) @ split_heads(k_np).transpose(0, 1, 3, 2) / math.sqrt(E // H)) \
    @ split_heads(v_np)                                # (N, H, T, E/H): every head at once
merged = heads.transpose(0, 2, 1, 3).reshape(N, T, E)  # concatenate the heads
by_hand = merged @ mha.out_proj.weight.detach().numpy().T + mha.out_proj.bias.detach().numpy()

out, w = mha(seq, seq, seq, average_attn_weights=False)
print("per-head weights:", w.shape, " output:", out.shape)
assert np.allclose(out.detach().numpy(), by_hand, atol=1e-5)
print("nn.MultiheadAttention = the hand-written multi-head forward")

# %% [markdown]
# ## 6. An attention heatmap: a model learns to look back one token
#
# Attention weights are easy to *look at*.  Train a tiny model on a task that needs one specific
# pattern: given random tokens, predict at every position the token **one step earlier**.  The model
# is token embedding + learned positional embedding → one causal attention head → a linear layer.
# Nothing tells it where to look; the loss does.  The positional embedding is essential: without
# it attention only sees contents and cannot tell "one step back" from any other position.

# %%
vocab, length, width = 10, 8, 16


class PreviousTokenModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.LearnedPositionalEmbedding(length, width)
        self.attn = nn.MultiheadAttention(width, 1, batch_first=True)
        self.head = nn.Linear(width, vocab)

    def forward(self, idx):
        h = self.tok(idx) + self.pos(tg.arange(idx.shape[1]))
        h, weights = self.attn(h, h, h, is_causal=True)
        return self.head(h), weights


tg.manual_seed(0)
model = PreviousTokenModel()
opt = optim.Adam(model.parameters(), lr=1e-2)
data_rng = np.random.default_rng(1)
steps = 120 if QUICK else 400
for step in range(steps):
    idx = data_rng.integers(0, vocab, (64, length))
    logits, _ = model(tg.tensor(idx))
    # position t predicts token t-1 (position 0 has no previous token)
    loss = F.cross_entropy(logits[:, 1:].reshape(-1, vocab), tg.tensor(idx[:, :-1].reshape(-1)))
    opt.zero_grad()
    loss.backward()
    opt.step()
print(f"{steps} steps, final loss {loss.item():.4f}")

test_idx = data_rng.integers(0, vocab, (256, length))
with tg.no_grad():
    logits, weights = model(tg.tensor(test_idx))
accuracy = (logits.numpy()[:, 1:].argmax(-1) == test_idx[:, :-1]).mean()
mean_map = weights.numpy().mean(0)                      # (length, length), averaged over 256 sequences
on_previous = np.diag(mean_map, -1).mean()
print(f"accuracy {accuracy:.3f}; weight on the previous token {on_previous:.3f}")
assert accuracy > 0.95 and on_previous > 0.9

fig, axes = plt.subplots(1, 2, figsize=(9, 4))
im = axes[0].imshow(causal_w.numpy(), cmap="viridis", vmin=0, vmax=1)
axes[0].set_xticks(range(T), tokens)
axes[0].set_yticks(range(T), tokens)
axes[0].set_title("random causal head (section 4)")
axes[1].imshow(mean_map, cmap="viridis", vmin=0, vmax=1)
axes[1].set_title("learned head: 'look one token back'")
for ax in axes:
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
fig.colorbar(im, ax=axes, shrink=0.8, label="attention weight")
fig.savefig(OUTPUT / "05_attention_heatmap.png", dpi=110, bbox_inches="tight")
plt.close(fig)
show(OUTPUT / "05_attention_heatmap.png")

# %% [markdown]
# The learned map is a clean sub-diagonal: query t puts almost all its weight on key t−1 (position
# 0 can only look at itself).  Real language models grow such "previous-token heads" too; they are
# one of the first circuits interpretability research found.
#
# ## 7. Our `nn.MultiheadAttention` = PyTorch's
#
# Same parameter names, so PyTorch's `state_dict` loads as is; then the outputs, the attention
# weights and every gradient agree to float32 precision (the test suite checks every mask option;
# here one case with a padding mask).

# %%
try:
    import torch
except ImportError:  # torch is only in the dev extra
    torch = None
    print("PyTorch is not installed: comparison skipped (pip install -e '.[dev]' for it)")
if torch is not None:
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(E, H, batch_first=True)
    ours = nn.MultiheadAttention(E, H, batch_first=True)
    ours.load_state_dict(ref.state_dict())
    pad = np.zeros((N, T), dtype=bool)
    pad[1, 3:] = True                                   # True = padding in MultiheadAttention
    x_np = rng.standard_normal((N, T, E)).astype(np.float32)
    x_ours, x_ref = tg.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    out_ours, w_ours = ours(x_ours, x_ours, x_ours, key_padding_mask=tg.tensor(pad))
    out_ref, w_ref = ref(x_ref, x_ref, x_ref, key_padding_mask=torch.tensor(pad))
    out_ours.sum().backward()
    out_ref.sum().backward()
    diffs = {"output": np.abs(out_ours.detach().numpy() - out_ref.detach().numpy()).max(),
             "weights": np.abs(w_ours.detach().numpy() - w_ref.detach().numpy()).max(),
             "input gradient": np.abs(x_ours.grad.numpy() - x_ref.grad.numpy()).max(),
             "in_proj_weight gradient": np.abs(ours.in_proj_weight.grad.numpy()
                                               - ref.in_proj_weight.grad.numpy()).max()}
    for name, diff in diffs.items():
        print(f"largest difference, {name:24s} {diff:.2e}")
    assert max(diffs.values()) < 1e-4

# %% [markdown]
# ## 8. What attention replaced: recurrence
#
# Before Transformers, sequences were read by a **recurrent** network: one step per position, each
# step folding the new input into a running state.  The LSTM (Hochreiter & Schmidhuber, 1997) keeps
# two states, h (what it shows) and c (its memory cell), and four gates computed from the input
# x_t and the previous h:
#
#     z = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh          (4H numbers, cut into i, f, g, o)
#     c_t = σ(f) ⊙ c_{t-1} + σ(i) ⊙ tanh(g)            forget some memory, write some new
#     h_t = σ(o) ⊙ tanh(c_t)                           show part of it
#
# Backward is the chain rule through every step in reverse ("backpropagation through time"); the
# only path from step t back to step 0 runs through t products with σ(f), which is why an LSTM
# remembers longer than a plain tanh RNN, but still forgets.  First the step by hand in NumPy,
# checked against `nn.LSTM` with the same weights (its parameter names are PyTorch's).

# %%
def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


steps, batch, n_in, n_hidden = 6, 2, 3, 4
lstm = nn.LSTM(n_in, n_hidden)                          # (T, N, in) in, as PyTorch's default
xs = rng.standard_normal((steps, batch, n_in)).astype(np.float32)
w_ih, w_hh = lstm.weight_ih_l0.detach().numpy(), lstm.weight_hh_l0.detach().numpy()
b = lstm.bias_ih_l0.detach().numpy() + lstm.bias_hh_l0.detach().numpy()
h = np.zeros((batch, n_hidden), np.float32)
c = np.zeros((batch, n_hidden), np.float32)
by_hand = []
for x_t in xs:
    z = x_t @ w_ih.T + h @ w_hh.T + b
    i, f, g, o = np.split(z, 4, axis=1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    by_hand.append(h)
with tg.no_grad():
    output, (h_n, c_n) = lstm(tg.tensor(xs))
print("LSTM output shape", output.shape, "(T, N, H); final h", h_n.shape, "(layers, N, H)")
print(f"largest difference, hand vs nn.LSTM: {np.abs(output.numpy() - np.stack(by_hand)).max():.1e}")
assert np.allclose(output.numpy(), np.stack(by_hand), atol=1e-5)
assert np.allclose(c_n.numpy()[0], c, atol=1e-5)

# %% [markdown]
# Now the weakness attention fixes.  Take the loss at the *last* step and ask how much gradient
# reaches the input of each earlier step.  Through recurrence it must pass every step in between;
# through attention every position is one step away from every other.  Same width, same random
# inputs, untrained weights:

# %%
T_long, width = 48 if QUICK else 96, 16
x_seq = rng.standard_normal((1, T_long, width)).astype(np.float32)


def gradient_per_position(model):
    x = tg.tensor(x_seq, requires_grad=True)
    out = model(x)
    out = out[0] if isinstance(out, tuple) else out       # (the LSTM also returns its states)
    out[:, -1].pow(2).sum().backward()                    # a loss on the last step only
    return np.linalg.norm(x.grad.numpy()[0], axis=1)      # |dL/dx_t| for every t


tg.manual_seed(0)
through_lstm = gradient_per_position(nn.LSTM(width, width, batch_first=True))
attention_layer = nn.MultiheadAttention(width, 2, batch_first=True)
through_attention = gradient_per_position(lambda x: attention_layer(x, x, x, need_weights=False))
for name, g in (("LSTM", through_lstm), ("attention", through_attention)):
    print(f"{name:9s}: |dL/dx| at the last step {g[-1]:.2e}, at the first {g[0]:.2e}, "
          f"ratio first/last {g[0] / g[-1]:.1e}")
fig, ax = plt.subplots(figsize=(6, 3))
ax.semilogy(through_lstm, label="LSTM (recurrence)")
ax.semilogy(through_attention, label="attention (one hop)")
ax.set_xlabel("input position t")
ax.set_ylabel("|dL/dx_t|, loss at the last step")
ax.legend()
fig.savefig(OUTPUT / "05_gradient_through_time.png", dpi=110, bbox_inches="tight")
plt.close(fig)
show(OUTPUT / "05_gradient_through_time.png")
# through the LSTM the first inputs get orders of magnitude less gradient than the last one;
# through attention the first and the last are of the same order
assert through_lstm[0] / through_lstm[-1] < 1e-3
assert through_attention[0] / through_attention[-1] > 1e-2

# %% [markdown]
# An LSTM is also sequential: step t cannot start before step t−1 is done, whereas attention
# handles all positions in one matrix product.  Those two facts — gradients that fade with
# distance and steps that cannot run in parallel — are why the Transformer (`nn.Transformer`,
# `nn.TransformerEncoderLayer`, `nn.TransformerDecoderLayer`, all with PyTorch's names) replaced
# recurrence for language.  `nn.RNN`, `nn.LSTM` and `nn.GRU` remain here, equal to PyTorch's
# with copied weights (multi-layer, bidirectional, `batch_first`, `proj_size`), because small
# sequence models and many course exercises still use them.

# %% [markdown]
# ## What to remember
#
# * Attention = a soft dictionary lookup: weights = softmax(q·kᵀ/√d), output = weights · v.
# * Divide by √d, or the softmax saturates as heads grow and the gradients vanish.
# * Masks set scores to −∞ before the softmax: causal for generation, padding for batches.
#   Mind the conventions: for `F.scaled_dot_product_attention` True = attend, for
#   `nn.MultiheadAttention` True = blocked.
# * Multi-head attention = a reshape into H heads, H attentions at once, a reshape back and a
#   linear map.
# * Attention has no notion of order by itself: positional embeddings supply it.
# * Recurrence (RNN, LSTM, GRU) reads one step at a time; its gradient to distant steps fades,
#   attention reaches every position in one hop.

# %%
print(f"total time {time.perf_counter() - START:.1f} s")
print("tutorial 05 finished")
