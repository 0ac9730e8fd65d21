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
# # Tutorial 03 — An MLP on MNIST: the training loop, optimizers and learning-rate schedules
#
# Tutorials 01 and 02 computed gradients.  Here we *use* them: a multi-layer perceptron learns to
# read handwritten digits from the real MNIST set (60,000 training images, 10,000 test images).
#
# 1. the data, as arrays and as shuffled mini-batches (`DataLoader`);
# 2. the model, and the training loop written out in full: forward, loss, `zero_grad`,
#    `backward`, `step`;
# 3. three optimizers — SGD, SGD with momentum, Adam — started from the **same** weights and fed
#    the **same** batches, so the only difference between their loss curves is the update rule;
# 4. learning-rate schedules (StepLR, cosine, one-cycle): what the lr does at every step, and
#    what that does to a short run;
# 5. a final run and its accuracy on the 10,000 test images.
#
# The code is the code you would write with PyTorch: `import tinygrad_edu as tg` plays `torch`.
# Every cell prints what it shows and `assert`s the numbers.

# %%
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
from tinygrad_edu.data import MNIST, DataLoader, TensorDataset
from tinygrad_edu.models import MLP
from tinygrad_edu.optim import lr_scheduler

QUICK = os.environ.get("TUTORIAL_QUICK") == "1"  # CI sets this: a subset of the data, same lessons

# One BLAS thread: when the cores are busy with anything else, OpenBLAS's threads wait for each
# other after every matrix product, which made this lesson 20× slower on 2 cores.
# (threadpoolctl is in the dev extra.)
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
# `MNIST(train=True)` looks for the four IDX files in `root=` if given, then in
# `$TINYGRAD_EDU_DATA/mnist`, then in a cache it fills by a checked download.  `.images` is a
# uint8 array (N, 28, 28) with 0 for background and 255 for ink, `.labels` the digits.
#
# Networks train best on inputs of mean ≈ 0 and standard deviation ≈ 1, so we scale the pixels to
# [0, 1] and subtract the training set's mean (0.1307) and divide by its std (0.3081).  An MLP
# sees an image as one flat vector of 28 × 28 = 784 numbers.

# %%
train_set, test_set = MNIST(train=True), MNIST(train=False)
print(train_set, test_set)
assert len(train_set) == 60_000 and len(test_set) == 10_000

MEAN, STD = 0.1307, 0.3081


def prepare(images):
    """uint8 (N, 28, 28) -> float32 (N, 784), normalised."""
    x = images.reshape(len(images), 784).astype(np.float32) / 255.0
    return (x - MEAN) / STD


n_train = 10_000 if QUICK else 60_000
x_train, y_train = prepare(train_set.images[:n_train]), train_set.labels[:n_train]
x_test, y_test = prepare(test_set.images), test_set.labels
print(f"training on {len(x_train):,} images; x_train {x_train.shape} {x_train.dtype}, "
      f"mean {x_train.mean():.3f}, std {x_train.std():.3f}")
assert abs(x_train.mean()) < 0.05 and abs(x_train.std() - 1) < 0.05
assert np.bincount(y_train, minlength=10).min() > 0.08 * len(y_train)   # every digit is there

fig, axes = plt.subplots(2, 8, figsize=(8, 2.4))
for ax, image, label in zip(axes.flat, train_set.images, train_set.labels):
    ax.imshow(image, cmap="gray_r")
    ax.set_title(str(label), fontsize=9)
    ax.axis("off")
fig.suptitle("the first MNIST training images and their labels", fontsize=10)
fig.savefig(OUTPUT / "03_mnist_samples.png", dpi=100, bbox_inches="tight")
plt.close(fig)
show(OUTPUT / "03_mnist_samples.png")

# %% [markdown]
# ### Mini-batches
#
# One gradient step uses a **mini-batch**: 64 images picked at random.  A `TensorDataset` pairs
# the arrays row by row, and a `DataLoader` shuffles the rows every epoch and cuts them into
# batches, handing out Tensors.  Giving it its own seeded generator fixes the order of the
# batches — we will use that to feed every optimizer exactly the same batches.

# %%
BATCH = 64
train_data = TensorDataset(x_train, y_train)


def batches(seed=1):
    return DataLoader(train_data, batch_size=BATCH, shuffle=True, drop_last=True,
                      generator=np.random.default_rng(seed))


images, labels = next(iter(batches()))
print(f"one batch: images {tuple(images.shape)} {images.dtype}, labels {tuple(labels.shape)} "
      f"{labels.dtype}; {len(batches())} batches per epoch")
assert tuple(images.shape) == (BATCH, 784) and tuple(labels.shape) == (BATCH,)
again, _ = next(iter(batches()))
assert np.array_equal(images.numpy(), again.numpy())       # same seed, same batches

