"""tinygrad_edu.explain layer and neuron methods (layer.py, neuron.py): a Grad-CAM hand case, parity
with Captum on PyTorch mirrors of the same weights (float64, 1e-6), BERT token attributions through the
embedding layer (completeness, and parity with Captum on Hugging Face's BERT), no state left behind,
clear errors."""
import numpy as np
import pytest
import torch

import tinygrad_edu.nn as nn
from tinygrad_edu import Tensor
from tinygrad_edu.explain import (LayerActivation, LayerAttribution, LayerConductance, LayerGradCam,
                                  LayerIntegratedGradients, NeuronGradient)

captum_attr = pytest.importorskip("captum.attr")
pytestmark = pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")
TOL = dict(rtol=1e-6, atol=1e-8)
# Captum rounds the quadrature weights to float32 (integrated_gradients.py: torch.tensor(step_sizes).float()),
# ours are exact float64: the attributions agree to 1e-6 relative, but a convergence delta (a small
# difference of large sums) only to about 1e-8 · Σ|attributions| absolute.
DELTA_TOL = dict(rtol=0, atol=1e-6)


def _close_with_delta(ours, theirs):
    (attr, delta), (want, want_delta) = ours, theirs
    _close(attr, want)
    np.testing.assert_allclose(delta.numpy(), want_delta.detach().numpy(), **DELTA_TOL)


def _close(ours, theirs):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _close(o, t)
        return
    assert isinstance(ours, Tensor)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), **TOL)


# ---------------------------------------------------------------------------------------------
# mirrors: the same model in tinygrad_edu and in torch, with the same float64 weights
# ---------------------------------------------------------------------------------------------
def _cnn(lib):
    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = lib.Conv2d(2, 3, 3, padding=1)
            self.relu1 = lib.ReLU()
            self.conv2 = lib.Conv2d(3, 4, 3)
            self.relu2 = lib.ReLU()
            self.flat = lib.Flatten()
            self.fc = lib.Linear(4 * 4 * 4, 3)

        def forward(self, x):
            return self.fc(self.flat(self.relu2(self.conv2(self.relu1(self.conv1(x))))))
    return Net()


def _embedder(lib):
    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.emb = lib.Embedding(20, 5)
            self.fc1 = lib.Linear(5, 6)
            self.fc2 = lib.Linear(6, 3)

        def forward(self, ids):
            return self.fc2(self.fc1(self.emb(ids)).tanh().mean(1))
    return Net()


def _mirror(make, seed=0):
    ours, theirs = make(nn).double().eval(), make(torch.nn).double().eval()
    rng = np.random.default_rng(seed)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        p.array[...] = rng.normal(0.0, 0.5, p.shape)
        with torch.no_grad():
            theirs_params[name].copy_(torch.from_numpy(p.array.copy()))
    return ours, theirs


@pytest.fixture(scope="module")
def cnn():
    ours, theirs = _mirror(_cnn)
    x = np.random.default_rng(1).normal(size=(2, 2, 6, 6))
    return ours, theirs, x


def _pair(x):
    return Tensor(x), torch.tensor(x)


# ---------------------------------------------------------------------------------------------
# (1) Grad-CAM by hand
# ---------------------------------------------------------------------------------------------
class _ChannelMeanHead(nn.Module):
    """A = 2x (the layer), F = Σ_c v_c · mean_ij(A_c,ij): ∂F/∂A_c,ij = v_c / (h·w) everywhere."""

    def __init__(self, v):
        super().__init__()
        self.layer = nn.Identity()
        self.v = Tensor(np.asarray(v, dtype=np.float64))

    def forward(self, x):
        a = self.layer(x * 2.0)
        return (a.mean((2, 3)) * self.v).sum(1)


