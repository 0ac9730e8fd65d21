"""Saliency, InputXGradient, IntegratedGradients, NoiseTunnel and GradientShap (tinygrad_edu.explain):
exact hand cases, completeness, chunking, memory, Captum parity on PyTorch mirrors, errors, and
leaving the model's state untouched."""
import tracemalloc

import numpy as np
import pytest
import torch
from captum import attr as captum_attr

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
from tinygrad_edu import Tensor
from tinygrad_edu.explain import GradientShap, InputXGradient, IntegratedGradients, NoiseTunnel, Saliency
from tinygrad_edu.explain import gradient_shap, noise_tunnel

METHODS = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")


def close(ours, theirs, rtol=1e-6, atol=1e-8):
    ours = ours.numpy() if hasattr(ours, "numpy") and not isinstance(ours, torch.Tensor) else ours
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=rtol, atol=atol)


def close_all(ours, theirs, **kw):
    ours = ours if isinstance(ours, tuple) else (ours,)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        close(a, b, **kw)


# ------------------------------------------------------------------------------------------------
# models and their PyTorch mirrors (same weights, float64)
# ------------------------------------------------------------------------------------------------
def mlp(seed=0, d_in=6):
    tg.manual_seed(seed)
    return nn.Sequential(nn.Linear(d_in, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3)).double()


def torch_mlp(model, d_in=6):
    mirror = torch.nn.Sequential(torch.nn.Linear(d_in, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8),
                                 torch.nn.ReLU(), torch.nn.Linear(8, 3)).double()
    return copy_weights(model, mirror)


def cnn(seed=0):
    tg.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(48, 3)).double()


def copy_weights(model, mirror):
    state = {name: torch.from_numpy(np.array(p.array, dtype=np.float64))
             for name, p in model.named_parameters()}
    mirror.load_state_dict(state)
    return mirror.eval()


def data(*shape, seed=1):
    return np.random.default_rng(seed).normal(size=shape)


class TwoInputs(nn.Module):
    """F(x, y, scale) = MLP(concat(x, y)) · scale — tuple inputs plus an additional forward argument."""

    def __init__(self, seed=0):
        super().__init__()
        self.net = mlp(seed, d_in=6)

    def forward(self, x, y, scale):
        return self.net(tg.cat([x, y], dim=1)) * scale.reshape(-1, 1)


class TorchTwoInputs(torch.nn.Module):
    def __init__(self, ours):
        super().__init__()
        self.net = torch_mlp(ours.net)

    def forward(self, x, y, scale):
        return self.net(torch.cat([x, y], dim=1)) * scale.reshape(-1, 1)


