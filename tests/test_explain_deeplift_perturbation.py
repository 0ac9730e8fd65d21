"""GuidedBackprop, DeepLift, Occlusion, FeatureAblation and FeaturePermutation against Captum.

Each tinygrad_edu model has a PyTorch mirror holding the same float64 weights (copied through
``state_dict``); attributions must agree to 1e-6.  Besides parity: DeepLift's completeness on a model
that uses one ReLU object twice, ``perturbations_per_eval`` 1 vs 3, a guided-backprop hand case, the
error messages, and that no patched ``forward`` or other state is left behind, even after a raise.
"""
import numpy as np
import pytest
import torch
from captum import attr as captum_attr

import tinygrad_edu.nn as nn
from tinygrad_edu import Tensor
from tinygrad_edu.explain import (DeepLift, FeatureAblation, FeaturePermutation, GuidedBackprop,
                                  Occlusion)
from tinygrad_edu.explain import perturbation

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:captum.*")  # Captum's notes about hooks


def close(ours, theirs):
    ours = ours.array if isinstance(ours, Tensor) else np.asarray(ours)
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-8)


def same(a, b):
    """perturbations_per_eval=k vs 1: the same numbers, up to the last bits a batched matrix product
    may change (BLAS sums in another order for another batch size)."""
    np.testing.assert_allclose(a.array, b.array, rtol=1e-12, atol=1e-15)


def mirror(model, twin):
    """``twin`` (a torch.nn.Module with the same parameter names) holding ``model``'s weights, float64."""
    state = {k: torch.from_numpy(np.array(v.array, dtype=np.float64)) for k, v in model.state_dict().items()}
    twin.double()
    twin.load_state_dict(state)
    return twin.eval()


def build(layers, seed=0):
    """The same architecture in both frameworks: ``layers`` names each layer (engine class name and
    arguments); torch layers come from torch.nn with the same name."""
    np.random.seed(seed)
    ours = nn.Sequential(*[getattr(nn, name)(*a) for name, *a in layers]).double().eval()
    twin = torch.nn.Sequential(*[getattr(torch.nn, name)(*a) for name, *a in layers])
    return ours, mirror(ours, twin)


MLP = [("Linear", 5, 8), ("ReLU",), ("Linear", 8, 6), ("Tanh",), ("Linear", 6, 6), ("Sigmoid",),
       ("Linear", 6, 3)]
CNN = [("Conv2d", 2, 3, 3), ("ReLU",), ("Conv2d", 3, 4, 2, 1, 1), ("Tanh",), ("Flatten",),
       ("Linear", 4 * 6 * 5, 3)]


class Times1(torch.nn.Module):
    """x·1 between a ReLU and a MaxPool in the torch mirror only (see test_deeplift_cnn_with_pooling)."""

    def forward(self, x):
        return x * 1.0


def pooled_cnn():
    ours = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(3 * 3 * 3, 3)).double().eval()
    t = torch.nn
    twin = t.Sequential(t.Conv2d(2, 3, 3), t.ReLU(), Times1(), t.MaxPool2d(2), t.Flatten(), t.Linear(27, 3))
    state = {k.replace("4.", "5."): v for k, v in ours.state_dict().items()}
    twin.double()
    twin.load_state_dict({k: torch.from_numpy(np.array(v.array)) for k, v in state.items()})
    return ours, twin.eval()


def both(array):
    return Tensor(np.asarray(array, dtype=np.float64)), torch.tensor(np.asarray(array, dtype=np.float64))


rng = np.random.default_rng(0)
X, XT = both(rng.normal(size=(4, 5)))
B, BT = both(rng.normal(size=(4, 5)) * 0.3)
IMG, IMGT = both(rng.normal(size=(3, 2, 7, 6)))
IMG_B, IMG_BT = both(rng.normal(size=(3, 2, 7, 6)) * 0.5)


