"""The CNN benchmark rows: tinygrad_edu against PyTorch (CPU), in one process.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.bench_cnn
    python -m benchmarks.bench_cnn --rows conv,maxpool --threads 1,2 --json out.json
    python -m benchmarks.bench_cnn --rows vgg --profile      # where does the time go?

Rows (each one the same model, weights and inputs in both libraries; the ratio is
tinygrad_edu / torch):

* ``vgg``: one SGD training step of the issue's mini-VGG — conv3×3 32-32-pool-64-64-pool,
  FC 256, ReLU, 10 classes (``models.vgg_mini(**models.BENCHMARK_CONFIG)``) — at batch 32 on
  32×32×3 inputs: zero_grad, forward, cross entropy, backward, ``optim.SGD(lr=0.01)``.
* ``mnist``: the MNIST epoch.  ``models.vgg_mini(in_channels=1)`` (32-32-M-64-64-M-128-128-M
  with batch norm, FC 256: the model ``python -m tinygrad_edu train`` trains) at batch 64 with
  SGD (momentum 0.9, Nesterov, weight decay 5e-4, lr 0.05), on real MNIST training images from
  ``$TINYGRAD_EDU_DATA``.  Timing a whole epoch (60,000 images, 937.5 steps) in both libraries
  would take ten minutes, so the row times about 100 steps (cycling through 100 different
  batches) in alternating rounds and reports time per step × 60,000 / 64 = the extrapolated
  epoch time in seconds.  Data loading is not included (the batches are made once, up front).
* ``conv``: ``F.conv2d`` alone, forward + backward (input, weight and bias gradients) of a
  3×3 convolution, 32 → 32 channels, padding 1, batch 32, 32×32: the kernel in isolation.
* ``maxpool``: ``F.max_pool2d(x, 2)`` forward + backward on (32, 32, 32, 32).
* ``airbench``: one training step (SGD, momentum 0.9, Nesterov, weight decay 5e-4) of
  ``models.airbench48``, the fast CIFAR-10 network, at batch 32 on 32×32×3 inputs.

The ``numpy`` column of ``conv`` and ``maxpool`` is the same computation written by hand with
no autograd, in the layout that suits NumPy and BLAS best (see ``numpy_conv3x3_step``): the
floor a NumPy engine can reach.  Dropout is set to p = 0 in both libraries' models: a random
mask cannot be the same in two libraries, and the outputs are compared before timing.
"""
import sys
import time

from . import harness
# The rows live in two topic files; re-exported here, so ``bench_cnn.conv_row`` & co. keep working.
from .cnn_kernel_rows import conv_row, maxpool_row, numpy_conv3x3_step  # noqa: F401
from .cnn_train_rows import (  # noqa: F401
    MNIST_MEAN, MNIST_STD, MNIST_TRAIN_IMAGES, SEED, EpochRow, _model_outputs, _torch_airbench,
    _train_step_row, airbench_row, copy_weights_to_torch, mnist_batches, mnist_epoch_row, vgg_row)
from .harness import benchmark_parser


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
ROWS = {"vgg": vgg_row, "mnist": mnist_epoch_row, "conv": conv_row, "maxpool": maxpool_row,
        "airbench": airbench_row}
# per-row timing: a round repeats a step until it lasts this long; how many rounds
ROUND_SETTINGS = {"mnist": {"min_round_s": 1.0, "repeat": 15}}


def build_rows(names, data=None, mnist_batches_n=100):
    rows = []
    for name in names:
        if name not in ROWS:
            raise SystemExit(f"bench_cnn: unknown row {name!r}; choose from {', '.join(ROWS)}")
        rows.append(mnist_epoch_row(n_batches=mnist_batches_n, root=data) if name == "mnist"
                    else ROWS[name]())
    return rows


def _time_calls_cpu(step, calls):
    """CPU seconds of this process per call of ``step`` (``harness._time_calls`` on the CPU
    clock: time spent waiting for a core on a busy shared machine is not counted)."""
    start = time.process_time()
    for _ in range(calls):
        step()
    return (time.process_time() - start) / calls


def run(names, rows, thread_counts, warmup, repeat, min_round_s, log, reexec, mnist_rounds=None,
        clock="wall"):
    """``harness.run_rows``, with the mnist row's own round length and count (its steps are
    ~0.2-0.5 s: fewer, longer rounds).  ``clock="cpu"`` times rounds in process CPU time
    (meaningful at one thread only: spinning BLAS/OpenMP workers would be counted)."""
    if clock == "cpu":
        if list(thread_counts) != [1]:
            raise SystemExit("bench_cnn: --clock cpu measures one thread only (idle BLAS/OpenMP "
                             "threads spin and would be counted); use --threads 1")
        wall_timer, harness._time_calls = harness._time_calls, _time_calls_cpu
        try:
            return run(names, rows, thread_counts, warmup, repeat, min_round_s, log, reexec,
                       mnist_rounds)
        finally:
            harness._time_calls = wall_timer
    results, env_by_threads = [], {}
    for n in thread_counts:
        harness.set_threads(n, reexec=reexec)
        env_by_threads[n] = harness.environment()
        for name, row in zip(names, rows):
            settings = {"repeat": repeat, "min_round_s": min_round_s}
            if name in ROUND_SETTINGS:
                settings.update(ROUND_SETTINGS[name])
                if mnist_rounds is not None:
                    settings["repeat"] = mnist_rounds
            if log:
                log(f"[threads={n}] {row.name} ...")
            results.append(harness.time_row(row, n, warmup, settings["repeat"],
                                            settings["min_round_s"]))
        harness._check_threads_still(n, log)
    return {"environment": env_by_threads, "results": results,
            "settings": {"warmup": warmup, "repeat": repeat, "min_round_s": min_round_s,
                         "thread_counts": list(thread_counts)}}


def parse_args(argv=None):
    p = benchmark_parser("python -m benchmarks.bench_cnn", __doc__, ROWS, repeat=21, warmup=2,
                         min_round_ms=50.0, profile_calls=10)
    p.add_argument("--mnist-rounds", type=int, default=None,
                   help="rounds of the mnist row (default 15 rounds of >= 1 s per library)")
    p.add_argument("--mnist-batches", type=int, default=100,
                   help="distinct MNIST batches the mnist row cycles through (default 100)")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="MNIST root (default: $TINYGRAD_EDU_DATA)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="time rounds by the wall clock (default) or by this process's CPU time "
                        "(one thread only; steadier on a busy shared machine)")
    return p.parse_args(argv)


def main(argv=None, reexec=True):
    """The command line; ``reexec=False`` keeps the process (for tests: see harness.set_threads)."""
    args = parse_args(argv)
    warning = harness.slow_blas_warning()
    if warning:
        print(warning, file=sys.stderr)
    names = [r.strip() for r in args.rows.split(",") if r.strip()]
    rows = build_rows(names, args.data, args.mnist_batches)
    if args.profile:
        harness.profile_rows(rows, args.threads[0], args.profile_calls, reexec=reexec)
        return 0
    report = run(names, rows, args.threads, args.warmup, args.repeat, args.min_round_ms / 1e3,
                 log=lambda s: print(s, file=sys.stderr), reexec=reexec,
                 mnist_rounds=args.mnist_rounds, clock=args.clock)
    title = "CNN benchmark: tinygrad_edu vs PyTorch" + (" (CPU time)" if args.clock == "cpu" else "")
    notes = [f"  {res.row.name}: {res.row.note}" for res in report["results"][:len(rows)]]
    harness.print_and_save(report, notes,
                           args.json, args.markdown, title=title)
    return 0


if __name__ == "__main__":
    sys.exit(main())
