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
from dataclasses import dataclass

import numpy as np

from . import harness
from .harness import Row, Workload, benchmark_parser

SEED = 0
MNIST_TRAIN_IMAGES = 60000
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


@dataclass
class EpochRow(Row):
    """A row whose step is one batch of an epoch; it is reported in seconds per epoch
    (time per step × ``steps_per_epoch``)."""
    steps_per_epoch: float = 1.0

    @property
    def unit(self):
        return "s/epoch"

    def scale(self, seconds):
        return seconds * self.steps_per_epoch


# ---------------------------------------------------------------------------------------------
# The torch twins (benchmarks/torch_twins.py) get our weights through state_dict
# ---------------------------------------------------------------------------------------------
def copy_weights_to_torch(tg_model, torch_model):
    """Load tinygrad_edu's state_dict into the torch model (same names); only torch's
    ``num_batches_tracked`` counters may be missing on our side."""
    import torch
    sd = {k: torch.tensor(np.array(v.numpy())) for k, v in tg_model.state_dict().items()}
    missing, unexpected = torch_model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise RuntimeError(f"copy_weights_to_torch: names differ: missing in tinygrad_edu "
                           f"{missing}, unknown to torch {unexpected}")


def _model_outputs(loss, model, logits=None):
    """What a train step computed: the loss, every parameter's gradient and new value, and the
    batch-norm running statistics (named as in the state_dict)."""
    out = {"loss": np.asarray(loss)}
    if logits is not None:
        out["logits"] = logits
    for name, p in model.named_parameters():
        out[name + ".grad"] = np.array(p.grad.detach().numpy())
        out[name] = np.array(p.detach().numpy())
    for name, b in model.named_buffers():
        if "running" in name:
            out[name] = np.array(b.detach().numpy())
    return out


# ---------------------------------------------------------------------------------------------
# vgg: one SGD step of the mini-VGG
# ---------------------------------------------------------------------------------------------
def _train_step_row(name, make_tg_model, make_torch_model, batches, optimizer, note, rtol, atol,
                    row_class=Row, **row_kwargs):
    """A row that runs one optimizer step per call on ``batches[i % len(batches)]`` (numpy
    (x, y) pairs) with cross entropy.  ``optimizer`` = (name, kwargs) for both libraries'
    optim modules.  Both models start from the weights tinygrad_edu draws after
    ``manual_seed(SEED)``."""
    opt_name, opt_kwargs = optimizer

    def build_tinygrad():
        import tinygrad_edu as tg
        from tinygrad_edu import optim
        from tinygrad_edu.nn import functional as F
        tg.manual_seed(SEED)
        model = make_tg_model()
        model.train()
        opt = getattr(optim, opt_name)(model.parameters(), **opt_kwargs)
        data = [(tg.tensor(x), tg.tensor(y)) for x, y in batches]
        state = {"i": 0}

        def step():
            x, y = data[state["i"] % len(data)]
            state["i"] += 1
            opt.zero_grad()
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            opt.step()
            state["loss"], state["logits"] = loss, logits

        return Workload(step, lambda: _model_outputs(state["loss"].item(), model,
                                                     state["logits"].detach().numpy()))

    def build_torch():
        import torch
        import torch.nn.functional as F
        import tinygrad_edu as tg
        tg.manual_seed(SEED)
        model = make_torch_model()
        copy_weights_to_torch(make_tg_model(), model)
        model.train()
        opt = getattr(torch.optim, opt_name)(model.parameters(), **opt_kwargs)
        data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]
        state = {"i": 0}

        def step():
            x, y = data[state["i"] % len(data)]
            state["i"] += 1
            opt.zero_grad()
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            opt.step()
            state["loss"], state["logits"] = loss, logits

        return Workload(step, lambda: _model_outputs(state["loss"].item(), model,
                                                     state["logits"].detach().numpy()))

    return row_class(name, {"torch": build_torch, "tinygrad_edu": build_tinygrad},
                     rtol=rtol, atol=atol, note=note, **row_kwargs)


