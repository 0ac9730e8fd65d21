"""``tinygrad_edu.explain`` on the CuPy code path, proven on the CPU: every method, the layer and
attention analysis and the activation statistics run on the fake 'cuda' device of ``fake_cupy``
(NumPy inside, CuPy's refusals outside) and give the CPU's numbers.

A method that calls ``np.*`` on a device array or mixes a host array into a device op fails here,
before any GPU sees it (the real GPU run is ``benchmarks/gpu_check.sh``)."""
import copy

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import explain, nn

import fake_cupy
from explain_cases import (SmallCNN, host_array as _host, methods as _methods,
                           model_and_input as _model_and_input)


@pytest.mark.parametrize("name", sorted(_methods(SmallCNN())))
def test_a_method_on_the_fake_device_equals_the_cpu(name):
    model, x = _model_and_input()
    expected = _host(_methods(model)[name](x))
    with fake_cupy.installed():
        device_model = copy.deepcopy(model).to("cuda")
        out = _methods(device_model)[name](x.to("cuda"))
        parts = out if isinstance(out, tuple) else (out,)
        for part in parts:
            assert isinstance(part.array, fake_cupy.ndarray), f"{name} returned a host array"
        got = _host(out)
    for g, e in zip(got if isinstance(got, list) else [got],
                    expected if isinstance(expected, list) else [expected]):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6, err_msg=name)


def test_noise_methods_on_the_fake_device_equal_the_cpu_with_the_same_draws(monkeypatch):
    from tinygrad_edu.explain import noise_tunnel
    model, x = _model_and_input()
    noise = np.random.default_rng(1).normal(size=(6, 1, 6, 6)).astype(np.float32)

    def fixed_noise(shape, stdev, dtype, xp):
        return xp.asarray(noise[:shape[0]] * stdev, dtype=dtype)

    monkeypatch.setattr(noise_tunnel, "gaussian_noise", fixed_noise)
    method = lambda m, inp: explain.NoiseTunnel(explain.Saliency(m)).attribute(  # noqa: E731
        inp, nt_type="vargrad", nt_samples=3, stdevs=0.2, target=1)
    expected = _host(method(model, x))
    with fake_cupy.installed():
        got = _host(method(copy.deepcopy(model).to("cuda"), x.to("cuda")))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_attention_analysis_on_the_fake_device_equals_the_cpu():
    from tinygrad_edu.models.bert import BertConfig, BertForSequenceClassification
    tg.manual_seed(0)
    config = BertConfig(vocab_size=40, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=16)
    model = BertForSequenceClassification(config, num_labels=2)
    model.eval()
    ids = np.array([[2, 5, 7, 9, 3], [2, 11, 13, 3, 0]])
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])
    labels = np.array([0, 1])
    expected_maps = explain.attention_maps(model, tg.tensor(ids), attention_mask=tg.tensor(mask))
    expected_importance = explain.head_importance(model, tg.tensor(ids), tg.tensor(labels),
                                                  attention_mask=tg.tensor(mask))
    with fake_cupy.installed():
        device_model = copy.deepcopy(model).to("cuda")
        maps = explain.attention_maps(device_model, tg.tensor(ids).to("cuda"),
                                      attention_mask=tg.tensor(mask).to("cuda"))
        rollout = explain.attention_rollout(maps)
        importance = explain.head_importance(device_model, tg.tensor(ids).to("cuda"),
                                             tg.tensor(labels).to("cuda"),
                                             attention_mask=tg.tensor(mask).to("cuda"))
        assert isinstance(maps, fake_cupy.ndarray) and isinstance(rollout, fake_cupy.ndarray)
        maps, rollout, importance = _host(maps), _host(rollout), _host(importance)
    np.testing.assert_allclose(maps, _host(expected_maps), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rollout, _host(explain.attention_rollout(expected_maps)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(importance, _host(expected_importance), rtol=1e-4, atol=1e-6)


def test_activation_statistics_on_the_fake_device_equal_the_cpu():
    from tinygrad_edu import optim
    from tinygrad_edu.nn import functional as F

    def train(device):
        tg.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
        opt = optim.SGD(model.parameters(), lr=0.1)
        x = tg.tensor(np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)).to(device)
        y = tg.tensor(np.array([0, 1, 2, 1, 0])).to(device)
        with explain.ActivationStatistics(model) as stats:
            for _ in range(2):
                loss = F.cross_entropy(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                stats.step(opt)
        return stats.to_dict()["records"]

    expected = train("cpu")
    with fake_cupy.installed():
        got = train("cuda")
    assert len(got) == len(expected) == 2
    for g, e in zip(got, expected):
        assert g["activations"]["1"]["dead"] == e["activations"]["1"]["dead"]
        np.testing.assert_allclose(g["activations"]["1"]["mean"], e["activations"]["1"]["mean"], rtol=1e-6)
        np.testing.assert_allclose(g["parameters"]["0.weight"]["update_ratio"],
                                   e["parameters"]["0.weight"]["update_ratio"], rtol=1e-5)
