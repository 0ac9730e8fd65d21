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
# # Tutorial 08 — Data parallelism over MPI
#
# One training script, N processes.  Every process (a **rank**) holds a full copy of the model,
# reads its own shard of the batch, computes its gradient, and then the ranks **average** their
# gradients so that every copy takes the same step.  That is data parallelism, the way most large
# models are trained, and this lesson builds it up from the arithmetic:
#
# 1. why averaging the ranks' gradients gives exactly the gradient of the global batch;
# 2. a ring allreduce written out by hand (reduce-scatter, then all-gather), simulated for N ranks
#    inside one process, and — under `mpiexec` — run for real with `Sendrecv` and checked against MPI;
# 3. the equivalence demo: 2 ranks × batch b give the same weights as 1 process × batch 2b;
# 4. bucketing and overlap: when each bucket's allreduce starts during backward, as a timeline;
# 5. the cost model of a ring allreduce and where communication overtakes compute.
#
# Run it as a plain script (a world of one: everything that needs a second process is simulated),
# or on two processes:
#
#     mpiexec -n 2 python -m mpi4py tutorials/08_data_parallel_mpi.py
#
# (`-m mpi4py` makes an exception on one rank abort the whole job instead of hanging the other.)
# Every rank runs every cell and checks every number; only rank 0 prints the prose and draws.

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
from tinygrad_edu import distributed as dist
from tinygrad_edu import optim
from tinygrad_edu.distributed.communicators import BucketedCommunicator

QUICK = os.environ.get("TUTORIAL_QUICK") == "1"  # CI sets this: fewer steps, same lessons
try:
    HERE = Path(__file__).resolve().parent
except NameError:  # inside a notebook the working directory is the notebook's folder
    HERE = Path.cwd()
OUTPUT = HERE / "output"
START = time.perf_counter()

WORLD = dist.init()                    # 1 without a launcher (or without mpi4py)
RANK = dist.get_rank()
MAIN = dist.is_main_process()
COMM = dist.comm() if WORLD > 1 else None
if MAIN:
    OUTPUT.mkdir(exist_ok=True)

from tinygrad_edu.viz import show  # noqa: E402  (prints where a picture is; shows it inline in Jupyter)


def say(*args):
    """Only rank 0 talks (N copies of every line would be noise)."""
    if MAIN:
        print(*args, flush=True)


say(f"a world of {WORLD} process{'es' if WORLD > 1 else ''}")

# %% [markdown]
# ## 1. The gradient of the mean is the mean of the gradients
#
# Split a global batch of B = N·b examples into N shards of b.  The loss of the global batch is the
# mean of the per-example losses, so
#
#     L = (1/B) Σ_i ℓ_i = (1/N) Σ_r [ (1/b) Σ_{i ∈ shard r} ℓ_i ] = (1/N) Σ_r L_r
#
# and since the gradient is linear, **∇L = (1/N) Σ_r ∇L_r**: the mean over ranks of each rank's
# gradient of *its own* mean loss.  One allreduce (a sum over ranks, every rank gets the result)
# and a division by N.  The shards must have equal size; otherwise the mean of means is not the
# mean (that is why `DistributedSampler` pads or drops so every rank gets the same count).

# %%
rng = np.random.default_rng(0)
B, N_sim, n_in = 12, 3, 5
X, y, w = rng.standard_normal((B, n_in)), rng.standard_normal(B), rng.standard_normal(n_in)


def grad_mse(w, X, y):                          # d/dw of mean((Xw - y)²)
    return 2 * X.T @ (X @ w - y) / len(y)


g_global = grad_mse(w, X, y)
g_shards = [grad_mse(w, Xs, ys) for Xs, ys in zip(np.split(X, N_sim), np.split(y, N_sim))]
say(f"max |∇L - mean_r ∇L_r| = {np.abs(g_global - np.mean(g_shards, axis=0)).max():.1e} ({N_sim} shards)")
assert np.allclose(g_global, np.mean(g_shards, axis=0), rtol=0, atol=1e-14)

