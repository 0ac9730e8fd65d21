"""Conv2d, pooling and normalisation layers against torch.nn with identical weights: forward and
every gradient, train and eval mode, running statistics over several steps, state_dict keys,
repr, default initialisation; the naive loop convolution equals the fast one; im2col and col2im
are adjoint; double backward through a small CNN; clear errors for bad arguments.
(The functional forms are also in the generated op suite: tests/op_registry/conv.py, pooling.py,
batchnorm.py and normalization.py.)"""
import math

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
from tinygrad_edu.autograd import gradcheck, gradgradcheck
from tinygrad_edu.nn.conv import col2im, conv2d_naive, conv_geometry, im2col

torch.set_num_threads(1)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def copy_weights(ours, ref):
    """Load the torch module's state into ours (the same keys: a parity test of the names too)."""
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})


def close(ours, ref, atol=1e-5, rtol=1e-4, what=""):
    ref = ref.detach().numpy() if isinstance(ref, torch.Tensor) else np.asarray(ref)
    ours = np.asarray(ours.detach() if isinstance(ours, tg.Tensor) else ours)
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} vs torch {ref.shape}"
    np.testing.assert_allclose(ours, ref, atol=atol, rtol=rtol, err_msg=what)


def check_step(ours, ref, x, atol=1e-5, rtol=1e-4, seed=1):
    """One forward and backward with the same input and output gradient: outputs, the input's
    gradient and every parameter's gradient must agree."""
    xo = tg.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), ref(xt)
    close(yo, yt, atol, rtol, "output")
    g = rand(*yt.shape, seed=seed)
    yo.backward(tg.tensor(g))
    yt.backward(torch.tensor(g))
    close(xo.grad, xt.grad, atol, rtol, "input gradient")
    named_t = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        close(p.grad, named_t[name].grad, atol, rtol, f"gradient of {name}")


