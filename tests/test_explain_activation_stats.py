"""``explain.ActivationStatistics`` (explain/activation_stats.py) and ``train --log-activations``:
every statistic against NumPy by hand, networks built to be dead or saturated, update ratios around
one SGD step, hooks that go away, training that does not change, JSON, the figure and the CLI."""
import json
import math
import os
import subprocess
import sys
import weakref

import numpy as np
import pytest

import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor, manual_seed, optim
from tinygrad_edu.explain import ActivationStatistics
from tinygrad_edu.explain.activation_stats import load, plot_activation_statistics, rebin

PNG = b"\x89PNG\r\n\x1a\n"


def _mlp():
    """Linear → ReLU → Linear → Tanh → Linear → GELU → Linear → Sigmoid, float64, with weights chosen
    so that every statistic is non-trivial: ReLU unit 0 is dead for the whole batch (bias −50), unit 1
    is alive but tiny (1e-4 for every example), the
    tanh layer is partly saturated, some GELU inputs are below −3, some sigmoid outputs are extreme."""
    manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 4), nn.GELU(),
                          nn.Linear(4, 2), nn.Sigmoid()).double()
    rng = np.random.default_rng(1)
    for index, scale in ((0, 1.0), (2, 3.0), (4, 4.0), (6, 4.0)):
        layer = model[index]
        layer.weight.array[...] = rng.normal(0, scale, layer.weight.shape)
        layer.bias.array[...] = rng.normal(0, 1, layer.bias.shape)
    model[0].bias.array[0] = -50.0
    model[0].weight.array[1] = 0.0            # unit 1 gives 1e-4 for every example: small, not dead
    model[0].bias.array[1] = 1e-4
    return model


def _gelu(x):
    return x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def _numpy_forward(model, x):
    """Every layer's output of ``_mlp`` computed with NumPy from its weights: {name: (input, output)}."""
    w = {i: (model[i].weight.array, model[i].bias.array) for i in (0, 2, 4, 6)}
    z1 = x @ w[0][0].T + w[0][1]
    r = np.maximum(z1, 0)
    z2 = r @ w[2][0].T + w[2][1]
    t = np.tanh(z2)
    z3 = t @ w[4][0].T + w[4][1]
    g = _gelu(z3)
    z4 = g @ w[6][0].T + w[6][1]
    s = 1 / (1 + np.exp(-z4))
    return {"0": (x, z1), "1": (z1, r), "2": (r, z2), "3": (z2, t), "4": (t, z3), "5": (z3, g), "6": (g, z4),
            "7": (z4, s)}


def _one_step(model, stats, x, y, optimizer):
    loss = F.cross_entropy(model(Tensor(x)), Tensor(y))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    stats.step(optimizer)
    return loss.item()


def _batch(n=24, seed=2):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1.5, (n, 3)), rng.integers(0, 2, n)


def test_every_statistic_equals_numpy_by_hand():
    model = _mlp()
    x, y = _batch()
    expected = _numpy_forward(model, x)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    with ActivationStatistics(model, bins=7) as stats:
        _one_step(model, stats, x, y, optimizer)
    assert set(stats.to_dict()["layers"]) == set(expected)
    record = stats.records[0]
    assert record["step"] == 0 and record["lr"] == 0.1
    for name, (inputs, out) in expected.items():
        got = record["activations"][name]
        np.testing.assert_allclose([got["mean"], got["std"], got["min"], got["max"]],
                                   [out.mean(), out.std(), out.min(), out.max()], rtol=1e-10, atol=1e-12,
                                   err_msg=name)
        counts, edges = np.histogram(out, bins=7, range=(out.min(), out.max()))
        assert got["histogram"]["counts"] == counts.tolist(), name
        np.testing.assert_allclose(got["histogram"]["edges"], edges, rtol=1e-10, atol=1e-12)
        assert got["shape"] == list(out.shape) and got["nonfinite"] == 0.0
    # dead: units 0 for every example; here unit 0 (bias -50) and maybe others
    dead = np.all(expected["1"][1] == 0, axis=0).mean()
    assert record["activations"]["1"]["dead"] == dead and 0.2 <= dead < 1.0
    tanh_out, gelu_in, sigmoid_out = expected["3"][1], expected["5"][0], expected["7"][1]
    saturations = {"3": (np.abs(tanh_out) > 0.97).mean(), "5": (gelu_in < -3).mean(),
                   "7": ((sigmoid_out < 0.03) | (sigmoid_out > 0.97)).mean()}
    for name, value in saturations.items():
        assert record["activations"][name]["saturation"] == value, name
        assert 0 < value < 1, (name, value)    # the test network reaches every regime
    # only the layers where they mean something carry dead / saturation
    assert "dead" not in record["activations"]["0"] and "saturation" not in record["activations"]["1"]