# %% [markdown]
# ## 2. A ring allreduce, by hand
#
# The obvious allreduce — everyone sends everything to rank 0, which sums and sends back — makes
# rank 0's link carry 2(N−1)·S bytes.  The **ring** spreads the work: arrange the ranks in a
# circle, cut every buffer into N chunks, and in each step every rank sends one chunk to its right
# neighbour and receives one from its left, all at the same time.
#
# * **reduce-scatter**, N−1 steps: in step s rank r sends chunk (r−s) mod N and adds the chunk
#   it receives into its own copy.  After N−1 steps, rank r holds the complete sum of chunk (r+1) mod N.
# * **all-gather**, N−1 steps: the finished chunks travel round the ring once more, each
#   received chunk overwriting the stale one.
#
# 2(N−1) steps in all, and in each one every rank sends **1/N of the buffer**: 2(N−1)/N · S bytes per
# rank in total, less than 2S whatever N is.  That is why the ring is bandwidth-optimal.  First a
# simulation: N "ranks" are N rows of one array, and a step computes every message from the state
# before the step (they are sent simultaneously), then delivers them.

# %%
def ring_allreduce_simulated(buffers):
    """buffers: (N, L) array, row r = rank r's buffer.  Returns the (N, L) result and the bytes each
    rank sent per step."""
    n = len(buffers)
    state = buffers.copy()
    chunks = np.array_split(np.arange(state.shape[1]), n)          # index ranges of the N chunks
    sent = []
    for s in range(n - 1):                                         # reduce-scatter
        messages = [(r, (r - s) % n, state[r, chunks[(r - s) % n]].copy()) for r in range(n)]
        for r, c, data in messages:
            state[(r + 1) % n, chunks[c]] += data                   # the right neighbour adds it
        sent.append(max(m[2].nbytes for m in messages))
    for s in range(n - 1):                                         # all-gather
        messages = [(r, (r + 1 - s) % n, state[r, chunks[(r + 1 - s) % n]].copy()) for r in range(n)]
        for r, c, data in messages:
            state[(r + 1) % n, chunks[c]] = data                    # the right neighbour copies it
        sent.append(max(m[2].nbytes for m in messages))
    return state, sent


for n_ranks in (2, 4, 5):
    buffers = rng.standard_normal((n_ranks, 1000))
    result, sent = ring_allreduce_simulated(buffers)
    error = np.abs(result - buffers.sum(axis=0)).max()
    say(f"N = {n_ranks}: {len(sent)} steps, at most {max(sent)} of {buffers[0].nbytes} bytes per rank "
        f"per step, total {sum(sent)} ≈ 2(N-1)/N·S = {2 * (n_ranks - 1) / n_ranks * buffers[0].nbytes:.0f}"
        f"; max |ring - sum| {error:.1e}")
    assert len(sent) == 2 * (n_ranks - 1) and error < 1e-12
    assert max(sent) <= buffers[0].nbytes / n_ranks + 8               # 1/N of the buffer (± one element)

# %% [markdown]
# The same algorithm between real processes: each step is one `Sendrecv` (send right, receive
# left in one call, so no rank waits for a neighbour that is itself waiting — a deadlock-free
# exchange).  Under `mpiexec` every rank runs this with its own buffer, and the result is compared
# with MPI's own `Allreduce`.  (The sums are added in a different order than MPI's, so they agree to
# rounding, not bit for bit; with 2 ranks there is only one addition per element and they are equal.)