# %% [markdown]
# ## 2. The model and the training loop
#
# `MLP(784, hidden=(128,), 10)` is `Flatten → Linear(784, 128) → ReLU → Linear(128, 10)`: ten
# scores (**logits**) per image, one per digit.  `F.cross_entropy(logits, labels)` turns them into
# probabilities with a softmax and returns the mean of −log(probability of the right digit): 2.30
# = log 10 for a network that guesses uniformly, 0 for one that is sure and right.
#
# One training step is five lines, the same in PyTorch:
#
# | line | what it does |
# |------|--------------|
# | `logits = model(images)` | forward pass; every op records how it was computed |
# | `loss = F.cross_entropy(logits, labels)` | one number: how wrong the batch was |
# | `optimizer.zero_grad()` | forget the last step's gradients (they would *accumulate*, tutorial 01) |
# | `loss.backward()` | dloss/dw for every weight, stored in `w.grad` |
# | `optimizer.step()` | move every weight using its gradient: for plain SGD, w ← w − lr · w.grad |

# %%
def train(model, optimizer, steps, scheduler=None, seed=1):
    """Take ``steps`` optimizer steps on shuffled mini-batches; return the loss and lr of each step."""
    model.train()
    losses, lrs = [], []
    while len(losses) < steps:
        for images, labels in batches(seed + len(losses)):    # a new shuffle every epoch
            logits = model(images)
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            lrs.append(optimizer.param_groups[0]["lr"])      # the lr this step used
            if scheduler is not None:
                scheduler.step()                             # the lr for the next step
            losses.append(loss.item())
            if len(losses) == steps:
                break
    return np.array(losses), np.array(lrs)


def accuracy(model, x, y, batch_size=1000):
    """Fraction of ``x`` classified as ``y``: evaluation mode, no graph recorded."""
    model.eval()
    correct = 0
    with tg.no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(tg.from_numpy(x[start:start + batch_size]))
            correct += int((logits.argmax(dim=1).numpy() == y[start:start + batch_size]).sum())
    model.train()
    return correct / len(x)


tg.manual_seed(0)
model = MLP(784, hidden=(128,), num_classes=10)
print(model)
print(f"{sum(p.numel() for p in model.parameters()):,} parameters")
print(f"before training: test accuracy {accuracy(model, x_test, y_test):.3f} (chance is 0.1)")
assert sum(p.numel() for p in model.parameters()) == 784 * 128 + 128 + 128 * 10 + 10

# %% [markdown]
# Keep a copy of these initial weights: every optimizer below starts from them.
# `state_dict()` maps names such as `layers.1.weight` to tensors (the same names as PyTorch's);
# `load_state_dict` copies them back in.

# %%
initial_weights = {name: value.clone() for name, value in model.state_dict().items()}
print(list(initial_weights))

steps = 300 if QUICK else 1000
losses, _ = train(model, optim.SGD(model.parameters(), lr=0.1), steps=20)
print("the first 20 losses with SGD, lr = 0.1:", np.round(losses, 2))
assert abs(losses[0] - np.log(10)) < 0.3           # a fresh network guesses: loss ≈ log 10
assert losses[-5:].mean() < losses[:5].mean() - 0.5  # and 20 steps already help


def fresh_model():
    model = MLP(784, hidden=(128,), num_classes=10)
    model.load_state_dict(initial_weights)
    return model


assert all(np.array_equal(fresh_model().state_dict()[k].numpy(), v.numpy())
           for k, v in initial_weights.items())

# %% [markdown]
# ## 3. SGD, momentum and Adam
#
# All three take the gradient g of the batch loss, but move the weights differently:
#
# * **SGD**: w ← w − lr · g.  Every step uses only this batch's noisy gradient.
# * **SGD + momentum** (μ = 0.9): v ← μ·v + g;  w ← w − lr · v.  v is a running sum of past
#   gradients: directions that agree from batch to batch add up (up to 1/(1 − μ) = 10× faster),
#   directions that flip sign cancel.
# * **Adam**: keeps running means of g (m) and of g² (v) and steps by lr · m̂ / (√v̂ + ε)
#   (hats: corrected for starting at zero).  Dividing by √v̂ gives every weight its own step
#   size of about lr, whatever the scale of its gradient — hence the usual lr = 1e-3.
#
# Same initial weights, same batches, same number of steps:

