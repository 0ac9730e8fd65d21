"""RMSprop and Adagrad against torch.optim: 100 training steps of the same model on the same data
leave the same parameters (float32 rounding) for every option; the same gradient stream gives the
same parameters to rounding in float32 and to 1e-12 in float64 (where rounding cannot hide a
wrong formula); state_dict round trips (ours and PyTorch's layout); errors.

Tolerance of the model runs: PyTorch's CPU kernels fuse a multiply and an add into one rounding
(FMA) where NumPy rounds twice, so the two float32 runs differ by an ulp per step, and 100 steps
of RMSprop (which divides by a small running RMS) amplify that to a few 1e-6 — as much as
torch's own float32 run differs from its float64 run of the same script (measured: up to 4e-6).
"""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
import tinygrad_edu.optim as optim
from optim_twins import STEPS, check_continuing_from_a_torch_state, data, train, twin_models  # noqa: F401
from optim_twins import assert_same_parameters as _assert_same_parameters



def assert_same_parameters(ours, theirs, rtol=2e-5, atol=5e-6):
    """The shared comparison with this file's tolerance (see the module docstring)."""
    _assert_same_parameters(ours, theirs, rtol=rtol, atol=atol)


CONFIGS = [
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.005, alpha=0.9, eps=1e-6)),
    ("RMSprop", dict(lr=0.005, momentum=0.9)),
    ("RMSprop", dict(lr=0.005, centered=True)),
    ("RMSprop", dict(lr=0.002, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, weight_decay=0.05, foreach=False)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.05)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-6)),
    ("Adagrad", dict(lr=0.2, lr_decay=0.05, weight_decay=0.01, initial_accumulator_value=0.1)),
]


@pytest.mark.parametrize("name,options", CONFIGS, ids=[f"{n}-{o}" for n, o in CONFIGS])
def test_100_steps_match_torch(name, options):
    ours, theirs = twin_models()
    before = [p.detach().numpy().copy() for p in ours.parameters()]
    train(ours, theirs, getattr(optim, name)(ours.parameters(), **options),
          getattr(torch.optim, name)(theirs.parameters(), **options))
    moved = max(np.abs(p.detach().numpy() - b).max() for p, b in zip(ours.parameters(), before))
    assert moved > 1e-2  # the run really trained
    assert_same_parameters(ours, theirs)


@pytest.mark.parametrize("name,options", CONFIGS + [
    ("RMSprop", dict(lr=0.01, alpha=0.3, centered=True)),   # lerp from the other end (weight > 0.5)
    ("RMSprop", dict(lr=0.01, momentum=0.8, maximize=True)),
    ("Adagrad", dict(lr=0.05, maximize=True, weight_decay=0.3))], ids=lambda v: str(v))
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-6), (np.float64, 1e-12)])
def test_same_gradient_stream_gives_the_same_parameters_to_rounding(name, options, dtype, tol):
    """The update rule alone: both optimizers get the same 100 gradients (of wildly varying
    scale), so that no model amplifies rounding differences; the buffers agree too."""
    rng = np.random.default_rng(0)
    start = rng.standard_normal((20, 7)).astype(dtype)
    ours, theirs = nn.Parameter(tg.tensor(start.copy())), torch.nn.Parameter(torch.tensor(start.copy()))
    our_opt = getattr(optim, name)([ours], **options)
    their_opt = getattr(torch.optim, name)([theirs], **options)
    for _ in range(STEPS):
        g = (rng.standard_normal((20, 7)) * 10 ** rng.uniform(-4, 1)).astype(dtype)
        ours.grad, theirs.grad = tg.tensor(g.copy()), torch.tensor(g.copy())
        our_opt.step()
        their_opt.step()
    assert ours.dtype == dtype
    expected = theirs.detach().numpy()
    scale = np.abs(expected).max()
    np.testing.assert_allclose(ours.detach().numpy(), expected, rtol=tol, atol=tol * scale)
    ours_state, their_state = our_opt.state[ours], their_opt.state[theirs]
    assert set(ours_state) == set(their_state)  # the same buffers, under PyTorch's names
    assert ours_state["step"] == their_state["step"].item() == STEPS
    for key, value in their_state.items():
        value = value.numpy()
        np.testing.assert_allclose(np.asarray(ours_state[key]), value, rtol=10 * tol,
                                   atol=10 * tol * np.abs(value).max(), err_msg=key)


def test_rmsprop_first_step_is_lr_over_sqrt_one_minus_alpha():
    """v = (1-α)g² after one step, so the step is γ·g/√((1-α)g²) = γ/√(1-α) per coordinate."""
    p = nn.Parameter(tg.zeros(3))
    opt = optim.RMSprop([p], lr=0.01, alpha=0.99, eps=0.0)
    p.grad = tg.tensor([2.0, -0.5, 7.0])
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), -0.01 / np.sqrt(0.01) * np.sign([2.0, -0.5, 7.0]),
                               rtol=1e-6)


