"""The main job, `python -m tinygrad_edu`: a short real training run on MNIST, and clean failures."""
import os
import re
import subprocess
import sys
import time

import pytest
from staged_data import REPO, staged_data_dir



STAGED = staged_data_dir("mnist/train-images-idx3-ubyte.gz")


def run_job(*args, env_extra=None, timeout=120):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYGRAD_EDU_")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "tinygrad_edu", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.skipif(STAGED is None,
                    reason="staged MNIST not found: set TINYGRAD_EDU_DATA (../shared/data in CI)")
def test_smoke_run_learns_mnist(tmp_path):
    start = time.perf_counter()
    result = run_job("--max-steps", "150", "--epochs", "1", "--seed", "0", "--no-progress", "--no-download",
                     env_extra={"TINYGRAD_EDU_DATA": str(STAGED), "TINYGRAD_EDU_CACHE": str(tmp_path)})
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "60,000 training and 10,000 test images" in out
    loss = float(re.search(r"epoch 1/1: train loss ([0-9.]+)", out).group(1))
    assert 0.0 < loss < 1.0, out  # starts at ln(10) = 2.3 for a random guess
    match = re.search(r"test accuracy: ([0-9.]+)% \((\d+)/10000\)", out)
    assert match, out
    accuracy = float(match.group(1))
    assert accuracy >= 85.0, f"150 Adam steps should reach 85% on the test set, got {accuracy}%\n{out}"
    assert elapsed < 60, f"the smoke run took {elapsed:.1f} s"


def test_missing_data_is_a_clear_error_without_traceback(tmp_path):
    result = run_job("--data", str(tmp_path / "empty"), "--no-progress",
                     env_extra={"TINYGRAD_EDU_MNIST_MIRRORS": "http://127.0.0.1:9/",
                                "TINYGRAD_EDU_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    # the download reports what it tried on stderr first; the error is then one line, the last
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: MNIST files") and str(tmp_path / "empty") in error
    assert "download failed" in result.stderr


def test_no_download_flag_never_touches_the_network(tmp_path):
    result = run_job("--no-download", "--no-progress", env_extra={"TINYGRAD_EDU_CACHE": str(tmp_path)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "not found" in result.stderr and "download failed" not in result.stderr


def test_bad_arguments_are_rejected():
    result = run_job("--epochs", "0")
    assert result.returncode == 2 and "must be positive" in result.stderr
    help_run = run_job("--help")
    assert help_run.returncode == 0 and "--max-steps" in help_run.stdout and "--data DIR" in help_run.stdout
