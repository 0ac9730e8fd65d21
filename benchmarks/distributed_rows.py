"""The rank side of ``bench_distributed.py``: one process of a 1-rank or 2-rank measurement.

``bench_distributed`` launches this module (``mpiexec -n 2 python -m mpi4py -m
benchmarks.distributed_rows ...`` for tinygrad_edu, ``mpiexec -n 2 python -m benchmarks.distributed_rows
--lib torch ...`` for torch, whose ranks find each other through ``torch.distributed``'s env init on
127.0.0.1) and reads the JSON that rank 0 writes.  What one launch measures:

* ``variants``: the training step of one model in several forms, timed in **alternating rounds**
  (round r starts with variant r mod k, so a slow moment of the machine hits all of them alike):

  - ``solo_b``, ``solo_2b``: the plain model on rank 0 alone, at batch b and 2b, while the other
    ranks sleep (a barrier that polls with ``time.sleep``, so the second core is idle): the 1-rank
    baseline, measured in the same rounds as the 2-rank steps;
  - ``local``: the plain model, no DDP, on every rank: each computes its own batch with no
    communication (both cores busy: the compute time of a data-parallel
    step, without its communication);
  - ``naive``, ``flat``, ``bucketed`` (tinygrad_edu) or ``ddp`` (torch): the model under
    DistributedDataParallel.  ``step − local`` is the communication the step did **not** hide;

* for the tinygrad_edu communicators, the **tail**: time from the last parameter's gradient (the
  end of backward as far as the gradients are concerned) to the end of ``backward()`` — what
  the communicator still does once backward is over (pack, Allreduce or wait, unpack);
* ``allreduce_s``: one blocking Allreduce of a float32 buffer of the model's gradient size (the
  communication time, none of it hidden), and a ping-pong table (tinygrad_edu launch only) for
  the bandwidth and latency of the cost model;
* ``replicas_equal``: after the timed steps, every rank's parameters equal rank 0's bit for bit
  (a data-parallel run whose replicas drifted apart would be timing a wrong computation).

Every rank uses one BLAS/OpenMP thread (the launcher sets the variables before NumPy loads).
"""
import argparse
import datetime
import json
import os
import sys
import time

import numpy as np

SEED = 0


# ---------------------------------------------------------------------------------------------
# The models and their data: random CIFAR-10-sized images and random tokens
# ---------------------------------------------------------------------------------------------
def _gpt_config():
    from tinygrad_edu.models.gpt import GPTConfig
    return GPTConfig()      # nanoGPT's Shakespeare-char CPU config: 4 layers, 4 heads, 128 wide, block 64


def make_batch(model_name, batch, rank):
    rng = np.random.default_rng(SEED + 1000 * rank + batch)
    if model_name == "cnn":
        return (rng.standard_normal((batch, 3, 32, 32), dtype=np.float32),
                rng.integers(0, 10, batch).astype(np.int64))
    config = _gpt_config()
    shape = (batch, config.block_size)
    return (rng.integers(0, config.vocab_size, shape).astype(np.int64),
            rng.integers(0, config.vocab_size, shape).astype(np.int64))


def tinygrad_step(model_name, wrap, batch, rank, after_backward=None):
    """(step function, model, wrapped model) for tinygrad_edu; ``wrap`` turns the model into DDP;
    ``after_backward()`` (if given) is called as soon as ``backward()`` returns."""
    import tinygrad_edu as tg
    from tinygrad_edu import models, optim
    from tinygrad_edu.nn import functional as F
    tg.manual_seed(SEED)
    if model_name == "cnn":
        model = models.vgg_mini()
        net = wrap(model)
        opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    else:
        from tinygrad_edu.models.gpt import GPT
        model = GPT(_gpt_config())
        net = wrap(model)
        opt = optim.AdamW(model.parameters(), lr=1e-3)
    net.train()
    x, y = (tg.tensor(a) for a in make_batch(model_name, batch, rank))

    def step():
        opt.zero_grad(set_to_none=True)
        if model_name == "cnn":
            loss = F.cross_entropy(net(x), y)
        else:
            loss = net(x, y)[1]
        loss.backward()
        if after_backward is not None:
            after_backward()
        opt.step()
    return step, model, net


def torch_step(model_name, wrap, batch, rank):
    import torch
    import torch.nn.functional as F
    from . import torch_twins
    torch.manual_seed(SEED)
    if model_name == "cnn":
        model = torch_twins.VGGMini()
        opt_class, opt_kwargs = torch.optim.SGD, {"lr": 0.01, "momentum": 0.9}
    else:
        model = torch_twins.GPT(_gpt_config())
        opt_class, opt_kwargs = torch.optim.AdamW, {"lr": 1e-3}
    net = wrap(model)
    opt = opt_class(net.parameters(), **opt_kwargs)
    net.train()
    x, y = (torch.from_numpy(a) for a in make_batch(model_name, batch, rank))

    def step():
        opt.zero_grad(set_to_none=True)
        if model_name == "cnn":
            loss = F.cross_entropy(net(x), y)
        else:
            loss = net(x, y)[1]
        loss.backward()
        opt.step()
    return step, model, net