# ------------------------------------------------------------------------------------------------
# (1) a linear model: every method is exact
# ------------------------------------------------------------------------------------------------
def test_linear_model_ig_saliency_input_x_gradient_exact():
    tg.manual_seed(3)
    lin = nn.Linear(5, 1).double()
    w, c = lin.weight.array[0], lin.bias.array[0]
    x, b = data(4, 5, seed=2), data(4, 5, seed=3)
    assert np.allclose(lin(Tensor(x)).detach().numpy()[:, 0], x @ w + c)
    for method in METHODS:
        ig = IntegratedGradients(lin).attribute(Tensor(x), baselines=Tensor(b), method=method, n_steps=7)
        np.testing.assert_allclose(ig.numpy(), w * (x - b), rtol=0, atol=1e-12)
    np.testing.assert_allclose(Saliency(lin).attribute(Tensor(x)).numpy(),
                               np.broadcast_to(np.abs(w), x.shape), rtol=0, atol=1e-12)
    np.testing.assert_allclose(Saliency(lin).attribute(Tensor(x), abs=False).numpy(),
                               np.broadcast_to(w, x.shape), rtol=0, atol=1e-12)
    np.testing.assert_allclose(InputXGradient(lin).attribute(Tensor(x)).numpy(), x * w, rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------------------------
# (2) the toy networks of Sundararajan et al. (2017), by hand
# ------------------------------------------------------------------------------------------------
def test_paper_saturating_network_by_hand():
    # f(x1, x2) = ReLU(h1) − ReLU(h2), h1 = x1, h2 = x1 − 1  (f = min(max(x1, 0), 1), saturated at x1 ≥ 1).
    # At x = (2, 5), baseline (0, 0): f(x) = 2 − 1 = 1, f(0) = 0.
    # Gradient at x: ∂f/∂x1 = 1 − 1 = 0 (both ReLUs active), ∂f/∂x2 = 0  → Saliency (0, 0): the
    # gradient misses that x1 made f = 1 (the paper's "Sensitivity" failure).
    # IG: along γ(α) = α·x, h1 = 2α > 0 always and h2 = 2α − 1 > 0 only for α > 1/2, so
    # ∂f/∂x1(γ(α)) = 1 for α < 1/2 and 0 after:  IG1 = (2 − 0) · ∫₀¹ ∂f/∂x1 dα = 2 · 1/2 = 1,
    # IG2 = 5 · 0 = 0; IG1 + IG2 = 1 = f(x) − f(0).  (The kink at α = 1/2 is the middle of [0, 1]: an even
    # number of riemann_middle or Gauss–Legendre points, symmetric about 1/2, puts exactly half the weight
    # before it, so both rules give 1 exactly.)
    def f(x):
        x1 = x[:, 0]
        return x1.relu() - (x1 - 1.0).relu()

    x = Tensor(np.array([[2.0, 5.0]]))
    for method in ("riemann_middle", "gausslegendre"):
        a, delta = IntegratedGradients(f).attribute(x, method=method, n_steps=50,
                                                    return_convergence_delta=True)
        np.testing.assert_allclose(a.numpy(), [[1.0, 0.0]], atol=1e-12)
        assert abs(float(delta.numpy()[0])) < 1e-12
    np.testing.assert_allclose(Saliency(f).attribute(x).numpy(), [[0.0, 0.0]], atol=0)


def test_paper_page10_network_by_hand():
    # f(x1, x2) = ReLU(ReLU(x1) − 1 − ReLU(x2)) at x = (3, 1), baseline (0, 0) (the paper's two-input
    # example).  Along α·x: ReLU(3α − 1 − α) = ReLU(2α − 1), on only for α > 1/2, where ∂f/∂x1 = 1 and
    # ∂f/∂x2 = −1.  IG1 = 3 · 1/2 = 1.5, IG2 = 1 · (−1/2) = −0.5; sum 1 = f(3, 1) − f(0, 0) = 1 − 0.
    def f(x1, x2):
        return (x1.relu() - 1.0 - x2.relu()).relu()

    inputs = (Tensor(np.array([[3.0]])), Tensor(np.array([[1.0]])))
    a1, a2 = IntegratedGradients(f).attribute(inputs, n_steps=50)
    np.testing.assert_allclose([a1.numpy()[0, 0], a2.numpy()[0, 0]], [1.5, -0.5], atol=1e-12)


# ------------------------------------------------------------------------------------------------
# (3) completeness on non-linear models
# ------------------------------------------------------------------------------------------------
# Gauss–Legendre with n points is exact for polynomials of degree 2n − 1, so on a *smooth* path integrand
# (tanh) 64 points make Σ IG = F(x) − F(b) to ~1e-10.  A ReLU or a max-pool makes the gradient jump where
# the path crosses a kink; there the integrand is discontinuous and every rule's error is O(1/n) (measured:
# 0.5–20 % of F(x) − F(b) at 64 steps on these small random nets).  Three checks:
#  * tanh MLP (smooth): |delta| ≤ 1e-3 |F(x) − F(b)| at 64 Gauss–Legendre steps;
#  * tanh/ReLU MLP and Conv→ReLU→MaxPool→Linear CNN without biases, baseline 0: positively homogeneous,
#    F(αx) = α F(x), so the straight path from 0 crosses no kink (the gradient is constant along it)
#    and the same 1e-3 bound holds — with biases it would not;
#  * the same nets with biases: the returned delta is Σ IG − (F(x) − F(b)), and it shrinks as n grows.
def tanh_mlp(bias=True):
    tg.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8, bias=bias), nn.Tanh(), nn.Linear(8, 8, bias=bias), nn.Tanh(),
                         nn.Linear(8, 3, bias=bias)).double()


