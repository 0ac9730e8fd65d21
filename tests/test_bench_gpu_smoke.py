"""``benchmarks/bench_gpu.py`` runs: every part at tiny sizes on the CPU backend (``--smoke``), the
training loop of the nanoGPT part on the fake CUDA device, and ``gpu_check.sh`` parses — so the script
the GPU machine runs in one go is known to work before it gets there."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from benchmarks import bench_gpu

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpu"))
import fake_cupy  # noqa: E402


def test_every_part_runs_in_smoke_mode(tmp_path):
    lines = []
    results = bench_gpu.main(["--smoke", "--out", str(tmp_path)], log=lines.append)
    assert set(results) == set(bench_gpu.PARTS)
    assert results["parity"] and all(r["ok"] for r in results["parity"]), results["parity"]
    assert [r.get("parity_ok") for r in results["train"]] == [True] * len(bench_gpu.TASKS), results["train"]
    for row in results["train"]:
        assert row["ours_ms"] > 0 and (row["torch_ms"] is None or row["ratio"] > 0)
    nano = results["nanogpt"]
    assert nano["iters"] == bench_gpu.NANOGPT_SMOKE["max_iters"] and np.isfinite(nano["best_val"])
    assert nano["best_val"] < np.log(65) + 0.1            # a char model starts near ln(vocab)
    for part in bench_gpu.PARTS:
        with open(tmp_path / f"{part}.json", encoding="utf-8") as f:
            assert json.load(f)
    assert any(line.startswith("nanogpt: best val") for line in lines)


def test_nanogpt_loop_runs_on_the_fake_device():
    with fake_cupy.installed():
        result = bench_gpu.run_nanogpt("cuda", True, 60.0, lambda line: None)
    assert np.isfinite(result["best_val"])


def test_time_limit_stops_training():
    result = bench_gpu.run_nanogpt("cpu", True, 0.0, lambda line: None)
    assert result["iters"] == 0 and result["stopped"].startswith("time limit")


def test_unknown_part_is_an_error():
    with pytest.raises(SystemExit):
        bench_gpu.parse_args(["--parts", "parity,fast"])


def test_gpu_check_script_parses():
    script = os.path.join(bench_gpu.ROOT, "benchmarks", "gpu_check.sh")
    assert subprocess.run(["bash", "-n", script]).returncode == 0
    text = open(script, encoding="utf-8").read()
    for part in ("tests/gpu", "--parts parity", "--parts train", "--parts nanogpt"):
        assert part in text


@pytest.mark.parametrize("value", ["1.5", "abc", "0", "-3"])
def test_gpu_check_refuses_a_bad_nanogpt_time_before_running_anything(value, tmp_path):
    script = os.path.join(bench_gpu.ROOT, "benchmarks", "gpu_check.sh")
    env = dict(os.environ, GPU_CHECK_NANOGPT_SECONDS=value, OUT=str(tmp_path))
    done = subprocess.run(["bash", script], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"gpu_check.sh: GPU_CHECK_NANOGPT_SECONDS must be a whole number of "
                                   f"seconds >= 1, got '{value}'")
    assert not list(tmp_path.iterdir())                 # nothing ran, nothing written