class TwoInputs(nn.Module):
    """F(a, b, shift) = fc3(tanh(fc1(a) + fc2(flatten(b)))) + shift: tuple inputs and an extra argument."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(3, 4), nn.Linear(4, 4), nn.Linear(4, 2)
        self.act = nn.Tanh()

    def forward(self, a, b, shift=0.0):
        return self.fc3(self.act(self.fc1(a) + self.fc2(b.reshape(b.shape[0], -1)))) + shift


class TwoInputsTorch(torch.nn.Module):
    def __init__(self):
        super().__init__()
        t = torch.nn
        self.fc1, self.fc2, self.fc3 = t.Linear(3, 4), t.Linear(4, 4), t.Linear(4, 2)
        self.act = t.Tanh()

    def forward(self, a, b, shift=0.0):
        return self.fc3(self.act(self.fc1(a) + self.fc2(b.reshape(b.shape[0], -1)))) + shift


def two_inputs():
    ours = TwoInputs().double().eval()
    return ours, mirror(ours, TwoInputsTorch())


A2, A2T = both(rng.normal(size=(3, 3)))
B2, B2T = both(rng.normal(size=(3, 2, 2)))
SHIFT, SHIFTT = both(rng.normal(size=(3, 2)))


# ------------------------------------------------------------------------------------------------
# GuidedBackprop
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layers, x, xt", [(MLP, X, XT), (CNN, IMG, IMGT)])
def test_guided_backprop_matches_captum(layers, x, xt):
    ours, twin = build(layers)
    close(GuidedBackprop(ours).attribute(x, target=2),
          captum_attr.GuidedBackprop(twin).attribute(xt, target=2))


def test_guided_backprop_hand_case():
    # h = relu(W x) = relu([1, 2, 3, -1]) = [1, 2, 3, 0]; F = w·h with w = [2, -1, 1, 5].
    # Plain gradient: Wᵀ (w ⊙ [h > 0]) = Wᵀ [2, -1, 1, 0] = [3, 0].
    # Guided: the negative -1 is dropped as well: Wᵀ [2, 0, 1, 0] = [3, 1].
    model = nn.Sequential(nn.Linear(2, 4, bias=False), nn.ReLU(), nn.Linear(4, 1, bias=False)).double()
    model[0].weight.array[...] = [[1, 0], [0, 1], [1, 1], [-1, 0]]
    model[2].weight.array[...] = [[2, -1, 1, 5]]
    x = Tensor(np.array([[1.0, 2.0]]))
    np.testing.assert_array_equal(GuidedBackprop(model).attribute(x).array, [[3.0, 1.0]])


# ------------------------------------------------------------------------------------------------
# DeepLift
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("multiply", [True, False])
def test_deeplift_mlp_matches_captum(multiply):
    ours, twin = build(MLP)
    got, delta = DeepLift(ours, multiply_by_inputs=multiply).attribute(
        X, B, target=1, return_convergence_delta=True)
    want, want_delta = captum_attr.DeepLift(twin, multiply_by_inputs=multiply).attribute(
        XT, BT, target=1, return_convergence_delta=True)
    close(got, want)
    close(delta, want_delta)
    if multiply:        # the rescale rule is complete on linear layers + elementwise nonlinearities
        np.testing.assert_allclose(delta.array, 0.0, atol=1e-12)


def test_deeplift_uses_the_plain_derivative_where_the_input_equals_the_baseline():
    ours, twin = build(MLP)
    b = B.array.copy()
    b[0] = X.array[0]                       # row 0: Δx = 0 at every unit, so f'(x) is used throughout
    b[1, :2] = X.array[1, :2]
    got = DeepLift(ours, multiply_by_inputs=False).attribute(X, Tensor(b), target=0)
    want = captum_attr.DeepLift(twin, multiply_by_inputs=False).attribute(XT, torch.tensor(b), target=0)
    close(got, want)
    gradient = captum_attr.Saliency(twin).attribute(XT[:1], target=0, abs=False)
    close(Tensor(got.array[:1]), gradient)


def test_deeplift_other_nonlinearities_and_softmax_match_captum():
    layers = [("Linear", 5, 4), ("ELU",), ("Linear", 4, 4), ("LeakyReLU", 0.1), ("Linear", 4, 4),
              ("Softplus",), ("Linear", 4, 3), ("Softmax", 1)]
    ours, twin = build(layers, seed=1)
    close(DeepLift(ours).attribute(X, B, target=0), captum_attr.DeepLift(twin).attribute(XT, BT, target=0))


def test_deeplift_cnn_without_pooling_matches_captum():
    ours, twin = build(CNN)
    got = DeepLift(ours).attribute(IMG, IMG_B, target=[0, 2, 1])
    close(got, captum_attr.DeepLift(twin).attribute(IMGT, IMG_BT, target=[0, 2, 1]))


def test_deeplift_cnn_with_pooling_matches_captum():
    # The max-pool rule of Captum, implemented here too.  Captum gets it wrong when a ReLU *module*
    # feeds a MaxPool *module* directly (observed with captum 0.9 / torch 2.13: its convergence
    # delta is then about 0.1 instead of 1e-16, the two modules' backward hooks interfere); with an
    # op between them (Times1, x·1, in the torch mirror only) Captum is complete and agrees with us.
    ours, twin = pooled_cnn()
    x, xt = both(rng.normal(size=(3, 2, 8, 8)))
    b, bt = both(rng.normal(size=(3, 2, 8, 8)) * 0.5)
    got, delta = DeepLift(ours).attribute(x, b, target=2, return_convergence_delta=True)
    want = captum_attr.DeepLift(twin).attribute(xt, bt, target=2)
    close(got, want)
    np.testing.assert_allclose(delta.array, 0.0, atol=1e-12)


def test_deeplift_tuple_inputs_and_additional_args_match_captum():
    ours, twin = two_inputs()
    got = DeepLift(ours).attribute((A2, B2), baselines=(0.5, B2 * 0.0), target=1,
                                   additional_forward_args=(SHIFT,))
    want = captum_attr.DeepLift(twin).attribute((A2T, B2T), baselines=(0.5, B2T * 0.0), target=1,
                                                additional_forward_args=(SHIFTT,))
    assert isinstance(got, tuple) and len(got) == 2
    for g, w in zip(got, want):
        close(g, w)


def test_inplace_relu_gives_the_same_attributions():
    ours, _ = build(MLP)
    deeplift = DeepLift(ours).attribute(X, B, target=1).array
    guided = GuidedBackprop(ours).attribute(X, target=1).array
    ours[1].inplace = True
    x = Tensor(X.array.copy())
    np.testing.assert_array_equal(DeepLift(ours).attribute(x, B, target=1).array, deeplift)
    np.testing.assert_array_equal(GuidedBackprop(ours).attribute(x, target=1).array, guided)
    np.testing.assert_array_equal(x.array, X.array)


class ReusedReLU(nn.Module):
    """One nn.ReLU object applied after two different layers."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(4, 6), nn.Linear(6, 5), nn.Linear(5, 2)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.fc3(self.relu(self.fc2(self.relu(self.fc1(x)))))


