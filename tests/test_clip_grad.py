"""nn.utils.clip_grad_norm_ / clip_grad_value_ against torch.nn.utils: the same total norm and
the same clipped gradients (float32 rounding), for the 2-norm, the inf-norm and other p, with
grads missing, below and above the limit, non-finite norms; plus versions and errors."""
import warnings

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
import tinygrad_edu.nn as nn


def twin_params(shapes, scale=1.0, seed=0, dtype=np.float32, missing=()):
    """Parameters with identical gradients in both libraries (the i-th grad left None when i in
    ``missing``)."""
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for i, shape in enumerate(shapes):
        value = rng.standard_normal(shape).astype(dtype)
        p, q = nn.Parameter(tg.tensor(value.copy())), torch.nn.Parameter(torch.tensor(value.copy()))
        if i not in missing:
            g = (scale * rng.standard_normal(shape)).astype(dtype)
            p.grad, q.grad = tg.tensor(g.copy()), torch.tensor(g.copy())
        ours.append(p)
        theirs.append(q)
    return ours, theirs


SHAPES = [(16, 5), (16,), (3, 16), (3,), (2, 3, 4, 4)]


def assert_same_grads(ours, theirs, rtol=1e-6):
    for p, q in zip(ours, theirs):
        if q.grad is None:
            assert p.grad is None
            continue
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("norm_type", [2.0, float("inf"), 1, 3.5, 0.5, float("-inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])   # clipping, and a limit far above the norm
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = twin_params(SHAPES, scale=3.0, missing=(3,))
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, tg.Tensor) and total.shape == () and total.dtype == np.float32
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-6)
    assert_same_grads(ours, theirs)
    if total.item() > max_norm:   # clipped: the gradients now have norm max_norm
        after = nn.utils.get_total_norm([p.grad for p in ours if p.grad is not None], norm_type)
        np.testing.assert_allclose(after.item(), max_norm, rtol=1e-5)
    else:                         # under the limit: scaled by exactly 1
        assert_same_grads(ours, twin_params(SHAPES, scale=3.0, missing=(3,))[0], rtol=0)
    assert (total.item() > max_norm) == (max_norm == 0.5 and norm_type != float("-inf"))


def test_clip_grad_norm_is_the_norm_of_all_gradients_as_one_vector():
    ours, _ = twin_params(SHAPES, scale=2.0, seed=3)
    flat = np.concatenate([p.grad.numpy().ravel() for p in ours]).astype(np.float64)
    before = [p.grad.numpy().copy() for p in ours]
    total = nn.utils.clip_grad_norm_(iter(ours), max_norm=1.0)   # any iterable
    np.testing.assert_allclose(total.item(), np.linalg.norm(flat), rtol=1e-6)
    coef = 1.0 / (np.linalg.norm(flat) + 1e-6)
    for p, b in zip(ours, before):
        np.testing.assert_allclose(p.grad.numpy(), b * coef, rtol=1e-6)
    total_inf = nn.utils.clip_grad_norm_(ours, max_norm=10.0, norm_type="inf")
    np.testing.assert_allclose(total_inf.item(), np.abs(flat * coef).max(), rtol=1e-6)


def test_clip_grad_norm_on_one_tensor_and_float64():
    (p,), (q,) = twin_params([(4, 4)], scale=5.0, dtype=np.float64)
    total = nn.utils.clip_grad_norm_(p, 2.0)
    expected = torch.nn.utils.clip_grad_norm_(q, 2.0)
    assert total.dtype == np.float64 and p.grad.dtype == np.float64
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-14)
    np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-14)


def test_clip_grad_norm_without_gradients_returns_zero():
    ours = [nn.Parameter(tg.ones(3)), nn.Parameter(tg.ones(2))]
    total = nn.utils.clip_grad_norm_(ours, 1.0)
    assert total.item() == torch.nn.utils.clip_grad_norm_(
        [torch.nn.Parameter(torch.ones(3))], 1.0).item() == 0.0
    assert all(p.grad is None for p in ours)
    with pytest.warns(UserWarning, match="`parameters` is an empty generator"):
        nn.utils.clip_grad_norm_((p for p in []), 1.0)


