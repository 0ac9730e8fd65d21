"""Smoke tests of the benchmark harness: every row runs once at a tiny size, tinygrad_edu and
PyTorch (and the hand-written NumPy floor) compute the same results, and the reports render.

No timing is asserted (timed tests are flaky on shared machines); what is asserted is that the
harness runs and that its correctness check really compares the libraries.
"""
import json
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # benchmarks/ is a folder of the repo, not part of the installed package
    sys.path.insert(0, ROOT)

from benchmarks import bench_engine, harness  # noqa: E402

@pytest.fixture
def restore_threads():
    yield
    harness.restore_threads()


def _check(row):
    workloads = {lib: build() for lib, build in row.build.items()}
    return harness.check_same_results(row, workloads)


def test_matmul_row_agrees_at_64():
    results = _check(bench_engine.matmul_row(n=64))
    assert set(results) == {"torch", "tinygrad_edu", "numpy"}
    for lib in ("tinygrad_edu", "numpy"):
        np.testing.assert_allclose(results[lib]["a.grad"], results["torch"]["a.grad"], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(results[lib]["b.grad"], results["torch"]["b.grad"], rtol=1e-4, atol=1e-4)
    # dL/dA = G Bᵀ: the harness compared real gradients, not two arrays of zeros
    assert np.abs(results["torch"]["a.grad"]).max() > 1.0


@pytest.mark.parametrize("api", ["raw", "auto"])
def test_mlp_row_agrees_at_batch_8(api):
    row = bench_engine.mlp_row(batch=8, sizes=(784, 32, 32, 10), api=api)
    results = _check(row)
    torch_out = results["torch"]
    assert {"loss", "0.weight.grad", "2.bias"} <= set(torch_out)
    for lib in ("tinygrad_edu", "numpy"):
        assert abs(results[lib]["loss"] - torch_out["loss"]) < 1e-5
        np.testing.assert_allclose(results[lib]["0.weight.grad"], torch_out["0.weight.grad"],
                                   rtol=1e-4, atol=1e-5)
    assert np.abs(torch_out["0.weight.grad"]).max() > 0.0  # the step really back-propagated


def test_chain_row_agrees_and_counts_ops():
    row = bench_engine.chain_row(n_ops=12, shape=(3, 3))
    results = _check(row)
    np.testing.assert_allclose(results["tinygrad_edu"]["x.grad"], results["torch"]["x.grad"],
                               rtol=1e-5, atol=1e-7)
    assert row.unit == "us/op" and row.ops_per_step == 12


def test_time_row_runs_one_round_per_library():
    row = bench_engine.chain_row(n_ops=8, shape=(2, 2))
    result = harness.time_row(row, warmup=0, repeat=1, min_round_s=0.0)
    assert set(result.timings) == {"torch", "tinygrad_edu"}
    assert all(len(t.samples_s) == 1 and t.samples_s[0] > 0 for t in result.timings.values())
    assert result.ratio("tinygrad_edu") > 0


def test_a_wrong_result_is_caught_before_timing():
    row = bench_engine.matmul_row(n=16)
    good = row.build["tinygrad_edu"]

    def wrong():
        workload = good()
        right_outputs = workload.outputs

        def outputs():
            out = dict(right_outputs())
            out["b.grad"] = out["b.grad"] * 1.01
            return out
        return harness.Workload(workload.step, outputs)

    row.build["tinygrad_edu"] = wrong
    expected = r"matmul 16x16.*'b.grad' differs between tinygrad_edu and torch"
    with pytest.raises(harness.MismatchError, match=expected):
        harness.time_row(row, warmup=0, repeat=1, min_round_s=0.0)


def test_report_renders_table_markdown_and_json(tmp_path, restore_threads):
    import torch
    rows = [bench_engine.chain_row(n_ops=8, shape=(2, 2)),
            bench_engine.mlp_row(batch=8, sizes=(784, 16, 16, 10), api="raw")]
    report = harness.run_rows(rows, thread_counts=(1,), warmup=0, repeat=2, min_round_s=0.0,
                              log=None, reexec=False)
    assert torch.get_num_threads() == 1
    env = report["environment"][1]
    assert env["torch"] == torch.__version__ and env["numpy"] == np.__version__
    table = harness.format_table(report)
    assert "chain of 8 elementwise ops" in table and "MLP 784-16-16-10" in table
    markdown = harness.format_markdown(report, title="smoke")
    assert markdown.startswith("# smoke") and "| 1 | MLP 784-16-16-10" in markdown
    path = tmp_path / "engine.json"
    harness.write_json(report, path)
    data = json.loads(path.read_text())
    assert [r["row"] for r in data["results"]] == [row.name for row in rows]
    assert len(data["results"][1]["libraries"]["numpy"]["samples_s"]) == 2
    assert data["results"][0]["libraries"]["tinygrad_edu"]["ratio_to_torch"] > 0


def test_command_line_writes_both_files(tmp_path, capsys, restore_threads):
    json_path, md_path = tmp_path / "out.json", tmp_path / "out.md"
    code = bench_engine.main(["--rows", "chain", "--repeat", "1", "--warmup", "0", "--min-round-ms", "0",
                              "--json", str(json_path), "--markdown", str(md_path)], reexec=False)
    assert code == 0
    printed = capsys.readouterr().out
    assert "chain of 200 elementwise ops" in printed and "tg/torch" in printed
    assert json.loads(json_path.read_text())["results"][0]["unit"] == "us/op"
    assert "Engine benchmark" in md_path.read_text()


def test_unknown_row_is_a_clear_error():
    with pytest.raises(SystemExit, match="unknown row 'conv'.*matmul, mlp, chain"):
        bench_engine.build_rows(["conv"])