def relu_mlp(bias=True):
    tg.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8, bias=bias), nn.ReLU(), nn.Linear(8, 8, bias=bias), nn.ReLU(),
                         nn.Linear(8, 3, bias=bias)).double()


def relu_cnn(bias=True):
    tg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1, bias=bias), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(48, 3, bias=bias)).double()


def completeness_case(which, bias):
    model = {"tanh": tanh_mlp, "mlp": relu_mlp, "cnn": relu_cnn}[which](bias)
    x = Tensor(data(3, 1, 8, 8, seed=4) if which == "cnn" else data(3, 6, seed=4))
    b = Tensor(0.3 * data(*x.shape, seed=5)) if which == "tanh" else Tensor(np.zeros(x.shape))
    return model, x, b


@pytest.mark.parametrize("which,bias", [("tanh", True), ("mlp", False), ("cnn", False)])
def test_completeness_64_gauss_legendre_steps(which, bias):
    model, x, b = completeness_case(which, bias)
    a, delta = IntegratedGradients(model).attribute(x, baselines=b, target=1, n_steps=64,
                                                    return_convergence_delta=True)
    gap = model(x).detach().numpy()[:, 1] - model(b).detach().numpy()[:, 1]
    np.testing.assert_allclose(delta.numpy(), a.numpy().reshape(3, -1).sum(axis=1) - gap, atol=1e-12)
    assert np.all(np.abs(gap) > 1e-3)
    assert np.all(np.abs(delta.numpy()) <= 1e-3 * np.abs(gap)), (delta, gap)


@pytest.mark.parametrize("which", ["mlp", "cnn"])
def test_completeness_error_at_relu_kinks_shrinks_with_n_steps(which):
    model, x, b = completeness_case(which, True)
    gap = model(x).detach().numpy()[:, 1] - model(b).detach().numpy()[:, 1]
    errors = []
    for n in (64, 1024):
        a, delta = IntegratedGradients(model).attribute(x, baselines=b, target=1, n_steps=n,
                                                        method="riemann_middle",
                                                        return_convergence_delta=True)
        np.testing.assert_allclose(delta.numpy(), a.numpy().reshape(3, -1).sum(axis=1) - gap, atol=1e-12)
        errors.append(np.abs(delta.numpy()).sum())
    assert errors[0] > 1e-6                     # the kinks do cost something at 64 steps ...
    assert errors[1] < errors[0] / 4            # ... and the error shrinks like 1/n


# ------------------------------------------------------------------------------------------------
# (4) internal_batch_size does not change the result
# ------------------------------------------------------------------------------------------------
def test_internal_batch_size_gives_identical_results():
    model = TwoInputs()
    x, y = Tensor(data(3, 4, seed=6)), Tensor(data(3, 2, seed=7))
    scale = Tensor(np.array([1.0, -2.0, 0.5]))
    ig = IntegratedGradients(model)
    calls = []
    model.register_forward_hook(lambda m, i, o: calls.append(o.shape[0]))
    results = {}
    for ibs in (None, 7, 16):
        calls.clear()
        results[ibs] = ig.attribute((x, y), baselines=(0.5, Tensor(data(2, seed=8))), target=[0, 2, 1],
                                    additional_forward_args=(scale,), n_steps=20, internal_batch_size=ibs)
        rows = {None: [60], 7: [6] * 10, 16: [15] * 4}[ibs]     # whole steps of 3 examples: 2 resp. 5 steps
        assert calls == rows
    for ibs in (7, 16):
        for ours, ref in zip(results[ibs], results[None]):
            np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------------------------