# ---------------------------------------------------------------------------------------------
# convolution: naive = fast, im2col/col2im, layer parity
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [
    dict(),
    dict(stride=2, padding=1),
    dict(padding="same", dilation=2),
    dict(padding=(1, 0), stride=(2, 1), dilation=(1, 2), groups=2),
    dict(padding="valid", groups=4),
])
def test_naive_loop_convolution_equals_im2col(kw):
    x, w, b = rand(2, 4, 6, 5), rand(4, 4 // kw.get("groups", 1), 3, 2, seed=1), rand(4, seed=2)
    fast = F.conv2d(tg.tensor(x), tg.tensor(w), tg.tensor(b), **kw)
    slow = conv2d_naive(x, w, b, **kw)
    assert slow.shape == fast.shape
    np.testing.assert_allclose(fast.numpy(), slow, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(slow, torch.nn.functional.conv2d(
        torch.tensor(x), torch.tensor(w), torch.tensor(b), **kw).numpy(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("stride,padding,dilation,groups", [(1, 1, 1, 1), (2, 0, 2, 2), (3, 2, 1, 1)])
def test_col2im_is_the_adjoint_of_im2col(stride, padding, dilation, groups):
    """<im2col(x), c> = <x, col2im(c)> for every x and c: col2im is exactly the transpose of the
    linear map im2col, which is what makes it the right backward."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 7, 6))
    geom = conv_geometry("test", (7, 6), (3, 2), stride, padding, dilation, groups)
    cols = im2col(x, geom)
    c = rng.standard_normal(cols.shape)
    assert np.isclose((cols * c).sum(), (x * col2im(c, geom, 4)).sum(), rtol=1e-12)


@pytest.mark.parametrize("kw", [
    dict(in_channels=3, out_channels=4, kernel_size=3, padding=1),
    dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, bias=False),
    dict(in_channels=4, out_channels=6, kernel_size=(3, 2), padding="same", dilation=(2, 1), groups=2),
    dict(in_channels=4, out_channels=4, kernel_size=3, padding=1, groups=4),
    dict(in_channels=2, out_channels=3, kernel_size=3, padding=(2, 1), padding_mode="reflect"),
    dict(in_channels=2, out_channels=3, kernel_size=3, padding=1, padding_mode="replicate"),
    dict(in_channels=2, out_channels=3, kernel_size=2, padding="same", padding_mode="circular"),
])
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_conv2d_layer_matches_torch(kw):
    torch.manual_seed(0)
    ref = torch.nn.Conv2d(**kw)
    ours = nn.Conv2d(**kw)
    copy_weights(ours, ref)
    assert repr(ours) == repr(ref)
    assert list(ours.state_dict()) == list(ref.state_dict())
    check_step(ours, ref, rand(2, kw["in_channels"], 7, 6))


def test_conv2d_unbatched_input():
    torch.manual_seed(0)
    ref, ours = torch.nn.Conv2d(2, 3, 3, padding=1), nn.Conv2d(2, 3, 3, padding=1)
    copy_weights(ours, ref)
    check_step(ours, ref, rand(2, 5, 5))


def test_conv2d_default_init_has_torchs_distribution():
    """kaiming_uniform(a=√5): U(±1/√fan_in) for the weight, and U(±1/√fan_in) for the bias."""
    tg.manual_seed(0)
    torch.manual_seed(0)
    ours, ref = nn.Conv2d(16, 64, 3), torch.nn.Conv2d(16, 64, 3)
    bound = 1 / math.sqrt(16 * 9)
    w, wt = ours.weight.detach().numpy(), ref.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.98 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.03 * bound          # the variance of U(±a)
    assert abs(w.std() - wt.std()) < 0.03 * bound and abs(w.mean()) < 0.02 * bound
    b = ours.bias.detach().numpy()
    assert np.abs(b).max() <= bound and b.std() > 0.4 * bound
    assert ours.weight.dtype == np.float32 and ours.weight.shape == (64, 16, 3, 3)
    grouped = nn.Conv2d(8, 4, 3, groups=4)   # fan_in counts the channels of one group only
    assert np.abs(grouped.weight.detach().numpy()).max() <= 1 / math.sqrt(2 * 9)


# ---------------------------------------------------------------------------------------------
# pooling layers
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda lib: lib.MaxPool2d(2),
    lambda lib: lib.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
    lambda lib: lib.MaxPool2d((2, 3), stride=1, dilation=(2, 1)),
    lambda lib: lib.AvgPool2d(2),
    lambda lib: lib.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    lambda lib: lib.AdaptiveAvgPool2d((3, 2)),
    lambda lib: lib.AdaptiveAvgPool2d(1),
])
def test_pool_layers_match_torch(make):
    ours, ref = make(nn), make(torch.nn)
    assert repr(ours) == repr(ref)
    check_step(ours, ref, rand(2, 3, 7, 6))


def test_max_pool_layer_return_indices():
    ours, ref = nn.MaxPool2d(2, return_indices=True), torch.nn.MaxPool2d(2, return_indices=True)
    x = rand(1, 2, 4, 4)
    (yo, io), (yt, it) = ours(tg.tensor(x)), ref(torch.tensor(x))
    close(yo, yt)
    assert io.dtype == np.int64 and (io.numpy() == it.numpy()).all()


def test_max_pool_nan_wins_and_padding_only_windows_pass_no_gradient():
    """A NaN in a window is its maximum (as torch, which keeps the last NaN); a window that
    holds only padding (dilation 2 on a 3-wide image) outputs -inf, and no gradient comes from
    it (torch sends that gradient to an arbitrary in-image entry)."""
    x = np.array([[[[1, np.nan], [np.nan, 2.0]]]], np.float32)
    (yo, io), (yt, it) = F.max_pool2d(tg.tensor(x), 2, return_indices=True), \
        torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    assert np.isnan(yo.numpy()).all() and np.isnan(yt.numpy()).all()
    assert (io.numpy() == it.numpy()).all()
    x = tg.tensor(rand(1, 1, 3, 1), requires_grad=True)
    y = F.max_pool2d(x, 2, stride=1, padding=1, dilation=2)
    assert y.shape == (1, 1, 3, 1) and np.isneginf(y.detach().numpy()).all()
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0)


# ---------------------------------------------------------------------------------------------
# normalisation layers: train steps, running statistics, eval mode
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,shape,kw", [
    ("BatchNorm2d", (4, 3, 5, 4), {}),
    ("BatchNorm2d", (4, 3, 5, 4), {"momentum": None}),
    ("BatchNorm2d", (4, 3, 2, 2), {"affine": False, "momentum": 0.3, "eps": 1e-3}),
    ("BatchNorm1d", (8, 5), {}),
    ("BatchNorm1d", (4, 5, 3), {"bias": False}),
])
def test_batch_norm_train_steps_and_eval_match_torch(cls, shape, kw):
    torch.manual_seed(0)
    ref = getattr(torch.nn, cls)(shape[1], **kw)
    ours = getattr(nn, cls)(shape[1], **kw)
    if ref.weight is not None:  # non-trivial affine parameters
        with torch.no_grad():
            ref.weight.uniform_(0.5, 1.5)
            if ref.bias is not None:
                ref.bias.uniform_(-0.5, 0.5)
    copy_weights(ours, ref)
    assert repr(ours) == repr(ref) and list(ours.state_dict()) == list(ref.state_dict())
    for step in range(3):  # training mode: batch statistics, running statistics updated
        ours.zero_grad()
        ref.zero_grad()
        check_step(ours, ref, rand(*shape, seed=10 + step) * 2 + 1, seed=step)
        close(ours.running_mean, ref.running_mean, what=f"running_mean after step {step}")
        close(ours.running_var, ref.running_var, what=f"running_var after step {step}")
        assert int(ours.num_batches_tracked.item()) == int(ref.num_batches_tracked) == step + 1
    assert ours.num_batches_tracked.dtype == np.int64
    ours.eval()
    ref.eval()
    ours.zero_grad()
    ref.zero_grad()
    before = ours.running_mean.numpy().copy()
    check_step(ours, ref, rand(*shape, seed=20))   # eval: the running statistics normalise
    np.testing.assert_array_equal(ours.running_mean.numpy(), before)
    assert int(ours.num_batches_tracked.item()) == 3


@pytest.mark.parametrize("make", [lambda lib: lib.BatchNorm2d(3), lambda lib: lib.BatchNorm1d(3),
                                  lambda lib: lib.LayerNorm((2, 3)), lambda lib: lib.GroupNorm(3, 3)])
def test_norm_layers_default_state_equals_torchs(make):
    """weight ones, bias zeros, running_mean zeros, running_var ones, num_batches_tracked 0."""
    ours, ref = make(nn), make(torch.nn)
    theirs = ref.state_dict()
    for key, value in ours.state_dict().items():
        assert value.dtype == theirs[key].numpy().dtype, key
        np.testing.assert_array_equal(value.numpy(), theirs[key].numpy(), err_msg=key)


def test_batch_norm_without_running_stats_uses_batch_stats_in_eval():
    ours, ref = nn.BatchNorm2d(3, track_running_stats=False), \
        torch.nn.BatchNorm2d(3, track_running_stats=False)
    assert ours.running_mean is None and list(ours.state_dict()) == ["weight", "bias"]
    ours.eval()
    ref.eval()
    check_step(ours, ref, rand(4, 3, 3, 3))


def test_batch_norm_state_dict_round_trip_with_torch():
    torch.manual_seed(0)
    ref = torch.nn.BatchNorm2d(4)
    ref(torch.randn(8, 4, 3, 3))   # running statistics away from their defaults
    ours = nn.BatchNorm2d(4)
    copy_weights(ours, ref)
    close(ours.running_var, ref.running_var)
    assert int(ours.num_batches_tracked.item()) == 1
    back = torch.nn.BatchNorm2d(4)
    back.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in ours.state_dict().items()})
    close(ours.running_mean, back.running_mean)


@pytest.mark.parametrize("make,shape", [
    (lambda lib: lib.LayerNorm(6), (2, 3, 6)),
    (lambda lib: lib.LayerNorm((3, 4), eps=1e-3), (2, 3, 4)),
    (lambda lib: lib.LayerNorm(5, elementwise_affine=False), (4, 5)),
    (lambda lib: lib.LayerNorm(5, bias=False), (4, 5)),
    (lambda lib: lib.GroupNorm(2, 4), (2, 4, 3, 3)),
    (lambda lib: lib.GroupNorm(3, 6, affine=False), (2, 6, 5)),
    (lambda lib: lib.GroupNorm(1, 4, eps=1e-3), (3, 4, 2, 2)),
])
def test_layer_and_group_norm_match_torch(make, shape):
    torch.manual_seed(0)
    ours, ref = make(nn), make(torch.nn)
    if ref.weight is not None:
        with torch.no_grad():
            ref.weight.uniform_(0.5, 1.5)
            if ref.bias is not None:
                ref.bias.uniform_(-0.5, 0.5)
    copy_weights(ours, ref)
    assert repr(ours) == repr(ref) and list(ours.state_dict()) == list(ref.state_dict())
    check_step(ours, ref, rand(*shape) * 3 - 1)


# ---------------------------------------------------------------------------------------------
# a small CNN end to end, and its double backward
# ---------------------------------------------------------------------------------------------
def small_cnn(lib):
    return lib.Sequential(
        lib.Conv2d(3, 8, 3, padding=1), lib.BatchNorm2d(8), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(8, 8, 3, padding="same", groups=2, bias=False), lib.GroupNorm(2, 8), lib.ReLU(),
        lib.AvgPool2d(2), lib.AdaptiveAvgPool2d(1), lib.Flatten(), lib.Linear(8, 5))


def test_small_cnn_matches_torch_in_train_and_eval_mode():
    torch.manual_seed(0)
    ref, ours = small_cnn(torch.nn), small_cnn(nn)
    copy_weights(ours, ref)
    assert list(ours.state_dict()) == list(ref.state_dict())
    x = rand(4, 3, 8, 8)
    check_step(ours, ref, x, atol=2e-5, rtol=1e-3)
    close(ours[1].running_var, ref[1].running_var)
    ours.eval()
    ref.eval()
    ours.zero_grad()
    ref.zero_grad()
    check_step(ours, ref, x, atol=2e-5, rtol=1e-3, seed=3)


def test_double_backward_through_conv_batchnorm_pool():
    """Second derivatives (gradgradcheck, float64) through conv, batch norm in training mode,
    max and average pooling: every op's backward is itself differentiable."""
    tg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 2, 2, padding=1), nn.BatchNorm2d(2), nn.Tanh(),
                          nn.MaxPool2d(2, stride=1), nn.AvgPool2d(2)).double()
    x = tg.tensor(np.random.default_rng(0).standard_normal((2, 2, 3, 3)), requires_grad=True)
    w = model[0].weight
    assert gradcheck(lambda x, w: model(x), (x, w))
    assert gradgradcheck(lambda x, w: model(x), (x, w))


def test_module_double_keeps_num_batches_tracked_integer():
    bn = nn.BatchNorm2d(3).double()
    assert bn.running_mean.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64
    bn(tg.tensor(rand(2, 3, 2, 2).astype(np.float64)))
    assert int(bn.num_batches_tracked.item()) == 1


# ---------------------------------------------------------------------------------------------
# errors name the op, the shapes and what was expected
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call,pattern", [
    (lambda: F.conv2d(tg.zeros(3, 5), tg.zeros(2, 3, 3, 3)),
     r"conv2d: expected a 3-D \(unbatched\) or 4-D .* got shape \(3, 5\)"),
    (lambda: F.conv2d(tg.zeros(1, 4, 5, 5), tg.zeros(2, 3, 3, 3)),
     r"conv2d: given groups=1, weight of size \(2, 3, 3, 3\), expected input \(1, 4, 5, 5\) to "
     r"have 3 channels, but got 4"),
    (lambda: F.conv2d(tg.zeros(1, 3, 2, 2), tg.zeros(2, 3, 3, 3)),
     r"conv2d: calculated padded input size per channel: \(2 x 2\). Kernel size: \(3 x 3\)"),
    (lambda: F.conv2d(tg.zeros(1, 3, 5, 5), tg.zeros(2, 3, 3, 3), stride=2, padding="same"),
     r"conv2d: padding='same' is not supported for strided convolutions"),
    (lambda: F.conv2d(tg.zeros(1, 3, 5, 5), tg.zeros(2, 3, 3, 3), padding="full"),
     r"conv2d: invalid padding string 'full'"),
    (lambda: F.conv2d(tg.zeros(1, 4, 5, 5), tg.zeros(3, 2, 3, 3), groups=2),
     r"conv2d: out_channels \(3, weight \(3, 2, 3, 3\)\) must be divisible by groups=2"),
    (lambda: F.conv2d(tg.zeros(1, 3, 5, 5), tg.zeros(2, 3, 3, 3), tg.zeros(3)),
     r"conv2d: bias must have shape \(2,\)"),
    (lambda: F.conv2d(tg.zeros(1, 3, 5, 5), tg.zeros(2, 3, 3)), r"conv2d: weight must be 4-D"),
    (lambda: nn.Conv2d(4, 6, 3, groups=3), r"Conv2d: in_channels \(4\) must be divisible by groups \(3\)"),
    (lambda: nn.Conv2d(4, 6, 3, groups=4), r"Conv2d: .*divisible by groups"),
    (lambda: nn.Conv2d(2, 2, 3, padding_mode="mirror"), r"Conv2d: padding_mode must be one of"),
    (lambda: nn.Conv2d(3, 2, 3)(tg.zeros(1, 2, 5, 5)), r"conv2d: .*expected input \(1, 2, 5, 5\) "
                                                      r"to have 3 channels"),
    (lambda: F.max_pool2d(tg.zeros(1, 1, 5, 5), 3, padding=2),
     r"max_pool2d: pad should be at most half of the kernel size"),
    (lambda: F.max_pool2d(tg.zeros(1, 1, 2, 2), 3), r"max_pool2d: given input size \(1, 2, 2\), "
                                                   r"the calculated output size is \(1, 0, 0\)"),
    (lambda: F.avg_pool2d(tg.zeros(2, 5), 2), r"avg_pool2d: expected a 3-D \(C, H, W\) or 4-D"),
    (lambda: F.max_pool2d(tg.zeros(1, 1, 4, 4), 2, stride=0), r"max_pool2d: stride must be >= 1"),
    (lambda: nn.BatchNorm2d(3)(tg.zeros(2, 3, 4)), r"BatchNorm2d: expected 4D input \(got 3D input"),
    (lambda: nn.BatchNorm1d(3)(tg.zeros(2, 4)), r"BatchNorm1d: expected an input with 3 channels"),
    (lambda: F.batch_norm(tg.zeros(1, 3), tg.zeros(3), tg.ones(3), training=True),
     r"batch_norm: expected more than 1 value per channel when training, got input of shape \(1, 3\)"),
    (lambda: F.batch_norm(tg.zeros(2, 3), None, None), r"batch_norm: running_mean and running_var "
                                                      r"must be given in evaluation mode"),
    (lambda: F.batch_norm(tg.zeros(2, 3), tg.zeros(4), tg.ones(4)),
     r"batch_norm: running_mean must have shape \(3,\) for an input of shape \(2, 3\)"),
    (lambda: F.layer_norm(tg.zeros(2, 3), (4,)), r"layer_norm: given normalized_shape=\(4,\), "
                                                r"expected an input with shape \(\*, 4\), but got"),
    (lambda: F.group_norm(tg.zeros(2, 6, 3), 4), r"group_norm: expected the number of channels .*"
                                                 r"\(2, 6, 3\) \(6\) to be divisible by num_groups=4"),
    (lambda: nn.GroupNorm(4, 6), r"GroupNorm: num_channels \(6\) must be divisible by num_groups \(4\)"),
])
def test_errors_name_the_op_and_shapes(call, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        call()
