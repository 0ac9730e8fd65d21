"""The 3-D convolution / pooling modules, the 1-D pools, max unpooling and the padding layers
against torch: torch's weights are copied in, then the forward and the input, weight and bias
gradients must match; ``repr`` strings equal torch's; bad input raises one ValueError naming the
op.  The functional forms are covered by the generated suite (tests/op_registry/conv_nd.py,
pooling_nd.py, unpooling.py and padding.py)."""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F


def _load(ours, theirs):
    ours.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    assert set(ours.state_dict()) == set(theirs.state_dict())


def _grad_seed(shape, seed):
    return np.random.default_rng(seed).standard_normal(tuple(shape)).astype(np.float32)


def _check_grads(ours, theirs, xo, xt):
    np.testing.assert_allclose(xo.grad.array, xt.grad.numpy(), atol=1e-4, rtol=1e-4)
    params = dict(ours.named_parameters())
    assert set(params) == {n for n, _ in theirs.named_parameters()}
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(params[name].grad.array, p.grad.numpy(), atol=1e-4, rtol=1e-4,
                                   err_msg=name)


def _compare(ours, theirs, shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    xt, xo = torch.tensor(x, requires_grad=True), tg.tensor(x, requires_grad=True)
    yt, yo = theirs(xt), ours(xo)
    if isinstance(yt, tuple):         # return_indices=True: (values, indices)
        assert yo[1].dtype == tg.int64
        np.testing.assert_array_equal(yo[1].array, yt[1].numpy())
        yt, yo = yt[0], yo[0]
    assert tuple(yo.shape) == tuple(yt.shape)
    np.testing.assert_allclose(yo.array, yt.detach().numpy(), atol=1e-5, rtol=1e-4)
    g = _grad_seed(yt.shape, seed + 1)
    yt.backward(torch.tensor(g))
    yo.backward(tg.tensor(g))
    _check_grads(ours, theirs, xo, xt)


MODULES = [
    (lambda m: m.Conv3d(4, 6, (2, 3, 1), stride=(1, 2, 1), padding=(1, 0, 1), dilation=(2, 1, 1),
                        groups=2), (2, 4, 4, 5, 3)),
    (lambda m: m.Conv3d(3, 2, 3, padding="same", bias=False), (3, 4, 3, 3)),         # unbatched
    (lambda m: m.Conv3d(2, 2, 2, stride=2, padding="valid"), (1, 2, 5, 4, 4)),
    (lambda m: m.Conv3d(2, 3, (3, 2, 2), padding=1, padding_mode="reflect"), (2, 2, 3, 3, 4)),
    (lambda m: m.Conv3d(2, 3, 2, padding=(1, 0, 1), padding_mode="replicate"), (1, 2, 3, 2, 3)),
    (lambda m: m.Conv3d(2, 2, 3, padding="same", dilation=(1, 1, 2), padding_mode="circular"),
     (1, 2, 3, 4, 5)),
    (lambda m: m.MaxPool1d(3, stride=2, padding=1, dilation=2, ceil_mode=True), (2, 3, 9)),
    (lambda m: m.MaxPool1d(2, return_indices=True), (3, 7)),
    (lambda m: m.AvgPool1d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), (2, 3, 8)),
    (lambda m: m.AvgPool1d(2), (3, 5)),
    (lambda m: m.MaxPool3d((2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0), dilation=(2, 1, 1),
                           ceil_mode=True), (2, 2, 5, 5, 4)),
    (lambda m: m.MaxPool3d(2, return_indices=True), (2, 4, 5, 4)),                   # unbatched
    (lambda m: m.AvgPool3d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
     (2, 2, 4, 5, 5)),
    (lambda m: m.AvgPool3d((2, 1, 2), divisor_override=3), (1, 2, 4, 3, 4)),
    (lambda m: m.ReflectionPad1d((2, 1)), (2, 3, 4)),
    (lambda m: m.ReflectionPad3d((1, 2, 0, 1, 1, 1)), (2, 2, 3, 3, 3)),
    (lambda m: m.ReplicationPad1d(2), (3, 4)),
    (lambda m: m.ReplicationPad3d(1), (2, 3, 2, 3)),
    (lambda m: m.ZeroPad1d((1, 0)), (2, 3, 4)),
    (lambda m: m.ZeroPad3d((1, 0, 2, 1, 0, 1)), (1, 2, 2, 3, 3)),
    (lambda m: m.ConstantPad1d(2, 1.5), (2, 3)),
    (lambda m: m.ConstantPad3d((1, 1, 0, 2, 1, 0), -0.5), (2, 2, 2, 3, 3)),
    (lambda m: m.CircularPad1d((3, 1)), (2, 2, 3)),
    (lambda m: m.CircularPad2d((1, 2, 2, 0)), (2, 2, 3, 3)),
    (lambda m: m.CircularPad3d(1), (2, 2, 3, 2)),
    (lambda m: m.ReflectionPad2d(1), (2, 2, 3, 3)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("make,shape", MODULES, ids=[str(i) for i in range(len(MODULES))])
def test_module_matches_torch(make, shape):
    torch.manual_seed(0)
    theirs, ours = make(torch.nn), make(nn)
    if list(theirs.parameters()):
        _load(ours, theirs)
    _compare(ours, theirs, shape)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("dims,pool_shape,kw", [
    (1, (2, 3, 7), {"kernel_size": 2}),
    (1, (3, 8), {"kernel_size": 3, "stride": 2, "padding": 1}),
    (2, (2, 2, 5, 6), {"kernel_size": (2, 3), "stride": (2, 2)}),
    (2, (2, 4, 4), {"kernel_size": 2}),
    (3, (2, 2, 4, 5, 4), {"kernel_size": 2}),
    (3, (2, 3, 5, 4), {"kernel_size": (3, 2, 2), "stride": (2, 2, 1), "padding": (1, 0, 0)}),
])
@pytest.mark.parametrize("give_size", [False, True])
def test_max_unpool_modules_match_torch(dims, pool_shape, kw, give_size):
    """MaxPoolNd(return_indices=True) then MaxUnpoolNd, in both libraries: the unpooled values
    and the gradient with respect to the pooled values (the indices are not differentiated)."""
    x = np.random.default_rng(3).standard_normal(pool_shape).astype(np.float32)
    pool_t = getattr(torch.nn, f"MaxPool{dims}d")(**kw, return_indices=True)
    pool_o = getattr(nn, f"MaxPool{dims}d")(**kw, return_indices=True)
    yt, it = pool_t(torch.tensor(x))
    yo, io = pool_o(tg.tensor(x))
    np.testing.assert_array_equal(io.array, it.numpy())
    np.testing.assert_allclose(yo.array, yt.numpy())
    unpool_t = getattr(torch.nn, f"MaxUnpool{dims}d")(**kw)
    unpool_o = getattr(nn, f"MaxUnpool{dims}d")(**kw)
    assert repr(unpool_o) == repr(unpool_t)
    size = list(pool_shape[-dims:]) if give_size else None
    vt = yt.detach().clone().requires_grad_(True)
    vo = tg.tensor(yo.array, requires_grad=True)
    try:
        ut = unpool_t(vt, it, output_size=size)
    except RuntimeError:   # the default output size is too small for the indices: ours refuses too
        assert not give_size
        with pytest.raises(ValueError, match=rf"^max_unpool{dims}d: found an invalid max index"):
            unpool_o(vo, io)
        return
    uo = unpool_o(vo, io, output_size=size)
    assert tuple(uo.shape) == tuple(ut.shape)
    np.testing.assert_allclose(uo.array, ut.detach().numpy())
    g = _grad_seed(ut.shape, 4)
    ut.backward(torch.tensor(g))
    uo.backward(tg.tensor(g))
    np.testing.assert_allclose(vo.grad.array, vt.grad.numpy(), atol=1e-6)


def test_max_unpool_output_size_with_batch_and_channel_dims():
    x = np.random.default_rng(5).standard_normal((1, 2, 5, 5)).astype(np.float32)
    yt, it = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    ours = F.max_unpool2d(tg.tensor(yt.numpy()), tg.tensor(it.numpy()), 2, output_size=(1, 2, 5, 5))
    theirs = torch.nn.functional.max_unpool2d(yt, it, 2, output_size=(1, 2, 5, 5))
    np.testing.assert_allclose(ours.array, theirs.numpy())


def test_conv3d_default_init_matches_torch_bounds():
    ours = nn.Conv3d(4, 6, (2, 3, 1), groups=2)
    assert tuple(ours.weight.shape) == (6, 2, 2, 3, 1) and tuple(ours.bias.shape) == (6,)
    bound = 1 / np.sqrt(2 * 2 * 3 * 1)        # fan_in = weight.shape[1] · kd · kh · kw, as torch
    assert np.abs(ours.weight.array).max() <= bound + 1e-7
    assert np.abs(ours.weight.array).max() > bound / 4          # drawn from the whole range
    assert np.abs(ours.bias.array).max() <= bound + 1e-7
    assert repr(ours) == repr(torch.nn.Conv3d(4, 6, (2, 3, 1), groups=2))
    assert ours.padding_mode == "zeros"


@pytest.mark.parametrize("make", [
    lambda m: m.Conv3d(2, 4, 3),
    lambda m: m.Conv3d(2, 4, (1, 2, 3), stride=2, padding=(0, 1, 1), dilation=(1, 1, 2), groups=2,
                       bias=False),
    lambda m: m.Conv3d(2, 4, 3, padding="same", padding_mode="reflect"),
    lambda m: m.Conv3d(2, 2, 3, padding="valid", padding_mode="circular"),
    lambda m: m.MaxPool1d(3),
    lambda m: m.MaxPool1d(3, 2, 1, 2, ceil_mode=True),
    lambda m: m.MaxPool3d(2, 1, 1, 2, True, True),
    lambda m: m.MaxPool3d((2, 1, 2), stride=(1, 2, 1)),
    lambda m: m.AvgPool1d(3),
    lambda m: m.AvgPool1d(3, 1, 1, True, False),
    lambda m: m.AvgPool3d(2),
    lambda m: m.AvgPool3d((2, 1, 2), 1, 0, True, False, 3),
    lambda m: m.MaxUnpool1d(2),
    lambda m: m.MaxUnpool2d(2, 1),
    lambda m: m.MaxUnpool2d((2, 3), padding=1),
    lambda m: m.MaxUnpool3d((2, 2, 1)),
    lambda m: m.ReflectionPad1d(2),
    lambda m: m.ReflectionPad3d((1, 0, 1, 0, 1, 0)),
    lambda m: m.ReplicationPad1d((1, 2)),
    lambda m: m.ReplicationPad3d(1),
    lambda m: m.ZeroPad1d(1),
    lambda m: m.ZeroPad2d((1, 0, 0, 1)),
    lambda m: m.ZeroPad3d(1),
    lambda m: m.ConstantPad1d(1, 2.5),
    lambda m: m.ConstantPad2d(1, 3.0),
    lambda m: m.ConstantPad3d((1, 0, 1, 0, 1, 0), 0.0),
    lambda m: m.CircularPad1d(1),
    lambda m: m.CircularPad2d((1, 0, 2, 1)),
    lambda m: m.CircularPad3d(1),
])
def test_repr_matches_torch(make):
    assert repr(make(nn)) == repr(make(torch.nn))


def _x(*shape):
    return tg.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))


