"""``--distributed`` on the command line, and the GPT equivalence of issue 13.

Three launches of ``mpiexec -n 2`` (each rank under ``python -m mpi4py``, so an exception on one
rank aborts the job instead of hanging it) and two plain processes, each with several checks:

* ``train --model mlp --distributed`` on 2 ranks: the first line says "2 ranks x batch 32 = global
  batch 64"; one run folder (config.json, a checkpoint whose state_dict has the plain model's names,
  without "module."); rank 0's output only, each line once; the weights equal (float32 round-off)
  those of one process with batch 64;
* ``--resume`` of that run in one process (no mpiexec): the same global batch (1 x 64), it trains on;
  then ``--resume --epochs 3`` of that on 2 ranks again (one process's checkpoint read by 2 ranks);
* ``--distributed`` without a launcher: a world of one, said in one line;
* ``gpt --distributed --max-iters 2`` on 2 ranks;
* ``tests/mpi/ddp_gpt.py``: 2 ranks x batch b == 1 process x batch 2b for a tiny GPT with AdamW and
  gradient clipping, float32, max |parameter difference| <= 1e-5, for each communicator.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = os.environ.get("TINYGRAD_EDU_DATA")


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


def _staged(name):
    return bool(DATA) and os.path.isdir(os.path.join(DATA, name))


needs_mpi = pytest.mark.skipif(_mpi_missing() is not None, reason=str(_mpi_missing()))
needs_mnist = pytest.mark.skipif(not _staged("mnist"), reason="MNIST not staged: set TINYGRAD_EDU_DATA")
needs_text = pytest.mark.skipif(not _staged("tinyshakespeare"),
                                reason="tinyshakespeare not staged: set TINYGRAD_EDU_DATA")
ENV = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
           OPENBLAS_NUM_THREADS="1", MPIEXEC_TIMEOUT="90", PYTHONWARNINGS="ignore", MPLBACKEND="Agg")


def _run(argv, ranks=None, timeout=120):
    """Run ``python -m tinygrad_edu ARGV`` (or a script path), on ``ranks`` MPI ranks or as one process."""
    target = [str(argv[0])] if str(argv[0]).endswith(".py") else ["-m", "tinygrad_edu", *argv]
    rest = [str(a) for a in argv[1:]] if target[0] != "-m" else []
    if ranks:
        cmd = [_mpiexec(), "-n", str(ranks), sys.executable, "-m", "mpi4py", *target, *rest]
    else:
        cmd = [sys.executable, *target, *rest]
    proc = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.mark.mpi
@needs_mpi
@needs_mnist
def test_train_two_ranks_then_resume_in_one_process(tmp_path):
    import tinygrad_edu as tg
    out = tmp_path / "run"
    stdout = _run(["train", "--model", "mlp", "--max-steps", "4", "--limit-train", "256", "--limit-test",
                   "200", "--batch-size", "32", "--distributed", "--no-progress", "--out", out], ranks=2)
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert lines[0] == "distributed: 2 ranks x batch 32 = global batch 64", lines
    assert len(lines) == len(set(lines)), f"duplicated lines (more than rank 0 printed):\n{stdout}"
    epoch_lines = [line for line in lines if line.startswith("epoch 1/2:")]
    assert len(epoch_lines) == 1 and "(4 steps" in epoch_lines[0], stdout   # 256 / 64 = 4 steps
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]     # one run folder, by rank 0
    assert (out / "config.json").is_file() and (out / "checkpoint.safetensors").is_file()
    assert not list(out.glob("*.tmp")), "a temporary file was left behind"
    ckpt = tg.load(str(out / "checkpoint.safetensors"))
    assert ckpt["progress"]["global_batch"] == 64 and ckpt["progress"]["step"] == 4
    assert ckpt["model"] and not any(k.startswith("module.") for k in ckpt["model"]), list(ckpt["model"])

    single = tmp_path / "single"                # one process with the global batch: the same weights
    _run(["train", "--model", "mlp", "--max-steps", "4", "--limit-train", "256", "--limit-test", "200",
          "--batch-size", "64", "--no-progress", "--out", single])
    reference = tg.load(str(single / "checkpoint.safetensors"))["model"]
    diff = max(float(np.abs(ckpt["model"][k].numpy() - reference[k].numpy()).max()) for k in reference)
    assert diff <= 1e-6, f"2 ranks x 32 vs 1 process x 64: max |weight difference| {diff}"

    resumed = _run(["train", "--out", out, "--resume", "--max-steps", "6", "--no-progress"])
    assert "resumed with the run's global batch 64: 1 rank(s) x batch 64" in resumed, resumed
    assert "resumed from" in resumed and "epoch 2/2:" in resumed and "(2 steps" in resumed, resumed
    assert tg.load(str(out / "checkpoint.safetensors"))["progress"]["step"] == 6

    again = _run(["train", "--out", out, "--resume", "--epochs", "3", "--no-progress", "--distributed"], ranks=2)
    assert again.splitlines()[0] == "distributed: 2 ranks x batch 32 = global batch 64", again
    assert "epoch 3/3:" in again and "(4 steps" in again, again      # 1 process -> 2 ranks, same schedule
    assert tg.load(str(out / "checkpoint.safetensors"))["progress"]["step"] == 10

    alone = _run(["train", "--model", "mlp", "--max-steps", "1", "--limit-train", "64", "--limit-test", "50",
                  "--distributed", "--no-progress", "--out", tmp_path / "alone"])
    first = alone.splitlines()[0]
    assert first.startswith("--distributed: a world of 1 process") and "single process" in first, alone


@pytest.mark.mpi
@needs_mpi
@needs_text
def test_gpt_two_ranks(tmp_path):
    import tinygrad_edu as tg
    out = tmp_path / "gpt"
    stdout = _run(["gpt", "--max-iters", "2", "--n-layer", "1", "--n-embd", "32", "--block-size", "16",
                   "--batch-size", "4", "--eval-iters", "2", "--final-eval-iters", "2", "--sample-tokens",
                   "10", "--no-progress", "--distributed", "--out", out], ranks=2)
    assert stdout.splitlines()[0] == "distributed: 2 ranks x batch 4 = global batch 8", stdout
    assert stdout.count("final validation loss") == 1 and stdout.count("iter 2:") == 1, stdout
    ckpt = tg.load(str(out / "checkpoint.safetensors"))
    assert ckpt["progress"] == {"iter": 2, "global_batch": 8}
    assert not any(k.startswith("module.") for k in ckpt["model"])


@pytest.mark.mpi
@needs_mpi
def test_gpt_two_ranks_equal_one_process():
    stdout = _run([ROOT / "tests" / "mpi" / "ddp_gpt.py"], ranks=2)
    for name in ("naive bucket_cap_mb=25", "flat bucket_cap_mb=25", "bucketed bucket_cap_mb=25",
                 "bucketed bucket_cap_mb=0.000976562"):
        assert f"OK gpt {name}:" in stdout, stdout
