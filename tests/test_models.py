"""tinygrad_edu.models against the same architectures in torch.nn (benchmarks/torch_twins.py):
identical state_dict keys (so torchvision checkpoints load 1:1), identical parameter counts, and —
with our weights copied into the torch model — equal logits and equal gradients of every
parameter, in train mode (batch statistics) and eval mode (running statistics)."""
import re

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import models

from benchmarks import torch_twins as ref

torch.set_num_threads(1)

TOL = 1e-4


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def copy_to_torch(ours, theirs):
    """Assert the two state_dicts have the same keys in the same order, then load ours into torch."""
    our_sd, their_sd = ours.state_dict(), theirs.state_dict()
    assert list(our_sd) == list(their_sd)
    for key in our_sd:
        assert tuple(our_sd[key].shape) == tuple(their_sd[key].shape), key
    theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in our_sd.items()})  # copies


def randomize_batchnorm(model, seed=0):
    """Give every BatchNorm non-trivial weights and running statistics, so that eval mode tests
    something (fresh ones are 1, 0, mean 0, var 1)."""
    rng = np.random.default_rng(seed)
    for name, module in model.named_modules():
        if isinstance(module, (tg.nn.BatchNorm2d, tg.nn.BatchNorm1d)):
            c = module.num_features
            module.weight.data[...] = rng.uniform(0.5, 1.5, c)
            module.bias.data[...] = rng.normal(0, 0.2, c)
            module.running_mean.data[...] = rng.normal(0, 0.2, c)
            module.running_var.data[...] = rng.uniform(0.5, 2.0, c)


def assert_close(ours, theirs, what, scale=None):
    """max |ours - theirs| ≤ TOL · scale, where scale is the largest |value| of the reference
    (or a given scale, for gradients that are zero up to rounding)."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != {theirs.shape}"
    if not ours.size:
        return
    if scale is None:
        scale = max(float(theirs.max()), -float(theirs.min()))
    diff = np.subtract(ours, theirs, dtype=np.float32)  # one temporary: VGG has 100 M-entry grads
    err = max(float(diff.max()), -float(diff.min()))
    assert err <= TOL * max(scale, 1e-12), f"{what}: max abs error {err:.3g}, scale {scale:.3g}"


def check_parity(ours, theirs, input_shape, mode, num_classes, seed=0):
    """Run both models on the same batch in ``mode`` ("train" / "eval"), compare the logits,
    the loss, every parameter's gradient and every buffer afterwards."""
    copy_to_torch(ours, theirs)
    ours.train(mode == "train")
    theirs.train(mode == "train")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=input_shape).astype(np.float32)
    y = rng.integers(0, num_classes, size=input_shape[0])

    our_logits = ours(tg.tensor(x))
    our_loss = F.cross_entropy(our_logits, tg.tensor(y))
    our_loss.backward()
    their_logits = theirs(torch.from_numpy(x))
    their_loss = torch.nn.functional.cross_entropy(their_logits, torch.from_numpy(y))
    their_loss.backward()

    assert_close(our_logits.detach().numpy(), their_logits.detach().numpy(), "logits")
    assert_close(our_loss.item(), their_loss.item(), "loss")
    their_params = dict(theirs.named_parameters())
    our_params = dict(ours.named_parameters())
    assert list(our_params) == list(their_params)
    # a gradient that is zero in exact arithmetic (a conv bias followed by a train-mode BN) is
    # rounding noise in both: compare it on the scale of its layer's weight gradient
    for name, param in our_params.items():
        their_grad = their_params[name].grad.numpy()
        assert param.grad is not None, f"{name}: no gradient"
        scale = None
        if name.endswith("bias"):
            weight = their_params.get(name[:-4] + "weight")
            if weight is not None and weight.grad is not None:
                scale = max(np.abs(their_grad).max(), np.abs(weight.grad.numpy()).max())
        assert_close(param.grad.numpy(), their_grad, f"grad of {name}", scale)
    their_buffers = dict(theirs.named_buffers())
    for name, buffer in ours.named_buffers():
        assert_close(buffer.numpy(), their_buffers[name].numpy(), f"buffer {name}")
    return our_logits