def vgg_row(batch=32, size=32, in_channels=3, cfg=None, hidden=256, num_classes=10, lr=0.01):
    """The issue's mini-VGG train step (``models.BENCHMARK_CONFIG``: two blocks, no batch
    norm) at ``batch`` × ``in_channels`` × ``size`` × ``size``; ``cfg`` overrides the blocks
    (the smoke test uses a smaller one)."""
    from tinygrad_edu import models
    config = dict(models.BENCHMARK_CONFIG)
    config.update(in_channels=in_channels, num_classes=num_classes, hidden=hidden)
    if cfg is not None:
        config["cfg"] = list(cfg)
    blocks = models.vgg.MINI_CONFIGS[config["cfg"]] if isinstance(config["cfg"], str) \
        else config["cfg"]
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((batch, in_channels, size, size), dtype=np.float32)
    y = rng.integers(0, num_classes, batch).astype(np.int64)

    def make_tg():
        return models.vgg_mini(**config, dropout=0.0, input_size=size)

    def make_torch():
        from .torch_twins import VGGMini
        return VGGMini(num_classes, in_channels, config["batch_norm"], blocks, hidden, dropout=0.0,
                       input_size=size)

    shape = "-".join(str(v) if v != "M" else "pool" for v in blocks)
    return _train_step_row(
        f"mini-VGG {shape} FC{hidden} train step, batch {batch}, {size}x{size}x{in_channels}",
        make_tg, make_torch, [(x, y)], ("SGD", {"lr": lr}),
        note=f"models.vgg_mini(**BENCHMARK_CONFIG, dropout=0) + F.cross_entropy + optim.SGD(lr={lr})"
             "; torch: the same layers in torch.nn with the weights copied through state_dict",
        rtol=2e-3, atol=2e-5)


def _torch_airbench(widths):
    from .torch_twins import AirbenchNet
    return AirbenchNet(widths)


def airbench_row(batch=32, size=32, name="airbench48", lr=0.05):
    """One SGD step of ``models.airbench48`` (or ``airbench64``) at ``batch`` × 3 × ``size`` × ``size``."""
    from tinygrad_edu import models
    widths = models.airbench.AIRBENCH_WIDTHS[name]
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((batch, 3, size, size), dtype=np.float32)
    y = rng.integers(0, 10, batch).astype(np.int64)
    return _train_step_row(
        f"{name} ({'/'.join(map(str, widths))}) train step, batch {batch}, {size}x{size}x3",
        lambda: models.get_model(name), lambda: _torch_airbench(widths), [(x, y)],
        ("SGD", {"lr": lr, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4}),
        note=f"models.{name}() + F.cross_entropy + optim.SGD(nesterov, wd 5e-4); torch: the same layers "
             "in torch.nn with the weights copied through state_dict",
        rtol=2e-3, atol=2e-5)


# ---------------------------------------------------------------------------------------------
# mnist: the epoch time of vgg_mini on MNIST, extrapolated from ~100 timed steps
# ---------------------------------------------------------------------------------------------
def mnist_batches(n_batches, batch, root=None, seed=SEED):
    """``n_batches`` shuffled, normalised (x, y) batches of MNIST training images (float32
    (B, 1, 28, 28), int64 (B,)), read from ``root`` or ``$TINYGRAD_EDU_DATA``."""
    from tinygrad_edu.data import MNISTNotFoundError, load_mnist
    try:
        images, labels = load_mnist(root=root, train=True, download=False)
    except MNISTNotFoundError as exc:
        raise SystemExit(f"bench_cnn: the mnist row needs the MNIST files: set TINYGRAD_EDU_DATA "
                         f"(e.g. TINYGRAD_EDU_DATA=../shared/data) or pass --data DIR ({exc})")
    order = np.random.default_rng(seed).permutation(len(labels))[:n_batches * batch]
    x = ((images[order].astype(np.float32) / 255.0 - MNIST_MEAN) / MNIST_STD).reshape(-1, 1, 28, 28)
    y = labels[order].astype(np.int64)
    return [(np.ascontiguousarray(x[i * batch:(i + 1) * batch]), y[i * batch:(i + 1) * batch])
            for i in range(n_batches)]


