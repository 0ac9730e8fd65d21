"""The GPU check: tinygrad_edu on CuPy against the CPU and against PyTorch CUDA, in one process.

    python -m benchmarks.bench_gpu                 # on a machine with a GPU (benchmarks/gpu_check.sh)
    python -m benchmarks.bench_gpu --smoke         # every part on the CPU at tiny sizes, in seconds
    python -m benchmarks.bench_gpu --parts parity,train --out results/

Parts (each prints its table and writes ``<out>/<part>.json``; ``--out`` defaults to ``$OUT`` when the
device runner sets it, else ``benchmarks/results/gpu/``):

* ``parity``: every op spec of ``tests/op_registry`` (one drawn case each) on the device against the
  CPU: the largest absolute difference of the outputs and input gradients, per op;
* ``train``: one training step of mini-VGG, airbench48, GPT (4L 4H 128, 12x64 tokens) and BERT
  (6L 384, 16x64 tokens): first the loss and gradients on the device against the CPU, then the step
  time on CuPy against torch CUDA eager with the same weights (medians of alternating rounds, both
  libraries synchronised after every step; ratio = tinygrad_edu / torch);
* ``nanogpt``: nanoGPT's GPU recipe on tinyshakespeare characters (6 layers, 6 heads, 384 wide, block
  256, batch 64, dropout 0.2, AdamW lr 1e-3 betas (0.9, 0.99), 100 warm-up steps, cosine to 1e-4 over
  5000 iterations; evaluation every 500 on 200 batches) with a wall-clock cap (``--time-limit``):
  it reports the best validation loss and where it got (nanoGPT: 1.4697 in ~3 min on an A100).

``--smoke`` runs the same code on the CPU backend with tiny models, so CI proves the script runs.
The models, batches and optimizers of the ``train`` part are built in ``benchmarks/gpu_tasks.py``.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

from benchmarks.gpu_tasks import TASKS, ours_step, torch_step
# re-exported: the GPU tests build their tasks through this module
from benchmarks.gpu_tasks import Task, airbench_task, bert_task, gpt_task, mlp_task, vgg_task  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------------------------
# Devices: where to run, how to wait for the GPU
# ---------------------------------------------------------------------------------------------
def synchronize(device):
    """Wait until every queued kernel of ``device`` ran (a no-op on the CPU)."""
    if str(device).startswith("cuda"):
        from tinygrad_edu import backend
        backend.require_cuda().cuda.runtime.deviceSynchronize()


def torch_synchronize(device):
    if str(device).startswith("cuda"):
        import torch
        torch.cuda.synchronize()


# ---------------------------------------------------------------------------------------------
# train: one step of every task on the device against the CPU, then timed against torch
# ---------------------------------------------------------------------------------------------
def compare_outputs(ref, got, rtol=2e-3, atol=2e-4):
    """The names whose values differ beyond the tolerance, and the largest absolute difference."""
    bad, worst = [], 0.0
    for name, r in ref.items():
        g = got[name]
        if r.size:
            worst = max(worst, float(np.max(np.abs(r.astype(np.float64) - g))))
        if r.shape != g.shape or not np.allclose(g, r, rtol=rtol, atol=atol):
            bad.append(name)
    return bad, worst


def _median_times(step, sync, repeats, warmup=2):
    for _ in range(warmup):
        step()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    return times


def run_train(device, smoke, repeats, rounds, log):
    rows = []
    for key, build in TASKS.items():
        try:
            rows.append(_train_row(build(smoke), device, repeats, rounds, log))
        except Exception as exc:  # noqa: BLE001  (one broken model must not hide the others' rows)
            rows.append({"task": key, "error": f"{exc.__class__.__name__}: {exc}"[:300]})
            log(f"{key:34s} FAILED: {rows[-1]['error']}")
    return rows


def _train_row(task, device, repeats, rounds, log):
    """Loss and gradients of one step on ``device`` vs the CPU (the weights after an Adam step are not
    compared: lr·g/|g| magnifies rounding where g ~ 0), then the timed steps of both libraries."""
    row = {"task": task.name}
    cpu_step, cpu_out, _ = ours_step(task, "cpu")
    dev_step, dev_out, _ = ours_step(task, device)
    cpu_step()
    dev_step()
    ref = {k: v for k, v in cpu_out().items() if k == "loss" or k.endswith(".grad")}
    bad, worst = compare_outputs(ref, dev_out())
    row.update(parity_ok=not bad, parity_max_abs=worst, parity_bad=bad[:5])
    ours, theirs = [], []
    t_step = None
    if task.make_torch is not None:
        t_step = torch_step(task, device)
    for _ in range(rounds):   # alternate the libraries, so drifting clocks hit both alike
        ours += _median_times(dev_step, lambda: synchronize(device), repeats)
        if t_step is not None:
            theirs += _median_times(t_step, lambda: torch_synchronize(device), repeats)
    row["ours_ms"] = statistics.median(ours) * 1e3
    row["torch_ms"] = statistics.median(theirs) * 1e3 if theirs else None
    row["ratio"] = row["ours_ms"] / row["torch_ms"] if theirs else None
    ratio = f"{row['ratio']:.2f}x" if row["ratio"] else "(no torch twin)"
    torch_ms = f"{row['torch_ms']:.2f}" if row["torch_ms"] else "-"
    log(f"{task.name:34s} parity {'ok ' if not bad else 'BAD'} (max |diff| {worst:.2e})  "
        f"ours {row['ours_ms']:8.2f} ms  torch {torch_ms:>8s} ms  ratio {ratio}")
    if bad:
        log(f"    differing: {bad[:5]}")
    return row


# ---------------------------------------------------------------------------------------------
# parity: every op spec on the device against the CPU
# ---------------------------------------------------------------------------------------------
def run_parity(device, smoke, log):
    sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "gpu")]
    from op_registry import ALL_SPECS
    from device_parity import parity_table
    return parity_table(ALL_SPECS[:12] if smoke else ALL_SPECS, device, log)


# ---------------------------------------------------------------------------------------------
# nanogpt: the Shakespeare-char GPU recipe, capped in time
# ---------------------------------------------------------------------------------------------
NANOGPT = dict(n_layer=6, n_head=6, n_embd=384, block_size=256, batch_size=64, dropout=0.2, max_iters=5000,
               learning_rate=1e-3, min_lr=1e-4, warmup_iters=100, eval_interval=500, eval_iters=200,
               weight_decay=0.1, beta1=0.9, beta2=0.99, grad_clip=1.0)
NANOGPT_SMOKE = dict(NANOGPT, n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=4, dropout=0.0,
                     max_iters=6, warmup_iters=2, eval_interval=3, eval_iters=2)


def _shakespeare():
    """Train and val ids and the vocabulary size, from $TINYGRAD_EDU_DATA, ../shared/data or shared/data."""
    from tinygrad_edu.data.text_datasets.shakespeare import TinyShakespeare
    roots = [os.environ.get("TINYGRAD_EDU_DATA"), os.path.join(ROOT, "..", "shared", "data"),
             os.path.join(ROOT, "shared", "data")]
    errors = []
    for root in [r for r in roots if r]:
        try:
            train = TinyShakespeare(root=root, split="train", download=False)
            val = TinyShakespeare(root=root, split="val", download=False)
        except Exception as exc:  # noqa: BLE001  (try the next folder; all errors are reported)
            errors.append(f"{root}: {exc}")
            continue
        return np.asarray(train.ids, np.int64), np.asarray(val.ids, np.int64), len(train.chars)
    raise FileNotFoundError("tinyshakespeare not found: " + "; ".join(errors))


def run_nanogpt(device, smoke, time_limit, log):
    import dataclasses
    import tinygrad_edu as tg
    from tinygrad_edu.models.gpt import GPT, GPTConfig
    from tinygrad_edu.nn.utils import clip_grad_norm_
    from tinygrad_edu.training.gpt_trainer import GPTTrainConfig, learning_rate_at, random_windows
    cfg = GPTTrainConfig(**{k: v for k, v in (NANOGPT_SMOKE if smoke else NANOGPT).items()
                            if k in {f.name for f in dataclasses.fields(GPTTrainConfig)}})
    train, val, vocab = _shakespeare()
    if smoke:
        train, val = train[:5000], val[:2000]
    tg.manual_seed(1337)
    model = GPT(GPTConfig(n_layer=cfg.n_layer, n_head=cfg.n_head, n_embd=cfg.n_embd,
                          block_size=cfg.block_size,
                          vocab_size=vocab, dropout=cfg.dropout, bias=False))
    model.to(device)
    opt = model.configure_optimizers(cfg.weight_decay, cfg.learning_rate, (cfg.beta1, cfg.beta2))
    rng = np.random.default_rng(1337)

    def batch(data, r):
        x, y = random_windows(data, cfg.block_size, cfg.batch_size, r)
        return tg.tensor(x, device=device), tg.tensor(y, device=device)

    def evaluate():
        model.eval()
        out = {}
        with tg.no_grad():
            for name, data in (("train", train), ("val", val)):
                r = np.random.default_rng([1337, len(out)])
                out[name] = float(np.mean([model(*batch(data, r))[1].item() for _ in range(cfg.eval_iters)]))
        model.train()
        return out

    start, history, it = time.perf_counter(), [], 0
    train_seconds = 0.0
    stopped = "max_iters"
    model.train()
    while True:
        if it % cfg.eval_interval == 0 or it == cfg.max_iters:
            losses = evaluate()
            history.append({"iter": it, "seconds": round(time.perf_counter() - start, 1), **losses})
            log(f"iter {it:5d}  train {losses['train']:.4f}  val {losses['val']:.4f}  "
                f"{time.perf_counter() - start:6.1f} s")
        if it >= cfg.max_iters:
            break
        if time.perf_counter() - start > time_limit:
            stopped = f"time limit {time_limit:.0f} s"
            losses = evaluate()
            history.append({"iter": it, "seconds": round(time.perf_counter() - start, 1), **losses})
            log(f"iter {it:5d}  train {losses['train']:.4f}  val {losses['val']:.4f}  (stopped: {stopped})")
            break
        t0 = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = learning_rate_at(it, cfg)
        x, y = batch(train, rng)
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        it += 1
        if it % 100 == 0:
            synchronize(device)
            log(f"iter {it:5d}  loss {loss.item():.4f}")
        train_seconds += time.perf_counter() - t0
    best = min(h["val"] for h in history)
    result = {"best_val": best, "iters": it, "stopped": stopped, "seconds": time.perf_counter() - start,
              "ms_per_iter": train_seconds / max(it, 1) * 1e3, "history": history, "target": 1.48,
              "reached_target": best <= 1.48}
    log(f"nanogpt: best val {best:.4f} after {it} iterations, {result['seconds']:.0f} s "
        f"({result['ms_per_iter']:.1f} ms/iter; stopped: {stopped}); target <= 1.48: "
        f"{'yes' if best <= 1.48 else 'no'}")
    return result


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
PARTS = ("parity", "train", "nanogpt")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU backend (seconds)")
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {PARTS}")
    p.add_argument("--device", default=None, help="default: cuda, or cpu with --smoke")
    p.add_argument("--out", default=None,
                   help="folder for the JSON results (default: $OUT or benchmarks/results/gpu)")
    p.add_argument("--repeats", type=int, default=None, help="timed steps per round")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds per library")
    p.add_argument("--time-limit", type=float, default=240.0, help="seconds of nanoGPT training")
    args = p.parse_args(argv)
    args.parts = [s for s in args.parts.split(",") if s]
    unknown = [s for s in args.parts if s not in PARTS]
    if unknown:
        p.error(f"unknown parts {unknown}; choose from {PARTS}")
    return args


def main(argv=None, log=print):
    args = parse_args(argv)
    device = args.device or ("cpu" if args.smoke else "cuda")
    if device.startswith("cuda"):
        from tinygrad_edu import backend
        if not backend.cuda_is_available():
            raise SystemExit(f"bench_gpu: no usable GPU ({backend._cuda_error}); use --smoke on the CPU")
    out = args.out or os.environ.get("OUT") or os.path.join(ROOT, "benchmarks", "results", "gpu")
    os.makedirs(out, exist_ok=True)
    repeats = args.repeats or (2 if args.smoke else 10)
    rounds = 1 if args.smoke else args.rounds
    results = {}
    for part in args.parts:
        log(f"== {part} on {device}")
        t0 = time.perf_counter()
        if part == "parity":
            results[part] = run_parity(device, args.smoke, log)
        elif part == "train":
            results[part] = run_train(device, args.smoke, repeats, rounds, log)
        else:
            results[part] = run_nanogpt(device, args.smoke, args.time_limit, log)
        log(f"== {part}: {time.perf_counter() - t0:.1f} s")
        with open(os.path.join(out, f"{part}.json"), "w", encoding="utf-8") as f:
            json.dump(results[part], f, indent=1, default=str)
    return results


if __name__ == "__main__":
    main()