@pytest.mark.parametrize("bad", [np.inf, np.nan])
@pytest.mark.parametrize("norm_type", [2.0, float("inf")])
def test_non_finite_norm(bad, norm_type):
    ours, theirs = twin_params(SHAPES[:3])
    ours[1].grad.data[2] = bad
    theirs[1].grad[2] = bad
    with pytest.raises(RuntimeError, match=f"The total norm of order {norm_type} for gradients "
                                           "from `parameters` is non-finite"):
        nn.utils.clip_grad_norm_(ours, 1.0, norm_type=norm_type, error_if_nonfinite=True)
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type, error_if_nonfinite=True)
    untouched = ours[0].grad.numpy().copy()
    np.testing.assert_array_equal(ours[0].grad.numpy(), untouched)   # an error changes nothing
    # without the check, both scale by the non-finite norm: zeros (inf) or NaNs (nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        total = nn.utils.clip_grad_norm_(ours, 1.0, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type)
    np.testing.assert_array_equal(total.numpy(), expected.numpy())
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


@pytest.mark.parametrize("clip_value", [0.1, 1.0, 100.0])
def test_clip_grad_value_matches_torch(clip_value):
    ours, theirs = twin_params(SHAPES, scale=2.0, missing=(1,))
    assert nn.utils.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    for p, q in zip(ours, theirs):
        if q.grad is not None:
            np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
            assert np.abs(p.grad.numpy()).max() <= clip_value
    assert ours[1].grad is None


def test_clipping_changes_grads_in_place_and_bumps_versions():
    p = nn.Parameter(tg.ones(4))
    (p * tg.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    grad = p.grad
    version = grad._version
    nn.utils.clip_grad_norm_([p], 1.0)
    assert p.grad is grad and grad._version == version + 1
    np.testing.assert_allclose(np.linalg.norm(grad.numpy()), 1.0, rtol=1e-5)
    nn.utils.clip_grad_value_([p], 0.3)
    assert p.grad is grad and grad._version == version + 2
    assert np.abs(grad.numpy()).max() == pytest.approx(0.3)


def test_clip_grad_norm_inside_a_training_step_matches_torch():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    ours = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    our_opt = tg.optim.SGD(ours.parameters(), lr=0.5)
    their_opt = torch.optim.SGD(theirs.parameters(), lr=0.5)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 5)).astype(np.float32), rng.integers(0, 3, 32)
    for _ in range(30):
        our_opt.zero_grad()
        tg.nn.functional.cross_entropy(ours(tg.tensor(x)), tg.tensor(y)).backward()
        a = nn.utils.clip_grad_norm_(ours.parameters(), 0.1)
        our_opt.step()
        their_opt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y)).backward()
        b = torch.nn.utils.clip_grad_norm_(theirs.parameters(), 0.1)
        their_opt.step()
        np.testing.assert_allclose(a.item(), b.item(), rtol=1e-5)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_clip_grad_errors():
    with pytest.raises(TypeError, match="clip_grad_norm_: parameters must be Tensors, but item 1 is "
                                        "a ndarray"):
        nn.utils.clip_grad_norm_([nn.Parameter(tg.ones(2)), np.ones(2)], 1.0)
    with pytest.raises(TypeError, match="clip_grad_value_: parameters must be a Tensor or an "
                                        "iterable of Tensors, got float"):
        nn.utils.clip_grad_value_(3.0, 1.0)
    p = nn.Parameter(tg.ones(2))
    p.grad = tg.zeros((0,))
    with pytest.raises(RuntimeError, match="cannot compute the inf norm of an empty gradient"):
        nn.utils.clip_grad_norm_([p], 1.0, norm_type="inf")
    with pytest.warns(FutureWarning, match="clip_grad_norm` is now deprecated"):
        nn.utils.clip_grad_norm([nn.Parameter(tg.ones(2))], 1.0)
