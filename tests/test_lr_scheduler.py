"""optim.lr_scheduler against torch.optim.lr_scheduler: the same schedule on the same model and
data for 100 steps gives *exactly* the same learning rates (and momenta) — the same Python float
arithmetic — and the same parameters to float32 precision; state_dict round trips (ours and
PyTorch's); ReduceLROnPlateau fed the same metric sequence; warnings and errors."""
import math
import warnings

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
import tinygrad_edu.optim as optim
from tinygrad_edu.optim import lr_scheduler

STEPS = 100
LIBS = {"ours": (optim, lr_scheduler), "torch": (torch.optim, torch.optim.lr_scheduler)}


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


def two_groups(model):
    """Two parameter groups with different learning rates, to test per-group schedules."""
    return [{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.02}]


# (name, optimizer factory, scheduler factory): each factory takes (optim module, model) or
# (lr_scheduler module, optimizer), so one definition builds both twins.
SGD = lambda o, m: o.SGD(m.parameters(), lr=0.1, momentum=0.9)  # noqa: E731
SGD2 = lambda o, m: o.SGD(two_groups(m), lr=0.1, momentum=0.5)  # noqa: E731
ADAM = lambda o, m: o.Adam(m.parameters(), lr=0.01)  # noqa: E731
ADAM2 = lambda o, m: o.Adam(two_groups(m), lr=0.01)  # noqa: E731
RMSPROP = lambda o, m: o.RMSprop(m.parameters(), lr=0.005, momentum=0.5)  # noqa: E731


def warmup(t):
    return min(1.0, (t + 1) / 10)


CASES = [
    ("StepLR", SGD, lambda s, o: s.StepLR(o, step_size=30, gamma=0.5)),
    ("StepLR-2groups", SGD2, lambda s, o: s.StepLR(o, step_size=7)),
    ("MultiStepLR", ADAM, lambda s, o: s.MultiStepLR(o, milestones=[20, 50, 50, 80], gamma=0.5)),
    ("ExponentialLR", SGD2, lambda s, o: s.ExponentialLR(o, gamma=0.97)),
    ("CosineAnnealingLR", SGD, lambda s, o: s.CosineAnnealingLR(o, T_max=100, eta_min=1e-3)),
    ("CosineAnnealingLR-restarts", ADAM2, lambda s, o: s.CosineAnnealingLR(o, T_max=30)),
    ("LinearLR-warmup", ADAM, lambda s, o: s.LinearLR(o, start_factor=0.1, total_iters=20)),
    ("LinearLR-decay", SGD2, lambda s, o: s.LinearLR(o, start_factor=1.0, end_factor=0.2,
                                                     total_iters=60)),
    ("LambdaLR", RMSPROP, lambda s, o: s.LambdaLR(o, warmup)),
    ("LambdaLR-per-group", ADAM2, lambda s, o: s.LambdaLR(o, [warmup, lambda t: 0.95 ** t])),
    ("OneCycleLR-SGD-momentum", SGD, lambda s, o: s.OneCycleLR(o, max_lr=0.2, total_steps=100)),
    ("OneCycleLR-Adam-beta1-linear-three-phase", ADAM2, lambda s, o: s.OneCycleLR(
        o, max_lr=[0.02, 0.05], epochs=10, steps_per_epoch=10, pct_start=0.25,
        anneal_strategy="linear", three_phase=True, div_factor=10.0, final_div_factor=100.0,
        base_momentum=0.8, max_momentum=[0.9, 0.95])),
    ("OneCycleLR-RMSprop-momentum", RMSPROP, lambda s, o: s.OneCycleLR(
        o, max_lr=0.01, total_steps=120, pct_start=0.4, three_phase=True)),
    ("OneCycleLR-no-momentum-cycling", ADAM, lambda s, o: s.OneCycleLR(
        o, max_lr=0.02, total_steps=100, cycle_momentum=False)),
    ("SequentialLR-warmup-cosine", SGD, lambda s, o: s.SequentialLR(
        o, [s.LinearLR(o, start_factor=0.1, total_iters=10), s.CosineAnnealingLR(o, T_max=90)],
        milestones=[10])),
    ("SequentialLR-three", ADAM2, lambda s, o: s.SequentialLR(
        o, [s.LambdaLR(o, warmup), s.ExponentialLR(o, gamma=0.9), s.StepLR(o, 10, gamma=0.3)],
        milestones=[10, 40])),
]


