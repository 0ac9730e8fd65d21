"""Smoke tests of the benchmark harness: every row runs once at a tiny size, tinygrad_edu and
PyTorch (and the hand-written NumPy floor) compute the same results, and the reports render.

No timing is asserted (timed tests are flaky on shared machines); what is asserted is that the
harness runs and that its correctness check really compares the libraries.
"""
import json
import os

import numpy as np
import pytest

from benchmarks import bench_engine, harness  # the repository root is on sys.path (tests/conftest.py)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

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
    assert set(result.timings) == {"torch", "tinygrad_edu", "numpy", "floor"}
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


# ---------------------------------------------------------------------------------------------
# The CNN rows (benchmarks/bench_cnn.py), at tiny sizes
# ---------------------------------------------------------------------------------------------
def _bench_cnn():
    from benchmarks import bench_cnn
    return bench_cnn


def test_conv_row_agrees_with_torch_and_the_numpy_floor():
    results = _check(_bench_cnn().conv_row(batch=2, channels=3, out_channels=4, size=6))
    assert set(results) == {"torch", "tinygrad_edu", "numpy"}
    torch_out = results["torch"]
    assert torch_out["y"].shape == (2, 4, 6, 6) and torch_out["x.grad"].shape == (2, 3, 6, 6)
    for lib in ("tinygrad_edu", "numpy"):
        for key in ("y", "x.grad", "w.grad", "b.grad"):
            np.testing.assert_allclose(results[lib][key], torch_out[key], rtol=1e-4, atol=1e-5)
    assert np.abs(torch_out["w.grad"]).max() > 0.1  # real gradients were compared


def test_maxpool_row_agrees_including_the_gradient_routing():
    results = _check(_bench_cnn().maxpool_row(batch=2, channels=3, size=6))
    torch_out = results["torch"]
    for lib in ("tinygrad_edu", "numpy"):
        np.testing.assert_array_equal(results[lib]["y"], torch_out["y"])
        np.testing.assert_array_equal(results[lib]["x.grad"], torch_out["x.grad"])
    # each 2x2 window sends its gradient to exactly one input: 3/4 of dx is zero
    assert np.count_nonzero(torch_out["x.grad"]) == torch_out["y"].size


def test_vgg_row_agrees_after_one_sgd_step():
    row = _bench_cnn().vgg_row(batch=4, size=8, cfg=[4, "M", 8, "M"], hidden=16)
    results = _check(row)
    torch_out = results["torch"]
    assert {"loss", "logits", "features.0.weight.grad", "features.3.weight", "classifier.3.bias"} \
        <= set(torch_out)
    got = results["tinygrad_edu"]
    assert abs(got["loss"] - torch_out["loss"]) < 1e-5
    for key in ("features.0.weight.grad", "features.3.weight.grad", "classifier.0.weight.grad"):
        np.testing.assert_allclose(got[key], torch_out[key], rtol=1e-3, atol=1e-6)
        assert np.abs(torch_out[key]).max() > 0.0


def test_airbench_row_agrees_after_one_sgd_step():
    row = _bench_cnn().airbench_row(batch=4, size=24)
    results = _check(row)
    torch_out, got = results["torch"], results["tinygrad_edu"]
    assert abs(got["loss"] - torch_out["loss"]) < 1e-5
    for key in ("stem.0.weight.grad", "layer2.4.weight.grad", "fc.weight.grad"):
        scale = np.abs(torch_out[key]).max()               # float32 rounding: 1e-4 of the largest entry
        np.testing.assert_allclose(got[key], torch_out[key], rtol=1e-3, atol=1e-4 * scale)
        assert np.abs(torch_out[key]).max() > 0.0


def test_the_two_mini_vggs_are_the_same_network():
    """The torch twin has the same names and shapes as models.vgg_mini's benchmark network."""
    from tinygrad_edu import models
    from benchmarks.torch_twins import VGGMini
    ours = models.vgg_mini(**models.BENCHMARK_CONFIG)
    twin = VGGMini(10, 3, batch_norm=False, cfg=[32, 32, "M", 64, 64, "M"], dropout=0.0, input_size=32)
    ours_shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    twin_shapes = {k: tuple(v.shape) for k, v in twin.state_dict().items()}
    assert ours_shapes == twin_shapes
    assert ours_shapes["classifier.0.weight"] == (256, 64 * 8 * 8)


def _mnist_root():
    """$TINYGRAD_EDU_DATA, else the staged ../shared/data beside the repository (as CI has)."""
    for candidate in (os.environ.get("TINYGRAD_EDU_DATA"), os.path.join(ROOT, "..", "shared", "data")):
        if candidate and os.path.exists(os.path.join(candidate, "mnist", "train-labels-idx1-ubyte.gz")):
            return candidate
    return None


@pytest.mark.skipif(_mnist_root() is None,
                    reason="staged MNIST not found: set TINYGRAD_EDU_DATA (../shared/data in CI)")