# %%
def ring_allreduce_mpi(comm, buffer):
    """Sum ``buffer`` (contiguous float64) over every rank of ``comm``, in place, by the ring."""
    n, r = comm.Get_size(), comm.Get_rank()
    chunks = np.array_split(np.arange(buffer.size), n)
    right, left = (r + 1) % n, (r - 1) % n
    for s in range(n - 1):                                          # reduce-scatter
        send, receive = chunks[(r - s) % n], chunks[(r - 1 - s) % n]
        incoming = np.empty(len(receive))
        comm.Sendrecv(np.ascontiguousarray(buffer[send]), dest=right, recvbuf=incoming, source=left)
        buffer[receive] += incoming
    for s in range(n - 1):                                          # all-gather
        send, receive = chunks[(r + 1 - s) % n], chunks[(r - s) % n]
        incoming = np.empty(len(receive))
        comm.Sendrecv(np.ascontiguousarray(buffer[send]), dest=right, recvbuf=incoming, source=left)
        buffer[receive] = incoming
    return buffer


if COMM is not None:
    from mpi4py import MPI
    mine = np.random.default_rng(100 + RANK).standard_normal(100_003)   # not a multiple of N
    by_ring = ring_allreduce_mpi(COMM, mine.copy())
    by_mpi = np.empty_like(mine)
    COMM.Allreduce(mine, by_mpi, op=MPI.SUM)
    error = np.abs(by_ring - by_mpi).max()
    worst = COMM.allreduce(error, op=MPI.MAX)        # (a lowercase call: one float, not tensor data)
    say(f"ring allreduce with Sendrecv on {WORLD} ranks vs MPI Allreduce: max difference {worst:.1e}")
    assert worst <= 1e-12 * np.abs(by_mpi).max()
else:
    say("(a world of one: run under mpiexec -n 2 to see the ring with real Sendrecv)")

# %% [markdown]
# ## 3. The equivalence demo: 2 ranks × b = 1 process × 2b
#
# The promise of data parallelism is *the same training*, not an approximation.  A small MLP in
# float64, SGD with momentum, 20 steps:
#
# * the **reference**: one process, the whole batch of 2b examples per step;
# * **simulated ranks** (runs everywhere): the gradient of each half computed separately, then
#   averaged — the arithmetic of section 1 inside the training loop;
# * under `mpiexec -n 2`, **real ranks**: `DistributedDataParallel` wraps the model, each rank sees
#   its own half (with N ranks, its 2b/N rows), and `loss.backward()` leaves the averaged gradient in
#   every `.grad`.
#
# Every rank builds the reference too, from the same seed, so every rank can check its own weights.

# %%
b, steps = 16, 20
data_rng = np.random.default_rng(7)
batches = [(data_rng.standard_normal((2 * b, 6)), data_rng.standard_normal((2 * b, 1)))
           for _ in range(steps)]


def make_mlp():
    tg.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                         nn.Linear(32, 1)).double()


def train(model, grads_for):
    """20 SGD steps; ``grads_for(model, x, y)`` fills every ``.grad``."""
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for x, t in batches:
        opt.zero_grad()
        grads_for(model, x, t)
        opt.step()
    return [p.detach().numpy().copy() for p in model.parameters()]


def whole_batch(model, x, t):
    F.mse_loss(model(tg.tensor(x)), tg.tensor(t)).backward()


def two_simulated_ranks(model, x, t):
    sums = None
    for half in (slice(0, b), slice(b, 2 * b)):                        # "rank 0", then "rank 1"
        for p in model.parameters():
            p.grad = None
        F.mse_loss(model(tg.tensor(x[half])), tg.tensor(t[half])).backward()
        grads = [p.grad.numpy().copy() for p in model.parameters()]
        sums = grads if sums is None else [s + g for s, g in zip(sums, grads)]
    for p, s in zip(model.parameters(), sums):                         # the allreduce, then ÷ N
        p.grad = tg.tensor(s / 2)


reference = train(make_mlp(), whole_batch)
simulated = train(make_mlp(), two_simulated_ranks)
delta_sim = max(np.abs(a - r).max() for a, r in zip(simulated, reference))
say(f"1 × {2 * b} vs 2 simulated ranks × {b}, {steps} steps, float64: max |ΔW| = {delta_sim:.1e}")
assert delta_sim <= 1e-12