# ---------------------------------------------------------------------------------------------
# Instrumenting a tinygrad_edu communicator: when did the last gradient arrive?
# ---------------------------------------------------------------------------------------------
class TailClock:
    """Wraps ``communicator.grad_ready`` to remember the time of its last call; after
    ``backward()`` returns, ``now − that`` is the tail: communication not overlapped with backward."""

    def __init__(self, communicator):
        self.communicator = communicator
        self.last_ready = None
        self.tails = []
        inner = communicator.grad_ready

        def grad_ready(param):
            self.last_ready = time.perf_counter()
            return inner(param)
        communicator.grad_ready = grad_ready

    def step_done(self):
        if self.last_ready is not None:
            self.tails.append(time.perf_counter() - self.last_ready)
            self.last_ready = None


# ---------------------------------------------------------------------------------------------
# The two kinds of world: MPI for tinygrad_edu, torch.distributed (gloo) for torch
# ---------------------------------------------------------------------------------------------
class TinygradWorld:
    def __init__(self):
        from tinygrad_edu import distributed as dist
        self.dist = dist
        self.size = dist.init()
        self.rank = dist.get_rank()

    def barrier(self):
        self.dist.barrier()

    def idle_barrier(self):
        """A barrier that sleeps while it waits (a busy-polling wait would take the idle core)."""
        if self.size > 1:
            request = self.dist.comm().Ibarrier()
            while not request.Test():
                time.sleep(0.001)

    def max(self, value):
        if self.size == 1:
            return value
        from mpi4py import MPI
        return self.dist.comm().allreduce(value, op=MPI.MAX)

    def allreduce_time(self, n, repeats):
        if self.size == 1:
            return 0.0
        from mpi4py import MPI
        buf, times = np.ones(n, np.float32), []
        for _ in range(repeats):
            self.barrier()
            t = time.perf_counter()
            self.dist.comm().Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
            times.append(self.max(time.perf_counter() - t))
        return float(np.median(times))

    def same_as_rank0(self, arrays):
        if self.size == 1:
            return True
        from mpi4py import MPI
        flat = np.concatenate([np.asarray(a, np.float64).ravel() for a in arrays])
        mine = flat.copy()
        self.dist.comm().Bcast(flat, root=0)
        return bool(self.dist.comm().allreduce(bool(np.array_equal(flat, mine)), op=MPI.LAND))


class TorchWorld:
    def __init__(self):
        import torch
        import torch.distributed as tdist
        torch.set_num_threads(1)
        self.torch, self.tdist = torch, tdist
        self.size = int(os.environ.get("PMI_SIZE", os.environ.get("WORLD_SIZE", "1")))
        self.rank = int(os.environ.get("PMI_RANK", os.environ.get("RANK", "0")))
        if self.size > 1:
            # a rank that cannot reach the other says so within a minute instead of gloo's 30 minutes
            tdist.init_process_group("gloo", init_method="env://", rank=self.rank, world_size=self.size,
                                     timeout=datetime.timedelta(seconds=60))

    def barrier(self):
        if self.size > 1:
            self.tdist.barrier()

    def idle_barrier(self):
        if self.size > 1:
            work = self.tdist.barrier(async_op=True)
            while not work.is_completed():
                time.sleep(0.001)
            work.wait()

    def max(self, value):
        if self.size == 1:
            return value
        t = self.torch.tensor([value], dtype=self.torch.float64)
        self.tdist.all_reduce(t, op=self.tdist.ReduceOp.MAX)
        return float(t.item())

    def allreduce_time(self, n, repeats):
        if self.size == 1:
            return 0.0
        buf, times = self.torch.ones(n, dtype=self.torch.float32), []
        for _ in range(repeats):
            self.barrier()
            t = time.perf_counter()
            self.tdist.all_reduce(buf)
            times.append(self.max(time.perf_counter() - t))
        return float(np.median(times))

    def same_as_rank0(self, arrays):
        if self.size == 1:
            return True
        flat = self.torch.cat([a.detach().double().reshape(-1) for a in arrays])
        mine = flat.clone()
        self.tdist.broadcast(flat, src=0)
        ok = self.torch.tensor([int(self.torch.equal(flat, mine))])
        self.tdist.all_reduce(ok, op=self.tdist.ReduceOp.MIN)
        return bool(ok.item())

    def close(self):
        if self.size > 1:
            self.tdist.barrier()                 # both ranks done with every collective first
            self.tdist.destroy_process_group()


SOLO = {"solo_b": 1, "solo_2b": 2}   # rank 0 alone (the others sleep): 1 rank at batch b and 2b


def _run_steps(world, name, step, steps):
    """Seconds for ``steps`` steps of one variant; a solo variant runs on rank 0 alone."""
    if name not in SOLO:
        world.barrier()
        t = time.perf_counter()
        for _ in range(steps):
            step()
        return world.max(time.perf_counter() - t)
    world.idle_barrier()
    elapsed = 0.0
    if world.rank == 0:
        t = time.perf_counter()
        for _ in range(steps):
            step()
        elapsed = time.perf_counter() - t
    world.idle_barrier()
    return world.max(elapsed)


