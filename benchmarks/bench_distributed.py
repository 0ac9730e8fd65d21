"""Data parallelism on this machine: 1 rank against 2 ranks, tinygrad_edu over MPI and torch DDP (gloo).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.bench_distributed
    python -m benchmarks.bench_distributed --models cnn --markdown results/distributed.md
    python -m benchmarks.bench_distributed --quick          # tiny sizes, a few seconds per launch

Run it with plain ``python``: it launches the ranks itself (``mpiexec -n 2`` from the virtual
environment, with ``MPIEXEC_TIMEOUT`` and a subprocess timeout, so nothing can hang), one BLAS /
OpenMP / numba thread per rank (``OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=NUMBA_NUM_THREADS=
MKL_NUM_THREADS=1``; the slow-OpenBLAS variables are dropped for the ranks).  The rank side is
``distributed_rows.py``.

What it measures, per model (``cnn``: ``models.vgg_mini()`` on random 3×32×32 images, 815k
parameters; ``gpt``: nanoGPT's Shakespeare-char CPU configuration on random tokens):

* **throughput** (samples/s) of 1 rank at batch b and 2b, and of 2 ranks at b each, all in the same
  2-rank launch and the same alternating rounds (for the 1-rank steps, rank 1 sleeps: its core is
  idle, as on a machine running one process);
  **strong scaling** keeps the global batch (1 × 2b against 2 × b), **weak scaling** the per-rank
  batch (1 × b against 2 × b); **efficiency** = throughput(2) / (2 · throughput(1));
* for each gradient communicator (``naive``, ``flat``, ``bucketed``) and for torch's DDP (gloo,
  ``torch.distributed`` on 127.0.0.1) in the same run;
* **communication**: ``exposed`` = step − ``local`` step (the same 2 ranks computing with no DDP:
  the communication that was *not* hidden); ``allreduce`` = one blocking Allreduce of the whole
  gradient, timed alone (all the communication there is); ``hidden`` = 1 − exposed / allreduce;
  and for tinygrad_edu the **tail**: time from the last gradient of backward to the end of
  ``backward()`` (what the communicator still does after backward: waits, packing, unpacking);
* the **cost model** of a ring allreduce on N ranks,

      t_allreduce(N) = 2(N−1)/N · S / bandwidth + 2(N−1) · latency,

  with S the gradient's bytes: each rank sends and receives 2(N−1) chunks of S/N (a reduce-scatter,
  then an allgather), and each of the 2(N−1) steps pays one latency.  Fitted with this machine's
  ping-pong latency and bandwidth (measured in the same run) and with published nominal link rates
  (10/25/100 Gb Ethernet, InfiniBand HDR 200 Gb/s), it predicts the efficiency
  t_compute / (t_compute + t_allreduce(N)) for 1–256 ranks (no overlap: the safe side), weak
  scaling at the measured compute time and strong scaling at the measured global batch.

Every timing is the median of alternating rounds (variants rotate), each round the slowest rank's
time.  Before a result is kept, every rank's parameters must equal rank 0's after the timed steps.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1"}
# published nominal link rates (bits/s), and the latency we assume for each (not measured here)
INTERCONNECTS = [("10 GbE", 10e9, 20e-6), ("25 GbE", 25e9, 10e-6), ("100 GbE", 100e9, 5e-6),
                 ("InfiniBand HDR 200 Gb/s", 200e9, 1e-6)]
DEFAULTS = {"cnn": 32, "gpt": 8}      # per-rank batch b
COMMUNICATORS = ["naive", "flat", "bucketed"]


def find_mpiexec():
    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


def free_port():
    """A port for torch.distributed's rendezvous (rank 0 binds it after the launch, so it is only
    *probably* free then).  It is drawn below the kernel's ephemeral range (``ip_local_port_range``,
    32768-60999 on Linux), where ``bind(("", 0))`` never hands out ports: another process that asks
    for "any free port" between the draw and rank 0's bind (a test's server, say) cannot take it."""
    import random
    low, high = 20000, 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            high = min(high, int(f.read().split()[0]))
    except (OSError, ValueError, IndexError):
        pass
    for _ in range(100):
        port = random.randrange(low, max(high, low + 1))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:                   # no luck: any free port
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env():
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env.update(THREAD_ENV)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def launch(lib, model, batch, ranks, variants, rounds, steps_per_round, warmup, timeout, log=print):
    """One measurement: ``ranks`` processes of ``distributed_rows``; returns rank 0's JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        args = ["-m", "benchmarks.distributed_rows", "--lib", lib, "--model", model, "--batch",
                str(batch), "--variants", ",".join(variants), "--rounds", str(rounds),
                "--steps-per-round", str(steps_per_round), "--warmup", str(warmup), "--out", str(out)]
        env = _env()
        if ranks == 1:
            command = [sys.executable] + args
        else:
            mpiexec = find_mpiexec()
            if mpiexec is None:
                raise RuntimeError("mpiexec not found (pip install -e '.[mpi]' installs MPICH)")
            env["MPIEXEC_TIMEOUT"] = str(int(timeout))
            if lib == "torch":      # torch.distributed's env init, on the loopback interface only
                # GLOO_SOCKET_IFNAME: gloo's pairs use lo too (left alone, gloo takes the address the
                # host name resolves to, which need not be reachable, and the ranks wait forever)
                env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()))
                env.setdefault("GLOO_SOCKET_IFNAME", "lo")
                command = [mpiexec, "-n", str(ranks), sys.executable] + args
            else:
                command = [mpiexec, "-n", str(ranks), sys.executable, "-m", "mpi4py"] + args + \
                    ["--ping-pong"]
        log(f"  {lib:12s} {model} {ranks} rank(s) x batch {batch}: {','.join(variants)}")
        proc = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout + 30)
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"launch failed ({proc.returncode}): {' '.join(command)}\n"
                               f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
        result = json.loads(out.read_text())
    bad = [k for k, ok in result["replicas_equal"].items() if not ok]
    if bad:
        raise AssertionError(f"{lib} {model}: the ranks' parameters differ after training with {bad}")
    return result


