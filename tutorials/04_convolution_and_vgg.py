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
# # Tutorial 04 — Convolution, pooling, batch norm and a small VGG
#
# The MLP of tutorial 03 flattens a digit into 784 unrelated numbers.  But pixels have
# neighbours, and a stroke is a stroke wherever it is in the image.  A **convolution** uses both
# facts: it slides one small set of weights (a **kernel**) over the whole image, so it looks at
# local patches and reuses the same weights at every position.
#
# 1. a convolution done by hand on a tiny image: one output, then the loops;
# 2. **im2col**: the same numbers as one matrix product — drawn, and checked against `F.conv2d`
#    and the loop version `conv2d_naive`;
# 3. the output size with stride, padding and dilation;
# 4. pooling: max and average on a tiny example;
# 5. batch norm: what it does to activation statistics, in training and in evaluation;
# 6. a small VGG trained on MNIST (and, in full mode, briefly on CIFAR-10), with its learned
#    filters and feature maps drawn.

# %%
import os
import time
from pathlib import Path

import matplotlib
if "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
from tinygrad_edu import models, optim
from tinygrad_edu.data import CIFAR10, MNIST, DataLoader, TensorDataset
from tinygrad_edu.nn.conv import conv2d_naive, conv_geometry, im2col
from tinygrad_edu.optim import lr_scheduler

QUICK = os.environ.get("TUTORIAL_QUICK") == "1"  # CI sets this: less data, a smaller VGG

# One BLAS thread.  A convolution here is many small matrix products (one per image), and when the
# cores are busy with anything else, OpenBLAS's threads wait for each other after every one of
# them: on 2 cores that made training steps 10-50× slower.  (threadpoolctl is in the dev extra.)
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


def draw_numbers(ax, array, title, fmt="{:g}", cmap="Greys", vmin=None, vmax=None):
    """A small matrix as a picture, with its numbers written in the cells."""
    ax.imshow(array, cmap=cmap, vmin=vmin, vmax=vmax)
    for (i, j), value in np.ndenumerate(array):
        shade = ax.images[-1].norm(value)
        ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=7,
                color="white" if 0.25 < abs(shade - 0.5) * 2 and shade > 0.5 else "black")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


# %% [markdown]
# ## 1. A convolution by hand
#
# A 6 × 6 image with a bright rectangle, and a 3 × 3 kernel that answers "is it brighter on the
# right than on the left?" (a vertical-edge detector).
#
# Put the kernel on a 3 × 3 patch of the image, multiply entry by entry, add up: that is one
# output number.  Output position (p, q) uses the patch whose top-left corner is (p, q):
#
#     y[p, q] = Σᵢ Σⱼ w[i, j] · x[p + i, q + j]
#
# (Deep-learning libraries call this convolution; mathematicians would flip the kernel first and
# call this *cross-correlation*.  Since the kernel is learned, the flip does not matter.)

# %%
image = np.zeros((6, 6), np.float32)
image[1:5, 2:5] = 1.0
kernel = np.array([[-1, 0, 1],
                   [-1, 0, 1],
                   [-1, 0, 1]], np.float32)
print("image:\n", image)
print("kernel:\n", kernel)

p, q = 1, 0
patch = image[p:p + 3, q:q + 3]
print(f"patch at ({p}, {q}):\n{patch}")
print("patch * kernel:\n", patch * kernel)
print(f"y[{p}, {q}] = sum = {(patch * kernel).sum():g}")
assert (patch * kernel).sum() == 3.0     # the bright column 2 sits under the +1 column


# %% [markdown]
# Every output position is the same computation: two loops over the output, the multiply-add
# inside.  A 6 × 6 image has 4 × 4 positions where a 3 × 3 kernel fits.

# %%
def correlate(image, kernel):
    """y[p, q] = Σ_ij kernel[i, j] · image[p + i, q + j], for every (p, q) where the kernel fits."""
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1), np.float32)
    for p in range(out.shape[0]):
        for q in range(out.shape[1]):
            out[p, q] = (image[p:p + kh, q:q + kw] * kernel).sum()
    return out


y_loops = correlate(image, kernel)
print(y_loops)
assert np.array_equal(y_loops, [[2, 2, 0, -2],
                                 [3, 3, 0, -3],
                                 [3, 3, 0, -3],
                                 [2, 2, 0, -2]])