if WORLD > 1 and (2 * b) % WORLD == 0:                                 # (2, 4, 8, … ranks)
    ddp = dist.DistributedDataParallel(make_mlp())
    shard = 2 * b // WORLD

    def my_shard(model, x, t):                                          # rank r: rows r·shard …
        mine = slice(RANK * shard, (RANK + 1) * shard)
        F.mse_loss(model(tg.tensor(x[mine])), tg.tensor(t[mine])).backward()

    real = train(ddp, my_shard)
    delta_real = max(np.abs(a - r).max() for a, r in zip(real, reference))
    worst = COMM.allreduce(delta_real, op=MPI.MAX)
    say(f"1 × {2 * b} vs DistributedDataParallel on {WORLD} ranks × {shard}: "
        f"max |ΔW| over ranks = {worst:.1e}")
    assert delta_real <= 1e-12

# %% [markdown]
# ## 4. Bucketing and overlap, as a timeline
#
# Backward produces gradients from the last layer to the first.  The last layer's gradient is final
# long before backward ends — so its allreduce can start *then*, and run while backward computes
# the rest.  `BucketedCommunicator` groups the parameters in reverse order into **buckets** (a small
# first bucket, so the network starts early; then up to `bucket_cap_mb` each) and starts each
# bucket's non-blocking `Iallreduce` from the post-accumulate-grad hook of its last gradient.
# One message per bucket keeps the latency cost low; several buckets give overlap.
#
# Below, a deep MLP with small buckets.  We **measure** the time (from the start of backward) at
# which each parameter's hook fires and at which each bucket's `Iallreduce` starts, and we **draw**
# each bucket's allreduce duration from the cost model of section 5 (the MPI library progresses a
# non-blocking reduction in the background, so its real end is not visible from Python without
# polling): the measured start points, a modelled length.  What *is* measured is the wait after the
# last gradient: `finish()` waiting for the reductions still in flight.  (In a world of one there is
# nothing to wait for.  By default MPICH moves a non-blocking reduction forward only while some MPI
# call is running, so on two ranks much of it happens in that final wait: overlap pays off fully only
# when the library progresses in the background — MPICH's `MPIR_CVAR_ASYNC_PROGRESS=1` starts a
# progress thread — or the network card does the work.)

# %%
depth, width = 8, 256 if QUICK else 512
tg.manual_seed(0)
deep = nn.Sequential(*[layer for _ in range(depth)
                       for layer in (nn.Linear(width, width), nn.Tanh())]).double()
params = list(deep.parameters())
layer_mib = width * width * 8 / 2**20


class TimedBuckets(BucketedCommunicator):
    """The library's communicator, with a stopwatch on the moment each bucket's reduction starts."""

    def group_ready(self, i):
        self.starts[i] = time.perf_counter()
        super().group_ready(i)


communicator = TimedBuckets(bucket_cap_mb=2.2 * layer_mib, first_bucket_mb=1.1 * layer_mib)
communicator.setup(params)
ready = {}
for p in params:
    p.register_post_accumulate_grad_hook(
        lambda p: (ready.__setitem__(id(p), time.perf_counter()), communicator.grad_ready(p)))
x_big = tg.tensor(np.random.default_rng(3).standard_normal((256, width)))
for repeat in range(3):                                 # the last of 3 runs (the first warms caches)
    for p in params:
        p.grad = None
    communicator.starts = {}
    loss = deep(x_big).pow(2).mean()
    communicator.start_step()
    t0 = time.perf_counter()
    loss.backward()                                     # finishes (waits for) the buckets at the end
    t_end = time.perf_counter()
    assert not communicator.in_step
