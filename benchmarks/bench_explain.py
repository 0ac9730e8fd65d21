"""Explanation methods: ``tinygrad_edu.explain`` against Captum on PyTorch (CPU), in one process.

    python -m benchmarks.bench_explain
    python -m benchmarks.bench_explain --rows ig_mlp,occlusion_lenet --threads 1 --json out.json

Rows (ratio = library time / Captum's time, same weights and inputs, attributions compared first):

* ``ig_mlp``: ``IntegratedGradients`` of an MLP 784-256-256-10 (ReLU) on 8 digits, 64 Gauss–Legendre
  steps in one internal batch (512 rows forward and backward).  The ``numpy`` column is the same
  computation by hand — the path points, one forward and one backward of the MLP as BLAS calls, the
  weighted sum: the floor a NumPy engine can reach;
* ``ig_lenet``: the same method on LeNet-5 (4 digits, 32 steps), convolution-bound;
* ``occlusion_lenet``: ``Occlusion`` with a 4 × 4 window, stride 2 (169 positions), 32 perturbations per
  forward pass, 2 digits: forward passes only;
* ``deeplift_lenet``: ``DeepLift`` (rescale rule), 8 digits: one forward and one backward of the
  doubled batch.

The ``floor`` column times the matrix products of one of our steps alone (``benchmarks/floors.py``):
how far each method is from the limit of any engine built on NumPy's BLAS.  The inputs are random normal
images (the time does not depend on the values); the weights are drawn in
tinygrad_edu and copied into the PyTorch twins of ``benchmarks/torch_twins.py``.
"""
import sys

import numpy as np

from . import harness
from .floors import floor_builder
from .harness import Row, Workload

SEED = 0


def _images(n):
    return np.random.default_rng(SEED).standard_normal((n, 1, 28, 28)).astype(np.float32)


def _ours(name):
    """tinygrad_edu's model ``name`` ('mlp' or 'lenet5') after ``manual_seed(SEED)``, in eval mode."""
    import tinygrad_edu as tg
    from tinygrad_edu.models import get_model
    tg.manual_seed(SEED)
    model = get_model(name, num_classes=10, **({"hidden": (256, 256)} if name == "mlp" else {}))
    model.eval()
    return model


def _twin(name):
    """The PyTorch twin of ``_ours(name)`` with the same weights."""
    import torch
    from . import torch_twins
    ours = _ours(name)
    twin = torch_twins.MLP(hidden=(256, 256)) if name == "mlp" else torch_twins.LeNet5()
    state = {k: torch.from_numpy(np.array(v.numpy())) for k, v in ours.state_dict().items()}
    twin.load_state_dict(state)
    twin.eval()
    return twin


def _targets(n):
    return [int(t) for t in np.arange(n) % 10]


def _workload(call):
    state = {}

    def step():
        state["attr"] = call()

    def outputs():
        attr = state["attr"]
        attr = attr.detach().numpy() if hasattr(attr, "detach") else np.asarray(attr.numpy())
        return {"attributions": np.asarray(attr, np.float64)}

    return Workload(step, outputs)


def numpy_integrated_gradients(weights, x, targets, n_steps):
    """IG of a ReLU MLP by hand: every path point at once, forward, backward of the selected logit,
    the Gauss–Legendre weighted sum, times (x − 0)."""
    nodes, w = np.polynomial.legendre.leggauss(n_steps)
    alphas, step_weights = 0.5 * (nodes + 1), 0.5 * w
    n = x.shape[0]
    flat = x.reshape(n, -1)
    points = (alphas[:, None, None] * flat[None]).reshape(n_steps * n, -1).astype(np.float32)
    layers = [(weights[f"layers.{i}.weight"], weights[f"layers.{i}.bias"]) for i in (1, 3, 5)]
    activations, h = [], points
    for i, (W, b) in enumerate(layers):
        activations.append(h)
        h = h @ W.T + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0)
    grad = np.zeros_like(h)
    grad[np.arange(n_steps * n), np.tile(targets, n_steps)] = 1.0
    for i in reversed(range(len(layers))):
        W, _ = layers[i]
        grad = grad @ W
        if i > 0:
            grad = grad * (activations[i] > 0)
    per_step = grad.reshape(n_steps, n, -1)
    total = np.tensordot(step_weights.astype(np.float32), per_step, axes=1)
    return (total * flat).reshape(x.shape)