class ReusedReLUTorch(torch.nn.Module):
    def __init__(self, separate):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = torch.nn.Linear(4, 6), torch.nn.Linear(6, 5), torch.nn.Linear(5, 2)
        self.relu = torch.nn.ReLU()
        self.relu2 = torch.nn.ReLU() if separate else self.relu

    def forward(self, x):
        return self.fc3(self.relu2(self.fc2(self.relu(self.fc1(x)))))


def test_deeplift_reused_relu_module_is_complete():
    model = ReusedReLU().double().eval()
    x = Tensor(rng.normal(size=(5, 4)))
    b = Tensor(rng.normal(size=(5, 4)))
    attributions, delta = DeepLift(model).attribute(x, b, target=1, return_convergence_delta=True)
    with_grad = model(x).array[:, 1] - model(b).array[:, 1]
    np.testing.assert_allclose(attributions.array.sum(axis=1), with_grad, rtol=0, atol=1e-10)
    np.testing.assert_allclose(delta.array, 0.0, atol=1e-10)
    # the same answer as Captum gives for the same weights with two separate ReLU objects
    twin = mirror(model, ReusedReLUTorch(separate=True))
    xt, bt = torch.tensor(x.array), torch.tensor(b.array)
    close(attributions, captum_attr.DeepLift(twin).attribute(xt, bt, target=1))
    # Captum itself cannot handle the reused module (it keeps the inputs on the module object):
    # captum 0.9 raises "RuntimeError: A Module ReLU() was detected that does not contain some of
    # the input/output attributes that are required for DeepLift computations ... used more than
    # once in the network".  Only our correctness is asserted above.


# ------------------------------------------------------------------------------------------------
# Occlusion
# ------------------------------------------------------------------------------------------------
def test_occlusion_image_windows_with_strides_match_captum():
    ours, twin = build(CNN)
    # H = 7, window 2, stride 2: rows 0, 2, 4 and a last window at row 6 cut off at the edge;
    # W = 6, window 3, stride 2: columns 0, 2 and 4 (cut off to 4..5); so some entries are covered twice
    kwargs = dict(sliding_window_shapes=(1, 2, 3), strides=(1, 2, 2), target=1)
    got = Occlusion(ours).attribute(IMG, baselines=0.25, **kwargs)
    close(got, captum_attr.Occlusion(twin).attribute(IMGT, baselines=0.25, **kwargs))
    got3 = Occlusion(ours).attribute(IMG, baselines=0.25, perturbations_per_eval=3, **kwargs)
    same(got3, got)


