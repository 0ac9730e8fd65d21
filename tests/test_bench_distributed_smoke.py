"""Smoke test of ``benchmarks/bench_distributed.py``: the whole pipeline at tiny sizes.

It launches ``mpiexec -n 2`` itself (tinygrad_edu over MPI, torch DDP over gloo on 127.0.0.1), so
the test only checks that the run ends, writes its table and the cost-model plot, and that the
ranks' parameters stayed equal (the benchmark raises otherwise).  The numbers at these sizes mean
nothing; the recorded run is benchmarks/results/distributed.md.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _mpiexec():
    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


def _skip_reason():
    if _mpiexec() is None:
        return "mpiexec not found (pip install -e '.[mpi]' installs MPICH)"
    try:
        from mpi4py import MPI  # noqa: F401
    except (ImportError, RuntimeError) as exc:     # RuntimeError: mpi4py without its MPI library
        return f"mpi4py unusable: {exc}"
    try:
        import torch.distributed as tdist
        if not tdist.is_available() or not tdist.is_gloo_available():
            return "torch.distributed with gloo is not available"
    except ImportError:
        return "torch not installed"
    return None


@pytest.mark.mpi
@pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))
def test_bench_distributed_quick_run(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = tmp_path / "distributed.md"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_distributed", "--quick", "--models",
                           "cnn", "--timeout", "60", "--markdown", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    text = out.read_text()
    for expected in ("| tinygrad_edu | bucketed |", "| tinygrad_edu | naive |", "| torch | ddp |",
                     "Cost model on this machine", "Largest N with predicted efficiency"):
        assert expected in text, expected
    assert (tmp_path / "distributed_cnn_cost_model.png").stat().st_size > 10_000
