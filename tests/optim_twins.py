"""Shared by the optimizer and scheduler tests: the same small model in torch and in tinygrad_edu,
trained side by side on the same data, and the comparison of their parameters."""
import numpy as np
import torch

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F

STEPS = 100


def twin_models(seed=0):
    """The same 5-16-3 tanh MLP in torch and in tinygrad_edu, with identical weights."""
    torch.manual_seed(seed)
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    ours = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((32, 5)).astype(np.float32), rng.integers(0, 3, 32)


def train(ours, theirs, our_opt, their_opt, steps=STEPS):
    x, y = data()
    xo, yo, xt, yt = tg.tensor(x), tg.tensor(y), torch.tensor(x), torch.tensor(y)
    for _ in range(steps):
        our_opt.zero_grad()
        F.cross_entropy(ours(xo), yo).backward()
        our_opt.step()
        their_opt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(xt), yt).backward()
        their_opt.step()


def assert_same_parameters(ours, theirs, rtol=2e-5, atol=2e-6):
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)


def check_continuing_from_a_torch_state(name, options, warm_steps, atol=5e-6):
    """torch's optimizer ``name`` takes ``warm_steps``; ours loads its state_dict (with lr 0.5 given at
    construction, which the loaded state must replace) and both then train 20 more steps in lockstep."""
    from tinygrad_edu import optim
    ours, theirs = twin_models()
    their_opt = getattr(torch.optim, name)(theirs.parameters(), **options)
    x, y = data()
    for _ in range(warm_steps):
        their_opt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y)).backward()
        their_opt.step()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    our_opt = getattr(optim, name)(ours.parameters(), lr=0.5)
    our_opt.load_state_dict(their_opt.state_dict())
    assert our_opt.state[ours[0].weight]["step"] == warm_steps
    train(ours, theirs, our_opt, their_opt, steps=20)
    assert_same_parameters(ours, theirs, atol=atol)
