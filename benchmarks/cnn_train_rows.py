"""The CNN benchmark rows that time a whole training step: ``vgg``, ``airbench`` and ``mnist``.

Each row builds the same model twice, once from ``tinygrad_edu.models`` and once as its PyTorch
twin (``benchmarks/torch_twins.py``), gives both the weights tinygrad_edu draws after
``manual_seed(SEED)`` (copied across through ``state_dict``: ``copy_weights_to_torch``), and
times one optimizer step (zero_grad, forward, cross entropy, backward, step) per call.  Before
timing, the harness compares what the two steps computed: the loss, the logits, every gradient,
every updated weight and the batch-norm running statistics (``_model_outputs``).

* ``vgg_row``: the issue's mini-VGG on random 32×32×3 inputs;
* ``airbench_row``: ``models.airbench48``, the fast CIFAR-10 network;
* ``mnist_epoch_row``: ``vgg_mini`` on real MNIST batches (``mnist_batches``), reported as the
  time of an epoch (``EpochRow``: seconds per step × steps per epoch).

``benchmarks/bench_cnn.py`` is the command line that runs them (and re-exports every name here).
"""
from dataclasses import dataclass

import numpy as np

from .harness import Row, Workload

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

    from .floors import floor_builder
    return row_class(name, {"torch": build_torch, "tinygrad_edu": build_tinygrad,
                            "floor": floor_builder(build_tinygrad)},
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
        rtol=2e-3, atol=2e-5, target=1.5)


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
        rtol=2e-3, atol=2e-5, target=1.3)


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