def ig_row(model="mlp", n=8, n_steps=64):
    x0, targets = _images(n), _targets(n)

    def build_ours():
        import tinygrad_edu as tg
        from tinygrad_edu.explain import IntegratedGradients
        ig, x = IntegratedGradients(_ours(model)), tg.tensor(x0)
        return _workload(lambda: ig.attribute(x, target=targets, n_steps=n_steps, method="gausslegendre"))

    def build_captum():
        import torch
        from captum.attr import IntegratedGradients
        ig, x = IntegratedGradients(_twin(model)), torch.from_numpy(x0)
        return _workload(lambda: ig.attribute(x, target=targets, n_steps=n_steps, method="gausslegendre"))

    build = {"torch": build_captum, "tinygrad_edu": build_ours, "floor": floor_builder(build_ours)}
    if model == "mlp":
        def build_numpy():
            weights = {k: np.array(v.numpy()) for k, v in _ours("mlp").state_dict().items()}
            state = {}

            def step():
                state["attr"] = numpy_integrated_gradients(weights, x0, np.asarray(targets), n_steps)

            return Workload(step, lambda: {"attributions": state["attr"].astype(np.float64)})
        build["numpy"] = build_numpy
    what = "MLP 784-256-256-10" if model == "mlp" else "LeNet-5"
    note = (f"IntegratedGradients(model).attribute(x, target, n_steps={n_steps}, method='gausslegendre'); "
            "torch: Captum on the PyTorch twin" + ("; numpy: the same by hand" if model == "mlp" else ""))
    return Row(f"IntegratedGradients, {what}, {n} images x {n_steps} steps", build, rtol=2e-3, atol=2e-4,
               note=note)


def occlusion_row(n=2):
    x0, targets = _images(n), _targets(n)
    kwargs = dict(sliding_window_shapes=(1, 4, 4), strides=(1, 2, 2), perturbations_per_eval=32)

    def build_ours():
        import tinygrad_edu as tg
        from tinygrad_edu.explain import Occlusion
        occlusion, x = Occlusion(_ours("lenet5")), tg.tensor(x0)
        return _workload(lambda: occlusion.attribute(x, target=targets, **kwargs))

    def build_captum():
        import torch
        from captum.attr import Occlusion
        occlusion, x = Occlusion(_twin("lenet5")), torch.from_numpy(x0)
        return _workload(lambda: occlusion.attribute(x, target=targets, **kwargs))

    return Row(f"Occlusion 4x4 stride 2, LeNet-5, {n} images",
               {"torch": build_captum, "tinygrad_edu": build_ours, "floor": floor_builder(build_ours)},
               rtol=1e-3, atol=1e-4, note="169 window positions, 32 per forward pass")


def _times1_class():
    import torch

    class Times1(torch.nn.Module):
        def forward(self, x):
            return x * 1

    return Times1


def _Times1():
    return _times1_class()()


def deeplift_row(n=8):
    x0, targets = _images(n), _targets(n)

    def build_ours():
        import tinygrad_edu as tg
        from tinygrad_edu.explain import DeepLift
        method, x = DeepLift(_ours("lenet5")), tg.tensor(x0)
        return _workload(lambda: method.attribute(x, target=targets))

    def build_captum():
        import torch
        from captum.attr import DeepLift
        twin = _twin("lenet5")
        layers = []
        for m in twin.features:
            if isinstance(m, torch.nn.ReLU):    # Captum's DeepLift needs out-of-place ReLUs, and its max-pool
                m.inplace = False               # rule is wrong right after a ReLU module (completeness error
                layers += [m, _Times1()]        # ~0.1): one x * 1 in between makes it exact
            else:
                layers.append(m)
        twin.features = torch.nn.Sequential(*layers)
        method, x = DeepLift(twin), torch.from_numpy(x0)
        return _workload(lambda: method.attribute(x, target=targets))

    return Row(f"DeepLift, LeNet-5, {n} images",
               {"torch": build_captum, "tinygrad_edu": build_ours, "floor": floor_builder(build_ours)},
               rtol=1e-3, atol=1e-4, note="rescale rule and Captum's max-pool rule on both sides (Captum's "
                                          "twin with an x * 1 after each ReLU, which it needs to be exact)")


ROWS = {"ig_mlp": ig_row, "ig_lenet": lambda: ig_row("lenet5", n=4, n_steps=32),
        "occlusion_lenet": occlusion_row, "deeplift_lenet": deeplift_row}


def main(argv=None, reexec=True):
    """The command line; ``reexec=False`` keeps the process (for tests: see harness.set_threads)."""
    return harness.rows_main(argv, reexec, "python -m benchmarks.bench_explain", __doc__, ROWS,
                             "Explanation methods: tinygrad_edu vs Captum on PyTorch",
                             repeat=7, warmup=1, min_round_ms=200.0,
                             profile_calls=5)


if __name__ == "__main__":
    sys.exit(main())