# ---------------------------------------------------------------------------------------------
# The whole run, and what it derives
# ---------------------------------------------------------------------------------------------
def run(models, batches, rounds, steps_per_round, warmup, timeout, torch=True, log=print):
    results = {}
    for model in models:
        b = batches[model]
        log(f"{model}: per-rank batch {b}")
        runs = {}
        for lib, variants in [("tinygrad_edu", COMMUNICATORS), ("torch", ["ddp"])]:
            if lib == "torch" and not torch:
                continue
            runs[lib] = launch(lib, model, b, 2, ["solo_b", "solo_2b", "local"] + variants, rounds,
                               steps_per_round, warmup, timeout, log)
        results[model] = derive(runs, b)
    return results


def derive(runs, b):
    """Throughputs, efficiencies and communication shares of one model."""
    rows = []
    for lib, two in runs.items():
        t1_b, t1_2b = two["step_s"]["solo_b"], two["step_s"]["solo_2b"]
        local2 = two["step_s"]["local"]
        for variant, t2 in two["step_s"].items():
            if variant.startswith("solo"):
                continue
            exposed = t2 - local2
            allreduce = two["allreduce_s"]
            rows.append({
                "lib": lib, "variant": variant, "step_2_s": t2,
                "throughput_1_b": b / t1_b, "throughput_1_2b": 2 * b / t1_2b, "throughput_2": 2 * b / t2,
                "strong_eff": t1_2b / (2 * t2), "weak_eff": t1_b / t2,
                "exposed_s": exposed if variant != "local" else None,
                "allreduce_s": allreduce,
                "hidden": (None if variant == "local" or allreduce <= 0
                           else float(np.clip(1 - exposed / allreduce, 0, 1))),
                "tail_s": two["tail_s"].get(variant),
                "calls": two["allreduce_calls_per_step"].get(variant),
            })
        flat_tail = two["tail_s"].get("flat")
        for row in rows:
            if row["lib"] == lib:
                row["tail_vs_flat"] = row["tail_s"] / flat_tail if row["tail_s"] and flat_tail else None
    tg = runs["tinygrad_edu"]
    pp = dict((n, t) for n, t in tg.get("ping_pong", []))
    latency = pp.get(8)
    bandwidth = (1 << 22) / pp[1 << 22] if (1 << 22) in pp else None
    return {"rows": rows, "runs": runs, "gradient_bytes": 4 * tg["gradient_floats"],
            "latency_s": latency, "bandwidth_Bps": bandwidth,
            "compute_1_b_s": tg["step_s"]["solo_b"], "compute_1_2b_s": tg["step_s"]["solo_2b"], "batch": b}