def test_mnist_epoch_row_uses_real_images_and_reports_seconds_per_epoch():
    bench_cnn = _bench_cnn()
    row = bench_cnn.mnist_epoch_row(batch=4, n_batches=2, root=_mnist_root(), cfg=[4, "M", 8, "M"],
                                    hidden=16)
    assert row.unit == "s/epoch" and row.steps_per_epoch == 60000 / 4
    assert row.scale(0.01) == pytest.approx(150.0)       # 10 ms per step -> 150 s per epoch
    results = _check(row)
    torch_out = results["torch"]
    got = results["tinygrad_edu"]
    assert abs(got["loss"] - torch_out["loss"]) < 1e-5
    # batch norm's running statistics moved the same way in both libraries
    np.testing.assert_allclose(got["features.1.running_mean"], torch_out["features.1.running_mean"],
                               rtol=1e-4, atol=1e-6)
    assert np.abs(torch_out["features.1.running_mean"]).max() > 0.0
    x, y = bench_cnn.mnist_batches(1, 8, root=_mnist_root())[0]
    assert x.shape == (8, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.max() > 2.0 and x.min() < 0.0    # normalised ink and background, not noise
    assert set(np.unique(y)) <= set(range(10))


def test_cnn_command_line_runs_a_row_and_writes_markdown(tmp_path, capsys, restore_threads):
    md_path = tmp_path / "cnn.md"
    code = _bench_cnn().main(["--rows", "maxpool", "--repeat", "1", "--warmup", "0",
                              "--min-round-ms", "0", "--markdown", str(md_path)], reexec=False)
    assert code == 0
    assert "max_pool2d 2x2" in capsys.readouterr().out
    assert "CNN benchmark" in md_path.read_text()


def test_unknown_cnn_row_is_a_clear_error():
    with pytest.raises(SystemExit, match="unknown row 'lstm'.*vgg, mnist, conv, maxpool"):
        _bench_cnn().build_rows(["lstm"])


def test_cnn_cpu_clock_times_rounds_and_restores_the_wall_clock(restore_threads):
    bench_cnn = _bench_cnn()
    row = bench_cnn.maxpool_row(batch=2, channels=2, size=4)
    wall_timer = harness._time_calls
    report = bench_cnn.run(["maxpool"], [row], [1], warmup=0, repeat=2, min_round_s=0.0, log=None,
                           reexec=False, clock="cpu")
    assert harness._time_calls is wall_timer
    timings = report["results"][0].timings
    assert all(len(t.samples_s) == 2 and t.samples_s[0] >= 0 for t in timings.values())
    with pytest.raises(SystemExit, match="--clock cpu measures one thread only"):
        bench_cnn.run(["maxpool"], [row], [1, 2], 0, 1, 0.0, None, False, clock="cpu")


def test_lstm_row_agrees_with_torch_and_the_numpy_floor(restore_threads, capsys):
    from benchmarks import bench_recurrent
    results = _check(bench_recurrent.lstm_row())
    assert set(results) == {"torch", "tinygrad_edu", "numpy"}
    torch_out = results["torch"]
    assert torch_out["output"].shape == (32, bench_recurrent.BATCH, bench_recurrent.HIDDEN)
    for lib in ("tinygrad_edu", "numpy"):
        for key, value in torch_out.items():
            np.testing.assert_allclose(results[lib][key], value, rtol=1e-3, atol=1e-4, err_msg=f"{lib} {key}")
    assert np.abs(torch_out["weight_hh_l0.grad"]).max() > 0.1  # real gradients were compared
    assert bench_recurrent.main(["--repeat", "1", "--warmup", "0", "--min-round-ms", "0", "--rows", "lstm"],
                                reexec=False) == 0
    assert "LSTM(64, 128) over 32 steps" in capsys.readouterr().out
    assert "lstm_long" in bench_recurrent.ROWS


def test_explain_rows_agree_with_captum_and_the_numpy_floor(restore_threads, capsys):
    from benchmarks import bench_explain
    for name in ("ig_mlp", "deeplift_lenet"):
        row = bench_explain.ROWS[name]()
        results = _check(row)
        reference = results["torch"]["attributions"]
        assert np.abs(reference).max() > 1e-3             # real attributions were compared
        for lib, out in results.items():
            np.testing.assert_allclose(out["attributions"], reference, rtol=2e-3, atol=2e-4,
                                       err_msg=f"{name} {lib}")
    assert set(_check(bench_explain.ig_row(n=2, n_steps=4))) == {"torch", "tinygrad_edu", "numpy"}
    assert bench_explain.main(["--repeat", "1", "--warmup", "0", "--min-round-ms", "0",
                               "--rows", "occlusion_lenet"], reexec=False) == 0
    assert "Occlusion 4x4 stride 2" in capsys.readouterr().out
