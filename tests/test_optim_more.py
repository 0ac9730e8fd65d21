"""Adadelta, Adamax, NAdam, RAdam and LBFGS against torch.optim: 100 training steps of the same model
on the same data (copied weights) leave the same parameters; the same gradient stream gives the same
parameters to rounding in float32 and to 1e-12 in float64; param groups; state_dict round trips
(ours, and loading PyTorch's); errors.  Tolerances as in test_optim_extra.py (FMA rounding)."""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
import tinygrad_edu.optim as optim
from optim_twins import STEPS, check_continuing_from_a_torch_state, data, train, twin_models
from optim_twins import assert_same_parameters as _assert_same_parameters


def assert_same_parameters(ours, theirs, rtol=2e-5, atol=5e-6):
    _assert_same_parameters(ours, theirs, rtol=rtol, atol=atol)


CONFIGS = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.05)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, momentum_decay=0.01, weight_decay=0.05)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.05)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
]


# Configurations whose float32 run is chaotic: torch's own float32 and float64 runs of them differ by
# 2e-4 … 2e-2 after 100 steps (measured), so only the float64 comparison can check them.
CHAOTIC_IN_FLOAT32 = {5, 6, 8}


def train_float64(ours, theirs, our_opt, their_opt, steps=STEPS):
    x, y = data()
    xo, yo, xt, yt = tg.tensor(x.astype(np.float64)), tg.tensor(y), torch.tensor(x).double(), torch.tensor(y)
    for _ in range(steps):
        our_opt.zero_grad()
        F.cross_entropy(ours(xo), yo).backward()
        our_opt.step()
        their_opt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(xt), yt).backward()
        their_opt.step()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("index", range(len(CONFIGS)), ids=[f"{n}-{o}" for n, o in CONFIGS])
def test_100_steps_match_torch(index, dtype):
    name, options = CONFIGS[index]
    if dtype == "float32" and index in CHAOTIC_IN_FLOAT32:
        pytest.skip("chaotic in float32 (see CHAOTIC_IN_FLOAT32); checked in float64")
    ours, theirs = twin_models()
    if dtype == "float64":
        ours.double()
        theirs.double()
    before = [p.detach().numpy().copy() for p in ours.parameters()]
    run = train if dtype == "float32" else train_float64
    run(ours, theirs, getattr(optim, name)(ours.parameters(), **options),
        getattr(torch.optim, name)(theirs.parameters(), **options))
    moved = max(np.abs(p.detach().numpy() - b).max() for p, b in zip(ours.parameters(), before))
    assert moved > 1e-3  # the run really trained
    assert ours[0].weight.dtype == getattr(np, dtype)
    if dtype == "float32":
        assert_same_parameters(ours, theirs)
    else:
        assert_same_parameters(ours, theirs, rtol=1e-7, atol=1e-9)  # chaotic runs amplify 1e-16


@pytest.mark.parametrize("name,options", CONFIGS + [
    ("Adadelta", dict(maximize=True)), ("Adamax", dict(maximize=True, lr=0.05)),
    ("NAdam", dict(maximize=True)), ("RAdam", dict(maximize=True))], ids=lambda v: str(v))
@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-6), (np.float64, 1e-12)])
def test_same_gradient_stream_gives_the_same_parameters_to_rounding(name, options, dtype, tol):
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
    np.testing.assert_allclose(ours.detach().numpy(), expected, rtol=tol, atol=tol * np.abs(expected).max())
    ours_state, their_state = our_opt.state[ours], their_opt.state[theirs]
    assert set(ours_state) == set(their_state)
    assert ours_state["step"] == their_state["step"].item() == STEPS
    for key, value in their_state.items():
        value = value.numpy()
        np.testing.assert_allclose(np.asarray(ours_state[key]), value, rtol=10 * tol,
                                   atol=10 * tol * np.abs(value).max() + 1e-7 * (key == "mu_product"),
                                   err_msg=key)


