"""Collectives (tinygrad_edu/distributed/collectives.py): checks in one process (the world of one,
dtype errors) and one 2-rank job (tests/mpi/collectives_check.py) that compares every collective on
float32/float64/int64 arrays and Tensors with the value computed from all ranks' inputs; and the
selfcheck in a world of 2 and of 1."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "mpi"))
from collectives_launch import launch, mpi_missing  # noqa: E402

from tinygrad_edu import Tensor  # noqa: E402
from tinygrad_edu import distributed as dist  # noqa: E402

needs_mpi = pytest.mark.skipif(mpi_missing() is not None, reason=str(mpi_missing()))


def test_world_of_one_is_identity():
    dist.init()
    if dist.get_world_size() != 1:
        pytest.skip("running inside an MPI job")
    x = np.arange(6.0).reshape(2, 3)
    assert dist.all_reduce(x, op=dist.MEAN) is x and np.array_equal(x, np.arange(6.0).reshape(2, 3))
    t = Tensor(np.arange(4, dtype=np.float32))
    dist.broadcast(t, src=0)
    assert np.array_equal(dist.all_gather(t).numpy(), np.arange(4, dtype=np.float32)[None])
    assert np.array_equal(dist.reduce_scatter(x).shape, (2, 3))
    buf = np.ones(3)
    assert dist.iall_reduce(buf).wait() is buf and np.array_equal(buf, np.ones(3))
    with pytest.raises(ValueError, match="src"):
        dist.broadcast(x, src=1)
    assert dist.ReduceOp.MEAN is dist.ReduceOp.AVG


def test_metrics_world_of_one():
    if dist.get_world_size() != 1:
        pytest.skip("running inside an MPI job")
    assert dist.average_metrics({"loss": 0.25, "acc": 0.5}, count=4) == {"loss": 0.25, "acc": 0.5}
    assert dist.sum_metrics({"correct": 3}) == {"correct": 3.0}
    with pytest.raises(ValueError, match="no rank had any samples"):
        dist.average_metrics({"loss": float("nan")}, count=0)


@pytest.mark.parametrize("dtype, op, words", [(np.bool_, "SUM", "bool"), (object, "MAX", "object"),
                                              (np.int64, "MEAN", "int64"), (np.complex128, "MIN", "complex128")])
def test_bad_dtype_message(dtype, op, words):
    with pytest.raises(TypeError, match=f"{words}.*{op}|{op}.*{words}"):
        dist.all_reduce(np.zeros(2, dtype=dtype), op=op)


def test_bad_inputs():
    with pytest.raises(TypeError, match="broadcast.*object"):
        dist.broadcast(np.array([None, 1]))
    with pytest.raises(TypeError, match="expected a Tensor"):
        dist.all_reduce([1.0, 2.0])
    with pytest.raises(ValueError, match="unknown reduce op"):
        dist.all_reduce(np.zeros(2), op="median")


@pytest.mark.mpi  # (the MPI tooling; it runs without a launcher and says which command to use)
def test_selfcheck_world_of_one():
    out = subprocess.run([sys.executable, "-m", "tinygrad_edu.distributed.selfcheck"], capture_output=True,
                         text=True, timeout=60, cwd=str(Path(__file__).parents[1]))
    assert out.returncode == 0 and "world of 1" in out.stdout and "mpiexec -n 2" in out.stdout


@pytest.mark.mpi
@needs_mpi
def test_collectives_on_two_ranks():
    result, _ = launch("collectives_check.py")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "ALL OK" in result.stdout
    for name in ("all_reduce MEAN float32 Tensor", "broadcast src 1 int64 array", "reduce_scatter SUM float64",
                 "iall_reduce MEAN", "bad dtypes", "all_reduce host-staged device array", "all_reduce non-contiguous",
                 "all_gather into list", "all_reduce float16 0-d", "all_reduce PRODUCT int64 Tensor", "metrics"):
        assert f"OK {name}" in result.stdout, name


@pytest.mark.mpi
@needs_mpi
def test_selfcheck_world_of_two():
    result, _ = launch("tinygrad_edu.distributed.selfcheck", module=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for words in ("hello: 2 ranks", "ring: ok", "ping-pong", "16777216", "all_reduce: ok", "all checks passed"):
        assert words in result.stdout, words