def test_adagrad_step_shrinks_like_one_over_sqrt_t_for_a_steady_gradient():
    """With g constant, s = t g², so step t moves by γ g/(√t |g|) = γ/√t."""
    p = nn.Parameter(tg.zeros(1))
    opt = optim.Adagrad([p], lr=0.1, eps=0.0)
    positions = []
    for _ in range(4):
        p.grad = tg.tensor([3.0])
        opt.step()
        positions.append(p.item())
    steps = -np.diff([0.0] + positions)
    np.testing.assert_allclose(steps, 0.1 / np.sqrt([1, 2, 3, 4]), rtol=1e-6)


@pytest.mark.parametrize("name,options", [("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
                                          ("Adagrad", dict(lr=0.1, lr_decay=0.01))])
def test_state_dict_round_trip_resumes_exactly(name, options):
    make = getattr(optim, name)
    a, _ = twin_models()
    b, _ = twin_models()
    opt_a = make(a.parameters(), **options)
    x, y = data()

    def steps(model, opt, n):
        for _ in range(n):
            opt.zero_grad()
            F.cross_entropy(model(tg.tensor(x)), tg.tensor(y)).backward()
            opt.step()
    steps(a, opt_a, 5)
    saved_model = {k: v.numpy().copy() for k, v in a.state_dict().items()}
    saved_opt = opt_a.state_dict()
    steps(a, opt_a, 5)                        # the snapshot must not follow these steps
    b.load_state_dict(saved_model)
    opt_b = make(b.parameters(), lr=123.0)
    opt_b.load_state_dict(saved_opt)
    assert opt_b.param_groups[0]["lr"] == options["lr"]
    steps(b, opt_b, 5)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


@pytest.mark.parametrize("name,options", [("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
                                          ("Adagrad", dict(lr=0.1, lr_decay=0.02))])
def test_loading_a_torch_optimizer_state_continues_like_torch(name, options):
    check_continuing_from_a_torch_state(name, options, warm_steps=5)


def test_adagrad_state_exists_from_construction_like_torch():
    ours, theirs = twin_models()
    our_sd = optim.Adagrad(ours.parameters(), initial_accumulator_value=0.25).state_dict()
    their_sd = torch.optim.Adagrad(theirs.parameters(), initial_accumulator_value=0.25).state_dict()
    assert sorted(our_sd["state"]) == sorted(their_sd["state"]) == [0, 1, 2, 3]
    for i in range(4):
        assert our_sd["state"][i]["step"] == 0
        np.testing.assert_array_equal(our_sd["state"][i]["sum"].numpy(),
                                      their_sd["state"][i]["sum"].numpy())
    assert set(our_sd["param_groups"][0]) - {"differentiable", "foreach", "fused"} <= \
        set(their_sd["param_groups"][0])


def test_step_bumps_versions_and_leaves_grads_untouched():
    for make in (lambda ps: optim.RMSprop(ps, weight_decay=0.1, momentum=0.9, centered=True),
                 lambda ps: optim.Adagrad(ps, weight_decay=0.1, maximize=True)):
        w = nn.Parameter(tg.ones(3))
        opt = make([w])
        version = w._version
        w.grad = tg.tensor([1.0, -2.0, 3.0])
        opt.step()
        assert w._version == version + 1
        np.testing.assert_array_equal(w.grad.numpy(), [1.0, -2.0, 3.0])


def test_optimizer_errors():
    params = [nn.Parameter(tg.ones(2))]
    with pytest.raises(ValueError, match="RMSprop: invalid learning rate -1"):
        optim.RMSprop(params, lr=-1)
    with pytest.raises(ValueError, match="RMSprop: invalid alpha value -0.5"):
        optim.RMSprop(params, alpha=-0.5)
    with pytest.raises(ValueError, match="RMSprop: invalid momentum value -1"):
        optim.RMSprop(params, momentum=-1)
    with pytest.raises(ValueError, match="Adagrad: invalid lr_decay value -0.1"):
        optim.Adagrad(params, lr_decay=-0.1)
    with pytest.raises(ValueError, match="Adagrad: invalid initial_accumulator_value value -1"):
        optim.Adagrad(params, initial_accumulator_value=-1)
    with pytest.raises(ValueError, match="Adagrad: invalid epsilon value -1"):
        optim.Adagrad(params, eps=-1)
    with pytest.raises(TypeError, match=r"Adagrad: unexpected keyword argument\(s\) \['betas'\]"):
        optim.Adagrad(params, betas=(0.9, 0.99))
    with pytest.raises(NotImplementedError, match="RMSprop: differentiable=True"):
        optim.RMSprop(params, differentiable=True)