# (5) IG's memory does not grow with n_steps
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["riemann_trapezoid", "gausslegendre"])
def test_ig_peak_memory_does_not_grow_with_n_steps(method):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(1024, 64), nn.ReLU(), nn.Linear(64, 2)).double()
    x = Tensor(data(2, 1024, seed=9))
    ig = IntegratedGradients(model)

    def peak(n_steps):
        tracemalloc.start()
        try:
            ig.attribute(x, target=0, n_steps=n_steps, method=method, internal_batch_size=32)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(4)                                                     # warm-up (caches, lazy imports)
    small, large = peak(32), peak(256)
    assert large / small < 1.5, (small, large)
    tracemalloc.start()                                         # all at once: does grow (the test can fail)
    try:
        ig.attribute(x, target=0, n_steps=256, method=method)
        unchunked = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert unchunked > 3 * large


# ------------------------------------------------------------------------------------------------
# (6) Captum parity on PyTorch mirrors
# ------------------------------------------------------------------------------------------------
def test_saliency_and_input_x_gradient_match_captum():
    model = mlp()
    mirror = torch_mlp(model)
    x = data(4, 6, seed=10)
    tx = torch.tensor(x, requires_grad=True)
    for target in (2, [0, 1, 2, 1], Tensor(np.array([2, 0, 0, 1]))):
        ttarget = torch.tensor(target.numpy()) if isinstance(target, Tensor) else target
        for use_abs in (True, False):
            close(Saliency(model).attribute(Tensor(x), target=target, abs=use_abs),
                  captum_attr.Saliency(mirror).attribute(tx, target=ttarget, abs=use_abs))
        close(InputXGradient(model).attribute(Tensor(x), target=target),
              captum_attr.InputXGradient(mirror).attribute(tx, target=ttarget))


def test_integrated_gradients_match_captum_every_method_baseline_and_target():
    model = mlp()
    mirror = torch_mlp(model)
    x = data(3, 6, seed=11)
    b = data(3, 6, seed=12)
    ours, theirs = IntegratedGradients(model), captum_attr.IntegratedGradients(mirror)
    n = 12
    for method in METHODS:
        a, d = ours.attribute(Tensor(x), target=1, method=method, n_steps=n, return_convergence_delta=True)
        ta, td = theirs.attribute(torch.tensor(x), target=1, method=method, n_steps=n,
                                  return_convergence_delta=True)
        if method == "riemann_trapezoid":
            # Captum weights its n trapezoid points 1/n (ends 1/(2n)): they sum to (n-1)/n, not 1.  Ours are
            # the trapezoid rule's 1/(n-1) (ends halved), so ours = Captum's · n/(n-1) on the same points.
            close(a, ta * n / (n - 1))
            assert np.abs(d.numpy()).max() < np.abs(td.detach().numpy()).max()
        else:
            close(a, ta)
            close(d, td)
    for base, tbase in ((None, None), (0.3, 0.3), (Tensor(b), torch.tensor(b)),
                        (Tensor(b[:1]), torch.tensor(b[:1]))):
        close(ours.attribute(Tensor(x), baselines=base, target=0, n_steps=10),
              theirs.attribute(torch.tensor(x), baselines=tbase, target=0, n_steps=10))
    for target in ([2, 0, 1], Tensor(np.array([1, 2, 0]))):
        ttarget = torch.tensor(target.numpy()) if isinstance(target, Tensor) else target
        close(ours.attribute(Tensor(x), target=target, n_steps=10, internal_batch_size=7),
              theirs.attribute(torch.tensor(x), target=ttarget, n_steps=10, internal_batch_size=7))
    plain = IntegratedGradients(model, multiply_by_inputs=False)
    assert not plain.multiplies_by_inputs
    their_plain = captum_attr.IntegratedGradients(mirror, multiply_by_inputs=False)
    close(plain.attribute(Tensor(x), target=2, n_steps=8),
          their_plain.attribute(torch.tensor(x), target=2, n_steps=8))