def count(model):
    return sum(int(np.prod(p.shape)) for p in model.parameters())


# ---------------------------------------------------------------------------------------------
# MLP and LeNet5
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_mlp_matches_torch(mode):
    tg.manual_seed(0)
    ours = models.MLP(784, (64, 32), 10)
    theirs = ref.MLP(784, (64, 32), 10)
    check_parity(ours, theirs, (4, 1, 28, 28), mode, 10)
    assert count(ours) == sum(p.numel() for p in theirs.parameters())


def test_mlp_default_parameter_count_and_dropout_layers():
    model = models.MLP()
    assert count(model) == 269_322 == sum(p.numel() for p in ref.MLP().parameters())
    assert "269,322" in models.mlp.__doc__
    with_dropout = models.MLP(hidden=(8, 8), dropout=0.5)
    assert [type(m).__name__ for m in with_dropout.layers] == \
        ["Flatten", "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]
    assert list(with_dropout.state_dict()) == list(ref.MLP(784, (8, 8), 10, 0.5).state_dict())


def test_mlp_bad_arguments_and_input():
    with pytest.raises(ValueError, match="MLP: .*positive integers"):
        models.MLP(hidden=(0,))
    with pytest.raises(ValueError, match="MLP: dropout"):
        models.MLP(dropout=1.5)
    with pytest.raises(ValueError, match=r"MLP: each input must flatten to 784 .*\(2, 3, 32, 32\)"):
        models.MLP()(tg.zeros(2, 3, 32, 32))


@pytest.mark.parametrize("in_channels,size", [(1, 28), (3, 32)])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_lenet5_matches_torch(in_channels, size, mode):
    tg.manual_seed(1)
    ours = models.LeNet5(num_classes=10, in_channels=in_channels)
    theirs = ref.LeNet5(10, in_channels, size)
    check_parity(ours, theirs, (3, in_channels, size, size), mode, 10)


def test_lenet5_parameter_counts_are_those_documented():
    assert count(models.LeNet5()) == 61_706
    assert count(models.LeNet5(in_channels=3)) == 83_126
    for n in ("61,706", "83,126"):
        assert n in models.lenet.__doc__
    with pytest.raises(ValueError, match=r"LeNet5: expected input of shape \(N, 1, 28, 28\), got "
                                         r"\(2, 1, 32, 32\)"):
        models.LeNet5()(tg.zeros(2, 1, 32, 32))


# ---------------------------------------------------------------------------------------------
# VGG
# ---------------------------------------------------------------------------------------------
def test_vgg11_bn_matches_torch():
    """Train and eval parity at 32 × 32 (the 1 × 1 maps after the last pooling are replicated to
    7 × 7 by ``avgpool``).  One test, so that the ~130 M weights of VGG-11 are drawn once per run
    (a module fixture would be built again by each pytest-xdist worker)."""
    tg.manual_seed(2)
    ours = models.vgg11_bn(num_classes=1000, dropout=0.0, init_weights=False)
    randomize_batchnorm(ours, seed=3)
    with torch.device("meta"):  # skip torch's own initialisation: ours is copied over
        theirs = ref.vgg("A", batch_norm=True, num_classes=1000, dropout=0.0)
    theirs.to_empty(device="cpu")
    for mode in ("train", "eval"):
        ours.zero_grad()
        theirs.zero_grad()
        check_parity(ours, theirs, (2, 3, 32, 32), mode, 1000)

    assert count(ours) == sum(p.numel() for p in theirs.parameters()) == 132_868_840


def classifier_size():
    """Parameters of torchvision's VGG classifier with 1000 classes (the same for every depth)."""
    with torch.device("meta"):
        return sum(p.numel() for p in ref.vgg("A").classifier.parameters())


@pytest.mark.parametrize("name,cfg,batch_norm,size", [
    ("vgg11", "A", False, 132_863_336), ("vgg11_bn", "A", True, 132_868_840),
    ("vgg13", "B", False, 133_047_848), ("vgg13_bn", "B", True, 133_053_736),
    ("vgg16", "D", False, 138_357_544), ("vgg16_bn", "D", True, 138_365_992),
    ("vgg19", "E", False, 143_667_240), ("vgg19_bn", "E", True, 143_678_248),
])
def test_every_vgg_has_torchvisions_features_and_size(monkeypatch, name, cfg, batch_norm, size):
    """Each constructor builds its configuration's ``features`` with torchvision's names and
    repr, and features + classifier have torchvision's documented size.  VGG itself is replaced
    by a recorder (drawing 120 M classifier weights per depth would be slow): its classifier is
    the same for every depth and checked against torch by the VGG-11 parity test."""
    calls = []
    monkeypatch.setattr(models.vgg, "VGG", lambda features, **kw: calls.append(kw) or features)
    ours = getattr(models, name)(num_classes=7, in_channels=3, dropout=0.25)
    assert calls == [dict(num_classes=7, init_weights=True, dropout=0.25)]
    with torch.device("meta"):
        theirs = ref.make_layers(ref.VGG_CONFIGS[cfg], batch_norm)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    assert count(ours) == sum(p.numel() for p in theirs.parameters())
    with torch.device("meta"):
        assert sum(p.numel() for p in ref.vgg(cfg, batch_norm).parameters()) == size
    assert count(ours) + classifier_size() == size
    assert f"{size:,}" in getattr(models, name).__doc__


def test_vgg_initialisation_is_torchvisions():
    """init_vgg_weights (what VGG runs when init_weights=True) on a small stack of each layer."""
    tg.manual_seed(4)
    model = tg.nn.Sequential(tg.nn.Conv2d(16, 64, 3), tg.nn.BatchNorm2d(64), tg.nn.ReLU(),
                             tg.nn.Flatten(), tg.nn.Linear(512, 256))
    randomize_batchnorm(model)
    models.vgg.init_vgg_weights(model)
    w = model[0].weight.detach().numpy()
    fan_out = w.shape[0] * w.shape[2] * w.shape[3]
    assert abs(w.std() / np.sqrt(2.0 / fan_out) - 1) < 0.05
    assert abs(w.mean()) < 0.05 * w.std()
    assert not model[0].bias.detach().numpy().any()
    assert (model[1].weight.detach().numpy() == 1).all()
    assert not model[1].bias.detach().numpy().any()
    assert abs(model[4].weight.detach().numpy().std() / 0.01 - 1) < 0.05
    assert not model[4].bias.detach().numpy().any()


@pytest.mark.parametrize("cfg,batch_norm,in_channels,size", [
    ("three_blocks", True, 3, 32),
    ("three_blocks", True, 1, 28),
    ("two_blocks", False, 3, 32),
])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_vgg_mini_matches_torch(cfg, batch_norm, in_channels, size, mode):
    tg.manual_seed(5)
    ours = models.vgg_mini(num_classes=10, in_channels=in_channels, batch_norm=batch_norm,
                           cfg=cfg, dropout=0.0)
    randomize_batchnorm(ours, seed=6)
    theirs = ref.VGGMini(10, in_channels, batch_norm, cfg, dropout=0.0, input_size=size)
    check_parity(ours, theirs, (2, in_channels, size, size), mode, 10)


def test_vgg_mini_parameter_counts_are_those_documented():
    doc = models.vgg_mini.__doc__
    cases = [(dict(), "815,018"), (dict(in_channels=1), "585,066"),
             (models.BENCHMARK_CONFIG, "1,116,970")]
    for kwargs, documented in cases:
        n = count(models.vgg_mini(**kwargs))
        assert f"{n:,}" == documented and documented in doc, (kwargs, n)


def test_vgg_mini_errors():
    with pytest.raises(ValueError, match=r"vgg_mini: unknown cfg 'five'; known: "
                                         r"\['three_blocks', 'two_blocks'\]"):
        models.vgg_mini(cfg="five")
    with pytest.raises(ValueError, match="pooled to nothing"):
        models.vgg_mini(cfg=[8, "M", 8, "M", 8, "M"], input_size=4)
    model = models.vgg_mini(in_channels=1)
    with pytest.raises(ValueError, match=r"VGGMini: expected input of shape \(N, 1, 28, 28\), "
                                         r"got \(2, 3, 32, 32\)"):
        model(tg.zeros(2, 3, 32, 32))


# ---------------------------------------------------------------------------------------------
# ResNet
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_resnet18_matches_torch_at_64x64(mode):
    tg.manual_seed(7)
    ours = models.resnet18(num_classes=10)
    randomize_batchnorm(ours, seed=8)
    theirs = ref.resnet18(num_classes=10)
    # 64 × 64, not 32 × 32: layer4's maps are then 2 × 2, so a train-mode BN normalises 8 values
    # per channel; with 2 values (batch 2 of 1 × 1 maps) x - mean is ± a tiny difference and
    # float32 rounding is amplified ~1000× in both libraries
    check_parity(ours, theirs, (2, 3, 64, 64), mode, 10)


def test_resnet_names_and_parameter_counts_equal_torchvisions():
    for ours_fn, theirs_fn, documented in [(models.resnet18, ref.resnet18, 11_689_512),
                                           (models.resnet34, ref.resnet34, 21_797_672)]:
        ours = ours_fn()
        with torch.device("meta"):
            theirs = theirs_fn()
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert count(ours) == sum(p.numel() for p in theirs.parameters()) == documented
        assert f"{documented:,}" in ours_fn.__doc__
    assert "layer1.0.conv1.weight" in ours.state_dict()
    assert "layer2.0.downsample.0.weight" in ours.state_dict()
    assert "layer2.0.downsample.1.running_var" in ours.state_dict()


def test_resnet_initialisation_is_torchvisions():
    tg.manual_seed(9)
    model = models.resnet18(num_classes=10, zero_init_residual=True)
    for name, m in model.named_modules():
        if isinstance(m, tg.nn.Conv2d):
            w = m.weight.detach().numpy()
            fan_out = w.shape[0] * w.shape[2] * w.shape[3]
            assert abs(w.std() / np.sqrt(2.0 / fan_out) - 1) < 0.15, name
            assert m.bias is None
        elif isinstance(m, tg.nn.BatchNorm2d):
            expected = 0.0 if re.fullmatch(r"layer\d\.\d\.bn2", name) else 1.0
            assert (m.weight.detach().numpy() == expected).all(), name
            assert not m.bias.detach().numpy().any(), name
    bound = 1 / np.sqrt(512)  # the fc keeps nn.Linear's default U(-1/√in, 1/√in)
    assert np.abs(model.fc.weight.detach().numpy()).max() <= bound
    assert model.fc.weight.detach().numpy().std() > 0.5 * bound / np.sqrt(3)


@pytest.mark.parametrize("shortcut", ["A", "B"])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_resnet_cifar_matches_torch(shortcut, mode):
    tg.manual_seed(10)
    ours = models.resnet_cifar(depth=20, num_classes=10, shortcut=shortcut)
    randomize_batchnorm(ours, seed=11)
    theirs = ref.CifarResNet(20, 10, shortcut=shortcut)
    check_parity(ours, theirs, (2, 3, 32, 32), mode, 10)


@pytest.mark.parametrize("depth,shortcut", [(20, "A"), (20, "B"), (56, "A")])
def test_resnet_cifar_parameter_counts_are_those_documented(depth, shortcut):
    model = models.resnet_cifar(depth, shortcut=shortcut)
    with torch.device("meta"):
        expected = sum(p.numel() for p in ref.CifarResNet(depth, 10, shortcut=shortcut).parameters())
    assert count(model) == expected
    assert f"{expected:,}" in models.resnet.__doc__


def test_resnet_cifar_option_a_shortcut_pads_zero_channels():
    x = tg.randn(2, 16, 8, 8, requires_grad=True)
    y = models.ZeroPadShortcut(16, 32, 2)(x)
    assert y.shape == (2, 32, 4, 4)
    np.testing.assert_array_equal(y.detach().numpy()[:, :16], x.detach().numpy()[:, :, ::2, ::2])
    assert not y.detach().numpy()[:, 16:].any()
    y.sum().backward()
    expected = np.zeros((2, 16, 8, 8), np.float32)
    expected[:, :, ::2, ::2] = 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_resnet_cifar_bad_arguments():
    with pytest.raises(ValueError, match=r"depth must be 6n \+ 2"):
        models.resnet_cifar(depth=18)
    with pytest.raises(ValueError, match="shortcut must be 'A'"):
        models.resnet_cifar(shortcut="C")


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_airbench_net_matches_torch(mode):
    # small widths keep the test fast; the layers and their order are those of airbench48/64
    tg.manual_seed(12)
    ours = models.AirbenchNet(10, 3, widths=(8, 16, 16))
    randomize_batchnorm(ours, seed=13)
    check_parity(ours, ref.AirbenchNet((8, 16, 16)), (3, 3, 32, 32), mode, 10)


def test_airbench_parameter_counts_and_input_errors():
    for name, widths in models.airbench.AIRBENCH_WIDTHS.items():
        with torch.device("meta"):
            expected = sum(p.numel() for p in ref.AirbenchNet(widths).parameters())
        assert count(models.get_model(name)) == expected
    assert count(models.airbench48()) == 1_113_312            # the number its docstring quotes (1.1M)
    assert models.airbench48(in_channels=1)(tg.randn(2, 1, 28, 28)).shape == (2, 10)   # MNIST fits too
    with pytest.raises(ValueError, match=r"AirbenchNet: expected input of shape \(N, 3, H, W\) "
                                         r"with H, W >= 24, got \(2, 3, 16, 16\)"):
        models.airbench48()(tg.randn(2, 3, 16, 16))
    with pytest.raises(ValueError, match="widths must be three channel counts"):
        models.AirbenchNet(widths=(8, 16))


# ---------------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------------
def test_registry_lists_and_builds_models():
    names = models.list_models()
    assert names == sorted(names)
    for name in ["mlp", "lenet5", "vgg_mini", "vgg11", "vgg16_bn", "vgg19", "resnet18", "resnet34",
                 "resnet_cifar", "resnet20"]:
        assert name in names
    assert isinstance(models.get_model("vgg-mini", num_classes=5, in_channels=1), models.VGGMini)
    assert isinstance(models.get_model("ResNet20"), models.CifarResNet)
    assert models.get_model("mlp", hidden=(16,)).layers[1].out_features == 16


def test_registry_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"unknown model 'alexnet'; known models: .*lenet5, mlp, "
                                         r"resnet18"):
        models.get_model("alexnet")
    with pytest.raises(TypeError, match=r"get_model\('mlp'\): .*num_layers.*it accepts: "
                                        r"in_features, hidden, num_classes, dropout"):
        models.get_model("mlp", num_layers=3)
    with pytest.raises(TypeError, match="model name must be a string"):
        models.get_model(None)