def ring_allreduce_s(n, nbytes, bandwidth_Bps, latency_s):
    """The ring allreduce's time on n ranks: 2(n−1)/n · S / bandwidth + 2(n−1) · latency."""
    n = np.asarray(n, dtype=float)
    return 2 * (n - 1) / n * nbytes / bandwidth_Bps + 2 * (n - 1) * latency_s


def links(model_result):
    """(name, bandwidth B/s, latency s): this machine (measured), then the published figures."""
    out = []
    if model_result["bandwidth_Bps"]:
        out.append(("this machine (shared memory, measured)", model_result["bandwidth_Bps"],
                    model_result["latency_s"]))
    return out + [(name, bits / 8, lat) for name, bits, lat in INTERCONNECTS]


def scaling_end(model_result, threshold=0.85, max_ranks=256, strong=False):
    """{link: the largest N ≤ max_ranks with predicted efficiency ≥ threshold}."""
    ends = {}
    n = np.arange(1, (min(max_ranks, 2 * model_result["batch"]) if strong else max_ranks) + 1)
    for name, bw, lat in links(model_result):
        eff = efficiency(model_result, n, bw, lat, strong)
        ok = n[eff >= threshold]
        ends[name] = (int(ok.max()) if ok.size else 1, int(n.max()))
    return ends


def efficiency(model_result, n, bandwidth, latency, strong=False):
    """Predicted efficiency on n ranks (no overlap).  Weak: each rank computes batch b;
    strong: the global batch 2b is split n ways (compute ∝ 1/n, at least one sample per rank)."""
    n = np.asarray(n, dtype=float)
    if strong:
        global_batch = 2 * model_result["batch"]
        compute = model_result["compute_1_2b_s"] / np.minimum(n, global_batch)
    else:
        compute = model_result["compute_1_b_s"] * np.ones_like(n)
    return compute / (compute + ring_allreduce_s(n, model_result["gradient_bytes"], bandwidth, latency))


