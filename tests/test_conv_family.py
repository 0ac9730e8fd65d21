"""The convolution-family modules against torch: torch's weights are copied in (the state_dict
loads 1:1), then the forward and every gradient (input, weight, bias) must match.  The
functional ops themselves are covered by the generated suite (tests/op_registry/conv_nd.py,
conv_transpose.py, padding.py, pixel_shuffle.py, fold.py, upsampling.py, pooling_nd.py)."""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F


def _load(ours, theirs):
    state = {k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    assert set(ours.state_dict()) == set(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        assert tuple(ours.state_dict()[k].shape) == tuple(v.shape)


def _compare(ours, theirs, shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    xo = tg.tensor(x, requires_grad=True)
    yt, yo = theirs(xt), ours(xo)
    np.testing.assert_allclose(yo.array, yt.detach().numpy(), atol=1e-5, rtol=1e-4)
    g = np.random.default_rng(seed + 1).standard_normal(tuple(yt.shape)).astype(np.float32)
    yt.backward(torch.tensor(g))
    (yo * tg.tensor(g)).sum().backward()
    np.testing.assert_allclose(xo.grad.array, xt.grad.numpy(), atol=1e-4, rtol=1e-4)
    params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(params[name].grad.array, p.grad.numpy(), atol=1e-4, rtol=1e-4,
                                   err_msg=name)


MODULES = [
    (lambda m: m.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2), (2, 4, 9)),
    (lambda m: m.Conv1d(3, 2, 4, padding="same", bias=False), (3, 7)),
    (lambda m: m.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2), (2, 4, 5)),
    (lambda m: m.ConvTranspose2d(2, 3, (2, 3), stride=(2, 1), padding=(0, 1), output_padding=(1, 0),
                                 dilation=(1, 2)), (2, 2, 3, 4)),
    (lambda m: m.ConvTranspose2d(4, 4, 3, stride=3, groups=4, bias=False), (4, 2, 2)),
    (lambda m: m.PixelShuffle(2), (2, 8, 2, 3)),
    (lambda m: m.PixelUnshuffle(2), (2, 2, 4, 6)),
    (lambda m: m.ReflectionPad2d((1, 2, 0, 1)), (2, 2, 3, 4)),
    (lambda m: m.ReplicationPad2d(2), (1, 2, 3, 3)),
    (lambda m: m.ZeroPad2d((1, 0, 2, 1)), (1, 2, 3, 3)),
    (lambda m: m.ConstantPad2d(1, 2.5), (2, 3, 3)),
    (lambda m: m.Unfold((2, 3), dilation=(2, 1), padding=1, stride=2), (2, 2, 4, 5)),
    (lambda m: m.Fold((4, 5), (2, 3), padding=1, stride=(1, 2)), (2, 12, 15)),
    (lambda m: m.Upsample(scale_factor=2), (1, 2, 3, 2)),
    (lambda m: m.Upsample(size=(5, 4), mode="bilinear", align_corners=True), (2, 1, 3, 2)),
    (lambda m: m.Upsample(scale_factor=1.5, mode="bilinear"), (2, 1, 3, 4)),
    (lambda m: m.Upsample(size=7, mode="linear"), (2, 3, 4)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("make,shape", MODULES, ids=[str(i) for i in range(len(MODULES))])
def test_module_matches_torch(make, shape):
    torch.manual_seed(0)
    theirs = make(torch.nn)
    ours = make(nn)
    if list(theirs.parameters()):
        _load(ours, theirs)
    _compare(ours, theirs, shape)


def test_default_init_matches_torch_bounds():
    ours = nn.ConvTranspose2d(3, 8, 3, groups=1)
    assert tuple(ours.weight.shape) == (3, 8, 3, 3) and tuple(ours.bias.shape) == (8,)
    bound = 1 / np.sqrt(8 * 9)        # fan_in = weight.shape[1] · kh · kw, as torch
    assert np.abs(ours.weight.array).max() <= bound + 1e-7
    assert np.abs(ours.bias.array).max() <= bound + 1e-7
    assert repr(ours) == repr(torch.nn.ConvTranspose2d(3, 8, 3))
    assert repr(nn.Conv1d(2, 4, 3, stride=2)) == repr(torch.nn.Conv1d(2, 4, 3, stride=2))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_gradient_accumulates(mode):
    """Edge entries are copied several times: their gradients must add up."""
    x, w = np.arange(4.0), np.arange(9.0) + 1
    xt = torch.tensor(x, requires_grad=True)
    xo = tg.tensor(x, requires_grad=True)
    (torch.nn.functional.pad(xt[None], (2, 3), mode=mode) * torch.tensor(w)).sum().backward()
    (F.pad(xo[None], (2, 3), mode=mode) * tg.tensor(w)).sum().backward()
    np.testing.assert_array_equal(xo.grad.array, xt.grad.numpy())


def test_pad_nan_inf_propagate():
    x = np.array([[[np.nan, 1.0, np.inf, -np.inf]]])
    for mode in ["reflect", "replicate", "circular"]:
        np.testing.assert_array_equal(F.pad(tg.tensor(x), (2, 2), mode=mode).array,
                                      torch.nn.functional.pad(torch.tensor(x), (2, 2), mode=mode).numpy())


def test_bad_arguments_raise():
    x = tg.randn(1, 2, 3)
    with pytest.raises(RuntimeError, match="reflect"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="output padding"):
        F.conv_transpose1d(x, tg.randn(2, 1, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="channels"):
        F.conv_transpose2d(tg.randn(1, 3, 2, 2), tg.randn(2, 1, 3, 3))
    with pytest.raises(ValueError, match="pixel_shuffle"):
        F.pixel_shuffle(tg.randn(1, 3, 2, 2), 2)


def test_interpolate_bad_arguments():
    x = tg.randn(1, 2, 3, 3)
    with pytest.raises(ValueError, match="exactly one"):
        F.interpolate(x)
    with pytest.raises(NotImplementedError, match="linear"):
        F.interpolate(x, size=4, mode="linear")
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(x, size=4, align_corners=True)