n_buckets = len(communicator.groups)
bucket_mib = [sum(p.array.nbytes for p in g) / 2**20 for g in communicator.groups]
say(f"{len(params)} parameters in {n_buckets} buckets (MiB: {', '.join(f'{m:.2f}' for m in bucket_mib)});"
    f" backward {1e3 * (t_end - t0):.1f} ms")
for i, g in enumerate(communicator.groups):
    last = max(ready[id(p)] for p in g)
    say(f"  bucket {i}: {len(g)} tensors, last gradient at {1e3 * (last - t0):6.2f} ms, "
        f"Iallreduce started at {1e3 * (communicator.starts[i] - t0):6.2f} ms")
    assert communicator.starts[i] >= last                                    # never before it is complete
starts = [communicator.starts[i] for i in range(n_buckets)]
assert n_buckets >= 3 and starts == sorted(starts)                            # in order, during backward
assert communicator.allreduce_calls == 3 * n_buckets
last_hook = max(ready.values())
say(f"from the last gradient to the end of backward (waiting for the reductions): "
    f"{1e3 * (t_end - last_hook):.1f} ms")

# %% [markdown]
# ## 5. The cost model of a ring allreduce, and where scaling ends
#
# One message of S bytes costs α + S/β (α: latency, β: bandwidth).  The ring makes 2(N−1) steps of
# S/N bytes, so
#
#     T_allreduce(N, S) = 2(N−1)·α + 2(N−1)/N · S/β
#
# The bandwidth term tends to 2S/β and stops growing; the latency term grows with N for ever.
# α and β for this machine: measured now with a ping-pong between ranks 0 and 1 when there are two
# ranks, otherwise the numbers `mpiexec -n 2 python -m tinygrad_edu.distributed.selfcheck` printed on
# this project's 2-core machine (MPICH 5.0.2, shared memory: 1.6 µs for 8 bytes, 4.07 GB/s for
# 16 MiB).  For comparison, nominal figures of two networks: 10 Gigabit Ethernet (1.25 GB/s, ~20 µs
# with TCP) and InfiniBand HDR (25 GB/s, ~1 µs).

# %%
if COMM is not None:
    from tinygrad_edu.distributed.selfcheck import ping_pong
    rows = ping_pong(COMM, sizes=[8, 1 << 22], seconds_per_size=0.02)   # rank 0 prints its table
    rows = COMM.bcast(rows, root=0)                                      # rank 0's times for everyone
    alpha = rows[0][1]
    beta = (1 << 22) / max(rows[1][1] - alpha, 1e-9)
    source = "measured now, ping-pong 0 <-> 1"
else:
    alpha, beta = 1.6e-6, 4.07e9
    source = "selfcheck on this project's machine (2 ranks, MPICH 5.0.2)"
say(f"this machine: α = {alpha * 1e6:.1f} µs, β = {beta / 1e9:.2f} GB/s ({source})")
assert 0 < alpha < 1e-2 and beta > 1e7


def ring_time(n, nbytes, alpha, beta):
    n = np.asarray(n, dtype=float)
    return 2 * (n - 1) * alpha + 2 * (n - 1) / n * nbytes / beta


ranks = np.unique(np.round(np.logspace(0, np.log10(256), 60)).astype(int))
S = 100e6                                   # 25 M float32 parameters: a ResNet-50's gradient
compute_1 = 4.0                             # s per step of the whole global batch on one rank
networks = {"this machine (shared memory)": (alpha, beta), "10 GbE (nominal)": (20e-6, 1.25e9),
            "InfiniBand HDR (nominal)": (1e-6, 25e9)}
say(f"strong scaling: a {S / 1e6:.0f} MB gradient, {compute_1:.0f} s of compute per global step split "
    f"over N ranks; communication overtakes compute at")