def test_integrated_gradients_tuple_inputs_and_args_match_captum():
    model = TwoInputs()
    mirror = TorchTwoInputs(model).eval()
    x, y, s = data(3, 4, seed=13), data(3, 2, seed=14), np.array([1.0, -2.0, 0.5])
    a, d = IntegratedGradients(model).attribute((Tensor(x), Tensor(y)),
                                                baselines=(0.2, Tensor(data(3, 2, seed=15))),
                                                target=[0, 2, 1], additional_forward_args=(Tensor(s),),
                                                n_steps=9, method="riemann_middle",
                                                return_convergence_delta=True)
    ta, td = captum_attr.IntegratedGradients(mirror).attribute(
        (torch.tensor(x), torch.tensor(y)), baselines=(0.2, torch.tensor(data(3, 2, seed=15))),
        target=[0, 2, 1], additional_forward_args=(torch.tensor(s),), n_steps=9, method="riemann_middle",
        return_convergence_delta=True)
    assert isinstance(a, tuple) and len(a) == 2
    close_all(a, ta)
    close(d, td)


class NoiseRecorder:
    """Records what our random functions drew, and replays it to Captum (torch.normal, np.random.choice,
    np.random.uniform) in the same order."""

    def __init__(self, monkeypatch):
        self.noise, self.rows, self.alphas = [], [], []
        self.monkeypatch = monkeypatch
        real_noise, real_rows, real_alphas = noise_tunnel.gaussian_noise, noise_tunnel.draw_rows, \
            gradient_shap.uniform_alphas

        def noise(*args, **kwargs):
            out = real_noise(*args, **kwargs)
            self.noise.append(out)
            return out

        def rows(*args, **kwargs):
            out = real_rows(*args, **kwargs)
            self.rows.append(out)
            return out

        def alphas(*args, **kwargs):
            out = real_alphas(*args, **kwargs)
            self.alphas.append(out)
            return out

        monkeypatch.setattr(noise_tunnel, "gaussian_noise", noise)
        monkeypatch.setattr(noise_tunnel, "draw_rows", rows)
        monkeypatch.setattr(gradient_shap, "uniform_alphas", alphas)

    def replay(self, inputs_per_chunk=1):
        noise, rows, alphas = list(self.noise), list(self.rows), list(self.alphas)

        def fake_normal(mean, std, *args, **kwargs):
            out = torch.from_numpy(np.array(noise.pop(0)))
            assert tuple(out.shape) == tuple(std.shape)
            return out

        # our draw is shared by every input; Captum draws once per input, so replay it that many times
        row_calls = [r for r in rows for _ in range(inputs_per_chunk)]

        def fake_choice(n, size, *args, **kwargs):
            out = row_calls.pop(0)
            assert len(out) == size and out.max() < n
            return np.asarray(out)

        def fake_uniform(low, high, size, *args, **kwargs):
            out = np.array(alphas.pop(0))
            assert out.shape == (size,)
            return out

        self.monkeypatch.setattr(torch, "normal", fake_normal)
        self.monkeypatch.setattr(np.random, "choice", fake_choice)
        self.monkeypatch.setattr(np.random, "uniform", fake_uniform)