def test_occlusion_1d_features_matches_captum():
    ours, twin = build(MLP)
    got = Occlusion(ours).attribute(X, (2,), strides=1, baselines=B, target=0)
    close(got, captum_attr.Occlusion(twin).attribute(XT, (2,), strides=1, baselines=BT, target=0))
    got = Occlusion(ours).attribute(X, (3,), strides=2, target=2)
    close(got, captum_attr.Occlusion(twin).attribute(XT, (3,), strides=2, target=2))


def test_occlusion_tuple_inputs_match_captum():
    ours, twin = two_inputs()
    kwargs = dict(sliding_window_shapes=((2,), (1, 2)), strides=(1, (1, 1)), target=0)
    got = Occlusion(ours).attribute((A2, B2), perturbations_per_eval=2, **kwargs)
    want = captum_attr.Occlusion(twin).attribute((A2T, B2T), **kwargs)
    for g, w in zip(got, want):
        close(g, w)


# ------------------------------------------------------------------------------------------------
# FeatureAblation and FeaturePermutation
# ------------------------------------------------------------------------------------------------
def test_feature_ablation_default_and_grouped_masks_match_captum():
    ours, twin = build(MLP)
    close(FeatureAblation(ours).attribute(X, target=1),
          captum_attr.FeatureAblation(twin).attribute(XT, target=1))
    mask = np.array([[0, 0, 1, 2, 2]])
    got = FeatureAblation(ours).attribute(X, baselines=B, target=2, feature_mask=Tensor(mask))
    want = captum_attr.FeatureAblation(twin).attribute(XT, baselines=BT, target=2,
                                                       feature_mask=torch.tensor(mask))
    close(got, want)
    got3 = FeatureAblation(ours).attribute(X, baselines=B, target=2, feature_mask=Tensor(mask),
                                           perturbations_per_eval=3)
    same(got3, got)


def test_feature_ablation_tuple_inputs_match_captum():
    ours, twin = two_inputs()
    for mask_a, mask_b in [(None, None), ([[0, 1, 1]], [[[2, 2], [1, 3]]])]:   # id 1 spans both inputs
        masks = None if mask_a is None else (Tensor(np.array(mask_a)), Tensor(np.array(mask_b)))
        masks_t = None if mask_a is None else (torch.tensor(mask_a), torch.tensor(mask_b))
        got = FeatureAblation(ours).attribute((A2, B2), baselines=(0.1, -0.2), target=1, feature_mask=masks,
                                              additional_forward_args=(SHIFT,), perturbations_per_eval=3)
        want = captum_attr.FeatureAblation(twin).attribute((A2T, B2T), baselines=(0.1, -0.2), target=1,
                                                           feature_mask=masks_t,
                                                           additional_forward_args=(SHIFTT,))
        for g, w in zip(got, want):
            close(g, w)


ORDER = [2, 0, 3, 1]        # a fixed permutation of the 4 rows, fed to both libraries


def test_feature_permutation_matches_captum_with_the_same_permutation(monkeypatch):
    monkeypatch.setattr(perturbation, "batch_permutation", lambda n: np.array(ORDER))
    ours, twin = build(MLP)

    def captum_perm(x, mask):
        return x[ORDER] * mask.to(x.dtype) + x * mask.bitwise_not().to(x.dtype)

    mask = np.array([[0, 1, 1, 2, 3]])
    for m in (None, mask):
        got = FeaturePermutation(ours).attribute(X, target=0, feature_mask=None if m is None else Tensor(m))
        want = captum_attr.FeaturePermutation(twin, perm_func=captum_perm).attribute(
            XT, target=0, feature_mask=None if m is None else torch.tensor(m))
        close(got, want)
        got3 = FeaturePermutation(ours).attribute(X, target=0, feature_mask=None if m is None else Tensor(m),
                                                  perturbations_per_eval=3)
        same(got3, got)


def test_feature_permutation_default_is_a_real_shuffle():
    order = perturbation.batch_permutation(3)
    assert sorted(order.tolist()) == [0, 1, 2] and order.tolist() != [0, 1, 2]
    # a feature the model ignores gets exactly zero, whatever the permutation
    model = nn.Sequential(nn.Linear(3, 1)).double()
    model[0].weight.array[...] = [[1.0, 0.0, 2.0]]
    got = FeaturePermutation(model).attribute(Tensor(rng.normal(size=(6, 3))))
    np.testing.assert_array_equal(got.array[:, 1], 0.0)
    assert np.abs(got.array[:, 0]).sum() > 0