# %%
runs = {
    "SGD, lr 0.05": lambda params: optim.SGD(params, lr=0.05),
    "SGD + momentum 0.9, lr 0.05": lambda params: optim.SGD(params, lr=0.05, momentum=0.9),
    "Adam, lr 1e-3": lambda params: optim.Adam(params, lr=1e-3),
}
curves, test_accuracy = {}, {}
for name, make_optimizer in runs.items():
    model = fresh_model()
    t0 = time.perf_counter()
    curves[name], _ = train(model, make_optimizer(model.parameters()), steps)
    test_accuracy[name] = accuracy(model, x_test, y_test)
    print(f"{name:28s}: mean loss over the last quarter {curves[name][-steps // 4:].mean():.3f}, "
          f"test accuracy {test_accuracy[name]:.3f}  ({time.perf_counter() - t0:.1f} s)")


def smooth(values, width=20):
    """Running mean over ``width`` steps (a batch loss is noisy; its trend is what we compare)."""
    return np.convolve(values, np.ones(width) / width, mode="valid")


fig, ax = plt.subplots(figsize=(7.5, 4.5))
for i, (name, losses) in enumerate(curves.items()):
    ax.plot(losses, color=f"C{i}", alpha=0.2, lw=0.8)
    ax.plot(np.arange(19, len(losses)), smooth(losses), color=f"C{i}", lw=2, label=name)
ax.set_xlabel("step (batch of 64)")
ax.set_ylabel("training loss (cross-entropy, log scale)")
ax.set_yscale("log")
ax.set_ylim(0.03, 3)
ax.set_title("same start, same batches: only the update rule differs\n"
             "(faint: each batch's loss; bold: running mean over 20 steps)", fontsize=10)
ax.grid(alpha=0.3)
ax.legend()
fig.savefig(OUTPUT / "03_optimizer_curves.png", dpi=110, bbox_inches="tight")
plt.close(fig)
show(OUTPUT / "03_optimizer_curves.png")

# %% [markdown]
# Momentum and Adam are ahead of plain SGD over the whole run (a lower mean loss: a smaller area
# under the curve), and still at the end:

# %%
sgd, momentum, adam = (curves[name] for name in runs)
for name, losses in curves.items():
    print(f"{name:28s}: mean loss over the whole run {losses.mean():.3f}, "
          f"over the last quarter {losses[-steps // 4:].mean():.3f}")