def momenta(opt):
    """What OneCycleLR cycles: SGD's/RMSprop's momentum or Adam's beta1, per group."""
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def run(lib, make_opt, make_sched, model, steps=STEPS):
    """Train ``model`` for ``steps`` steps under the schedule; return the lrs and momenta seen
    at every step (from get_last_lr() and from the optimizer's groups)."""
    optim_module, sched_module = LIBS[lib]
    opt = make_opt(optim_module, model)
    sched = make_sched(sched_module, opt)
    x, y = data()
    if lib == "ours":
        x, y, loss_fn = tg.tensor(x), tg.tensor(y), F.cross_entropy
    else:
        x, y, loss_fn = torch.tensor(x), torch.tensor(y), torch.nn.functional.cross_entropy
    lrs, group_lrs, moms = [], [], []
    for _ in range(steps):
        lrs.append(list(sched.get_last_lr()))
        group_lrs.append([g["lr"] for g in opt.param_groups])
        moms.append(momenta(opt))
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
        sched.step()
    lrs.append(list(sched.get_last_lr()))
    return dict(lrs=lrs, group_lrs=group_lrs, momenta=moms, opt=opt, sched=sched)


@pytest.mark.parametrize("name,make_opt,make_sched", CASES, ids=[c[0] for c in CASES])
def test_100_steps_match_torch(name, make_opt, make_sched):
    ours, theirs = twin_models()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither library may warn about this ordinary use
        a = run("ours", make_opt, make_sched, ours)
        b = run("torch", make_opt, make_sched, theirs)
    assert a["lrs"] == b["lrs"]                  # exactly: the same float arithmetic
    assert a["group_lrs"] == b["group_lrs"]
    assert a["momenta"] == b["momenta"]
    assert len({tuple(lr) for lr in a["lrs"]}) > 2  # the schedule really changed the lr
    if "OneCycle" in name and "no-momentum" not in name:
        assert len({tuple(m) for m in a["momenta"]}) > 10
    for g, h in zip(a["opt"].param_groups, b["opt"].param_groups):
        assert g["initial_lr"] == h["initial_lr"]
    for (key, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=2e-5, atol=5e-6,
                                   err_msg=key)
    assert set(a["sched"].state_dict()) == set(b["sched"].state_dict())  # PyTorch's keys