# %% [markdown]
# Positive where the window straddles the left edge of the rectangle (dark on its left, bright
# on its right), negative at the right edge, zero where the window sees one uniform brightness
# (column 2: all bright).  The rows at the top and bottom see only two bright rows, hence 2
# instead of 3.  The library's `conv2d_naive` is exactly these loops with
# the extra indices a network needs (images n, output channels o, input channels c, stride,
# padding, dilation), and `F.conv2d` is the fast version that networks use.  Both take a batch
# of images (N, C, H, W) and a weight (O, C, kh, kw):

# %%
x4 = image[None, None]                 # (N=1, C=1, 6, 6)
w4 = kernel[None, None]                # (O=1, C=1, 3, 3)
y_naive = conv2d_naive(x4, w4)
y_fast = F.conv2d(tg.tensor(x4), tg.tensor(w4))
print("F.conv2d output shape:", tuple(y_fast.shape))
assert np.array_equal(y_naive[0, 0], y_loops)
assert np.allclose(y_fast.numpy()[0, 0], y_loops)


# %% [markdown]
# ## 2. im2col: the convolution as one matrix product
#
# Loops over pixels are slow in Python, and even in C they do not use the hardware well.  The
# trick every CPU library uses: copy each patch into a **column** of a matrix ("image to
# columns").  With K = kh·kw = 9 numbers per patch and L = 16 positions, the patch matrix is
# 9 × 16.  Flatten the kernel into a row of 9; then **one** matrix product computes all outputs:
#
#     y (1 × 16) = w_row (1 × 9) @ cols (9 × 16),   then reshape to 4 × 4.
#
# With O filters, w_row becomes an O × K matrix and the product gives all O output channels at
# once; with C input channels each patch has C·kh·kw entries.  A big matrix product is what BLAS
# libraries do at close to the machine's peak speed.

# %%
def im2col_tiny(image, kh, kw):
    """The patches of ``image`` as the columns of a (kh·kw, L) matrix, in row-major order of
    their position."""
    columns = []
    for p in range(image.shape[0] - kh + 1):
        for q in range(image.shape[1] - kw + 1):
            columns.append(image[p:p + kh, q:q + kw].reshape(-1))
    return np.stack(columns, axis=1)


cols = im2col_tiny(image, 3, 3)
w_row = kernel.reshape(1, -1)
y_matmul = (w_row @ cols).reshape(4, 4)
print("cols:", cols.shape, " w_row:", w_row.shape, " w_row @ cols:", (w_row @ cols).shape)
assert np.array_equal(y_matmul, y_loops)

# the library builds the same matrix (without Python loops, from a strided view of the image)
geometry = conv_geometry("conv2d", (6, 6), (3, 3), stride=1, padding=0, dilation=1, groups=1)
library_cols = im2col(x4, geometry)                 # (N, groups, K, L)
print("library im2col:", library_cols.shape)
assert np.array_equal(library_cols[0, 0], cols)

# %% [markdown]
# The picture: the patch of output position (1, 0) is outlined in the image; it becomes column
# 1·4 + 0 = 4 of the patch matrix; the kernel row times that column is output (1, 0).

# %%
column = p * 4 + q
fig, axes = plt.subplots(1, 4, figsize=(13, 3.6), gridspec_kw=dict(width_ratios=[6, 3, 16, 4]))
draw_numbers(axes[0], image, "image x (6 × 6)")
axes[0].add_patch(Rectangle((q - 0.5, p - 0.5), 3, 3, fill=False, ec="C3", lw=2.5))
draw_numbers(axes[1], kernel, "kernel w (3 × 3)", cmap="coolwarm", vmin=-1.5, vmax=1.5)
draw_numbers(axes[2], cols, "patch matrix cols (9 × 16): one column per output position")
axes[2].add_patch(Rectangle((column - 0.5, -0.5), 1, 9, fill=False, ec="C3", lw=2.5))
axes[2].set_xlabel("output position l = 4p + q")
axes[2].set_ylabel("patch entry 3i + j")
draw_numbers(axes[3], y_matmul, "y = (w_row @ cols)\nreshaped to 4 × 4", cmap="coolwarm",
             vmin=-4, vmax=4)