for losses in (momentum, adam):
    assert losses.mean() < 0.85 * sgd.mean()
    assert losses[-steps // 4:].mean() < 0.9 * sgd[-steps // 4:].mean()
assert min(test_accuracy.values()) > 0.85       # and all three have learned to read digits

# %% [markdown]
# ## 4. Learning-rate schedules
#
# A large lr makes fast progress early but then keeps the weights bouncing around a minimum:
# every batch's gradient is noisy, and the step size is what turns that noise into motion.  A
# **schedule** changes the lr as training goes, usually ending small.  A scheduler rewrites
# `optimizer.param_groups[i]["lr"]`; we call `scheduler.step()` after every `optimizer.step()`,
# so here a scheduler's "epoch" is one batch.
#
# * `StepLR(step_size, gamma)`: multiply the lr by γ every `step_size` steps: lr₀ · γ^⌊t/step_size⌋.
# * `CosineAnnealingLR(T_max)`: half a cosine from lr₀ down to 0 in T_max steps:
#   lr₀ · (1 + cos(π t / T_max)) / 2.
# * `OneCycleLR(max_lr, total_steps)`: **warm up** from max_lr/25 to max_lr over the first 30% of
#   the steps, then anneal (cosine) to max_lr/25/10⁴.  It also moves SGD's momentum the other way
#   (0.95 → 0.85 → 0.95): a large lr goes with less momentum.
#
# Here is the lr each one gives at every step of a run of `steps` steps (no training needed: we
# step a scheduler on a dummy optimizer and record the lr):

# %%
LR = 0.1


def make_scheduler(kind, optimizer, total):
    if kind == "constant":
        return None
    if kind == "StepLR":
        return lr_scheduler.StepLR(optimizer, step_size=-(-total // 3), gamma=0.2)
    if kind == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if kind == "OneCycle":
        return lr_scheduler.OneCycleLR(optimizer, max_lr=LR, total_steps=total)
    raise ValueError(kind)


KINDS = ["constant", "StepLR", "cosine", "OneCycle"]
schedules = {}
for kind in KINDS:
    weight = nn.Parameter(tg.zeros(1))
    weight.grad = tg.zeros(1)
    dummy = optim.SGD([weight], lr=LR, momentum=0.9)
    scheduler = make_scheduler(kind, dummy, steps)
    lrs = []
    for t in range(steps):
        lrs.append(dummy.param_groups[0]["lr"])
        dummy.step()
        if scheduler is not None:
            scheduler.step()
    schedules[kind] = np.array(lrs)

fig, ax = plt.subplots(figsize=(7.5, 4))
for i, kind in enumerate(KINDS):
    ax.plot(schedules[kind], color=f"C{i}", lw=2, label=kind)
ax.set_xlabel("step")
ax.set_ylabel("learning rate")
ax.set_title(f"the learning rate at each of {steps} steps (lr₀ = max_lr = {LR})", fontsize=10)
ax.grid(alpha=0.3)
ax.legend()
fig.savefig(OUTPUT / "03_lr_schedules.png", dpi=110, bbox_inches="tight")
plt.close(fig)
show(OUTPUT / "03_lr_schedules.png")

# %% [markdown]
# The curves follow the formulas:

# %%
t = np.arange(steps)
third = -(-steps // 3)                     # steps / 3, rounded up
assert np.allclose(schedules["constant"], LR)
assert np.allclose(schedules["StepLR"], LR * 0.2 ** (t // third))
assert np.allclose(schedules["cosine"], LR * (1 + np.cos(np.pi * t / steps)) / 2)
one_cycle = schedules["OneCycle"]
peak = int(np.argmax(one_cycle))
print(f"OneCycle: starts at {one_cycle[0]:.4f} (= {LR}/25), peaks at step {peak} "
      f"(30% of {steps}), ends at {one_cycle[-1]:.1e}")
assert np.isclose(one_cycle[0], LR / 25) and np.isclose(one_cycle.max(), LR)
assert abs(peak - 0.3 * steps) <= 1 and one_cycle[-1] < LR / 25 / 100

# %% [markdown]
# ### What a schedule does to a short run
#
# SGD with momentum 0.9 and lr₀ = 0.1, the same start and batches for every schedule.  We compare
# the loss over the last 20% of the steps (where the schedules differ most: the constant lr is
# still large there) and the test accuracy.

# %%
schedule_loss, schedule_accuracy = {}, {}
for kind in KINDS:
    model = fresh_model()
    optimizer = optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    losses, lrs = train(model, optimizer, steps, make_scheduler(kind, optimizer, steps))
    assert np.allclose(lrs, schedules[kind])          # training used exactly the plotted lrs
    schedule_loss[kind] = losses[-steps // 5:].mean()
    schedule_accuracy[kind] = accuracy(model, x_test, y_test)
    print(f"{kind:9s}: loss over the last 20% {schedule_loss[kind]:.3f} "
          f"(std {losses[-steps // 5:].std():.3f}), test accuracy {schedule_accuracy[kind]:.4f}")

for kind in ("StepLR", "cosine", "OneCycle"):
    assert schedule_loss[kind] < schedule_loss["constant"]

# %% [markdown]
# Every schedule that ends with a small lr ends with a lower training loss than the constant lr:
# the small final steps settle into the minimum instead of bouncing around it.  (On a run this
# short the test accuracies differ by less than the noise between runs, so we don't rank them.)
#
# ## 5. The final run
#
# A wider network, SGD with momentum and the one-cycle schedule, for a few epochs.  Then the
# number that matters: accuracy on the 10,000 test images it never saw.

# %%
tg.manual_seed(0)
model = MLP(784, hidden=(256, 256), num_classes=10)
epochs = 3 if QUICK else 2
total = epochs * len(batches())
optimizer = optim.SGD(model.parameters(), lr=LR, momentum=0.9, nesterov=True, weight_decay=5e-4)
scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=LR, total_steps=total)
t0 = time.perf_counter()
losses, _ = train(model, optimizer, total, scheduler)
seconds = time.perf_counter() - t0
final_accuracy = accuracy(model, x_test, y_test)
print(f"{epochs} epochs on {len(x_train):,} images ({total} steps) in {seconds:.1f} s: "
      f"final training loss {losses[-50:].mean():.3f}, test accuracy {final_accuracy:.4f}")
BOUND = 0.93 if QUICK else 0.975
assert final_accuracy >= BOUND, f"test accuracy {final_accuracy:.4f} below {BOUND}"
print(f"test accuracy {final_accuracy:.4f} >= {BOUND}")

# %% [markdown]
# ## What to remember
#
# * The loop is always the same five lines: forward, loss, `zero_grad`, `backward`, `step`.
# * Compare optimizers from the same weights on the same batches, or you compare luck.
# * Momentum and Adam move faster than plain SGD; Adam needs a smaller lr (≈ 1e-3).
# * A schedule that ends with a small lr ends lower; one-cycle also warms up, which lets it use a
#   large peak lr safely.
# * An MLP treats a digit as 784 unrelated numbers and still reaches ≈ 98% on MNIST.  Tutorial 04
#   adds the idea that pixels have neighbours: convolutions.

# %%
print(f"total time {time.perf_counter() - START:.1f} s")
print("tutorial 03 finished")