def test_negative_bias_kills_every_relu_and_huge_inputs_saturate_tanh():
    manual_seed(0)
    dead_net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    dead_net[0].bias.array[...] = -10.0
    dead_net[0].weight.array[...] *= 0.1
    tanh_net = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))
    x = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    for net, scale, key, layer in ((dead_net, 1.0, "dead", "1"), (tanh_net, 1000.0, "saturation", "1")):
        with ActivationStatistics(net) as stats:
            _one_step(net, stats, x * scale, np.zeros(32, np.int64), optim.SGD(net.parameters(), lr=0.01))
        assert stats.records[0]["activations"][layer][key] == pytest.approx(1.0, abs=0.02)
    healthy = nn.Sequential(nn.Linear(4, 16), nn.Tanh())
    with ActivationStatistics(healthy) as stats:
        _one_step(healthy, stats, x * 0.1, np.zeros(32, np.int64), optim.SGD(healthy.parameters(), lr=0.01))
    assert stats.records[0]["activations"]["1"]["saturation"] == 0.0


def test_update_ratio_and_grad_norm_equal_hand_computation_around_one_sgd_step():
    model = _mlp()
    x, y = _batch()
    before = {name: p.array.copy() for name, p in model.named_parameters()}
    optimizer = optim.SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=0.01)
    with ActivationStatistics(model) as stats:
        _one_step(model, stats, x, y, optimizer)
    checked = 0
    for name, p in model.named_parameters():
        got = stats.records[0]["parameters"][name]
        delta = np.linalg.norm(p.array - before[name])
        assert delta > 0
        assert got["grad_norm"] == pytest.approx(np.linalg.norm(p.grad.array), rel=1e-12)
        assert got["weight_norm"] == pytest.approx(np.linalg.norm(before[name]), rel=1e-12)
        assert got["update_ratio"] == pytest.approx(delta / np.linalg.norm(before[name]), rel=1e-12)
        checked += 1
    assert checked == 8
    # plain SGD, no momentum: Δw = −lr·g, so the ratio is lr·‖g‖/‖w‖
    model = _mlp()
    with ActivationStatistics(model) as stats:
        _one_step(model, stats, x, y, optim.SGD(model.parameters(), lr=0.01))
    entry = stats.records[0]["parameters"]["2.weight"]
    assert entry["update_ratio"] == pytest.approx(0.01 * entry["grad_norm"] / entry["weight_norm"], rel=1e-9)


def test_zero_weights_give_no_ratio_and_every_records_the_right_steps():
    model = _mlp()
    model[6].bias.array[...] = 0.0
    x, y = _batch()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    with ActivationStatistics(model, every=2) as stats:
        for k in range(5):
            if k == 4:
                expected = _numpy_forward(model, x)     # the weights that step 4's forward pass sees
            _one_step(model, stats, x, y, optimizer)
            model.eval()
            model(Tensor(x * 100))             # an evaluation pass between steps is not recorded
            model.train()
    assert [r["step"] for r in stats.records] == [0, 2, 4]
    assert stats.records[0]["parameters"]["6.bias"]["update_ratio"] is None   # ‖w‖ = 0 before step 0
    assert stats.records[1]["parameters"]["6.bias"]["update_ratio"] > 0
    for name in ("0", "3", "7"):
        assert stats.records[-1]["activations"][name]["mean"] == pytest.approx(expected[name][1].mean(),
                                                                               rel=1e-10)


def test_with_two_forward_passes_in_one_step_the_first_is_recorded():
    model = _mlp()
    x, y = _batch()
    expected = _numpy_forward(model, x)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    with ActivationStatistics(model) as stats:
        optimizer.zero_grad()
        for scale in (1.0, 100.0):             # gradient accumulation over two micro-batches
            F.cross_entropy(model(Tensor(x * scale)), Tensor(y)).backward()
        optimizer.step()
        stats.step(optimizer)
    for name, (_, out) in expected.items():
        assert stats.records[0]["activations"][name]["mean"] == pytest.approx(out.mean(), rel=1e-10)