def _pooled_indices():
    _, idx = torch.nn.functional.max_pool2d(torch.zeros(1, 1, 4, 4), 2, return_indices=True)
    bad = idx.numpy().copy()
    bad[0, 0, 1, 1] = 16                       # one past the last position of the 4 x 4 plane
    return tg.tensor(bad)


BAD = [
    ("conv3d", lambda: F.conv3d(_x(2, 3, 3), _x(2, 2, 1, 1, 1))),                     # 3-D input
    ("conv3d", lambda: F.conv3d(_x(1, 2, 3, 3, 3), _x(2, 2, 1, 1))),                  # 4-D weight
    ("conv3d", lambda: F.conv3d(_x(1, 2, 2, 3, 3), _x(2, 2, 3, 3, 3))),               # kernel too big
    ("conv3d", lambda: F.conv3d(_x(1, 2, 2, 3, 3), _x(2, 2, 2, 2, 2), stride=2, padding="same")),
    ("conv3d", lambda: F.conv3d(_x(1, 3, 3, 3, 3), _x(2, 2, 1, 1, 1))),               # channels
    ("Conv3d", lambda: nn.Conv3d(2, 2, 3, padding=1, padding_mode="reflect")(_x(2, 3, 3))),
    ("max_pool3d", lambda: F.max_pool3d(_x(2, 3, 3), 2)),
    ("max_pool3d", lambda: F.max_pool3d(_x(1, 1, 2, 3, 3), 3)),
    ("max_pool3d", lambda: nn.MaxPool3d(3, padding=1, dilation=3)(_x(1, 1, 3, 3, 3))),
    ("max_pool3d", lambda: F.max_pool3d(_x(1, 1, 4, 4, 4), 2, padding=2)),            # pad > k/2
    ("avg_pool3d", lambda: nn.AvgPool3d(2)(_x(1, 2, 2, 3, 3, 3))),                     # 6-D input
    ("avg_pool3d", lambda: F.avg_pool3d(_x(2, 1, 3, 3), (2, 2, 4))),
    ("avg_pool3d", lambda: F.avg_pool3d(_x(2, 2, 3, 3), 2, divisor_override=0)),
    ("max_pool1d", lambda: nn.MaxPool1d(2)(_x(1, 1, 2, 3))),
    ("max_pool1d", lambda: nn.MaxPool1d(3, dilation=2)(_x(1, 2, 4))),
    ("avg_pool1d", lambda: nn.AvgPool1d(4)(_x(2, 3))),
    ("max_unpool1d", lambda: F.max_unpool1d(_x(3), tg.tensor(np.zeros(3, dtype=np.int64)), 2)),
    ("max_unpool2d", lambda: F.max_unpool2d(_x(1, 1, 2, 2), _pooled_indices(), 2)),
    ("max_unpool2d", lambda: F.max_unpool2d(_x(1, 1, 2, 2), tg.tensor(-np.ones((1, 1, 2, 2), np.int64)), 2)),
    ("max_unpool2d", lambda: F.max_unpool2d(_x(1, 1, 2, 2), _pooled_indices(), 2, output_size=(6, 4))),
    ("max_unpool3d", lambda: nn.MaxUnpool3d(2)(_x(1, 1, 1, 1, 2), tg.tensor(np.zeros((1, 1, 1, 1, 1),
                                                                                    np.int64)))),
    ("max_unpool3d", lambda: nn.MaxUnpool3d(2)(_x(1, 2, 2), tg.tensor(np.zeros((1, 2, 2), np.int64)))),
    ("ReflectionPad3d", lambda: nn.ReflectionPad3d(1)(_x(2, 3, 3))),
    ("ReflectionPad1d", lambda: nn.ReflectionPad1d(1)(_x(1, 2, 3, 3))),
    ("ReplicationPad3d", lambda: nn.ReplicationPad3d(1)(_x(1, 1, 1, 2, 2, 2))),
    ("CircularPad1d", lambda: nn.CircularPad1d(1)(_x(1, 2, 3, 3))),
    ("CircularPad2d", lambda: nn.CircularPad2d(1)(_x(3, 3))),
    ("ConstantPad3d", lambda: nn.ConstantPad3d((1, 1), 0.0)),
]