@pytest.mark.parametrize("relu", [False, True])
def test_grad_cam_hand_case(relu):
    v = np.array([1.0, -2.0, 3.0])
    consts = np.array([[0.5, 1.0, -0.25], [1.0, 2.0, 0.0]])              # per example, per channel
    x = np.broadcast_to(consts[:, :, None, None], (2, 3, 4, 5)).copy() / 2.0   # so A_c = consts
    model = _ChannelMeanHead(v)
    alpha = v / 20.0                                                        # mean gradient, h·w = 20
    want = (alpha[None, :, None, None] * consts[:, :, None, None]
            * np.ones((1, 1, 4, 5))).sum(1, keepdims=True)
    if relu:
        want = np.maximum(want, 0.0)
    got = LayerGradCam(model, model.layer).attribute(Tensor(x), relu_attributions=relu)
    assert got.shape == (2, 1, 4, 5)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-15)
    per_channel = LayerGradCam(model, model.layer).attribute(Tensor(x), attr_dim_summation=False)
    np.testing.assert_allclose(per_channel.numpy(), alpha[None, :, None, None] * x * 2.0, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# (2) parity with Captum
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layer, to_input", [("conv1", False), ("relu1", False), ("relu2", True)])
def test_layer_activation_matches_captum(cnn, layer, to_input):
    ours, theirs, x = cnn
    xo, xt = _pair(x)
    got = LayerActivation(ours, getattr(ours, layer)).attribute(xo, attribute_to_layer_input=to_input)
    want = captum_attr.LayerActivation(theirs, getattr(theirs, layer)).attribute(
        xt, attribute_to_layer_input=to_input)
    _close(got, want)


@pytest.mark.parametrize("relu, summation", [(False, True), (True, True), (False, False), (True, False)])
def test_layer_grad_cam_matches_captum(cnn, relu, summation):
    ours, theirs, x = cnn
    xo, xt = _pair(x)
    kw = dict(target=[0, 2], relu_attributions=relu, attr_dim_summation=summation)
    got = LayerGradCam(ours, ours.conv2).attribute(xo, **kw)
    want = captum_attr.LayerGradCam(theirs, theirs.conv2).attribute(xt, **kw)
    _close(got, want)


def test_layer_grad_cam_to_layer_input_and_flat_layer_match_captum(cnn):
    ours, theirs, x = cnn
    xo, xt = _pair(x)
    got = LayerGradCam(ours, ours.relu1).attribute(xo, target=1, attribute_to_layer_input=True)
    want = captum_attr.LayerGradCam(theirs, theirs.relu1).attribute(xt, target=1,
                                                                    attribute_to_layer_input=True)
    _close(got, want)
    got = LayerGradCam(ours, ours.flat).attribute(xo, target=1)              # (N, C): no spatial mean
    want = captum_attr.LayerGradCam(theirs, theirs.flat).attribute(xt, target=1)
    _close(got, want)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_interpolate_matches_captum(cnn, mode):
    ours, theirs, x = cnn
    xo, xt = _pair(x)
    cam = LayerGradCam(ours, ours.conv2).attribute(xo, target=0)                      # (2, 1, 4, 4)
    cam_t = captum_attr.LayerGradCam(theirs, theirs.conv2).attribute(xt, target=0)
    for size in ((6, 6), (9, 7)):
        got = LayerAttribution.interpolate(cam, size, mode)
        want = captum_attr.LayerAttribution.interpolate(cam_t, size, mode)
        assert got.shape == (2, 1) + size
        _close(got, want)


@pytest.mark.parametrize("method, multiply", [("gausslegendre", True), ("riemann_middle", True),
                                              ("gausslegendre", False)])
def test_layer_integrated_gradients_conv_matches_captum(cnn, method, multiply):
    ours, theirs, x = cnn
    xo, xt = _pair(x)
    b = np.random.default_rng(2).normal(scale=0.1, size=x.shape)
    bo, bt = _pair(b)
    kw = dict(target=[1, 0], n_steps=8, method=method, return_convergence_delta=multiply)
    got = LayerIntegratedGradients(ours, ours.conv1, multiply_by_inputs=multiply).attribute(xo, bo, **kw)
    want = captum_attr.LayerIntegratedGradients(theirs, theirs.conv1, multiply_by_inputs=multiply).attribute(
        xt, bt, **kw)
    if not multiply:
        return _close(got, want)
    _close_with_delta(got, want)
    # the same in chunks of 3 examples (a step and a half), and the delta is exactly Σ attr − ΔF
    again, delta = LayerIntegratedGradients(ours, ours.conv1).attribute(xo, bo, internal_batch_size=3, **kw)
    _close(again, got[0])
    f = ours(xo).detach().numpy()[[0, 1], [1, 0]] - ours(bo).detach().numpy()[[0, 1], [1, 0]]
    np.testing.assert_allclose(delta.numpy(), again.numpy().sum(axis=(1, 2, 3)) - f, rtol=1e-9, atol=1e-12)


def test_layer_integrated_gradients_embedding_matches_captum():
    ours, theirs = _mirror(_embedder, seed=3)
    ids = np.array([[1, 4, 7, 9, 2], [3, 3, 15, 0, 19]])
    base = np.array([1, 0, 0, 0, 2])
    got, delta = LayerIntegratedGradients(ours, ours.emb).attribute(
        Tensor(ids), Tensor(base[None].repeat(2, 0)), target=2, n_steps=16, return_convergence_delta=True)
    want, want_delta = captum_attr.LayerIntegratedGradients(theirs, theirs.emb).attribute(
        torch.tensor(ids), torch.tensor(base[None].repeat(2, 0)), target=2, n_steps=16,
        return_convergence_delta=True)
    assert got.shape == (2, 5, 5)
    _close_with_delta((got, delta), (want, want_delta))


@pytest.mark.parametrize("layer, kw", [("conv2", dict(method="gausslegendre")),
                                       ("relu1", dict(method="riemann_trapezoid", internal_batch_size=5)),
                                       ("relu2", dict(attribute_to_layer_input=True))])
def test_layer_conductance_matches_captum(cnn, layer, kw):
    ours, theirs, x = cnn
    xo, xt = _pair(x)
    b = np.full(x.shape, 0.1)
    bo, bt = _pair(b)
    got = LayerConductance(ours, getattr(ours, layer)).attribute(
        xo, bo, target=[2, 1], n_steps=7, return_convergence_delta=True, **kw)
    want = captum_attr.LayerConductance(theirs, getattr(theirs, layer)).attribute(
        xt, bt, target=[2, 1], n_steps=7, return_convergence_delta=True, **kw)
    _close(got, want)


@pytest.mark.parametrize("layer, selector", [("fc", 2), ("conv2", (3, 1, 2)), ("conv2", (1, slice(0, 2), 3)),
                                             ("conv2", lambda a: a[:, 1, 2, :].sum(1)),
                                             ("relu2", (2, 0, 0))])
def test_neuron_gradient_matches_captum(cnn, layer, selector):
    ours, theirs, x = cnn
    xo, xt = _pair(x)
    to_input = layer == "relu2"
    got = NeuronGradient(ours, getattr(ours, layer)).attribute(xo, selector,
                                                               attribute_to_neuron_input=to_input)
    want = captum_attr.NeuronGradient(theirs, getattr(theirs, layer)).attribute(
        xt, selector, attribute_to_neuron_input=to_input)
    _close(got, want)


# ---------------------------------------------------------------------------------------------
# (3) BERT: token attributions through the embedding layer
# ---------------------------------------------------------------------------------------------
BERT = dict(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
            max_position_embeddings=16, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
CLS, SEP, PAD = 2, 3, 0


def _hf_bert_classes():
    """transformers' BertConfig and BertForSequenceClassification, resolved with transformers' optional
    hub-``kernels`` integration off: this repository's top-level ``kernels/`` package shadows the
    ``kernels`` distribution installed next to transformers, and importing it fails."""
    transformers = pytest.importorskip("transformers")
    import transformers.utils.import_utils as import_utils
    real = import_utils.is_kernels_available
    import_utils.is_kernels_available = lambda *args, **kwargs: False
    try:
        return transformers.BertConfig, transformers.BertForSequenceClassification
    finally:
        import_utils.is_kernels_available = real


@pytest.fixture(scope="module")
def berts():
    HFConfig, HFClassifier = _hf_bert_classes()
    from tinygrad_edu.models import bert as B
    torch.manual_seed(0)
    hf_config = HFConfig(**BERT)
    hf_config._attn_implementation = "eager"
    theirs = HFClassifier(hf_config).double().eval()
    with torch.no_grad():              # BERT's init (std 0.02) makes a near-constant classifier: scale up
        for name, p in theirs.named_parameters():
            if "LayerNorm" not in name:
                p.normal_(0.0, 0.4)
    ours = B.BertForSequenceClassification(B.BertConfig(**BERT), num_labels=2).double()   # then load float64
    missing, unexpected = ours.load_hf_state_dict({k: v.detach().numpy()
                                                   for k, v in theirs.state_dict().items()})
    assert missing == [] and unexpected == []
    ours = ours.eval()
    rng = np.random.default_rng(4)
    ids = rng.integers(4, 50, (2, 8))
    ids[:, 0], ids[:, -1] = CLS, SEP
    base = np.full((2, 8), PAD)
    base[:, 0], base[:, -1] = CLS, SEP
    return ours, theirs, ids, base


def test_bert_embedding_attributions_are_complete_and_match_captum_on_hugging_face(berts):
    ours, theirs, ids, base = berts
    lig = LayerIntegratedGradients(lambda i: ours(i).logits, ours.bert.embeddings)
    attr, delta = lig.attribute(Tensor(ids), Tensor(base), target=1, n_steps=64,
                                return_convergence_delta=True)
    assert attr.shape == (2, 8, 16) and attr.dtype == np.float64
    f_x, f_b = (ours(Tensor(i)).logits.detach().numpy()[:, 1] for i in (ids, base))
    total = attr.numpy().sum(axis=(1, 2))
    assert np.all(np.abs(f_x - f_b) > 1e-2)                  # a model whose output does move
    np.testing.assert_array_equal(attr.numpy()[:, [0, -1]], 0.0)   # [CLS] and [SEP] are in the baseline
    np.testing.assert_allclose(total, f_x - f_b, rtol=1e-3)
    np.testing.assert_allclose(delta.numpy(), total - (f_x - f_b), rtol=1e-6, atol=1e-12)
    want, want_delta = captum_attr.LayerIntegratedGradients(
        lambda i: theirs(input_ids=i).logits, theirs.bert.embeddings).attribute(
        torch.tensor(ids), torch.tensor(base), target=1, n_steps=64, return_convergence_delta=True)
    _close_with_delta((attr, delta), (want, want_delta))


# ---------------------------------------------------------------------------------------------
# (4) no state left behind
# ---------------------------------------------------------------------------------------------
def _hooks_left(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               + len(m._backward_pre_hooks) for m in model.modules())


def _state(model):
    return [(p.requires_grad, None if p.grad is None else p.grad.numpy().copy())
            for p in model.parameters()] + \
           [m.training for m in model.modules()]


def _same_state(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if isinstance(x, tuple):
            assert x[0] == y[0] and (x[1] is None) == (y[1] is None)
            if x[1] is not None:
                np.testing.assert_array_equal(x[1], y[1])
        else:
            assert x == y


def _dirty_model():
    model, _ = _mirror(_cnn, seed=5)
    model.conv1.weight.grad = Tensor(np.full(model.conv1.weight.shape, 7.0))
    model.conv2.bias.requires_grad = False
    model.train()
    model.relu1.eval()
    return model


@pytest.mark.parametrize("make, fail_at", [           # fail_at: a forward pass in which the hook is live
    (lambda m: (LayerGradCam(m, m.conv2), dict(target=0)), 1),
    (lambda m: (LayerIntegratedGradients(m, m.conv1), dict(target=1, n_steps=3)), 3),   # the path pass
    (lambda m: (LayerIntegratedGradients(m, m.conv1), dict(target=1, n_steps=3)), 2),   # A(baseline)
    (lambda m: (LayerConductance(m, m.relu1), dict(target=2, n_steps=3, attribute_to_layer_input=True,
                                                   internal_batch_size=4)), 2),
    (lambda m: (LayerActivation(m, m.conv2), {}), 1),
    (lambda m: (NeuronGradient(m, m.conv2), dict(neuron_selector=(0, 1, 1))), 1),
])
def test_no_state_leak_after_attribute_and_after_a_failing_forward(make, fail_at):
    x = Tensor(np.random.default_rng(6).normal(size=(2, 2, 6, 6)))
    model = _dirty_model()
    before = _state(model)
    method, kw = make(model)
    method.attribute(x, **kw)
    assert _hooks_left(model) == 0
    _same_state(before, _state(model))

    calls = []

    def flaky(inp):                # the layer runs, then the forward raises (the hooks are live then)
        calls.append(1)
        out = model(inp)
        if len(calls) == fail_at:
            raise RuntimeError("boom")
        return out
    method.forward_func = flaky
    with pytest.raises(RuntimeError, match="boom"):
        method.attribute(x, **kw)
    assert _hooks_left(model) == 0
    _same_state(before, _state(model))


# ---------------------------------------------------------------------------------------------
# (5) clear errors
# ---------------------------------------------------------------------------------------------
def test_layer_never_called_is_a_one_line_error(cnn):
    ours, _, x = cnn
    stranger = nn.Conv2d(3, 4, 3).double()
    for method, kw in ((LayerGradCam(ours, stranger), dict(target=0)), (LayerActivation(ours, stranger), {}),
                       (NeuronGradient(ours, stranger), dict(neuron_selector=(0, 0, 0)))):
        with pytest.raises(ValueError, match="was never called by forward_func") as info:
            method.attribute(Tensor(x), **kw)
        assert "\n" not in str(info.value) and "Conv2d" in str(info.value)
    assert _hooks_left(stranger) == 0
    with pytest.raises(TypeError, match="LayerGradCam: layer must be a Module"):
        LayerGradCam(ours, "conv2")


@pytest.mark.parametrize("selector, error, match", [
    ((9, 0, 0), ValueError, r"neuron_selector \(9, 0, 0\) does not pick one neuron .* \(2, 4, 4, 4\)"),
    ((1, 2), ValueError, "one index per dimension"),
    ("x", TypeError, "neuron_selector must be an int"),
    (lambda a: a[:, 0], ValueError, r"returned \(2, 4, 4\); expected .* shape \(2,\)"),
])
def test_bad_neuron_selector(cnn, selector, error, match):
    ours, _, x = cnn
    with pytest.raises(error, match=match):
        NeuronGradient(ours, ours.conv2).attribute(Tensor(x), selector)
    assert _hooks_left(ours) == 0


class _TwiceReLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.relu(x) - 1.0).sum((1, 2, 3))


def test_a_layer_run_twice_is_refused_and_no_grad_mode_does_not_matter(cnn):
    model = _TwiceReLU()
    with pytest.raises(ValueError, match="LayerGradCam: the layer ReLU ran more than once in one forward"):
        LayerGradCam(model, model.relu).attribute(Tensor(np.ones((1, 1, 2, 2))))
    assert _hooks_left(model) == 0
    ours, theirs, x = cnn
    from tinygrad_edu.autograd import no_grad
    with no_grad():
        got = LayerGradCam(ours, ours.conv2).attribute(Tensor(x), target=0)
    _close(got, captum_attr.LayerGradCam(theirs, theirs.conv2).attribute(torch.tensor(x), target=0))


def test_bad_arguments(cnn):
    ours, _, x = cnn
    with pytest.raises(ValueError, match="LayerConductance: n_steps must be a positive int, got 0"):
        LayerConductance(ours, ours.conv1).attribute(Tensor(x), target=0, n_steps=0)
    with pytest.raises(TypeError, match="LayerConductance: input 0 has dtype int64"):
        LayerConductance(ours, ours.conv1).attribute(Tensor(np.zeros((2, 2, 6, 6), np.int64)), target=0)
    with pytest.raises(ValueError, match="internal_batch_size must be None or a positive int"):
        LayerIntegratedGradients(ours, ours.conv1).attribute(Tensor(x), target=0, internal_batch_size=0)
    with pytest.raises(ValueError, match="interpolate_mode 'bicubic' is not supported"):
        LayerAttribution.interpolate(Tensor(np.zeros((1, 1, 2, 2))), (4, 4), "bicubic")


def test_a_layer_followed_by_an_in_place_relu_is_recorded_before_the_relu():
    """LayerActivation and NeuronGradient see the layer's own output, even when the next module
    overwrites its input in place (LeNet's ReLU(inplace=True)): the model gets a copy."""
    import tinygrad_edu as tg
    from tinygrad_edu import nn as tnn
    from tinygrad_edu.explain import LayerActivation, NeuronGradient
    tg.manual_seed(0)
    conv = tnn.Conv2d(1, 2, 3)
    model = tnn.Sequential(conv, tnn.ReLU(inplace=True), tnn.Flatten(), tnn.Linear(2 * 4 * 4, 3))
    x = tg.tensor(np.random.default_rng(0).normal(size=(2, 1, 6, 6)))
    model.double()
    with tg.no_grad():
        expected = conv(x).numpy()
    got = LayerActivation(model, conv).attribute(x).numpy()
    assert (expected < 0).any()
    np.testing.assert_array_equal(got, expected)
    negative = tuple(int(i) for i in np.argwhere(expected[0] < 0)[0])
    grad = NeuronGradient(model, conv).attribute(x, neuron_selector=negative).numpy()
    assert np.abs(grad[0]).sum() > 0                     # ∂conv/∂x, not ∂relu(conv)/∂x = 0