@pytest.mark.parametrize("nt_type", ["smoothgrad", "smoothgrad_sq", "vargrad"])
def test_noise_tunnel_matches_captum_with_the_same_noise(nt_type, monkeypatch):
    model = mlp()
    mirror = torch_mlp(model)
    x = data(3, 6, seed=16)
    recorder = NoiseRecorder(monkeypatch)
    ours = NoiseTunnel(Saliency(model)).attribute(Tensor(x), nt_type=nt_type, nt_samples=5,
                                                  nt_samples_batch_size=2, stdevs=0.3, target=[0, 1, 2],
                                                  abs=False)
    assert len(recorder.noise) == 3                          # chunks of 2, 2 and 1 noisy copies
    recorder.replay()
    theirs = captum_attr.NoiseTunnel(captum_attr.Saliency(mirror)).attribute(
        torch.tensor(x, requires_grad=True), nt_type=nt_type, nt_samples=5, nt_samples_batch_size=2,
        stdevs=0.3, target=[0, 1, 2], abs=False)
    close(ours, theirs)


def test_noise_tunnel_over_integrated_gradients_tuple_inputs_and_delta_match_captum(monkeypatch):
    model = TwoInputs()
    mirror = TorchTwoInputs(model).eval()
    x, y, s, b = data(2, 4, seed=17), data(2, 2, seed=18), np.array([1.0, -0.5]), data(2, 4, seed=19)
    recorder = NoiseRecorder(monkeypatch)
    nt = NoiseTunnel(IntegratedGradients(model))
    assert nt.has_convergence_delta()
    a, d = nt.attribute((Tensor(x), Tensor(y)), nt_type="vargrad", nt_samples=3, stdevs=(0.2, 0.5),
                        baselines=(Tensor(b), 0.0), target=Tensor(np.array([2, 0])),
                        additional_forward_args=(Tensor(s),), n_steps=6, return_convergence_delta=True)
    recorder.replay()
    ta, td = captum_attr.NoiseTunnel(captum_attr.IntegratedGradients(mirror)).attribute(
        (torch.tensor(x), torch.tensor(y)), nt_type="vargrad", nt_samples=3, stdevs=(0.2, 0.5),
        baselines=(torch.tensor(b), 0.0), target=torch.tensor([2, 0]),
        additional_forward_args=(torch.tensor(s),), n_steps=6, return_convergence_delta=True)
    close_all(a, ta)
    close(d, td)


def test_noise_tunnel_drawing_baselines_from_a_distribution_matches_captum(monkeypatch):
    model = mlp()
    mirror = torch_mlp(model)
    x, dist = data(2, 6, seed=32), data(5, 6, seed=33)
    recorder = NoiseRecorder(monkeypatch)
    a, d = NoiseTunnel(IntegratedGradients(model)).attribute(
        Tensor(x), nt_samples=4, stdevs=0.2, draw_baseline_from_distrib=True, baselines=Tensor(dist),
        target=0, n_steps=5, return_convergence_delta=True)
    assert len(recorder.rows) == 1 and len(recorder.rows[0]) == 8      # one baseline per noisy copy
    recorder.replay()
    ta, td = captum_attr.NoiseTunnel(captum_attr.IntegratedGradients(mirror)).attribute(
        torch.tensor(x), nt_samples=4, stdevs=0.2, draw_baseline_from_distrib=True,
        baselines=torch.tensor(dist), target=0, n_steps=5, return_convergence_delta=True)
    close(a, ta)
    close(d, td)


def test_gradient_shap_matches_captum_with_the_same_draws(monkeypatch):
    model = mlp()
    mirror = torch_mlp(model)
    x, dist = data(3, 6, seed=20), data(4, 6, seed=21)
    recorder = NoiseRecorder(monkeypatch)
    gs = GradientShap(model)
    assert gs.has_convergence_delta()
    a, d = gs.attribute(Tensor(x), baselines=Tensor(dist), n_samples=6, stdevs=0.1, target=[1, 0, 2],
                        return_convergence_delta=True)
    assert d.shape == (18,)
    recorder.replay()
    ta, td = captum_attr.GradientShap(mirror).attribute(torch.tensor(x), baselines=torch.tensor(dist),
                                                        n_samples=6, stdevs=0.1, target=[1, 0, 2],
                                                        return_convergence_delta=True)
    close(a, ta)
    close(d, td)