axes[3].add_patch(Rectangle((q - 0.5, p - 0.5), 1, 1, fill=False, ec="C3", lw=2.5))
fig.suptitle("im2col: every patch becomes a column, and the convolution becomes one matrix "
             "product", fontsize=11)
fig.savefig(OUTPUT / "04_im2col.png", dpi=110, bbox_inches="tight")
plt.close(fig)
show(OUTPUT / "04_im2col.png")

# %% [markdown]
# ### The real thing: batches, channels, stride, padding, dilation
#
# The same check on random numbers with every option switched on: 2 images of 3 channels,
# 4 filters, stride 2, padding 1, dilation 2.  `conv2d_naive` runs seven nested Python loops;
# `F.conv2d` one im2col and one matrix product.

# %%
rng = np.random.default_rng(0)
x = rng.standard_normal((2, 3, 16, 16)).astype(np.float32)
w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
b = rng.standard_normal(4).astype(np.float32)
options = dict(stride=2, padding=1, dilation=2)


def best_time(fn, repeat=5):
    """The fastest of ``repeat`` runs, in seconds (the usual way to time a small piece of code)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


y_naive = conv2d_naive(x, w, b, **options)
y_fast = F.conv2d(tg.tensor(x), tg.tensor(w), tg.tensor(b), **options).numpy()
t_naive = best_time(lambda: conv2d_naive(x, w, b, **options), repeat=2)
t_fast = best_time(lambda: F.conv2d(tg.tensor(x), tg.tensor(w), tg.tensor(b), **options))
print(f"output {y_fast.shape}; max |difference| {abs(y_fast - y_naive).max():.1e}; "
      f"loops {t_naive * 1e3:.0f} ms, im2col {t_fast * 1e3:.2f} ms ({t_naive / t_fast:.0f}× faster)")
assert y_fast.shape == (2, 4, 7, 7)
assert np.allclose(y_fast, y_naive, atol=1e-4)
assert t_naive > 10 * t_fast


# %% [markdown]
# ## 3. The output size
#
# Along one dimension, an input of size `n` with padding `p` on both sides becomes n + 2p long.
# A kernel of size k with dilation d (a gap of d − 1 between its taps) spans d·(k − 1) + 1
# pixels.  It starts at position 0 and moves s pixels at a time while it still fits:
#
#     out = ⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1
#
# `padding='same'` picks the padding that keeps out = n (stride 1 only).

# %%
def output_size(n, k, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


print(f"{'n':>3} {'k':>2} {'stride':>6} {'pad':>4} {'dil':>4} {'formula':>8} {'F.conv2d':>9}")
for n, k, s, pad, d in [(28, 3, 1, 0, 1), (28, 3, 1, 1, 1), (28, 5, 1, 2, 1), (28, 3, 2, 1, 1),
                        (32, 3, 2, 0, 1), (28, 3, 1, 0, 2), (7, 7, 1, 0, 1), (10, 4, 3, 2, 2)]:
    actual = F.conv2d(tg.zeros(1, 1, n, n), tg.zeros(1, 1, k, k), stride=s, padding=pad,
                      dilation=d).shape[-1]
    print(f"{n:3d} {k:2d} {s:6d} {pad:4d} {d:4d} {output_size(n, k, s, pad, d):8d} {actual:9d}")
    assert actual == output_size(n, k, s, pad, d)

same = F.conv2d(tg.zeros(1, 1, 28, 28), tg.zeros(1, 1, 5, 5), padding="same")
print("padding='same', 5 × 5 kernel on 28 × 28:", tuple(same.shape[-2:]))
assert tuple(same.shape[-2:]) == (28, 28)

# %% [markdown]
# A VGG uses 3 × 3 kernels with padding 1 — (n + 2 − 2 − 1)/1 + 1 = n, the size is kept — and
# lets 2 × 2 pooling halve the size.
#
# ## 4. Pooling
#
# Pooling summarises each window of a feature map by one number: its **maximum** ("is the
# feature somewhere here?") or its **average**.  It has no weights.  With a 2 × 2 window and
# stride 2 it halves height and width, which makes later layers cheaper and lets them see a
# larger part of the image.

# %%
x = tg.tensor([[1.0, 3.0, 2.0, 0.0],
               [4.0, 2.0, 1.0, 5.0],
               [0.0, 1.0, 3.0, 2.0],
               [2.0, 6.0, 1.0, 1.0]], requires_grad=True)
maxed = F.max_pool2d(x[None, None], 2)[0, 0]
averaged = F.avg_pool2d(x[None, None], 2)[0, 0]
print("x:\n", x.detach().numpy())
print("max_pool2d(x, 2):\n", maxed.detach().numpy())
print("avg_pool2d(x, 2):\n", averaged.detach().numpy())
assert np.array_equal(maxed.detach().numpy(), [[4, 5], [6, 3]])
assert np.array_equal(averaged.detach().numpy(), [[2.5, 2.0], [2.25, 1.75]])

# the same numbers by hand: split the 4 × 4 grid into 2 × 2 blocks
blocks = x.detach().numpy().reshape(2, 2, 2, 2)          # (block row, row in block, block col, col)
assert np.array_equal(blocks.max(axis=(1, 3)), maxed.detach().numpy())
assert np.allclose(blocks.mean(axis=(1, 3)), averaged.detach().numpy())

# %% [markdown]
# The gradients follow from the forward: a max passes the gradient only to the entry that won
# (the others did not affect the output), an average spreads it evenly, 1/4 each.

# %%
maxed.sum().backward()
print("d sum(max_pool) / dx:\n", x.grad.numpy())
assert np.array_equal(x.grad.numpy(), (x.detach().numpy() == np.kron(maxed.detach().numpy(),
                                                                     np.ones((2, 2)))))
x.grad = None
averaged.sum().backward()
print("d sum(avg_pool) / dx:\n", x.grad.numpy())
assert np.allclose(x.grad.numpy(), 0.25)

# %% [markdown]
# ## 5. Batch norm
#
# Deep stacks train badly when the scale of the activations drifts from layer to layer.
# `BatchNorm2d` fixes the scale: for each channel it takes the mean μ and variance σ² over the
# batch and all positions, normalises, then applies a learned scale γ and shift β:
#
#     y = γ · (x − μ) / √(σ² + ε) + β          (γ = 1, β = 0 at the start)
#
# In **training** mode it uses the batch's own μ and σ², and updates running averages
# `running_mean ← 0.9 · running_mean + 0.1 · μ` (the same for the variance).  In **evaluation**
# mode (`model.eval()`) it uses the running averages instead, so an image's output no longer
# depends on the other images in its batch.
#
# Here: 256 MNIST images through a fresh 8-filter convolution, then batch norm.

# %%
train_set, test_set = MNIST(train=True), MNIST(train=False)
MEAN, STD = 0.1307, 0.3081


def prepare(images):
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28), normalised with the training set's statistics."""
    return ((images.astype(np.float32) / 255.0 - MEAN) / STD)[:, None]