def mnist_epoch_row(batch=64, n_batches=100, root=None, cfg="three_blocks", batch_norm=True,
                    hidden=256, lr=0.05, epoch_images=MNIST_TRAIN_IMAGES):
    """vgg_mini on 28×28×1 MNIST, SGD as the training CLI uses it; reported as an epoch of
    ``epoch_images`` images (time per step × epoch_images / batch)."""
    from tinygrad_edu import models
    batches = mnist_batches(n_batches, batch, root)
    blocks = models.vgg.MINI_CONFIGS[cfg] if isinstance(cfg, str) else list(cfg)

    def make_tg():
        return models.vgg_mini(num_classes=10, in_channels=1, batch_norm=batch_norm, cfg=cfg,
                               hidden=hidden, dropout=0.0)

    def make_torch():
        from .torch_twins import VGGMini
        return VGGMini(10, 1, batch_norm, blocks, hidden, dropout=0.0, input_size=28)

    shape = "-".join(str(v) if v != "M" else "M" for v in blocks)
    steps = epoch_images / batch
    return _train_step_row(
        f"MNIST epoch, vgg_mini {shape}{' BN' if batch_norm else ''} FC{hidden}, batch {batch} "
        f"(time of {n_batches} batches x {steps:g})",
        make_tg, make_torch, batches,
        ("SGD", {"lr": lr, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4}),
        note=f"models.vgg_mini(in_channels=1, dropout=0) on real MNIST batches (normalised, "
             f"shuffled, made up front: data loading excluded), SGD(lr={lr}, momentum=0.9, "
             f"nesterov, weight_decay=5e-4); epoch = time per step x {epoch_images}/{batch}",
        # atol 1e-4: torch's own float32 weight gradient of the 1-channel first convolution is
        # off by up to 4e-4 of its largest entry (0.27) against a float64 reference (ours: 2e-6)
        rtol=2e-3, atol=1e-4, row_class=EpochRow, steps_per_epoch=steps)


# ---------------------------------------------------------------------------------------------
# conv: F.conv2d forward + backward alone
# ---------------------------------------------------------------------------------------------
def numpy_conv3x3_step(x, w, b, g):
    """A 3×3, stride 1, padding 1 convolution's forward and three gradients, by hand, with no
    autograd: the floor for a NumPy engine (measured the fastest of the layouts tried).

        cols  (N, C·9, H·W) = the 3×3 patches of the padded input (one strided copy)
        y[n]  = W2 (O, C·9) @ cols[n] + b                  (a batched GEMM, one per image)
        dW2   = Σ_n g[n] (O, H·W) @ cols[n]ᵀ              db = Σ g over n, h, w
        dx[n] = W2' (C, O·9) @ cols(g)[n]   with W2' the weights flipped in space and with
                in/out channels swapped: at stride 1 the transposed convolution is a
                convolution, so dx is an im2col gather + a GEMM with a long inner dimension
                (O·9) instead of a GEMM with inner dimension O followed by a col2im scatter-add.
    """
    n, c, h, wd = x.shape
    o = w.shape[0]

    def cols_of(a):  # (N, ch, H, W) -> (N, ch·9, H·W), padding 1
        ch = a.shape[1]
        ap = np.zeros((n, ch, h + 2, wd + 2), dtype=a.dtype)
        ap[:, :, 1:-1, 1:-1] = a
        sn, sc, sh, sw = ap.strides
        view = np.lib.stride_tricks.as_strided(ap, (n, ch, 3, 3, h, wd), (sn, sc, sh, sw, sh, sw))
        return view.reshape(n, ch * 9, h * wd)

    cols = cols_of(x)
    y = (w.reshape(o, -1) @ cols).reshape(n, o, h, wd)
    y += b.reshape(1, -1, 1, 1)
    g3 = g.reshape(n, o, h * wd)
    dw = (g3 @ cols.transpose(0, 2, 1)).sum(0).reshape(w.shape)
    db = g3.sum(axis=(0, 2))
    w_flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)).reshape(c, -1)
    dx = (w_flipped @ cols_of(g)).reshape(n, c, h, wd)
    return y, dx, dw, db


