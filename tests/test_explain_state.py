"""No state leaks: after any explanation method — also one that raises midway — the model's
gradients, ``requires_grad`` flags, train/eval mode, hooks and module forwards are as before, and
its output is unchanged."""
import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
from tinygrad_edu import explain


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(3 * 3 * 3, 4)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.fc(self.drop(self.pool(self.relu(self.conv(x))).flatten(1)))


def _model():
    tg.manual_seed(0)
    return SmallCNN()


def _methods(model):
    """(name, attribute(forward_func, inputs)) for every method, each with small settings."""
    conv = model.conv
    return [
        ("Saliency", lambda f, x: explain.Saliency(f).attribute(x, target=1)),
        ("InputXGradient", lambda f, x: explain.InputXGradient(f).attribute(x, target=1)),
        ("IntegratedGradients", lambda f, x: explain.IntegratedGradients(f).attribute(
            x, target=1, n_steps=4, internal_batch_size=4)),
        ("NoiseTunnel", lambda f, x: explain.NoiseTunnel(explain.Saliency(f)).attribute(
            x, nt_samples=3, stdevs=0.1, target=1)),
        ("GradientShap", lambda f, x: explain.GradientShap(f).attribute(x, baselines=tg.zeros_like(x),
                                                                        n_samples=3, target=1)),
        ("GuidedBackprop", lambda f, x: explain.GuidedBackprop(f).attribute(x, target=1)),
        ("DeepLift", lambda f, x: explain.DeepLift(f).attribute(x, target=1)),
        ("Occlusion", lambda f, x: explain.Occlusion(f).attribute(x, sliding_window_shapes=(1, 3, 3),
                                                                  strides=(1, 3, 3), target=1)),
        ("FeatureAblation", lambda f, x: explain.FeatureAblation(f).attribute(x, target=1)),
        ("FeaturePermutation", lambda f, x: explain.FeaturePermutation(f).attribute(x, target=1)),
        ("LayerActivation", lambda f, x: explain.LayerActivation(f, conv).attribute(x)),
        ("LayerGradCam", lambda f, x: explain.LayerGradCam(f, conv).attribute(x, target=1)),
        ("LayerIntegratedGradients", lambda f, x: explain.LayerIntegratedGradients(f, conv).attribute(
            x, target=1, n_steps=4)),
        ("LayerConductance", lambda f, x: explain.LayerConductance(f, conv).attribute(
            x, target=1, n_steps=4)),
        ("NeuronGradient", lambda f, x: explain.NeuronGradient(f, conv).attribute(
            x, neuron_selector=(0, 1, 1))),
    ]


METHOD_NAMES = [name for name, _ in _methods(_model())]
# methods that take the model itself (they patch its ReLUs for one call), not any function
MODULE_ONLY = {"GuidedBackprop", "DeepLift"}


def _snapshot(model):
    return {
        "grads": {n: (None if p.grad is None else p.grad.numpy().copy())
                  for n, p in model.named_parameters()},
        "requires_grad": {n: p.requires_grad for n, p in model.named_parameters()},
        "training": {n: m.training for n, m in model.named_modules()},
        "forwards": {n: m.__dict__.get("forward") for n, m in model.named_modules()},
        "hooks": {n: (len(getattr(m, "_forward_hooks", {})), len(getattr(m, "_forward_pre_hooks", {})))
                  for n, m in model.named_modules()},
    }


def _prepare(model):
    """Some gradients already accumulated, one frozen parameter, the model in train mode."""
    x = tg.tensor(np.random.default_rng(0).normal(size=(2, 1, 6, 6)).astype(np.float32))
    model.train()
    model.conv.weight.grad = tg.tensor(np.full(model.conv.weight.shape, 0.5, np.float32))
    model.fc.bias.requires_grad = False
    return x


def _assert_same(before, after):
    for key in before["grads"]:
        if before["grads"][key] is None:
            assert after["grads"][key] is None, key
        else:
            np.testing.assert_array_equal(after["grads"][key], before["grads"][key], err_msg=key)
    for part in ("requires_grad", "training", "forwards", "hooks"):
        assert after[part] == before[part], part


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_a_method_leaves_the_model_as_it_found_it(name):
    model = _model()
    x = _prepare(model)
    before = _snapshot(model)
    method = dict(_methods(model))[name]
    attribution = method(model, x)
    assert np.isfinite(np.asarray(getattr(attribution, "numpy")())).all()
    _assert_same(before, _snapshot(model))
    model.eval()
    with tg.no_grad():
        out = model(x).numpy()
    reference = _model()
    reference.fc.bias.requires_grad = False
    reference.eval()
    with tg.no_grad():
        np.testing.assert_array_equal(out, reference(x).numpy())


class _Boom(RuntimeError):
    pass


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_a_method_that_raises_midway_leaves_the_model_as_it_found_it(name):
    model = _model()
    x = _prepare(model)
    before = _snapshot(model)
    calls = {"n": 0}
    real_forward = model.fc.forward

    def exploding_fc(inp):                               # the 2nd forward through fc raises
        calls["n"] += 1
        if calls["n"] == 2:
            raise _Boom("midway")
        return real_forward(inp)

    model.fc.forward = exploding_fc
    before["forwards"]["fc"] = exploding_fc
    method = dict(_methods(model))[name]
    try:
        method(model, x)
    except _Boom:
        pass
    assert calls["n"] >= 1
    _assert_same(before, _snapshot(model))


@pytest.mark.parametrize("name", sorted(set(METHOD_NAMES) - MODULE_ONLY))
def test_a_method_given_a_function_of_the_model_restores_it_too(name):
    model = _model()
    x = _prepare(model)
    before = _snapshot(model)
    method = dict(_methods(model))[name]
    method(lambda inp: model(inp), x)
    _assert_same(before, _snapshot(model))