def test_gradient_shap_tuple_inputs_match_captum(monkeypatch):
    model = TwoInputs()
    mirror = TorchTwoInputs(model).eval()
    x, y, s = data(2, 4, seed=22), data(2, 2, seed=23), np.array([0.5, 2.0])
    bx, by = data(5, 4, seed=24), data(5, 2, seed=25)
    recorder = NoiseRecorder(monkeypatch)
    a = GradientShap(model, multiply_by_inputs=True).attribute(
        (Tensor(x), Tensor(y)), baselines=lambda inputs: (Tensor(bx), Tensor(by)), n_samples=4,
        stdevs=(0.0, 0.2), target=1, additional_forward_args=(Tensor(s),))
    assert len(recorder.rows) == 1                           # one shared draw of reference rows
    recorder.replay(inputs_per_chunk=2)
    ta = captum_attr.GradientShap(mirror).attribute(
        (torch.tensor(x), torch.tensor(y)), baselines=(torch.tensor(bx), torch.tensor(by)), n_samples=4,
        stdevs=(0.0, 0.2), target=1, additional_forward_args=(torch.tensor(s),))
    close_all(a, ta)


def test_gradient_shap_on_a_linear_model_is_the_expected_ig():
    # F linear: the gradient is w everywhere, so each sample gives w ⊙ (x − b_s) whatever α is, and the
    # mean is w ⊙ (x − mean of the drawn baselines); with a single-row distribution: w ⊙ (x − b).
    tg.manual_seed(4)
    lin = nn.Linear(3, 1).double()
    x, b = data(2, 3, seed=26), data(1, 3, seed=27)
    a = GradientShap(lin).attribute(Tensor(x), baselines=Tensor(b), n_samples=7)
    np.testing.assert_allclose(a.numpy(), lin.weight.array[0] * (x - b), atol=1e-12)