def test_schedules_follow_their_closed_forms():
    """The recursions compute the formulas the docstrings teach (to rounding)."""
    def lrs(make, n=60):
        opt = optim.SGD([nn.Parameter(tg.ones(1))], lr=0.5)
        sched = make(opt)
        out = []
        for _ in range(n):
            out.append(sched.get_last_lr()[0])
            opt.step()
            sched.step()
        return np.array(out)
    t = np.arange(60)
    np.testing.assert_allclose(lrs(lambda o: lr_scheduler.StepLR(o, 7, gamma=0.5)),
                               0.5 * 0.5 ** (t // 7), rtol=1e-12)
    np.testing.assert_allclose(lrs(lambda o: lr_scheduler.MultiStepLR(o, [5, 30], gamma=0.1)),
                               0.5 * 0.1 ** ((t >= 5).astype(int) + (t >= 30)), rtol=1e-12)
    np.testing.assert_allclose(lrs(lambda o: lr_scheduler.ExponentialLR(o, 0.9)), 0.5 * 0.9 ** t,
                               rtol=1e-12)
    np.testing.assert_allclose(lrs(lambda o: lr_scheduler.CosineAnnealingLR(o, 20, eta_min=0.1)),
                               0.1 + 0.2 * (1 + np.cos(np.pi * t / 20)), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(lrs(lambda o: lr_scheduler.LinearLR(o, 0.25, 1.0, total_iters=8)),
                               0.5 * (0.25 + 0.75 * np.minimum(t, 8) / 8), rtol=1e-12)
    one_cycle = lrs(lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=60,
                                                      anneal_strategy="linear", pct_start=0.5,
                                                      cycle_momentum=False))
    peak = 0.5 * 60 - 1
    expected = np.where(t <= peak, 0.04 + (1 - 0.04) * t / peak,
                        1.0 + (0.04e-4 - 1.0) * (t - peak) / (59 - peak))
    np.testing.assert_allclose(one_cycle, expected, rtol=1e-12)


def test_onecycle_momentum_moves_against_the_lr():
    opt = optim.SGD([nn.Parameter(tg.ones(1))], lr=0.1, momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=50)
    assert opt.param_groups[0]["momentum"] == 0.95 and sched.get_last_lr() == [pytest.approx(0.04)]
    lrs, moms = [], []
    for _ in range(49):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
    peak = int(np.argmax(lrs))
    assert lrs[peak] == pytest.approx(1.0) and moms[peak] == pytest.approx(0.85)
    assert int(np.argmin(moms)) == peak
    assert lrs[-1] == pytest.approx(0.04 / 1e4) and moms[-1] == pytest.approx(0.95)
    with pytest.raises(ValueError, match="OneCycleLR: tried to step 51 times. The specified "
                                         "number of total steps is 50"):
        sched.step()
        sched.step()


@pytest.mark.parametrize("name", ["StepLR-2groups", "MultiStepLR", "CosineAnnealingLR-restarts",
                                  "LinearLR-warmup", "LambdaLR", "OneCycleLR-SGD-momentum",
                                  "SequentialLR-three"])
@pytest.mark.parametrize("source", ["ours", "torch"])
def test_state_dict_round_trip_resumes_exactly(name, source):
    """Save optimizer and scheduler after 37 steps, build fresh ones, load both (scheduler made
    before the optimizer's state is loaded, as PyTorch documents) and continue: the lrs are those
    of the uninterrupted run.  ``source='torch'`` resumes *our* scheduler from *PyTorch's*
    state_dict."""
    _, make_opt, make_sched = next(case for case in CASES if case[0] == name)
    ours, theirs = twin_models()
    model = ours if source == "ours" else theirs
    full = run(source, make_opt, make_sched, model, steps=STEPS)
    model = twin_models()[0] if source == "ours" else twin_models()[1]
    first = run(source, make_opt, make_sched, model, steps=37)
    saved_opt, saved_sched = first["opt"].state_dict(), first["sched"].state_dict()
    for _ in range(3):          # the snapshot must not follow later steps
        first["opt"].step()
        first["sched"].step()
    fresh_model = twin_models(1)[0]
    opt = make_opt(optim, fresh_model)
    sched = make_sched(lr_scheduler, opt)
    opt.load_state_dict(saved_opt)
    sched.load_state_dict(saved_sched)
    lrs = [sched.get_last_lr()]
    for _ in range(STEPS - 37):
        opt.step()
        sched.step()
        lrs.append(list(sched.get_last_lr()))
    assert lrs == full["lrs"][37:]
    assert momenta(opt) == momenta(full["opt"])


def test_resuming_with_last_epoch():
    """last_epoch=k continues a closed-form schedule from epoch k + 1 (needs initial_lr)."""
    opt = optim.SGD([nn.Parameter(tg.ones(1))], lr=0.3)
    with pytest.raises(KeyError, match=r"param 'initial_lr' is not specified in param_groups\[0\]"):
        lr_scheduler.StepLR(opt, step_size=3, last_epoch=5)
    twin = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.3)
    for o in (opt, twin):
        o.param_groups[0]["initial_lr"] = 1.0
    ours = lr_scheduler.LambdaLR(opt, lambda t: 0.5 ** t, last_epoch=5)
    theirs = torch.optim.lr_scheduler.LambdaLR(twin, lambda t: 0.5 ** t, last_epoch=5)
    assert ours.last_epoch == theirs.last_epoch == 6 and ours.get_last_lr() == [0.5 ** 6]
    assert ours.get_last_lr() == theirs.get_last_lr()


def test_step_with_epoch_uses_the_closed_form_and_warns_like_torch():
    ours_opt = optim.SGD([nn.Parameter(tg.ones(1))], lr=0.3)
    their_opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.3)
    for make in (lambda s, o: s.StepLR(o, 4, gamma=0.5),
                 lambda s, o: s.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
                 lambda s, o: s.LinearLR(o, 0.2, total_iters=6)):
        ours, theirs = make(lr_scheduler, ours_opt), make(torch.optim.lr_scheduler, their_opt)
        ours_opt.step()
        their_opt.step()
        for epoch in (3, 9, 4, 13):
            with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)`"):
                ours.step(epoch)
            with pytest.warns(UserWarning):
                theirs.step(epoch)
            assert ours.get_last_lr() == theirs.get_last_lr()
            assert ours.last_epoch == epoch


def test_warnings_for_misuse():
    opt = optim.SGD([nn.Parameter(tg.ones(1))], lr=0.3)
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    with pytest.warns(UserWarning, match=r"lr_scheduler.step\(\)` before `optimizer.step\(\)"):
        sched.step()                           # no optimizer step happened yet
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()
    p = nn.Parameter(tg.ones(1))
    opt = optim.SGD([p], lr=0.3)
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    p.grad = tg.ones(1)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()                           # the right order: silent
    assert sched.get_last_lr() == [0.15]


# ---- ReduceLROnPlateau ---------------------------------------------------------------------------
PLATEAU_CASES = [
    dict(),
    dict(mode="min", factor=0.5, patience=2, threshold=0.01, threshold_mode="rel"),
    dict(mode="min", factor=0.3, patience=0, threshold=0.05, threshold_mode="abs", cooldown=3),
    dict(mode="max", factor=0.5, patience=3, threshold=1e-3, threshold_mode="rel", min_lr=1e-3),
    dict(mode="max", factor=0.7, patience=1, threshold=0.02, threshold_mode="abs", cooldown=2,
         min_lr=[1e-3, 5e-3], eps=1e-4),
]


@pytest.mark.parametrize("options", PLATEAU_CASES, ids=str)
def test_reduce_lr_on_plateau_matches_torch_on_the_same_metrics(options):
    rng = np.random.default_rng(1)
    # a loss that falls, then wanders on plateaus; accuracy-like for mode='max'
    metrics = np.concatenate([np.linspace(2.0, 0.5, 30), 0.5 + 0.02 * rng.standard_normal(40),
                              np.linspace(0.5, 0.3, 10), 0.3 + 0.01 * rng.standard_normal(40)])
    if options.get("mode") == "max":
        metrics = 1.0 - metrics / 3
    ours_opt = optim.SGD([{"params": [nn.Parameter(tg.ones(1))]},
                          {"params": [nn.Parameter(tg.ones(1))], "lr": 0.05}], lr=0.1)
    their_opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.ones(1))]},
                                 {"params": [torch.nn.Parameter(torch.ones(1))], "lr": 0.05}],
                                lr=0.1)
    ours = lr_scheduler.ReduceLROnPlateau(ours_opt, **options)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(their_opt, **options)
    seen = []
    for i, m in enumerate(metrics):
        ours.step(tg.tensor(np.float32(m)) if i % 2 else float(m))  # a 0-d Tensor works too
        theirs.step(float(np.float32(m)) if i % 2 else float(m))
        assert ours.get_last_lr() == theirs.get_last_lr(), f"step {i}"
        assert [g["lr"] for g in ours_opt.param_groups] == ours.get_last_lr()
        assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter) == \
            (theirs.best, theirs.num_bad_epochs, theirs.cooldown_counter)
        seen.append(tuple(ours.get_last_lr()))
    assert len(set(seen)) >= 3                 # the lr was really reduced, more than once
    assert set(ours.state_dict()) == set(theirs.state_dict())
    # round trip: a fresh scheduler loaded from the state continues identically
    fresh_opt = optim.SGD([{"params": [nn.Parameter(tg.ones(1))]},
                           {"params": [nn.Parameter(tg.ones(1))]}], lr=0.1)
    fresh_opt.load_state_dict(ours_opt.state_dict())
    fresh = lr_scheduler.ReduceLROnPlateau(fresh_opt)
    fresh.load_state_dict(ours.state_dict())
    for m in metrics[::-1][:30]:
        ours.step(float(m))
        fresh.step(float(m))
        assert fresh.get_last_lr() == ours.get_last_lr()


def test_reduce_lr_on_plateau_reduces_after_patience_bad_epochs():
    opt = optim.SGD([nn.Parameter(tg.ones(1))], lr=1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, min_lr=0.2)
    lrs = []
    for loss in [1.0, 1.0, 1.0, 1.0, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]:
        sched.step(loss)
        lrs.append(sched.get_last_lr()[0])
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2]


# ---- errors ----------------------------------------------------------------------------------------
def test_scheduler_errors():
    p = nn.Parameter(tg.ones(1))
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        lr_scheduler.StepLR([p], step_size=3)
    with pytest.raises(ValueError, match="LinearLR: starting multiplicative factor expected to be "
                                         "greater than 0"):
        lr_scheduler.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="LambdaLR: expected 1 lr_lambdas"):
        lr_scheduler.LambdaLR(opt, [warmup, warmup])
    with pytest.raises(TypeError, match="LambdaLR: lr_lambda should be a function, but got float"):
        lr_scheduler.LambdaLR(opt, 0.5)
    with pytest.raises(ValueError, match=r"OneCycleLR: you must define either total_steps OR"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="OneCycleLR: expected positive integer total_steps"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=0)
    with pytest.raises(ValueError, match="OneCycleLR: expected float between 0 and 1 pct_start"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear'"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, anneal_strategy="exp")
    with pytest.raises(ValueError, match="max_lr must have the same length as "
                                         "optimizer.param_groups"):
        lr_scheduler.OneCycleLR(opt, max_lr=[0.1, 0.2], total_steps=10)
    with pytest.raises(ValueError, match="optimizer Adagrad must support momentum or beta1"):
        lr_scheduler.OneCycleLR(optim.Adagrad([p]), max_lr=0.1, total_steps=10)
    lr_scheduler.OneCycleLR(optim.Adagrad([p]), max_lr=0.1, total_steps=10, cycle_momentum=False)
    with pytest.raises(ValueError, match="SequentialLR expects number of schedulers provided to be "
                                         "one more than the number of milestone points"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.StepLR(opt, 2)], milestones=[3])
    other = optim.SGD([nn.Parameter(tg.ones(1))], lr=0.1)
    with pytest.raises(ValueError, match="SequentialLR expects all schedulers to belong to the same "
                                         "optimizer"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.StepLR(opt, 2), lr_scheduler.StepLR(other, 2)],
                                  milestones=[3])
    with pytest.raises(ValueError, match="SequentialLR does not support `ReduceLROnPlateau`"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.ReduceLROnPlateau(opt)], milestones=[])
    with pytest.raises(ValueError, match="ReduceLROnPlateau: factor should be < 1.0, got 1.5"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: mode 'up' is unknown"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="ReduceLROnPlateau: threshold mode 'pct' is unknown"):
        lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="pct")
    with pytest.raises(ValueError, match="ReduceLROnPlateau: expected 1 min_lrs"):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.1, 0.2])
    assert math.isinf(lr_scheduler.ReduceLROnPlateau(opt).best)


def test_a_copied_or_pickled_optimizer_steps_its_own_parameters():
    """The scheduler's step recorder on the optimizer must follow a copy, not point back."""
    import copy
    import pickle
    p = nn.Parameter(tg.ones(2))
    opt = optim.SGD([p], lr=0.5)
    lr_scheduler.StepLR(opt, step_size=2)
    for clone in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        q = clone.param_groups[0]["params"][0]
        assert q is not p
        q.grad = tg.ones(2)
        clone.step()
        np.testing.assert_array_equal(q.detach().numpy(), [0.5, 0.5])
        np.testing.assert_array_equal(p.detach().numpy(), [1.0, 1.0])
        assert clone._opt_called and not getattr(opt, "_opt_called", False)