def test_models_are_reachable_from_the_package():
    assert tg.models is models


# ---------------------------------------------------------------------------------------------
# printing and inference
# ---------------------------------------------------------------------------------------------
def test_models_print_like_their_torch_twins():
    ours = [models.MLP(dropout=0.1), models.LeNet5(), models.vgg_mini(), models.resnet18(),
            models.resnet_cifar(20, shortcut="B")]
    with torch.device("meta"):
        theirs = [ref.MLP(dropout=0.1), ref.LeNet5(), ref.VGGMini(), ref.resnet18(),
                  ref.CifarResNet(20, shortcut="B")]
    for a, b in zip(ours, theirs):
        assert repr(a) == repr(b)


@pytest.mark.parametrize("build", [
    lambda: models.resnet_cifar(20),
    lambda: models.vgg_mini(batch_norm=False, cfg="two_blocks"),
    lambda: models.MLP(3 * 32 * 32, (32,)),
])
def test_inference_without_graph_equals_recorded_eval_and_keeps_the_input(build):
    """Under no_grad the in-place ReLUs write into memory: they must not touch the input or a
    value still needed (a ResNet's shortcut)."""
    tg.manual_seed(12)
    model = build().eval()
    x = tg.randn(2, 3, 32, 32)
    before = x.numpy().copy()
    recorded = model(x).detach().numpy()
    with tg.no_grad():
        fast = model(x).numpy()
    np.testing.assert_array_equal(x.numpy(), before)
    np.testing.assert_allclose(fast, recorded, rtol=1e-6, atol=1e-6)