def test_noise_is_reproducible_with_manual_seed():
    model = mlp()
    x = Tensor(data(2, 6, seed=28))
    runs = []
    for _ in range(2):
        tg.manual_seed(123)
        runs.append(NoiseTunnel(Saliency(model)).attribute(x, nt_samples=4, stdevs=0.5, target=0).numpy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.allclose(runs[0], Saliency(model).attribute(x, target=0).numpy())


# ------------------------------------------------------------------------------------------------
# (7) clear errors
# ------------------------------------------------------------------------------------------------
def test_bad_arguments_raise_clear_errors():
    model = mlp()
    x = Tensor(data(2, 6, seed=29))
    ig = IntegratedGradients(model)
    with pytest.raises(ValueError, match=r"IntegratedGradients: n_steps must be a positive int, got 0"):
        ig.attribute(x, target=0, n_steps=0)
    with pytest.raises(ValueError, match=r"IntegratedGradients: n_steps .* got 2\.5"):
        ig.attribute(x, target=0, n_steps=2.5)
    with pytest.raises(ValueError, match=r"IntegratedGradients: method must be one of .*'simpson'"):
        ig.attribute(x, target=0, method="simpson")
    with pytest.raises(ValueError, match=r"IntegratedGradients: baseline 0 has shape \(3, 6\); expected"):
        ig.attribute(x, baselines=Tensor(np.zeros((3, 6))), target=0)
    with pytest.raises(ValueError, match=r"IntegratedGradients: target 5 does not index the model's output"):
        ig.attribute(x, target=5)
    with pytest.raises(ValueError,
                       match=r"IntegratedGradients: target is a list of 3 entries for 2 examples"):
        ig.attribute(x, target=[0, 1, 2])
    with pytest.raises(ValueError, match=r"IntegratedGradients: the model's output has shape .*pass target="):
        ig.attribute(x)
    with pytest.raises(ValueError,
                       match=r"IntegratedGradients: internal_batch_size must be None or a positive"):
        ig.attribute(x, target=0, internal_batch_size=0)
    with pytest.raises(ValueError, match=r"NoiseTunnel: nt_type must be one of .*'smooth'"):
        NoiseTunnel(Saliency(model)).attribute(x, nt_type="smooth", target=0)
    with pytest.raises(ValueError, match=r"NoiseTunnel: stdevs must be a number or a tuple of 1 numbers"):
        NoiseTunnel(Saliency(model)).attribute(x, stdevs=(0.1, 0.2), target=0)
    with pytest.raises(ValueError, match=r"NoiseTunnel: return_convergence_delta=True, but Saliency has no"):
        NoiseTunnel(Saliency(model)).attribute(x, target=0, return_convergence_delta=True)
    with pytest.raises(TypeError, match=r"NoiseTunnel: expected an attribution method"):
        NoiseTunnel(model)
    with pytest.raises(ValueError, match=r"GradientShap: baselines 0 has shape \(4, 5\); expected a batch"):
        GradientShap(model).attribute(x, baselines=Tensor(np.zeros((4, 5))), target=0)
    with pytest.raises(ValueError, match=r"GradientShap: n_samples must be a positive int, got 0"):
        GradientShap(model).attribute(x, baselines=Tensor(np.zeros((4, 6))), n_samples=0, target=0)


# ------------------------------------------------------------------------------------------------
# (8) the model is left as it was found
# ------------------------------------------------------------------------------------------------
def snapshot(model):
    return [(p, p.requires_grad, p.grad, None if p.grad is None else p.grad.numpy().copy())
            for p in model.parameters()], [(m, m.training) for m in model.modules()]


def assert_unchanged(state):
    params, modes = state
    for p, requires_grad, grad, values in params:
        assert p.requires_grad == requires_grad
        if grad is None:
            assert p.grad is None
        else:
            assert p.grad is grad
            np.testing.assert_array_equal(p.grad.numpy(), values)
    for m, training in modes:
        assert m.training == training


def prepared_model():
    model = mlp()
    model.train()
    model[0].weight.grad = Tensor(np.full(model[0].weight.shape, 7.0))
    model[2].bias.grad = Tensor(np.arange(8.0))
    model[4].weight.requires_grad = False
    return model


def test_attribute_leaves_grads_flags_and_mode_untouched():
    model = prepared_model()
    state = snapshot(model)
    x = Tensor(data(2, 6, seed=30))
    Saliency(model).attribute(x, target=0)
    InputXGradient(model).attribute(x, target=1)
    IntegratedGradients(model).attribute(x, target=2, n_steps=5, internal_batch_size=4,
                                         return_convergence_delta=True)
    NoiseTunnel(IntegratedGradients(model)).attribute(x, nt_samples=2, target=0, n_steps=3)
    GradientShap(model).attribute(x, baselines=Tensor(np.zeros((3, 6))), target=0,
                                  return_convergence_delta=True)
    assert_unchanged(state)
    assert x.grad is None and not x.requires_grad


def test_state_restored_after_forward_func_raises_midway():
    model = prepared_model()
    state = snapshot(model)
    calls = []

    def forward(inputs):
        calls.append(1)
        if len(calls) == 2:                 # misbehave, then fail, in the middle of the attribution
            model.eval()
            model[0].weight.requires_grad = False
            model[2].bias.grad.array[...] = -1.0
            model[4].bias.grad = Tensor(np.ones(3))
            raise RuntimeError("boom")
        return model(inputs)

    x = Tensor(data(2, 6, seed=31))
    for run in (lambda: IntegratedGradients(forward).attribute(x, target=0, n_steps=4, internal_batch_size=2),
                lambda: NoiseTunnel(Saliency(forward)).attribute(x, nt_samples=4, nt_samples_batch_size=1,
                                                                 target=0),
                lambda: GradientShap(forward).attribute(x, baselines=Tensor(np.zeros((2, 6))), target=0,
                                                        return_convergence_delta=True)):
        calls.clear()
        with pytest.raises(RuntimeError, match="boom"):
            run()
        assert_unchanged(state)