def _hook_count(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_hooks_are_removed_after_the_block_even_after_an_exception():
    model = _mlp()
    assert _hook_count(model) == 0
    with ActivationStatistics(model) as stats:
        assert _hook_count(model) == 9          # one per watched layer and the weights' pre-hook
    assert _hook_count(model) == 0
    with pytest.raises(RuntimeError, match="midway"):
        with ActivationStatistics(model, layers=["1", model[3]]) as stats:
            assert _hook_count(model) == 3
            raise RuntimeError("midway")
    assert _hook_count(model) == 0
    stats.remove()                              # twice is fine
    with pytest.raises(RuntimeError, match="after remove"):
        stats.step()


def test_training_is_identical_with_and_without_statistics_and_keeps_no_graph():
    def train(with_stats):
        manual_seed(3)
        model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
        optimizer = optim.SGD(model.parameters(), lr=0.2, momentum=0.9, nesterov=True)
        stats = ActivationStatistics(model) if with_stats else None
        losses, ref = [], None
        for k in range(4):
            x, y = _batch(seed=k)
            out = model(Tensor(x.astype(np.float32)))
            ref = weakref.ref(out)
            loss = F.cross_entropy(out, Tensor(y))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if stats is not None:
                stats.step(optimizer)
            losses.append(loss.item())
        del out, loss
        if stats is not None:
            stats.remove()
        return losses, {k: np.asarray(v) for k, v in model.state_dict().items()}, ref, stats

    plain_losses, plain_state, _, _ = train(False)
    losses, state, ref, stats = train(True)
    assert losses == plain_losses
    for key in plain_state:
        np.testing.assert_array_equal(state[key], plain_state[key], err_msg=key)
    assert ref() is None                        # the statistics hold no tensor (and so no graph)
    assert len(stats.records) == 4

    def plain(value):
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or type(value) in (int, float, str)
    assert plain(stats.records)


def test_json_round_trip_nonfinite_values_and_the_figure(tmp_path):
    model = _mlp()
    x, y = _batch()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    with ActivationStatistics(model, every=1, bins=5) as stats:
        for _ in range(3):
            _one_step(model, stats, x, y, optimizer)
        x_bad = x.copy()
        x_bad[0, 0] = np.nan
        with np.errstate(invalid="ignore"):
            model(Tensor(x_bad))                # a diverged batch: NaN in every layer from here on
        stats.step()
    path = tmp_path / "stats.json"
    assert stats.save(str(path)) == str(path)
    assert not os.path.exists(str(path) + ".tmp")
    data = load(str(path))
    assert data == stats.to_dict() == json.loads(path.read_text()) == ActivationStatistics.load(str(path))
    assert data["every"] == 1 and data["bins"] == 5 and len(data["records"]) == 4
    assert data["layers"]["1"] == "ReLU" and "0.weight" in data["parameters"]
    bad = data["records"][-1]["activations"]["0"]
    assert bad["mean"] is None and bad["nonfinite"] == pytest.approx(1 / len(x))
    assert sum(bad["histogram"]["counts"]) == (len(x) - 1) * 5    # the finite values
    out = plot_activation_statistics(str(path), str(tmp_path / "stats.png"))
    assert (tmp_path / "stats.png").read_bytes()[:8] == PNG and out == str(tmp_path / "stats.png")
    plot_activation_statistics(stats, str(tmp_path / "again.png"))
    assert (tmp_path / "again.png").read_bytes()[:8] == PNG
    (tmp_path / "other.json").write_text('{"a": 1}')
    with pytest.raises(ValueError, match="not an activation statistics file"):
        load(str(tmp_path / "other.json"))


def test_rebinning_spreads_counts_uniformly_and_keeps_the_total():
    counts, edges = [4, 0, 2], [0.0, 1.0, 2.0, 3.0]
    np.testing.assert_allclose(rebin(counts, edges, np.array([0.0, 0.5, 1.0, 3.0])), [2, 2, 2])
    np.testing.assert_allclose(rebin(counts, edges, np.linspace(-1, 4, 11)).sum(), 6)


def test_bad_arguments_are_clear_errors():
    model = _mlp()
    with pytest.raises(ValueError, match=r"no layer 'fc9'.*'0', '1'"):
        ActivationStatistics(model, layers=["fc9"])
    with pytest.raises(ValueError, match="every must be a positive integer, got 0"):
        ActivationStatistics(model, every=0)
    with pytest.raises(ValueError, match="not a module of the model"):
        ActivationStatistics(model, layers=[nn.ReLU()])
    with pytest.raises(TypeError, match="must be an nn.Module"):
        ActivationStatistics(lambda x: x)
    assert _hook_count(model) == 0


def test_train_command_logs_activations_and_resume_continues_them(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, MPLBACKEND="Agg")
    common = [sys.executable, "-m", "tinygrad_edu", "train", "--dataset", "digits", "--no-progress",
              "--no-download", "--out", str(out)]
    proc = subprocess.run(common + ["--model", "mlp", "--epochs", "1", "--max-steps", "3", "--limit-train",
                                    "256", "--limit-test", "100", "--batch-size", "32", "--log-activations",
                                    "--log-activations-every", "2"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"activation statistics of 2 recorded steps (every 2): {out / 'activations.json'}" in proc.stdout
    data = load(str(out / "activations.json"))
    assert data["layers"] == {"layers.1": "Linear", "layers.2": "ReLU", "layers.3": "Linear",
                              "layers.4": "ReLU", "layers.5": "Linear"}
    assert [r["step"] for r in data["records"]] == [0, 2]
    assert 0 <= data["records"][0]["activations"]["layers.2"]["dead"] <= 1
    assert (out / "activations.png").read_bytes()[:8] == PNG
    config = json.loads((out / "config.json").read_text())["config"]
    assert not any("activation" in key for key in config)       # not the run's identity
    # resumed for a second epoch (its steps 3 to 6): the file continues
    proc = subprocess.run(common + ["--resume", "--epochs", "2", "--max-steps", "7",
                                    "--log-activations-every", "2"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert [r["step"] for r in load(str(out / "activations.json"))["records"]] == [0, 2, 4, 6]