def plot(model_result, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    n = np.unique(np.round(np.logspace(0, np.log10(256), 60)).astype(int))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, strong in zip(axes, (False, True)):
        ns = n[n <= 2 * model_result["batch"]] if strong else n
        for name, bw, lat in links(model_result):
            ax.plot(ns, 100 * efficiency(model_result, ns, bw, lat, strong),
                    label=f"{name}: {bw * 8 / 1e9:.0f} Gb/s, {lat * 1e6:.1f} µs")
        ax.axhline(85, color="grey", ls="--", lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("ranks N")
        b = model_result["batch"]
        ax.set_title(f"strong scaling (global batch {2 * b})" if strong else
                     f"weak scaling (batch {b} per rank)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("predicted efficiency (%)")
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------
def _ms(s):
    return "-" if s is None else f"{s * 1e3:.2f}"


def _pct(x):
    return "-" if x is None else f"{100 * x:.0f}%"


MODEL_TITLES = {"cnn": "vgg_mini (three blocks, BN, FC256) on random 3×32×32, SGD momentum",
                "gpt": "GPT (nanoGPT CPU config: 4 layers, 4 heads, 128 wide, block 64), AdamW"}


COLUMNS = """Columns: **2-rank step**: the slowest rank's time per step, 2 ranks at batch b each; \
**samples/s**: 1 rank at batch 2b (rank 0 alone in the same launch and rounds, rank 1 asleep), and \
2 ranks (global batch 2b); **strong eff.** = samples/s(2 ranks) / \
(2 · samples/s(1 rank at 2b)); **weak eff.** = the same against 1 rank at batch b; **local**: the 2 ranks \
each train their own copy with no DDP (no communication at all): the ceiling that the machine itself \
sets (two processes sharing caches and memory bandwidth); **exposed comm** = step − local step: the \
communication the step did not hide; **allreduce alone**: one blocking Allreduce of the whole gradient \
(float32), timed by itself (MPI for tinygrad_edu, gloo for torch); **hidden** = 1 − exposed / allreduce \
alone (clipped at 0); **tail after backward**: from the last parameter's gradient to the end of \
`backward()` (tinygrad_edu: pack, Allreduce or wait for the buckets, unpack, and waiting for the slower \
rank); **tail / flat's**: the bucketed tail against the flat communicator's (all of its work is after \
backward): below 1 is the part that overlap or early packing saved."""


SHORT_NAMES = {"cnn": "vgg_mini (CIFAR-10 size)", "gpt": "GPT (nanoGPT CPU config)"}


def markdown(results, header, target=0.85):
    lines = ["# Data-parallel benchmark: 1 rank vs 2 ranks, tinygrad_edu (MPI) vs torch DDP (gloo)",
             "", "```", *header, "```", "", COLUMNS, ""]
    for model, res in results.items():
        b = res["batch"]
        lines += [f"## {model}: {MODEL_TITLES[model]}", "",
                  f"Per-rank batch b = {b}; gradient {res['gradient_bytes'] / 2**20:.2f} MiB (float32). "
                  f"1 rank: {res['rows'][0]['throughput_1_b']:.1f} samples/s at b (tinygrad_edu), "
                  f"{res['rows'][0]['throughput_1_2b']:.1f} at 2b.", "",
                  "| library | variant | 2-rank step (ms) | samples/s 1 rank (2b) | samples/s 2 ranks | "
                  "strong eff. | weak eff. | allreduces/step | exposed comm (ms) | allreduce alone (ms) "
                  "| hidden | tail after backward (ms) | tail / flat's |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in res["rows"]:
            lines.append(
                f"| {r['lib']} | {r['variant']} | {_ms(r['step_2_s'])} | {r['throughput_1_2b']:.1f} | "
                f"{r['throughput_2']:.1f} | {_pct(r['strong_eff'])} | {_pct(r['weak_eff'])} | "
                f"{'-' if r['calls'] is None else format(r['calls'], 'g')} | "
                f"{_ms(r['exposed_s'])} | {_ms(r['allreduce_s'])} | {_pct(r['hidden'])} | "
                f"{_ms(r['tail_s'])} | "
                f"{'-' if r['tail_vs_flat'] is None else format(r['tail_vs_flat'], '.2f')} |")
        lines += ["", _verdict(res, target), ""]
        if res["latency_s"]:
            pred = ring_allreduce_s(2, res["gradient_bytes"], res["bandwidth_Bps"], res["latency_s"])
            measured = res["runs"]["tinygrad_edu"]["allreduce_s"]
            lines += [f"Cost model on this machine: ping-pong latency {res['latency_s'] * 1e6:.1f} µs, "
                      f"bandwidth {res['bandwidth_Bps'] / 1e9:.2f} GB/s (4 MiB messages); predicted "
                      f"Allreduce of the gradient on 2 ranks {pred * 1e3:.2f} ms, measured "
                      f"{measured * 1e3:.2f} ms.", ""]
        for strong in (False, True):
            ends = scaling_end(res, target, strong=strong)
            kind = f"strong (global batch {2 * b})" if strong else f"weak (batch {b} per rank)"
            lines.append(f"Largest N with predicted efficiency ≥ {target:.0%}, {kind}: " +
                         "; ".join(f"{k} {'≥ ' if v == top else ''}{v}" for k, (v, top) in ends.items()) +
                         (f" (N ≤ the global batch {2 * b})." if strong else "."))
        lines.append("")
        lines.append(f"![cost model](distributed_{model}_cost_model.png)")
        lines.append("")
    lines += ["Interconnect rates are the published nominal link rates (10GBASE, 25GBASE, 100GBASE "
              "Ethernet; InfiniBand HDR 4x = 200 Gb/s); their latencies are assumptions "
              f"({', '.join(f'{n} {lat * 1e6:g} µs' for n, _, lat in INTERCONNECTS)}), not measured. "
              "The model assumes no overlap of communication with backward and the ring algorithm "
              "throughout.", ""]
    return "\n".join(lines)


def _verdict(res, target):
    rows = {(r["lib"], r["variant"]): r for r in res["rows"]}
    ours = rows.get(("tinygrad_edu", "bucketed"))
    theirs = rows.get(("torch", "ddp"))
    text = (f"tinygrad_edu bucketed: strong {_pct(ours['strong_eff'])}, weak {_pct(ours['weak_eff'])} "
            f"(target ≥ {target:.0%}: {'met' if ours['strong_eff'] >= target else 'MISSED'} strong, "
            f"{'met' if ours['weak_eff'] >= target else 'MISSED'} weak)")
    if theirs:
        text += (f"; torch DDP: strong {_pct(theirs['strong_eff'])}, weak {_pct(theirs['weak_eff'])} "
                 f"(ours {'≥' if ours['strong_eff'] >= theirs['strong_eff'] else '<'} torch's, strong; "
                 f"{'≥' if ours['weak_eff'] >= theirs['weak_eff'] else '<'} torch's, weak)")
    return text + "."


def machine_header(load_start, load_end, args):
    from .harness_report import environment
    env = environment()
    blas = env["numpy_blas"]
    return [f"{env['date']} on {env['machine']} (1-min load average {load_start} at the start, "
            f"{load_end} at the end)",
            f"torch {env['torch']}, numpy {env['numpy']} with {blas.get('internal_api')} "
            f"{blas.get('version')}, python {env['python']}, tinygrad_edu {env['tinygrad_edu']} "
            f"(commit {env['git_commit']}), mpi4py + {_mpi_vendor()}",
            "ranks: " + " ".join(f"{k}={v}" for k, v in THREAD_ENV.items()) +
            " (OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset); tinygrad_edu: mpiexec -n 2 python -m mpi4py; "
            "torch: mpiexec -n 2, torch.distributed gloo, env init on 127.0.0.1",
            f"method: {args.warmup} warm-up steps per variant, then {args.rounds} alternating rounds of "
            f"{args.steps_per_round} steps; medians of the slowest rank's time",
            f"command: python -m benchmarks.bench_distributed {' '.join(sys.argv[1:])}"]


def _mpi_vendor():
    try:
        from mpi4py import MPI
        return MPI.Get_library_version().splitlines()[0].strip()
    except Exception as exc:    # RuntimeError where the MPI library is missing
        return f"no MPI ({exc})"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="cnn,gpt")
    p.add_argument("--cnn-batch", type=int, default=DEFAULTS["cnn"], help="per-rank batch b")
    p.add_argument("--gpt-batch", type=int, default=DEFAULTS["gpt"], help="per-rank batch b")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--steps-per-round", type=int, default=3)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--timeout", type=float, default=300, help="seconds per launch")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--quick", action="store_true", help="tiny sizes (the smoke test)")
    p.add_argument("--json", help="write every number here")
    p.add_argument("--markdown", help="write the results table here (PNGs of the cost model beside it)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.quick:
        args.cnn_batch, args.gpt_batch, args.rounds, args.steps_per_round, args.warmup = 2, 1, 2, 1, 1
    models = args.models.split(",")
    load_start = round(os.getloadavg()[0], 2)
    start = time.perf_counter()
    results = run(models, {"cnn": args.cnn_batch, "gpt": args.gpt_batch}, args.rounds,
                  args.steps_per_round, args.warmup, args.timeout, torch=not args.no_torch)
    header = machine_header(load_start, round(os.getloadavg()[0], 2), args)
    header.append(f"wall time of the whole run: {time.perf_counter() - start:.0f} s")
    text = markdown(results, header)
    print(text)
    if args.markdown:
        path = Path(args.markdown)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        for model, res in results.items():
            plot(res, path.parent / f"distributed_{model}_cost_model.png",
                 f"ring allreduce cost model: {SHORT_NAMES[model]}, "
                 f"gradient {res['gradient_bytes'] / 2**20:.2f} MiB")
    if args.json:
        Path(args.json).write_text(json.dumps({"header": header, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
