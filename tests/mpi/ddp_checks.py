"""Run by tests/test_distributed_ddp.py as ``mpiexec -n 2 python -m mpi4py tests/mpi/ddp_checks.py``.

Every check trains with 2 ranks × batch b and compares with ONE process × batch 2b (the reference,
computed on every rank from the same initial weights and the full batch).  Each passing check
prints ``OK <name> <detail>`` on rank 0; a failure raises (and ``-m mpi4py`` aborts the job).
"""
import sys

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import distributed as dist
from tinygrad_edu import nn, optim
from tinygrad_edu.distributed import (DistributedDataParallel, DistributedOptimizer,
                                      broadcast_optimizer_state, convert_sync_batchnorm)
from tinygrad_edu.nn import functional as F

dist.init()
RANK, SIZE = dist.get_rank(), dist.get_world_size()
assert SIZE == 2, SIZE
B, STEPS = 4, 20
KIB = 1 / 1024          # bucket_cap_mb for 1 KiB buckets


def report(name, detail=""):
    if RANK == 0:
        print(f"OK {name} {detail}", flush=True)


def mlp():
    tg.manual_seed(1)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 8), nn.Tanh(),
                         nn.Linear(8, 3)).double()


def cnn():
    """Convolutions before a BatchNorm have no bias (as usual): its gradient would be 0 up to
    rounding, which Adam's g/√v turns into full steps of pure noise (seen: 4e-10 apart)."""
    tg.manual_seed(2)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Conv2d(4, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(64, 3)).double()


def batch(step, n, kind):
    rng = np.random.default_rng(100 + step)
    x = rng.normal(size=(n, 5) if kind != "cnn" else (n, 2, 6, 6)) + 0.5
    dtype = np.float32 if kind == "mlp32" else np.float64
    return tg.tensor(x.astype(dtype)), tg.tensor(rng.normal(size=(n, 3)).astype(dtype))


def shard(t, k=0, parts=SIZE):
    """This rank's part (k-th micro-batch of it) of a global batch."""
    n = t.shape[0] // parts
    i = k * SIZE + RANK if parts > SIZE else RANK
    return tg.tensor(t.numpy()[i * n:(i + 1) * n])