crossings = {}
for name, (a, bw) in networks.items():
    comm_t = ring_time(ranks, S, a, bw)
    over = ranks[(comm_t > compute_1 / ranks) & (ranks > 1)]
    crossings[name] = int(over[0]) if len(over) else None
    say(f"  {name:30s} N = {crossings[name] or '> 256'}  "
        f"(allreduce at 256 ranks {ring_time(256, S, a, bw) * 1e3:.0f} ms)")
assert np.isclose(ring_time(1, S, alpha, beta), 0)                   # one rank: nothing to send
assert ring_time(256, S, alpha, beta) < 2 * S / beta + 512 * alpha    # the bandwidth term stays below 2S/β

if MAIN:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    ax = axes[0]                                                    # the timeline of section 4
    for p in params:
        ax.plot([1e3 * (ready[id(p)] - t0)] * 2, [0.6, 1.4], color="tab:blue", lw=1)
    ax.barh(1, 1e3 * (last_hook - t0), left=0, height=0.8, color="tab:blue", alpha=0.15)
    ax.barh(1, 1e3 * (t_end - last_hook), left=1e3 * (last_hook - t0), height=0.8, color="tab:gray",
            alpha=0.3, hatch="//", label="waiting for the reductions (measured)")
    free = 0.0
    for i in range(n_buckets):
        begin = max(1e3 * (communicator.starts[i] - t0), free)      # one network: reductions queue
        length = 1e3 * ring_time(2, bucket_mib[i] * 2**20, alpha, beta)
        ax.barh(0, length, left=begin, height=0.8, color=f"C{i + 1}")
        ax.text(begin + length / 2, 0, str(i), ha="center", va="center", fontsize=8)
        free = begin + length
    ax.set_yticks([0, 1], ["allreduce\n(modelled, N=2)", "backward\n(hooks, measured)"])
    ax.set_xlabel("ms from the start of backward")
    ax.set_title(f"{n_buckets} buckets: each reduction starts during backward")
    ax.legend(fontsize=7, loc="lower right")
    ax = axes[1]                                                    # the cost model
    for name, (a, bw) in networks.items():
        ax.loglog(ranks[1:], ring_time(ranks[1:], S, a, bw), label=f"allreduce, {name}")  # (0 at N=1)
    ax.loglog(ranks, compute_1 / ranks, "k--", label=f"compute {compute_1:.0f} s / N")
    for name, n_cross in crossings.items():
        if n_cross:
            ax.plot(n_cross, compute_1 / n_cross, "ko")
    ax.set_xlabel("ranks N")
    ax.set_ylabel("seconds per step")
    ax.set_title(f"ring allreduce of {S / 1e6:.0f} MB vs compute")
    ax.legend(fontsize=7)
    fig.savefig(OUTPUT / "08_overlap_and_scaling.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    show(OUTPUT / "08_overlap_and_scaling.png")

# %% [markdown]
# Reading the plot: with a fixed global batch, each rank's compute shrinks as 1/N while the
# allreduce tends to 2S/β; where the curves cross, adding ranks stops paying.  Overlap (section 4)
# hides at most the backward's share of the step, so it moves the crossing by a constant factor, not
# past the wall.  A bigger global batch (weak scaling: compute per rank fixed) or a faster network
# moves it; latency only matters when buckets are small or N is in the thousands.
#
# ## What to remember
#
# * Data parallelism: every rank the same model, its own shard; average the gradients (allreduce
#   ÷ N) and every rank takes the step a single process would take on the whole batch — exactly.
# * Ring allreduce = reduce-scatter + all-gather: 2(N−1) steps, 1/N of the buffer per step,
#   2(N−1)/N·S bytes per rank.
# * Buckets in reverse parameter order let the allreduce of the last layers overlap the backward of
#   the first; one message per bucket keeps the number of latencies small.
# * T = 2(N−1)·α + 2(N−1)/N·S/β: bandwidth sets the wall, compute per rank must stay above it.

# %%
if COMM is not None:
    dist.barrier()
say(f"total time {time.perf_counter() - START:.1f} s")
say("tutorial 08 finished")
