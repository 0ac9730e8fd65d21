"""tinygrad_edu.optim against torch.optim: 100 training steps of the same model on the same data
must leave the same parameters (float32 rounding), for every option; plus param groups,
state_dict round trips (ours and PyTorch's layout), version counters and errors."""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
import tinygrad_edu.optim as optim
from optim_twins import STEPS, data, train, twin_models  # noqa: F401
from optim_twins import assert_same_parameters  # noqa: F401

torch.set_num_threads(1)  # torch's thread pool crawls on a busy 2-core machine




def moved_parameters(ours, before):
    return max(np.abs(p.detach().numpy() - b).max() for p, b in zip(ours.parameters(), before))


CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, weight_decay=0.1, maximize=False)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.05)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True, foreach=False)),
]


@pytest.mark.parametrize("name,options", CONFIGS, ids=[f"{n}-{o}" for n, o in CONFIGS])
def test_100_steps_match_torch(name, options):
    ours, theirs = twin_models()
    before = [p.detach().numpy().copy() for p in ours.parameters()]
    train(ours, theirs, getattr(optim, name)(ours.parameters(), **options),
          getattr(torch.optim, name)(theirs.parameters(), **options))
    assert moved_parameters(ours, before) > 1e-2  # the run really trained
    assert_same_parameters(ours, theirs)


@pytest.mark.parametrize("name,options", CONFIGS + [
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9), eps=1e-6)),     # lerp from the other end (weight > 0.5)
    ("SGD", dict(lr=0.01, momentum=0.9, maximize=True)),
    ("AdamW", dict(lr=0.01, maximize=True, weight_decay=0.3))], ids=lambda v: str(v))
def test_same_gradient_stream_gives_the_same_parameters_to_rounding(name, options):
    """The update rule alone: feed both optimizers the same 100 gradients (of wildly varying
    scale), so that no model amplifies rounding differences."""
    rng = np.random.default_rng(0)
    start = rng.standard_normal((20, 7)).astype(np.float32)
    ours, theirs = nn.Parameter(tg.tensor(start.copy())), torch.nn.Parameter(torch.tensor(start.copy()))
    our_opt = getattr(optim, name)([ours], **options)
    their_opt = getattr(torch.optim, name)([theirs], **options)
    for _ in range(STEPS):
        g = (rng.standard_normal((20, 7)) * 10 ** rng.uniform(-4, 1)).astype(np.float32)
        ours.grad, theirs.grad = tg.tensor(g.copy()), torch.tensor(g.copy())
        our_opt.step()
        their_opt.step()
    expected = theirs.detach().numpy()
    scale = np.abs(expected).max()
    np.testing.assert_allclose(ours.detach().numpy(), expected, rtol=1e-6, atol=1e-6 * scale)


def test_param_groups_with_their_own_options_match_torch():
    ours, theirs = twin_models()

    def groups(model, lib):
        return [{"params": model[0].parameters()},
                {"params": model[2].parameters(), "lr": 0.002, "weight_decay": 0.1}]
    train(ours, theirs, optim.Adam(groups(ours, tg), lr=0.02),
          torch.optim.Adam(groups(theirs, torch), lr=0.02))
    assert_same_parameters(ours, theirs)
    ours, theirs = twin_models(1)
    our_opt = optim.SGD(groups(ours, tg), lr=0.1, momentum=0.9)
    assert our_opt.param_groups[1]["lr"] == 0.002 and our_opt.param_groups[0]["lr"] == 0.1
    assert our_opt.param_groups[1]["momentum"] == 0.9
    train(ours, theirs, our_opt, torch.optim.SGD(groups(theirs, torch), lr=0.1, momentum=0.9))
    assert_same_parameters(ours, theirs)


def test_changing_lr_between_steps_is_honoured():
    ours, theirs = twin_models()
    our_opt, their_opt = optim.SGD(ours.parameters(), lr=0.1), torch.optim.SGD(theirs.parameters(), lr=0.1)
    for lr in (0.1, 0.01, 0.3):
        for group in our_opt.param_groups:
            group["lr"] = lr
        for group in their_opt.param_groups:
            group["lr"] = lr
        train(ours, theirs, our_opt, their_opt, steps=5)
    assert_same_parameters(ours, theirs)


