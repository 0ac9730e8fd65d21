"""Where a training step's time goes, op by op, on the GPU (or the CPU).

    python -m benchmarks.experiments.gpu_op_times --device cuda            # nanoGPT's GPU recipe model
    python -m benchmarks.experiments.gpu_op_times --device cpu --small     # the same, tiny, on the CPU

Every ``Function`` subclass's ``forward`` and ``backward`` is wrapped by a timer that synchronises the
device before and after, so each op's time is its own GPU time plus its launch cost (the step as a
whole runs slower this way: use the totals to rank, not as the step's time).  The optimizer step and
gradient clipping are timed the same way.  Prints the phases of one step, then the ops by total time.
"""
import argparse
import collections
import time

import numpy as np


def _all_functions():
    from tinygrad_edu.autograd.function import Function
    seen, todo = [], [Function]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.append(sub)
                todo.append(sub)
    return seen


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--small", action="store_true", help="a tiny model (a check that the script runs)")
    p.add_argument("--steps", type=int, default=3)
    args = p.parse_args(argv)

    import tinygrad_edu as tg
    from tinygrad_edu.models.gpt import GPT, GPTConfig
    from tinygrad_edu.nn.utils import clip_grad_norm_
    from benchmarks.bench_gpu import synchronize

    def sync():
        synchronize(args.device)

    totals = collections.defaultdict(float)
    counts = collections.Counter()

    def timed(label, fn):
        def wrapper(*a, **kw):
            sync()
            t0 = time.perf_counter()
            out = fn(*a, **kw)
            sync()
            totals[label] += time.perf_counter() - t0
            counts[label] += 1
            return out
        return wrapper

    small = dict(n_layer=1, n_head=2, n_embd=32, block_size=16)
    big = dict(n_layer=6, n_head=6, n_embd=384, block_size=256)
    shape = small if args.small else big
    batch = 4 if args.small else 64
    tg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=65, dropout=0.2, bias=False, **shape)).to(args.device)
    model.train()
    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99))
    rng = np.random.default_rng(0)

    def batch_arrays():
        x = rng.integers(0, 65, (batch, shape["block_size"]))
        return tg.tensor(x, device=args.device), tg.tensor((x + 1) % 65, device=args.device)

    def step(phases):
        x, y = batch_arrays()
        sync()
        t = [time.perf_counter()]
        _, loss = model(x, y)
        sync()
        t.append(time.perf_counter())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        sync()
        t.append(time.perf_counter())
        clip_grad_norm_(model.parameters(), 1.0)
        sync()
        t.append(time.perf_counter())
        opt.step()
        sync()
        t.append(time.perf_counter())
        for name, a, b in zip(("forward", "backward", "clip", "optimizer"), t, t[1:]):
            phases[name].append((b - a) * 1e3)

    warm = collections.defaultdict(list)
    step(warm)                                             # compiles the kernels
    phases = collections.defaultdict(list)
    for _ in range(args.steps):
        step(phases)
    print(f"device {args.device}, GPT {shape}, batch {batch}: median ms per phase (no op timers)")
    for name, values in phases.items():
        print(f"  {name:10s} {np.median(values):9.2f}")

    for cls in _all_functions():
        for direction in ("forward", "backward"):
            if direction in vars(cls):
                setattr(cls, direction, staticmethod(timed(f"{cls.__name__}.{direction}",
                                                           getattr(cls, direction))))
    totals.clear()
    counts.clear()
    for _ in range(args.steps):
        step(collections.defaultdict(list))
    print(f"ops by time (ms per step, {args.steps} steps, device synchronised around each op)")
    for label, seconds in sorted(totals.items(), key=lambda kv: -kv[1])[:30]:
        print(f"  {seconds / args.steps * 1e3:9.2f}  {counts[label] // args.steps:4d}x  {label}")


if __name__ == "__main__":
    main()