def conv_row(batch=32, channels=32, out_channels=None, size=32):
    out_channels = channels if out_channels is None else out_channels
    rng = np.random.default_rng(SEED)
    x0 = rng.standard_normal((batch, channels, size, size), dtype=np.float32)
    bound = 1.0 / np.sqrt(channels * 9)
    w0 = rng.uniform(-bound, bound, (out_channels, channels, 3, 3)).astype(np.float32)
    b0 = rng.uniform(-bound, bound, out_channels).astype(np.float32)
    g0 = rng.standard_normal((batch, out_channels, size, size), dtype=np.float32)

    def build_tinygrad():
        import tinygrad_edu as tg
        from tinygrad_edu.nn import functional as F
        x, w, b = (tg.tensor(a.copy(), requires_grad=True) for a in (x0, w0, b0))
        g = tg.tensor(g0.copy())
        out = {}

        def step():
            x.grad = w.grad = b.grad = None
            y = F.conv2d(x, w, b, padding=1)
            y.backward(g)
            out["y"] = y

        return Workload(step, lambda: {"y": out["y"].detach().numpy(), "x.grad": x.grad.numpy(),
                                       "w.grad": w.grad.numpy(), "b.grad": b.grad.numpy()})

    def build_torch():
        import torch
        import torch.nn.functional as F
        x, w, b = (torch.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        g = torch.tensor(g0)
        out = {}

        def step():
            x.grad = w.grad = b.grad = None
            y = F.conv2d(x, w, b, padding=1)
            y.backward(g)
            out["y"] = y

        return Workload(step, lambda: {"y": out["y"].detach().numpy(), "x.grad": x.grad.numpy(),
                                       "w.grad": w.grad.numpy(), "b.grad": b.grad.numpy()})

    def build_numpy():
        out = {}

        def step():
            out["y"], out["x.grad"], out["w.grad"], out["b.grad"] = numpy_conv3x3_step(x0, w0, b0, g0)

        return Workload(step, lambda: dict(out))

    return Row(f"conv2d 3x3 {channels}->{out_channels}, pad 1, batch {batch}, {size}x{size}, fwd+bwd",
               {"torch": build_torch, "tinygrad_edu": build_tinygrad, "numpy": build_numpy},
               rtol=1e-3, atol=1e-5 * np.sqrt(batch * size * size),
               note="y = F.conv2d(x, w, b, padding=1); y.backward(G): dx, dw, db; float32. "
                    "numpy: im2col + batched GEMMs, dx as a convolution of G with the flipped weights")


# ---------------------------------------------------------------------------------------------
# maxpool: F.max_pool2d(x, 2) forward + backward
# ---------------------------------------------------------------------------------------------
def maxpool_row(batch=32, channels=32, size=32):
    rng = np.random.default_rng(SEED)
    x0 = rng.standard_normal((batch, channels, size, size), dtype=np.float32)
    g0 = rng.standard_normal((batch, channels, size // 2, size // 2), dtype=np.float32)

    def build_tinygrad():
        import tinygrad_edu as tg
        from tinygrad_edu.nn import functional as F
        x, g = tg.tensor(x0.copy(), requires_grad=True), tg.tensor(g0.copy())
        out = {}

        def step():
            x.grad = None
            y = F.max_pool2d(x, 2)
            y.backward(g)
            out["y"] = y

        return Workload(step, lambda: {"y": out["y"].detach().numpy(), "x.grad": x.grad.numpy()})

    def build_torch():
        import torch
        import torch.nn.functional as F
        x, g = torch.tensor(x0, requires_grad=True), torch.tensor(g0)
        out = {}

        def step():
            x.grad = None
            y = F.max_pool2d(x, 2)
            y.backward(g)
            out["y"] = y

        return Workload(step, lambda: {"y": out["y"].detach().numpy(), "x.grad": x.grad.numpy()})

    def build_numpy():
        out = {}

        def step():  # offset (i, j) of every 2x2 window is the strided view x[..., i::2, j::2]
            y = x0[:, :, 0::2, 0::2].copy()
            arg = np.zeros(y.shape, dtype=np.uint8)          # which offset won (first max wins)
            for k, (i, j) in enumerate(((0, 1), (1, 0), (1, 1)), start=1):
                v = x0[:, :, i::2, j::2]
                take = v > y
                np.copyto(y, v, where=take)
                arg[take] = k
            dx = np.zeros_like(x0)
            for k, (i, j) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
                np.multiply(g0, arg == k, out=dx[:, :, i::2, j::2])
            out["y"], out["x.grad"] = y, dx

        return Workload(step, lambda: dict(out))

    return Row(f"max_pool2d 2x2 on ({batch}, {channels}, {size}, {size}), fwd+bwd",
               {"torch": build_torch, "tinygrad_edu": build_tinygrad, "numpy": build_numpy},
               rtol=1e-6, atol=0.0, note="y = F.max_pool2d(x, 2); y.backward(G); float32")


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