tg.manual_seed(0)
conv = nn.Conv2d(1, 8, kernel_size=3, padding=1)
bn = nn.BatchNorm2d(8)
batch = tg.from_numpy(prepare(train_set.images[:256]))
with tg.no_grad():
    before = conv(batch)
    after = bn(before)                         # bn is in training mode (a new module is)


def channel_stats(t):
    a = t.numpy()
    return a.mean(axis=(0, 2, 3)), a.std(axis=(0, 2, 3))


mean_before, std_before = channel_stats(before)
mean_after, std_after = channel_stats(after)
print("channel        " + " ".join(f"{c:6d}" for c in range(8)))
print("mean before BN " + " ".join(f"{v:6.2f}" for v in mean_before))
print("std  before BN " + " ".join(f"{v:6.2f}" for v in std_before))
print("mean after  BN " + " ".join(f"{v:6.2f}" for v in mean_after))
print("std  after  BN " + " ".join(f"{v:6.2f}" for v in std_after))
assert np.allclose(mean_after, 0, atol=1e-4) and np.allclose(std_after, 1, atol=1e-3)
assert std_before.max() / std_before.min() > 1.5      # before: every channel its own scale
assert np.allclose(bn.running_mean.numpy(), 0.1 * mean_before, atol=1e-5)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
for ax, (means, stds), title in [(axes[0], (mean_before, std_before), "after the convolution"),
                                 (axes[1], (mean_after, std_after),
                                  "after BatchNorm2d (training mode)")]:
    ax.errorbar(np.arange(8), means, yerr=stds, fmt="o", capsize=4, lw=2)
    ax.axhline(0, color="gray", lw=0.8)
    ax.set_xticks(range(8))
    ax.set_xlabel("channel")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
