"""DDP, the three gradient communicators, DistributedOptimizer and SyncBatchNorm.

* One 2-rank job (``mpiexec -n 2 python -m mpi4py tests/mpi/ddp_checks.py``) runs every
  equivalence check against one process with the whole batch and prints ``OK <check>`` lines; this
  file asserts each expected line is there (see that script's docstrings for what each asserts).
* Checks in this process (a world of one, no launcher needed): DDP equals plain training exactly,
  buckets really start during backward, SyncBatchNorm equals BatchNorm exactly, misuse errors.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import distributed as dist
from tinygrad_edu import nn, optim
from tinygrad_edu.distributed import (BucketedCommunicator, DistributedDataParallel,
                                      DistributedOptimizer, SyncBatchNorm, convert_sync_batchnorm)
from tinygrad_edu.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "mpi" / "ddp_checks.py"


def _mpiexec():
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def _mpi_missing():
    if _mpiexec() is None:
        return "no mpiexec next to the Python interpreter or on PATH (install the 'mpi' extra)"
    try:
        from mpi4py import MPI  # noqa: F401
    except Exception as exc:  # noqa: BLE001  (RuntimeError when the MPI library is missing)
        return f"mpi4py unusable: {type(exc).__name__}: {exc}"
    return None


EXPECTED = ["mlp-sgd-naive", "mlp-sgd-flat", "mlp-sgd-bucketed", "mlp-sgd-bucketed-1KiB",
            "bucket-size-1KiB-vs-25MiB", "mlp-sgd-float32-bucketed-1KiB",
            "cnn-syncbn-adam-naive", "cnn-syncbn-adam-flat", "cnn-syncbn-adam-bucketed",
            "cnn-syncbn-adam-bucketed-1KiB", "negative-control-plain-batchnorm-differs",
            "no_sync-2-micro-batches-flat", "no_sync-2-micro-batches-bucketed",
            "no_sync-2-micro-batches-bucketed-1KiB", "no_sync-misuse-errors", "unused-parameters",
            "syncbn-with-rank-dependent-unused-parameters",
            "distributed-optimizer-flat", "distributed-optimizer-naive",
            "distributed-optimizer-bucketed", "broadcast-optimizer-state",
            "different-models-fail-at-construction", "state-dict-module-prefix", "all"]


@pytest.mark.mpi
@pytest.mark.skipif(_mpi_missing() is not None, reason=str(_mpi_missing()))
def test_two_ranks_equal_one_process():
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MPIEXEC_TIMEOUT="90")
    result = subprocess.run([_mpiexec(), "-n", "2", sys.executable, "-m", "mpi4py", str(SCRIPT)],
                            capture_output=True, text=True, env=env, timeout=120, cwd=str(ROOT))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    passed = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("OK ")}
    missing = [name for name in EXPECTED if name not in passed]
    assert not missing, (missing, result.stdout)


# ---- a world of one -------------------------------------------------------------------------------
def world_of_one():
    dist.init()
    if dist.get_world_size() != 1:
        pytest.skip("running inside an MPI job")


def mlp():
    tg.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2)).double()


def run(model, opt, steps=4, micro=1, ddp=None):
    rng = np.random.default_rng(0)
    for _ in range(steps):
        opt.zero_grad()
        for k in range(micro):
            x, y = tg.tensor(rng.normal(size=(6, 4))), tg.tensor(rng.normal(size=(6, 2)))
            if ddp is not None and k < micro - 1:
                with ddp.no_sync():
                    F.mse_loss(model(x), y).backward()
            else:
                F.mse_loss(model(x), y).backward()
        opt.step()
    return [p.detach().numpy().copy() for p in (ddp.module if ddp else model).parameters()]


@pytest.mark.parametrize("communicator", ["naive", "flat", "bucketed"])
def test_world_of_one_equals_plain_training(communicator):
    world_of_one()
    ref_model = mlp()
    ref = run(ref_model, optim.SGD(ref_model.parameters(), lr=0.1), micro=2)
    ddp = DistributedDataParallel(mlp(), communicator, bucket_cap_mb=1 / 4096)
    got = run(ddp, optim.SGD(ddp.parameters(), lr=0.1), micro=2, ddp=ddp)
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a, b)
    model = mlp()
    got = run(model, DistributedOptimizer(optim.SGD(model.parameters(), lr=0.1), model=model,
                                          communicator=communicator), micro=2)
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a, b)


def test_buckets_start_during_backward_in_reverse_order():
    world_of_one()
    ddp = DistributedDataParallel(mlp(), "bucketed", bucket_cap_mb=1 / 4096)   # 256-byte buckets
    comm = ddp.communicator
    assert isinstance(comm, BucketedCommunicator) and len(comm.groups) >= 3
    params = list(ddp.module.parameters())
    assert comm.groups[0][0] is params[-1]        # the last layer's gradients come first
    started_when = []                             # how many parameters had a .grad at each start
    original = comm.group_ready
    comm.group_ready = lambda i: (started_when.append(sum(p.grad is not None for p in params)),
                                  original(i))
    x, y = tg.tensor(np.ones((3, 4))), tg.tensor(np.zeros((3, 2)))
    F.mse_loss(ddp(x), y).backward()
    assert started_when[0] < len(params), started_when   # before backward had all the gradients
    assert started_when == sorted(started_when) and not comm.in_step
    assert comm.allreduce_calls == len(comm.groups)


def test_misuse_is_loud():
    world_of_one()
    ddp = DistributedDataParallel(mlp())
    x, y = tg.tensor(np.ones((3, 4))), tg.tensor(np.zeros((3, 2)))
    loss = F.mse_loss(ddp(x), y)
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="after its reduction"):
        loss.backward()
    ddp(x)                                       # a training forward without backward …
    with pytest.raises(RuntimeError, match="never averaged"):
        ddp(x)                                   # … is caught at the next one
    with tg.no_grad():
        ddp(x)                                   # (evaluation under no_grad is not checked)
    ddp.finish_gradient_sync()
    F.mse_loss(ddp(x), y).backward()             # and after finishing, all is well again
    assert not ddp.communicator.in_step
    with pytest.raises(ValueError, match="communicator must be"):
        DistributedDataParallel(mlp(), "ring")


def test_state_dict_has_torchs_module_prefix():
    world_of_one()
    ddp = DistributedDataParallel(mlp())
    state = ddp.state_dict()
    assert list(state)[0] == "module.0.weight"
    other = DistributedDataParallel(mlp())
    with tg.no_grad():
        other.module[0].weight.array[...] = 0
    other.load_state_dict(state)
    np.testing.assert_array_equal(other.module[0].weight.detach().numpy(),
                                  ddp.module[0].weight.detach().numpy())
    other.load_state_dict(ddp.module.state_dict())   # the bare module's keys are accepted too


@pytest.mark.parametrize("shape, cls", [((6, 3, 4, 5), nn.BatchNorm2d), ((6, 3), nn.BatchNorm1d),
                                        ((6, 3, 7), nn.BatchNorm1d)])
def test_sync_batchnorm_equals_batchnorm_in_a_world_of_one(shape, cls):
    world_of_one()
    rng = np.random.default_rng(0)
    tg.manual_seed(0)
    model = nn.Sequential(cls(3)).double()
    with tg.no_grad():
        model[0].weight.array[...] = rng.normal(size=3)
        model[0].bias.array[...] = rng.normal(size=3)
    bn = model[0]
    x = rng.normal(size=shape) * 3 + 2
    gy = tg.tensor(rng.normal(size=shape))
    xa = tg.tensor(x, requires_grad=True)
    (bn(xa) * gy).sum().backward()
    ref = [xa.grad.numpy().copy(), bn.weight.grad.numpy().copy(), bn.bias.grad.numpy().copy(),
           bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()]
    ya = bn(tg.tensor(x)).detach().numpy().copy()
    with tg.no_grad():
        bn.running_mean.array[...] = 0
        bn.running_var.array[...] = 1
    bn.weight.grad = bn.bias.grad = None
    weight = bn.weight
    model = convert_sync_batchnorm(model)
    sbn = model[0]
    assert isinstance(sbn, SyncBatchNorm) and sbn.weight is weight
    xb = tg.tensor(x, requires_grad=True)
    (sbn(xb) * gy).sum().backward()
    got = [xb.grad.numpy(), sbn.weight.grad.numpy(), sbn.bias.grad.numpy(),
           sbn.running_mean.numpy(), sbn.running_var.numpy()]
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, sbn(tg.tensor(x)).detach().numpy())
    sbn.eval()
    bn.eval()
    np.testing.assert_array_equal(bn(tg.tensor(x)).detach().numpy(), sbn(tg.tensor(x)).detach().numpy())