@pytest.mark.parametrize("op,call", BAD, ids=[f"{op}-{i}" for i, (op, _) in enumerate(BAD)])
def test_bad_input_raises_one_clear_value_error(op, call):
    with pytest.raises(ValueError, match=rf"^{op}: ") as info:
        call()
    assert info.value.__cause__ is None       # one error, not a wrapped NumPy one


def test_double_backward_through_conv3d_and_pools():
    """Second derivatives (the generated suite runs gradgradcheck; here one quick check that
    create_graph works through a small 3-D network as in torch)."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 2, 4, 4, 4))
    w = rng.standard_normal((3, 2, 2, 2, 2))
    results = []
    for lib, F_ in ((tg, F), (torch, torch.nn.functional)):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = F_.avg_pool3d(F_.max_pool3d(F_.conv3d(xt, wt, padding=1), 2, stride=1), 2)
        (gx,) = (tg.autograd.grad if lib is tg else torch.autograd.grad)((y ** 2).sum(), [xt],
                                                                         create_graph=True)
        (gw,) = (tg.autograd.grad if lib is tg else torch.autograd.grad)((gx ** 2).sum(), [wt])
        results.append(gw.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, 2, "same"])
def test_conv1d_padding_modes_match_torch(padding_mode, padding):
    rng = np.random.default_rng(7)
    ours = nn.Conv1d(2, 3, 3, padding=padding, padding_mode=padding_mode)
    ref = torch.nn.Conv1d(2, 3, 3, padding=padding, padding_mode=padding_mode)
    ref.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((2, 2, 6)).astype(np.float32)
    xo, xr = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yr = ours(xo), ref(xr)
    np.testing.assert_allclose(yo.detach().numpy(), yr.detach().numpy(), rtol=1e-5, atol=1e-6)
    yo.sum().backward()
    yr.sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xr.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.weight.grad.numpy(), ref.weight.grad.numpy(), rtol=1e-5, atol=1e-5)
    assert repr(ours) == repr(ref)