def _variants(lib, world, model_name, batch, names, bucket_cap_mb):
    """{name: (step, model, tail clock or None)} for the requested variants."""
    out = {}
    for name in names:
        if name in SOLO:
            build = tinygrad_step if lib == "tinygrad_edu" else torch_step
            step, model, _ = build(model_name, lambda m: m, SOLO[name] * batch, world.rank)
            out[name] = (step, model, None)
            continue
        if lib == "tinygrad_edu":
            if name == "local":
                step, model, _ = tinygrad_step(model_name, lambda m: m, batch, world.rank)
                out[name] = (step, model, None)
                continue
            ddp = world.dist.DistributedDataParallel

            clocks = []

            def wrap(m, name=name):
                net = ddp(m, communicator=name, bucket_cap_mb=bucket_cap_mb)
                clocks.append(TailClock(net.communicator))
                return net
            step, model, net = tinygrad_step(model_name, wrap, batch, world.rank,
                                             after_backward=lambda c=clocks: c[0].step_done())
            out[name] = (step, model, clocks[0])
        else:
            if name == "local":
                step, model, _ = torch_step(model_name, lambda m: m, batch, world.rank)
            else:
                from torch.nn.parallel import DistributedDataParallel
                step, model, _ = torch_step(
                    model_name, lambda m: DistributedDataParallel(m, bucket_cap_mb=bucket_cap_mb),
                    batch, world.rank)
            out[name] = (step, model, None)
    return out


def measure(lib, model_name, batch, names, warmup=2, rounds=5, steps_per_round=2, bucket_cap_mb=25,
            allreduce_repeats=10, ping_pong=False):
    """Time the variants on this world; returns the results dict (the same on every rank)."""
    world = TinygradWorld() if lib == "tinygrad_edu" else TorchWorld()
    variants = _variants(lib, world, model_name, batch, names, bucket_cap_mb)
    for name, (step, _, clock) in variants.items():
        _run_steps(world, name, step, warmup)
        if clock:
            clock.tails.clear()
    samples = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            step = variants[name][0]
            samples[name].append(_run_steps(world, name, step, steps_per_round) / steps_per_round)
    first_model = next(iter(variants.values()))[1]
    n_grad = sum(int(np.prod(p.shape)) for p in first_model.parameters() if p.requires_grad)
    result = {
        "lib": lib, "model": model_name, "world_size": world.size, "batch_per_rank": batch,
        "global_batch": batch * world.size, "gradient_floats": n_grad,
        "step_s": {name: float(np.median(s)) for name, s in samples.items()},
        "samples_s": samples,
        "tail_s": {name: world.max(float(np.median(c.tails))) for name, (_, _, c) in variants.items()
                   if c is not None and c.tails},
        "allreduce_calls_per_step": {
            name: c.communicator.allreduce_calls / (warmup + rounds * steps_per_round)
            for name, (_, _, c) in variants.items() if c is not None},
        "allreduce_s": world.allreduce_time(n_grad, allreduce_repeats),
        "replicas_equal": {name: world.same_as_rank0([_param_array(p) for p in model.parameters()])
                           for name, (_, model, _) in variants.items()
                           if name != "local" and name not in SOLO},
    }
    if ping_pong and lib == "tinygrad_edu" and world.size > 1:
        from tinygrad_edu.distributed.selfcheck import ping_pong as table
        import contextlib
        import io
        with contextlib.redirect_stdout(io.StringIO()):
            result["ping_pong"] = [[n, t] for n, t in table(world.dist.comm(), sizes=[8, 1 << 22])]
    if lib == "torch":
        # the DDP wrappers (their reducers hold gloo state) go before the process group does: left to
        # the interpreter's exit, a rank now and then aborted ("terminate called without an active
        # exception") after its work was done, and the launch failed
        variants.clear()
        import gc
        gc.collect()
        world.close()
    return result, world.rank


def _param_array(p):
    """tinygrad_edu: the NumPy array; torch: the tensor itself."""
    return p.array if hasattr(p, "array") else p


def main(argv=None):
    parser = argparse.ArgumentParser(description="one rank of benchmarks.bench_distributed")
    parser.add_argument("--lib", choices=["tinygrad_edu", "torch"], default="tinygrad_edu")
    parser.add_argument("--model", choices=["cnn", "gpt"], default="cnn")
    parser.add_argument("--batch", type=int, required=True, help="batch per rank")
    parser.add_argument("--variants", default="solo_b,solo_2b,local,naive,flat,bucketed")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps-per-round", type=int, default=2)
    parser.add_argument("--bucket-cap-mb", type=float, default=25)
    parser.add_argument("--ping-pong", action="store_true")
    parser.add_argument("--out", required=True, help="JSON written by rank 0")
    args = parser.parse_args(argv)
    result, rank = measure(args.lib, args.model, args.batch, args.variants.split(","), args.warmup,
                           args.rounds, args.steps_per_round, args.bucket_cap_mb, ping_pong=args.ping_pong)
    if rank == 0:
        with open(args.out, "w") as f:
            json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