def test_defaults_match_torch():
    for name in ("Adadelta", "Adamax", "NAdam", "RAdam", "LBFGS"):
        ours, theirs = twin_models()
        our_group = getattr(optim, name)(ours.parameters()).param_groups[0]
        their_group = getattr(torch.optim, name)(theirs.parameters()).param_groups[0]
        for key, value in our_group.items():
            if key != "params":
                assert their_group[key] == value, (name, key)


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "NAdam", "RAdam"])
def test_param_groups_match_torch(name):
    ours, theirs = twin_models()
    our_opt = getattr(optim, name)([{"params": ours[0].parameters(), "lr": 0.003},
                                    {"params": ours[2].parameters(), "weight_decay": 0.1}], lr=0.02)
    their_opt = getattr(torch.optim, name)([{"params": theirs[0].parameters(), "lr": 0.003},
                                            {"params": theirs[2].parameters(), "weight_decay": 0.1}], lr=0.02)
    train(ours, theirs, our_opt, their_opt, steps=30)
    assert_same_parameters(ours, theirs)


@pytest.mark.parametrize("name,options", [("Adadelta", dict(lr=0.5)), ("Adamax", dict(lr=0.01)),
                                          ("NAdam", dict(lr=0.01)), ("RAdam", dict(lr=0.01)),
                                          ("LBFGS", dict(lr=0.5, history_size=5, max_iter=4)),
                                          ("LBFGS", dict(max_iter=4, line_search_fn="strong_wolfe"))])
def test_state_dict_round_trip_resumes_exactly(name, options):
    make = getattr(optim, name)
    a, _ = twin_models()
    b, _ = twin_models()
    x, y = data()

    def steps(model, opt, n):
        for _ in range(n):
            def closure():
                opt.zero_grad()
                loss = F.cross_entropy(model(tg.tensor(x)), tg.tensor(y))
                loss.backward()
                return loss
            opt.step(closure)
    opt_a = make(a.parameters(), **options)
    steps(a, opt_a, 3)
    saved_model = {k: v.numpy().copy() for k, v in a.state_dict().items()}
    saved_opt = opt_a.state_dict()
    steps(a, opt_a, 3)                        # the snapshot must not follow these steps
    b.load_state_dict(saved_model)
    opt_b = make(b.parameters(), lr=123.0)
    opt_b.load_state_dict(saved_opt)
    assert opt_b.param_groups[0]["lr"] == options.get("lr", 1)
    steps(b, opt_b, 3)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


@pytest.mark.parametrize("name,options", [("NAdam", dict(lr=0.01)), ("RAdam", dict(lr=0.01)),
                                          ("Adamax", dict(lr=0.01)), ("Adadelta", dict())])
def test_loading_a_torch_optimizer_state_continues_like_torch(name, options):
    check_continuing_from_a_torch_state(name, options, warm_steps=8)


# ---- LBFGS ------------------------------------------------------------------------------------------
def _lbfgs_run(options, steps, dtype=np.float32):
    """Our LBFGS and torch's on the same model and data; returns the two models and both loss lists."""
    ours, theirs = twin_models()
    if dtype == np.float64:
        theirs.double()
        ours.double()
    x, y = data()
    xo, yo = tg.tensor(x.astype(dtype)), tg.tensor(y)
    xt, yt = torch.tensor(x.astype(dtype)), torch.tensor(y)
    our_opt, their_opt = optim.LBFGS(ours.parameters(), **options), torch.optim.LBFGS(theirs.parameters(),
                                                                                       **options)

    def our_closure():
        our_opt.zero_grad()
        loss = F.cross_entropy(ours(xo), yo)
        loss.backward()
        return loss

    def their_closure():
        their_opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(theirs(xt), yt)
        loss.backward()
        return loss
    our_losses, their_losses = [], []
    for _ in range(steps):
        our_losses.append(our_opt.step(our_closure).item())
        their_losses.append(their_opt.step(their_closure).item())
    return ours, theirs, our_opt, their_opt, our_losses, their_losses


LBFGS_CONFIGS = [dict(lr=0.1, max_iter=1), dict(lr=0.5, max_iter=5, history_size=3),
                 dict(max_iter=3, line_search_fn="strong_wolfe"),
                 dict(max_iter=4, history_size=4, line_search_fn="strong_wolfe", tolerance_change=1e-6)]


@pytest.mark.parametrize("options", LBFGS_CONFIGS, ids=str)
def test_lbfgs_matches_torch_in_float64(options):
    """float64, where rounding cannot hide a wrong formula: 100 steps (up to 400 iterations)."""
    ours, theirs, our_opt, their_opt, ol, tl = _lbfgs_run(options, STEPS, np.float64)
    np.testing.assert_allclose(ol, tl, rtol=1e-9, atol=1e-12)
    assert ol[-1] < 0.7 * ol[0]                 # it really optimised
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-8, atol=1e-10)
    ours_state = our_opt.state[next(iter(ours.parameters()))]
    their_state = their_opt.state[next(iter(theirs.parameters()))]
    assert ours_state["func_evals"] == their_state["func_evals"]
    assert ours_state["n_iter"] == their_state["n_iter"]
    assert len(ours_state["old_dirs"]) == len(their_state["old_dirs"])