axes[0].set_ylabel("activation: mean ± std\n(over 256 images × 28 × 28 positions)")
fig.suptitle("batch norm gives every channel mean 0 and standard deviation 1", fontsize=11)
fig.savefig(OUTPUT / "04_batchnorm_statistics.png", dpi=110, bbox_inches="tight")
plt.close(fig)
show(OUTPUT / "04_batchnorm_statistics.png")

# %% [markdown]
# Training vs evaluation.  After one batch the running averages are only 10% of the way to the
# batch's statistics, so in evaluation mode the output is not yet normalised.  After more
# training batches they converge, and evaluation mode gives (nearly) what training mode gives —
# but with fixed statistics: the first image's output is the same whether it is alone or in a
# batch.  In training mode it changes with its batch-mates.

# %%
bn.eval()
with tg.no_grad():
    out_eval = bn(before)
mean_eval, std_eval = channel_stats(out_eval)
print(f"eval mode after 1 training batch:   |mean| up to {abs(mean_eval).max():.2f}, "
      f"std from {std_eval.min():.2f} to {std_eval.max():.2f}")
running_mean = bn.running_mean.numpy()[None, :, None, None]
running_var = bn.running_var.numpy()[None, :, None, None]
assert np.allclose(out_eval.numpy(), (before.numpy() - running_mean) / np.sqrt(running_var + 1e-5),
                   atol=1e-5)                           # eval mode: the formula with running stats
assert abs(std_eval - 1).max() > 0.3                    # ... which are not the batch's yet

bn.train()
with tg.no_grad():
    for start in range(256, 256 + 40 * 128, 128):       # 40 more batches of 128 images
        bn(conv(tg.from_numpy(prepare(train_set.images[start:start + 128]))))
bn.eval()
with tg.no_grad():
    mean_eval, std_eval = channel_stats(bn(before))
    eval_alone, eval_in_batch = bn(before[:1]).numpy(), bn(before).numpy()[:1]
print(f"eval mode after 41 training batches: |mean| up to {abs(mean_eval).max():.2f}, "
      f"std from {std_eval.min():.2f} to {std_eval.max():.2f}")
assert abs(mean_eval).max() < 0.1 and abs(std_eval - 1).max() < 0.15
assert np.allclose(eval_alone, eval_in_batch, atol=1e-5)          # eval: batch-mates don't matter

bn.train()
with tg.no_grad():
    train_alone, train_in_batch = bn(before[:1]).numpy(), bn(before).numpy()[:1]
print("image 0 alone vs in its batch of 256: max difference "
      f"{abs(eval_alone - eval_in_batch).max():.1e} in eval mode, "
      f"{abs(train_alone - train_in_batch).max():.2f} in training mode")
assert abs(train_alone - train_in_batch).max() > 0.1             # training: they do

# %% [markdown]
# ## 6. A small VGG on MNIST
#
# VGG's recipe: blocks of 3 × 3 convolutions (each followed by batch norm and ReLU) that keep the
# size, a 2 × 2 max pooling after each block that halves it, channels doubling from block to
# block; then a small fully connected classifier.  `models.vgg_mini` builds it for 28 × 28 and
# 32 × 32 images.  In quick mode we use a slimmer configuration (16-16-M-32-32-M) so that it
# trains in seconds on two CPU cores; the full mode uses the default 32-32-M-64-64-M-128-128-M.

# %%
n_train = 6_000 if QUICK else 60_000
n_test = 2_000 if QUICK else 10_000
x_train, y_train = prepare(train_set.images[:n_train]), train_set.labels[:n_train]
x_test, y_test = prepare(test_set.images[:n_test]), test_set.labels[:n_test]

tg.manual_seed(0)
if QUICK:
    model = models.vgg_mini(num_classes=10, in_channels=1, cfg=[16, 16, "M", 32, 32, "M"],
                            hidden=128)
else:
    model = models.vgg_mini(num_classes=10, in_channels=1)
print(model)
print(f"{sum(p.numel() for p in model.parameters()):,} parameters")