# ------------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------------
def test_clear_errors():
    ours, _ = build(MLP)
    with pytest.raises(ValueError, match=r"Occlusion: the sliding window \(6,\) of input 0 is larger"):
        Occlusion(ours).attribute(X, (6,))
    with pytest.raises(ValueError,
                       match=r"Occlusion: strides for input 0 is \(1, 1\); expected a tuple of 1 int"):
        Occlusion(ours).attribute(X, (2,), strides=(1, 1))
    with pytest.raises(ValueError, match=r"strides \(3,\) of input 0 exceed its window \(2,\)"):
        Occlusion(ours).attribute(X, (2,), strides=(3,))
    with pytest.raises(ValueError, match=r"FeatureAblation: feature_mask 0 has shape \(1, 4\); expected"):
        FeatureAblation(ours).attribute(X, feature_mask=Tensor(np.zeros((1, 4), dtype=np.int64)))
    with pytest.raises(TypeError, match="integer feature ids"):
        FeatureAblation(ours).attribute(X, feature_mask=Tensor(np.zeros((1, 5))))
    with pytest.raises(ValueError, match="perturbations_per_eval must be a positive int"):
        FeatureAblation(ours).attribute(X, perturbations_per_eval=0)
    with pytest.raises(ValueError, match="FeaturePermutation: a batch of 1 example cannot be permuted"):
        FeaturePermutation(ours).attribute(X[:1])


def test_perturbations_per_eval_needs_a_per_example_output():
    ours, _ = build(MLP)

    def total(x):                       # one number for the whole batch
        return ours(x).sum()

    assert FeatureAblation(total).attribute(X).shape == (1, 5)
    with pytest.raises(ValueError, match="first dimension must grow with the batch"):
        FeatureAblation(total).attribute(X, perturbations_per_eval=2)


# ------------------------------------------------------------------------------------------------
# no state leaks
# ------------------------------------------------------------------------------------------------
class Exploding(nn.Module):
    """A model whose forward raises midway (after its ReLU ran) when ``explode`` is set."""

    def __init__(self):
        super().__init__()
        self.fc1, self.relu, self.fc2 = nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3)
        self.act = nn.Tanh()
        self.explode = False

    def forward(self, x):
        h = self.relu(self.fc1(x))
        if self.explode:
            raise RuntimeError("boom")
        return self.fc2(self.act(h))


def _assert_pristine(model, before, grads):
    for m in (model.relu, model.act):
        assert "forward" not in m.__dict__
        assert m.forward.__func__ is type(m).forward
    assert model.training
    for p, g in zip(model.parameters(), grads):
        assert p.requires_grad
        np.testing.assert_array_equal(p.grad.array, g)
    np.testing.assert_array_equal(model(X).array, before)


@pytest.mark.parametrize("method", ["guided", "deeplift", "occlusion", "ablation"])
def test_no_state_leaks_even_after_a_raise(method):
    model = Exploding().double()                 # left in training mode on purpose
    for p in model.parameters():
        p.grad = Tensor(np.full(p.shape, 7.0))
    grads = [p.grad.array.copy() for p in model.parameters()]
    before = model(X).array.copy()
    run = {"guided": lambda: GuidedBackprop(model).attribute(X, target=0),
           "deeplift": lambda: DeepLift(model).attribute(X, B, target=0, return_convergence_delta=True),
           "occlusion": lambda: Occlusion(model).attribute(X, (2,), target=0),
           "ablation": lambda: FeatureAblation(model).attribute(X, target=0)}[method]
    first = run()
    _assert_pristine(model, before, grads)
    model.explode = True
    with pytest.raises(RuntimeError, match="boom"):
        run()
    model.explode = False
    _assert_pristine(model, before, grads)
    again = run()                                # the same answer as before the failure
    for a, b in zip(first if isinstance(first, tuple) else (first,),
                    again if isinstance(again, tuple) else (again,)):
        np.testing.assert_array_equal(a.array, b.array)


def test_has_convergence_delta():
    ours, _ = build(MLP)
    assert DeepLift(ours).has_convergence_delta()
    assert not GuidedBackprop(ours).has_convergence_delta()
    assert not Occlusion(ours).has_convergence_delta()
