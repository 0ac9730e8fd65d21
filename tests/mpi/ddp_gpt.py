"""The GPT equivalence of issue 13, run by 2 ranks: 2 ranks x batch b == 1 process x batch 2b.

    mpiexec -n 2 python -m mpi4py tests/mpi/ddp_gpt.py

A tiny GPT (2 layers, n_embd 32, block 16, no dropout) in float32 with AdamW and gradient clipping
(``clip_grad_norm_`` on the *averaged* gradients, so every rank clips by the same global norm) trains
20 steps.  Every rank draws the same global batch of 2b windows and trains on its half ``rank::2`` in
DistributedDataParallel; rank 0 also trains a second, plain copy on the whole 2b windows in the same
process (the single-process reference: no collective touches it).  The loss is a mean over tokens and
both halves have b·T tokens, so the average of the ranks' gradients is the gradient of the whole batch
and the parameters must agree to float32 round-off: max |difference| <= 1e-5, for each communicator
(naive, flat, bucketed, and bucketed with 1 KiB buckets).  Prints one "OK" line per communicator."""
import sys

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import distributed as dist
from tinygrad_edu.models.gpt import GPT, GPTConfig
from tinygrad_edu.nn.utils import clip_grad_norm_

STEPS, B, T, VOCAB, TOL = 20, 4, 16, 23, 1e-5


def build():
    tg.manual_seed(0)
    model = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=T, vocab_size=VOCAB, dropout=0.0,
                          bias=True))
    return model, model.configure_optimizers(0.1, 1e-3, (0.9, 0.95))   # nanoGPT's lr


def train_step(net, params, optimizer, x, y):
    _, loss = net(tg.from_numpy(x), tg.from_numpy(y))
    optimizer.zero_grad()
    loss.backward()
    clip_grad_norm_(params, 0.5)      # the norm of the averaged gradient: the same on every rank
    optimizer.step()


def run(communicator, bucket_cap_mb=25):
    rank, world = dist.get_rank(), dist.get_world_size()
    model, optimizer = build()
    ddp = dist.DistributedDataParallel(model, communicator=communicator, bucket_cap_mb=bucket_cap_mb)
    reference, ref_optimizer = build() if rank == 0 else (None, None)
    text = np.random.default_rng(1).integers(0, VOCAB, size=2000)
    for step in range(STEPS):
        starts = np.random.default_rng([2, step]).integers(0, len(text) - T - 1, size=B * world)
        x = np.stack([text[s:s + T] for s in starts]).astype(np.int64)
        y = np.stack([text[s + 1:s + T + 1] for s in starts]).astype(np.int64)
        train_step(ddp, list(model.parameters()), optimizer, x[rank::world], y[rank::world])
        if reference is not None:
            train_step(reference, list(reference.parameters()), ref_optimizer, x, y)
    gathered = dist.all_gather(np.concatenate([p.array.ravel() for p in model.parameters()]))
    if rank == 0:
        ours = np.concatenate([p.array.ravel() for p in model.parameters()])
        ref = np.concatenate([p.array.ravel() for p in reference.parameters()])
        assert ours.dtype == np.float32, ours.dtype
        spread = float(np.abs(np.asarray(gathered).reshape(world, -1) - ours).max())
        diff = float(np.abs(ours - ref).max())
        start = np.concatenate([p.array.ravel() for p in build()[0].parameters()])
        moved = float(np.abs(ref - start).max())
        assert spread == 0.0, f"{communicator}: the ranks' parameters differ by {spread}"
        assert moved > 1e-3, "the reference did not train"
        assert diff <= TOL, f"{communicator}: {world} x {B} vs 1 x {B * world}: max |diff| {diff:.3e}"
        print(f"OK gpt {communicator} bucket_cap_mb={bucket_cap_mb:g}: {world} ranks x batch {B} vs 1 "
              f"process x batch {B * world}, {STEPS} steps, max |param diff| {diff:.2e} (moved {moved:.2e})",
              flush=True)


if __name__ == "__main__":
    dist.init()
    assert dist.get_world_size() == 2, "run with mpiexec -n 2"
    for name, cap in (("naive", 25), ("flat", 25), ("bucketed", 25), ("bucketed", 1 / 1024)):
        run(name, cap)
    dist.barrier()
    sys.exit(0)