def accuracy(model, x, y, batch_size=500):
    """Fraction of ``x`` classified as ``y``, in evaluation mode (running BN statistics, no dropout)."""
    model.eval()
    correct = 0
    with tg.no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(tg.from_numpy(x[start:start + batch_size]))
            correct += int((logits.argmax(dim=1).numpy() == y[start:start + batch_size]).sum())
    model.train()
    return correct / len(x)


def fit(model, x, y, steps, batch_size, max_lr):
    """The loop of tutorial 03: SGD + Nesterov momentum with a one-cycle schedule."""
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, drop_last=True,
                        generator=np.random.default_rng(1))
    optimizer = optim.SGD(model.parameters(), lr=max_lr, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=steps)
    model.train()
    losses, t0 = [], time.perf_counter()
    while len(losses) < steps:
        for images, labels in loader:
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            if len(losses) % 100 == 0 or len(losses) == steps:
                print(f"  step {len(losses):5d}/{steps}: loss (mean of last 50) "
                      f"{np.mean(losses[-50:]):.3f}, {time.perf_counter() - t0:.0f} s")
            if len(losses) == steps:
                break
    return np.array(losses)


BATCH = 32 if QUICK else 64
steps = 300 if QUICK else len(x_train) // BATCH              # full: one epoch
t0 = time.perf_counter()
losses = fit(model, x_train, y_train, steps, BATCH, max_lr=0.05)
train_seconds = time.perf_counter() - t0
mnist_accuracy = accuracy(model, x_test, y_test)
BOUND = 0.93 if QUICK else 0.99
print(f"{steps} steps of {BATCH} images in {train_seconds:.0f} s; test accuracy on "
      f"{len(x_test):,} images: {mnist_accuracy:.4f} (bound {BOUND}; chance is 0.1)")
assert mnist_accuracy >= BOUND

# %% [markdown]
# ### What the network learned
#
# The first layer's filters are 3 × 3 weights, drawn below (red positive, blue negative).  Several
# are small edge detectors like the kernel of section 1: a red side and a blue side, comparing a
# pixel with its neighbours in one direction.  In the feature maps below, such a filter lights up
# along the strokes of one orientation only.
#
# The **feature maps** show what the network computes for one image.  A forward hook
# (`register_forward_hook`, the same as PyTorch's) records a layer's output whenever the model
# runs: after the first conv + BN + ReLU the maps are still the digit's shape, filtered
# (28 × 28); after the second block they are 7 × 7 and more abstract — each pixel now sees a
# 16 × 16 part of the image.

# %%
first_conv = model.features[0]
filters = first_conv.weight.detach().numpy()[:, 0]          # (channels, 3, 3)
relus = [m for m in model.features if isinstance(m, nn.ReLU)]
pools = [m for m in model.features if isinstance(m, nn.MaxPool2d)]
recorded = {}
handles = [relus[0].register_forward_hook(lambda m, args, out: recorded.__setitem__("first", out)),
           pools[1].register_forward_hook(lambda m, args, out: recorded.__setitem__("block2", out))]
model.eval()
with tg.no_grad():
    digit = tg.from_numpy(x_test[:1])
    prediction = int(model(digit).argmax(dim=1).item())
for handle in handles:
    handle.remove()
first_maps, block_maps = recorded["first"].numpy()[0], recorded["block2"].numpy()[0]
print(f"test image 0 is a {y_test[0]}, predicted {prediction}; feature maps: "
      f"first layer {first_maps.shape}, after block 2 {block_maps.shape}")
assert first_maps.shape[1:] == (28, 28) and block_maps.shape[1:] == (7, 7)
assert prediction == y_test[0]

rows = len(filters) // 8
fig, axes = plt.subplots(rows, 8, figsize=(9, 1.3 * rows))
limit = abs(filters).max()
for ax, f in zip(axes.flat, filters):
    ax.imshow(f, cmap="coolwarm", vmin=-limit, vmax=limit)
    ax.axis("off")
fig.suptitle(f"the {len(filters)} learned 3 × 3 filters of the first layer "
             "(red: positive weight, blue: negative)", fontsize=10)
fig.savefig(OUTPUT / "04_first_layer_filters.png", dpi=110, bbox_inches="tight")
plt.close(fig)
show(OUTPUT / "04_first_layer_filters.png")