@pytest.mark.parametrize("options", LBFGS_CONFIGS[:3], ids=str)
def test_lbfgs_matches_torch_in_float32(options):
    """float32 for a few steps only: the loss soon falls to ~1e-7, where float32 rounding decides."""
    ours, theirs, _, _, ol, tl = _lbfgs_run(options, 6)
    np.testing.assert_allclose(ol, tl, rtol=1e-4, atol=1e-6)
    assert_same_parameters(ours, theirs, rtol=1e-3, atol=1e-4)


def test_lbfgs_stops_at_tolerance_grad_and_solves_a_quadratic():
    """On f(θ) = ½ θᵀAθ - bᵀθ (A positive definite, 6-dim) L-BFGS with a line search converges to
    A⁻¹b within one step of 20 iterations; a second step returns at once (gradient below tolerance)."""
    rng = np.random.default_rng(1)
    m = rng.standard_normal((6, 6))
    a_mat, b_vec = m @ m.T + 6 * np.eye(6), rng.standard_normal(6)
    theta = nn.Parameter(tg.zeros(6, dtype=tg.float64))
    opt = optim.LBFGS([theta], line_search_fn="strong_wolfe", tolerance_grad=1e-10, tolerance_change=1e-14)
    a_t, b_t = tg.tensor(a_mat), tg.tensor(b_vec)
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = 0.5 * (theta * (a_t @ theta)).sum() - (b_t * theta).sum()
        loss.backward()
        return loss
    opt.step(closure)
    np.testing.assert_allclose(theta.detach().numpy(), np.linalg.solve(a_mat, b_vec), rtol=1e-6)
    before = len(calls)
    opt.step(closure)
    assert len(calls) == before + 1


def test_lbfgs_errors():
    w = nn.Parameter(tg.ones(2))
    with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
        optim.LBFGS([{"params": [w]}, {"params": [nn.Parameter(tg.ones(1))]}])
    with pytest.raises(ValueError, match="LBFGS: line_search_fn must be None or 'strong_wolfe'"):
        optim.LBFGS([w], line_search_fn="backtracking")
    with pytest.raises(RuntimeError, match="LBFGS.step needs a closure"):
        optim.LBFGS([w]).step()


def test_optimizer_errors():
    params = [nn.Parameter(tg.ones(2))]
    with pytest.raises(ValueError, match="Adadelta: invalid rho value 1.5"):
        optim.Adadelta(params, rho=1.5)
    with pytest.raises(ValueError, match="NAdam: invalid momentum_decay value -1"):
        optim.NAdam(params, momentum_decay=-1)
    with pytest.raises(ValueError, match="RAdam: invalid beta parameter at index 1: 1.0"):
        optim.RAdam(params, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Adamax: invalid learning rate -1"):
        optim.Adamax(params, lr=-1)
    with pytest.raises(TypeError, match=r"NAdam: unexpected keyword argument\(s\) \['amsgrad'\]"):
        optim.NAdam(params, amsgrad=True)


def test_lbfgs_loads_a_torch_state_and_continues_like_torch():
    """PyTorch's LBFGS state (history lists of tensors, 0-d tensors t / H_diag) loads into ours."""
    options = dict(lr=0.5, max_iter=3, history_size=4, line_search_fn="strong_wolfe")
    ours, theirs, our_opt, their_opt, _, _ = _lbfgs_run(options, 2, np.float64)
    fresh = optim.LBFGS(ours.parameters(), lr=9.0)
    fresh.load_state_dict(their_opt.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x, y = data()
    xo, xt = tg.tensor(x.astype(np.float64)), torch.tensor(x.astype(np.float64))

    def our_closure():
        fresh.zero_grad()
        loss = F.cross_entropy(ours(xo), tg.tensor(y))
        loss.backward()
        return loss

    def their_closure():
        their_opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(theirs(xt), torch.tensor(y))
        loss.backward()
        return loss
    for _ in range(3):
        np.testing.assert_allclose(fresh.step(our_closure).item(), their_opt.step(their_closure).item(),
                                   rtol=1e-9)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-8, atol=1e-10)