@pytest.mark.parametrize("name,options", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                          ("Adam", dict(lr=0.01, amsgrad=True)),
                                          ("AdamW", dict(lr=0.01))])
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
    saved_model, saved_opt = a.state_dict(), opt_a.state_dict()
    saved_model = {k: v.numpy().copy() for k, v in saved_model.items()}
    steps(a, opt_a, 5)                        # the snapshot must not follow these steps
    b.load_state_dict(saved_model)
    opt_b = make(b.parameters(), **options)
    opt_b.load_state_dict(saved_opt)
    steps(b, opt_b, 5)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    assert saved_opt["param_groups"][0]["params"] == [0, 1, 2, 3]


def test_loading_a_torch_optimizer_state_continues_like_torch():
    ours, theirs = twin_models()
    their_opt = torch.optim.Adam(theirs.parameters(), lr=0.01)
    x, y = data()
    for _ in range(5):
        their_opt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y)).backward()
        their_opt.step()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    our_opt = optim.Adam(ours.parameters(), lr=0.5)
    our_opt.load_state_dict(their_opt.state_dict())
    assert our_opt.param_groups[0]["lr"] == 0.01 and our_opt.state[ours[0].weight]["step"] == 5
    train(ours, theirs, our_opt, their_opt, steps=20)
    assert_same_parameters(ours, theirs)


def test_zero_grad_step_skips_missing_grads_and_bumps_versions():
    w = nn.Parameter(tg.ones(3))
    unused = nn.Parameter(tg.ones(2))
    opt = optim.SGD([w, unused], lr=0.5)
    version = w._version
    y = (w * w).sum()
    y.backward()
    loss = opt.step(closure=lambda: 7.0)
    assert loss == 7.0
    np.testing.assert_allclose(w.detach().numpy(), np.zeros(3))         # 1 - 0.5 * 2
    np.testing.assert_array_equal(unused.detach().numpy(), np.ones(2))   # no grad: untouched
    assert w._version == version + 1 and 1 not in opt.state.get(unused, {}).values()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros(3))
    opt.zero_grad()
    assert w.grad is None


def test_backward_through_a_graph_saved_before_the_step_raises():
    w = nn.Parameter(tg.ones(3))
    opt = optim.SGD([w], lr=0.1)
    first = (w * w).sum()
    second = (w * w).sum()
    first.backward()
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        second.backward()


def test_optimizer_errors():
    params = [nn.Parameter(tg.ones(2))]
    with pytest.raises(ValueError, match="SGD: invalid learning rate -1"):
        optim.SGD(params, lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD(params, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"Adam: invalid beta parameter at index 1: 1.0"):
        optim.Adam(params, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="AdamW: invalid epsilon value -1"):
        optim.AdamW(params, eps=-1)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts"):
        optim.Adam(params[0])
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": params}, {"params": params}], lr=0.1)
    x = nn.Parameter(tg.ones(2))
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([x * 2], lr=0.1)
    with pytest.raises(NotImplementedError, match="SGD: differentiable=True"):
        optim.SGD(params, lr=0.1, differentiable=True)
    with pytest.raises(TypeError, match=r"Adam: unexpected keyword argument\(s\) \['momentum'\]"):
        optim.Adam(params, momentum=0.9)
    opt = optim.SGD(params, lr=0.1)
    with pytest.raises(ValueError, match="loaded state dict has 2 parameter groups, the optimizer has 1"):
        opt.load_state_dict({"state": {}, "param_groups": [{"params": [0]}, {"params": [1]}]})


def test_adamw_decays_decoupled_from_the_gradient():
    """With a zero gradient Adam's L2 term still moves through the normalised step, while AdamW
    shrinks the weights by exactly (1 - lr·λ) per step."""
    p = nn.Parameter(tg.full((3,), 2.0))
    opt = optim.AdamW([p], lr=0.1, weight_decay=0.5)
    p.grad = tg.zeros(3)
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), np.full(3, 2.0 * (1 - 0.1 * 0.5)), rtol=1e-6)