def params(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def max_diff(a, b):
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


def same_on_all_ranks(state):
    flat = np.concatenate([v.reshape(-1).astype(np.float64) for v in state.values()])
    other = dist.comm().bcast(flat if RANK == 0 else None, root=0)
    assert np.array_equal(flat, other), "replicas drifted apart"


def train(model, make_opt, kind, micro=1, wrap=None, opt_wrap=None, steps=STEPS):
    """``steps`` steps; wrap(model) = the DDP model; micro-batches via no_sync.  Returns (state of
    the inner module, the DDP object)."""
    ddp = wrap(model) if wrap else None
    net = ddp if ddp is not None else model
    opt = make_opt(model.parameters())
    if opt_wrap:
        opt = opt_wrap(opt, model)
    for step in range(steps):
        x, y = batch(step, B * SIZE * micro, kind)
        opt.zero_grad()
        if ddp is None and opt_wrap is None:        # the reference: one process, the whole batch
            F.mse_loss(net(x), y).backward()
        else:
            for k in range(micro):
                xs, ys = shard(x, k, SIZE * micro), shard(y, k, SIZE * micro)
                last = k == micro - 1
                if ddp is not None and not last:
                    with ddp.no_sync():
                        (F.mse_loss(net(xs), ys) / micro).backward()
                else:
                    (F.mse_loss(net(xs), ys) / micro).backward()
        opt.step()
    return params(model), ddp


def sgd(p):
    return optim.SGD(p, lr=0.1, momentum=0.9)


def adam(p):
    return optim.Adam(p, lr=0.01)


COMMUNICATORS = [("naive", {}), ("flat", {}), ("bucketed", {}), ("bucketed", {"bucket_cap_mb": KIB})]


def label(name, kw):
    return name + ("-1KiB" if kw else "")


def check_mlp():
    ref, _ = train(mlp(), sgd, "mlp")
    results = {}
    n_params = len(list(mlp().parameters()))
    for name, kw in COMMUNICATORS:
        got, ddp = train(mlp(), sgd, "mlp", wrap=lambda m: DistributedDataParallel(m, name, **kw))
        d = max_diff(ref, got)
        assert d <= 1e-12, (name, kw, d)
        same_on_all_ranks(got)
        calls = ddp.communicator.allreduce_calls
        per_step = {"naive": n_params, "flat": 1}.get(name, len(ddp.communicator.groups))
        assert calls == STEPS * per_step, (name, kw, calls, per_step)
        results[label(name, kw)] = got
        report(f"mlp-sgd-{label(name, kw)}", f"max|Δ|={d:.1e} allreduces/step={calls // STEPS}")
    assert len(DistributedDataParallel(mlp(), bucket_cap_mb=KIB).communicator.groups) > 1
    ref32, _ = train(mlp().float(), sgd, "mlp32")
    got32, _ = train(mlp().float(), sgd, "mlp32",
                     wrap=lambda m: DistributedDataParallel(m, bucket_cap_mb=KIB))
    assert all(v.dtype == np.float32 for v in got32.values())
    d = max_diff(ref32, got32)
    assert d <= 1e-5, d
    report("mlp-sgd-float32-bucketed-1KiB", f"max|Δ|={d:.1e}")
    d = max_diff(results["bucketed"], results["bucketed-1KiB"])
    assert d <= 1e-12, d
    report("bucket-size-1KiB-vs-25MiB", f"max|Δ|={d:.1e}")


def check_cnn():
    ref, _ = train(cnn(), adam, "cnn")
    for name, kw in COMMUNICATORS:
        got, _ = train(convert_sync_batchnorm(cnn()), adam, "cnn",
                       wrap=lambda m: DistributedDataParallel(m, name, **kw))
        d = max_diff(ref, got)       # parameters and the running statistics
        assert d <= 1e-10, (name, kw, d)
        same_on_all_ranks(got)
        report(f"cnn-syncbn-adam-{label(name, kw)}", f"max|Δ|={d:.1e}")
    got, _ = train(cnn(), adam, "cnn", wrap=lambda m: DistributedDataParallel(m))
    d = max_diff({k: v for k, v in ref.items() if "running" not in k},
                 {k: v for k, v in got.items() if "running" not in k})
    assert d > 1e-6, d
    report("negative-control-plain-batchnorm-differs", f"max|Δ|={d:.1e}")


def check_no_sync():
    ref, _ = train(mlp(), sgd, "mlp", micro=2)   # one process, batch 4b
    for name, kw in [("flat", {}), ("bucketed", {}), ("bucketed", {"bucket_cap_mb": KIB})]:
        got, ddp = train(mlp(), sgd, "mlp", micro=2,
                         wrap=lambda m: DistributedDataParallel(m, name, **kw))
        d = max_diff(ref, got)
        assert d <= 1e-12, (name, kw, d)
        buckets = len(ddp.communicator.groups)
        assert ddp.communicator.allreduce_calls == STEPS * buckets, ddp.communicator.allreduce_calls
        if name == "flat" or not kw:
            assert buckets == 1
        report(f"no_sync-2-micro-batches-{label(name, kw)}",
               f"max|Δ|={d:.1e} allreduces/step={buckets}")
    # a step on gradients accumulated in no_sync (never averaged) is caught at the next forward
    model = DistributedDataParallel(mlp())
    opt = sgd(model.parameters())
    x, y = batch(0, B, "mlp")
    with model.no_sync():
        F.mse_loss(model(x), y).backward()
    opt.step()
    expect_error(lambda: model(x), "never averaged")
    # forward outside no_sync, backward inside: a loud error
    model = DistributedDataParallel(mlp())
    loss = F.mse_loss(model(x), y)
    with model.no_sync():
        expect_error(loss.backward, "no_sync")
    report("no_sync-misuse-errors")


def expect_error(fn, text):
    try:
        fn()
    except RuntimeError as exc:
        assert text in str(exc), str(exc)
        return str(exc)
    raise AssertionError(f"no error mentioning {text!r}")


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        tg.manual_seed(3)
        self.a, self.extra, self.never = nn.Linear(5, 3), nn.Linear(5, 3), nn.Linear(5, 3)
        self.double()

    def forward(self, x, use_extra):
        return self.a(x) + self.extra(x) if use_extra else self.a(x)


def check_unused_parameters():
    """'extra' is used on rank 0 only, 'never' nowhere: the average still counts both ranks."""
    ref_model, model = Branchy(), DistributedDataParallel(Branchy(), "bucketed", bucket_cap_mb=KIB)
    ref_opt, opt = optim.SGD(ref_model.parameters(), lr=0.1), optim.SGD(model.parameters(), lr=0.1)
    for step in range(5):
        x, y = batch(step, 2 * B, "mlp")
        half = [tg.tensor(t.numpy()[:B]) for t in (x, y)], [tg.tensor(t.numpy()[B:]) for t in (x, y)]
        ref_opt.zero_grad()
        ((F.mse_loss(ref_model(half[0][0], True), half[0][1])
          + F.mse_loss(ref_model(half[1][0], False), half[1][1])) / 2).backward()
        ref_opt.step()
        opt.zero_grad()
        xs, ys = half[RANK]
        F.mse_loss(model(xs, RANK == 0), ys).backward()
        assert not model.communicator.in_step
        opt.step()
    assert model.module.never.weight.grad is None
    d = max_diff(params(ref_model), params(model.module))
    assert d <= 1e-12, d
    report("unused-parameters", f"max|Δ|={d:.1e}")


class CnnBranchy(nn.Module):
    """The CNN with an extra head used on rank 0 only (SyncBatchNorm + unused parameters)."""

    def __init__(self):
        super().__init__()
        tg.manual_seed(4)
        self.extra = nn.Linear(64, 3)
        self.body, self.head = cnn()[:7], nn.Linear(64, 3)
        self.double()

    def forward(self, x, use_extra):
        h = self.body(x)
        return self.head(h) + self.extra(h) if use_extra else self.head(h)


def check_syncbn_with_unused_parameters():
    ref_model = CnnBranchy()
    model = DistributedDataParallel(convert_sync_batchnorm(CnnBranchy()), bucket_cap_mb=KIB)
    ref_opt, opt = adam(ref_model.parameters()), adam(model.parameters())
    for step in range(STEPS):
        x, y = batch(step, 2 * B, "cnn")
        ref_opt.zero_grad()
        h = ref_model.body(x)          # BatchNorm over the whole batch; the extra head on rank 0's half
        out = ref_model.head(h)
        ((F.mse_loss(out[:B] + ref_model.extra(h[:B]), y[:B]) + F.mse_loss(out[B:], y[B:])) / 2).backward()
        ref_opt.step()
        opt.zero_grad()
        F.mse_loss(model(shard(x), RANK == 0), shard(y)).backward()
        opt.step()
    d = max_diff(params(ref_model), params(model.module))
    assert d <= 1e-10, d
    report("syncbn-with-rank-dependent-unused-parameters", f"max|Δ|={d:.1e}")


def check_distributed_optimizer():
    ref, _ = train(mlp(), sgd, "mlp", micro=2)
    for name in ("flat", "naive", "bucketed"):
        got, _ = train(mlp(), sgd, "mlp", micro=2,
                       opt_wrap=lambda o, m: DistributedOptimizer(o, model=m, communicator=name))
        d = max_diff(ref, got)
        assert d <= 1e-12, (name, d)
        report(f"distributed-optimizer-{name}", f"max|Δ|={d:.1e}")
    model = mlp()
    opt = adam(model.parameters())
    if RANK == 0:      # only rank 0 "resumed": it has state, rank 1 a fresh optimizer
        model(batch(0, B, "mlp")[0]).sum().backward()
        opt.step()
        opt.param_groups[0]["lr"] = 0.005
    broadcast_optimizer_state(opt)
    state = opt.state_dict()
    flat = np.concatenate([v.numpy().reshape(-1) for s in state["state"].values()
                           for v in s.values() if hasattr(v, "numpy")])
    assert opt.param_groups[0]["lr"] == 0.005 and len(state["state"]) == 6
    other = dist.comm().bcast(flat if RANK == 0 else None, root=0)
    assert np.array_equal(flat, other)
    report("broadcast-optimizer-state")


def check_different_models():
    model = mlp() if RANK == 0 else nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 4))
    message = expect_error(lambda: DistributedDataParallel(model), "different models")
    assert "rank 1" in message and "(3, 8)" in message, message
    report("different-models-fail-at-construction", message.splitlines()[-1].strip())


def check_state_dict():
    model = DistributedDataParallel(mlp())
    keys = list(model.state_dict())
    assert keys[0] == "module.0.weight", keys
    model.load_state_dict(model.state_dict())
    model.load_state_dict(model.module.state_dict())
    report("state-dict-module-prefix")


CHECKS = {"mlp": check_mlp, "cnn": check_cnn, "no_sync": check_no_sync,
          "unused": check_unused_parameters,
          "syncbn_unused": check_syncbn_with_unused_parameters, "optimizer": check_distributed_optimizer,
          "models": check_different_models, "state_dict": check_state_dict}

if __name__ == "__main__":
    for name in sys.argv[1:] or CHECKS:
        CHECKS[name]()
    dist.barrier()
    report("all")
