"""Tutorial 08 (data parallelism over MPI) in its quick form on 2 ranks:
``mpiexec -n 2 python -m mpi4py tutorials/08_data_parallel_mpi.py``.  (tests/test_tutorials.py runs it
as a plain single process, a world of one, like every tutorial.)  One launch checks that every rank
finished, that the ring allreduce written with Sendrecv equals MPI's Allreduce, that
DistributedDataParallel on 2 ranks × b gives the weights of 1 process × 2b, and that rank 0 alone
wrote the figure."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "mpi"))
from collectives_launch import ROOT, mpi_missing, mpiexec  # noqa: E402

TUTORIAL = ROOT / "tutorials" / "08_data_parallel_mpi.py"


@pytest.mark.mpi
@pytest.mark.skipif(mpi_missing() is not None, reason=mpi_missing() or "")
def test_tutorial_08_runs_on_two_ranks(tmp_path):
    copy = tmp_path / TUTORIAL.name              # a copy: the figure lands in tmp_path/output
    shutil.copy(TUTORIAL, copy)
    timeout = 60
    env = dict(os.environ, TUTORIAL_QUICK="1", MPLBACKEND="Agg", MPIEXEC_TIMEOUT=str(timeout),
               OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.monotonic()
    done = subprocess.run([mpiexec(), "-n", "2", sys.executable, "-m", "mpi4py", str(copy)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout + 15)
    seconds = time.monotonic() - start
    out = done.stdout
    assert done.returncode == 0, f"failed:\n{out[-3000:]}\n{done.stderr[-3000:]}"
    assert "a world of 2 processes" in out
    assert out.count("tutorial 08 finished") == 1, "rank 0 alone prints the prose"
    assert "ring allreduce with Sendrecv on 2 ranks vs MPI Allreduce" in out
    assert "DistributedDataParallel on 2 ranks" in out
    assert "measured now, ping-pong 0 <-> 1" in out
    assert (tmp_path / "output" / "08_overlap_and_scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert seconds < 30, f"the quick mode took {seconds:.1f} s on 2 ranks"