fig, axes = plt.subplots(3, 9, figsize=(12, 4.6))
axes[0, 0].imshow(test_set.images[0], cmap="gray_r")
axes[0, 0].set_title(f"input ({y_test[0]})", fontsize=8)
axes[1, 0].axis("off")
axes[2, 0].axis("off")
for k in range(8):
    axes[0, k + 1].imshow(first_maps[k], cmap="viridis")
    axes[0, k + 1].set_title(f"conv1 ch {k}", fontsize=8)
    axes[1, k + 1].imshow(block_maps[k], cmap="viridis")
    axes[1, k + 1].set_title(f"block 2 ch {k}", fontsize=8)
    axes[2, k + 1].imshow(block_maps[8 + k], cmap="viridis")
    axes[2, k + 1].set_title(f"block 2 ch {8 + k}", fontsize=8)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("feature maps of one test digit: after the first conv (28 × 28, top) and after "
             "the second block (7 × 7, rows 2-3)", fontsize=10)
fig.savefig(OUTPUT / "04_feature_maps.png", dpi=110, bbox_inches="tight")
plt.close(fig)
show(OUTPUT / "04_feature_maps.png")

# %% [markdown]
# ## 7. CIFAR-10 (full mode only)
#
# The same recipe on 32 × 32 colour photos in ten classes (airplane, automobile, bird, cat,
# deer, dog, frog, horse, ship, truck), a much harder task.  Each colour channel is normalised
# with its own mean and std.  A short run — a couple of epochs over the 20,000 staged training
# images — already gets well above chance; reaching 85% takes augmentation, a wider network and many
# more epochs: `python -m tinygrad_edu train --model airbench48 --dataset cifar10 --epochs 30
# --batch-size 128 --lr 0.1 --label-smoothing 0.2` reached 85.02% in 110 minutes on one core
# (`benchmarks/results/training.md`).

# %%
if not QUICK:
    cifar_train, cifar_test = CIFAR10(train=True), CIFAR10(train=False)
    channel_mean = np.array([0.4914, 0.4822, 0.4465], np.float32)
    channel_std = np.array([0.2470, 0.2435, 0.2616], np.float32)

    def prepare_rgb(images):
        """uint8 (N, 32, 32, 3) -> float32 (N, 3, 32, 32), normalised per channel."""
        x = (images.astype(np.float32) / 255.0 - channel_mean) / channel_std
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    xc_train, yc_train = prepare_rgb(cifar_train.images), cifar_train.labels
    xc_test, yc_test = prepare_rgb(cifar_test.images), cifar_test.labels
    tg.manual_seed(0)
    cifar_model = models.vgg_mini(num_classes=10, in_channels=3)
    cifar_steps = 2 * len(xc_train) // 64                    # two epochs
    t0 = time.perf_counter()
    fit(cifar_model, xc_train, yc_train, cifar_steps, 64, max_lr=0.02)   # 0.05 is too large here
    cifar_seconds = time.perf_counter() - t0
    cifar_accuracy = accuracy(cifar_model, xc_test, yc_test)
    print(f"CIFAR-10: {cifar_steps} steps in {cifar_seconds:.0f} s, test accuracy "
          f"{cifar_accuracy:.4f} on {len(xc_test):,} images (chance is 0.1)")
    assert cifar_accuracy >= 0.5
else:
    print("quick mode: CIFAR-10 skipped (run without TUTORIAL_QUICK=1 for it)")

# %% [markdown]
# ## What to remember
#
# * A convolution is a small set of weights slid over the image: local, and shared by every
#   position.  im2col turns it into one matrix product, which is why it is fast.
# * out = ⌊(n + 2p − d·(k − 1) − 1)/s⌋ + 1; 3 × 3 with padding 1 keeps the size, 2 × 2 pooling
#   halves it.
# * Max pooling keeps the strongest response in a window and routes the gradient to it alone.
# * Batch norm normalises each channel with the batch's statistics while training and with its
#   running averages in `eval()` mode — always call `model.eval()` before testing.
# * A small VGG passes 99% on MNIST after one epoch (full mode), where the MLP of tutorial 03
#   stops near 98%: knowing that pixels have neighbours pays.

# %%
print(f"total time {time.perf_counter() - START:.1f} s")
print("tutorial 04 finished")
