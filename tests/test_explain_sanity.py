"""Adebayo et al.'s model-randomisation sanity check on a LeNet-5 trained on MNIST: once the top
layers are re-initialised, the attribution maps must change (rank correlation below 0.5), or the
method explains the input rather than the model."""
import os

import numpy as np
import pytest

from tinygrad_edu import from_numpy, manual_seed, optim
from tinygrad_edu import no_grad as tg_no_grad
from tinygrad_edu.explain import LayerGradCam, Saliency, model_randomisation, rank_correlation, reinitialised
from tinygrad_edu.nn import functional as F

DATA = os.environ.get("TINYGRAD_EDU_DATA", "")
pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(DATA, "mnist")),
                                reason="staged MNIST not found: set TINYGRAD_EDU_DATA")


@pytest.fixture(scope="module")
def trained():
    """LeNet-5 after 150 Adam steps on 3000 MNIST digits (~97% test accuracy, 2-3 s), and 32 test
    digits with their labels."""
    from tinygrad_edu.models.lenet import LeNet5
    from tinygrad_edu.training.datasets import load_image_data
    manual_seed(0)
    data = load_image_data("mnist", limit_train=3000)
    model = LeNet5()
    opt = optim.Adam(model.parameters(), lr=2e-3)
    rng = np.random.default_rng(0)
    for _ in range(150):
        rows = rng.integers(0, 3000, 64)
        loss = F.cross_entropy(model(from_numpy(data.x_train[rows])), from_numpy(data.y_train[rows]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    x, y = data.x_test[:32], data.y_test[:32]
    accuracy = float((model(from_numpy(x)).array.argmax(1) == y).mean())
    assert accuracy > 0.9, accuracy                     # a model that learned, or the check means nothing
    return model, from_numpy(x), [int(t) for t in y]


def test_a_map_compared_with_itself_has_rank_correlation_one(trained):
    model, x, y = trained
    rho = model_randomisation(lambda m: Saliency(m).attribute(x, target=y, abs=False), model, [])
    np.testing.assert_allclose(rho, 1.0, atol=1e-12)


def test_signed_gradients_change_when_the_logit_layer_is_random(trained):
    model, x, y = trained
    rho = model_randomisation(lambda m: Saliency(m).attribute(x, target=y, abs=False), model,
                              ["classifier.4"])
    assert rho.mean() < 0.5, rho.mean()                 # measured about -0.2


def test_absolute_gradients_change_when_the_top_layers_are_random(trained):
    model, x, y = trained
    names = ["classifier.4", "classifier.2", "classifier.0", "features.3"]
    rho = model_randomisation(lambda m: Saliency(m).attribute(x, target=y, abs=True), model, names)
    assert rho.mean() < 0.5, rho.mean()                 # measured about 0.42 (|∂F/∂x| keeps edges)


def test_gradcam_changes_when_the_classifier_is_random(trained):
    model, x, y = trained

    def gradcam(m):
        return LayerGradCam(m, m.features[3]).attribute(x, target=y)

    rho = model_randomisation(gradcam, model, ["classifier.4", "classifier.2", "classifier.0"])
    assert rho.mean() < 0.5, rho.mean()


def test_reinitialised_leaves_the_original_model_alone_and_names_bad_modules(trained):
    model, x, y = trained
    before = model(x).array.copy()
    clone = reinitialised(model, ["classifier.4"])
    np.testing.assert_array_equal(model(x).array, before)
    assert not np.allclose(clone(x).array, before)
    with pytest.raises(ValueError, match="no module 'classifier.9'"):
        reinitialised(model, ["classifier.9"])
    with pytest.raises(ValueError, match="has no weights"):
        reinitialised(model, ["classifier.1"])


def test_rank_correlation_is_spearmans_rho_with_ties():
    from scipy.stats import spearmanr
    rng = np.random.default_rng(1)
    a = rng.normal(size=200)
    b = a + rng.normal(size=200)
    b[:20] = 0.5                                        # ties get their mean rank
    assert abs(rank_correlation(a, b) - spearmanr(a, b).correlation) < 1e-12
    assert rank_correlation(np.ones(5), np.arange(5)) == 0.0
    with pytest.raises(ValueError, match="3 and 4 entries"):
        rank_correlation(np.ones(3), np.ones(4))


def test_integrated_gradients_on_the_trained_cnn_reach_completeness_1e_3_by_256_points(trained):
    """Σ attributions = F(x) − F(0) with Gauss–Legendre points, float64, on the trained LeNet-5.

    Its ReLUs and max pools make the integrand along the path piecewise smooth: at every kink the
    quadrature error is O(1/n) instead of Gauss–Legendre's exponential rate on smooth functions, so
    64 points do not bring every digit under 1e-3 (measured on 32 digits: median 4.0e-4, max 1.8e-3;
    75% under 1e-3) while 256 do (max 5.6e-4).  Smooth networks (tanh, GELU: the MLP and BERT tests)
    reach 1e-3 with 64 points."""
    import copy

    from tinygrad_edu.explain import IntegratedGradients
    model, x, y = trained
    double = copy.deepcopy(model).double()
    x64 = x.double()[:8]
    with tg_no_grad():
        f_x = double(x64).numpy()[np.arange(8), y[:8]]
        f_0 = double(x64 * 0).numpy()[np.arange(8), y[:8]]
    relative = {}
    for n in (64, 256):
        attributions, delta = IntegratedGradients(double).attribute(x64, target=y[:8], n_steps=n,
                                                                    internal_batch_size=512,
                                                                    return_convergence_delta=True)
        np.testing.assert_allclose(attributions.numpy().reshape(8, -1).sum(1) - (f_x - f_0), delta.numpy(),
                                   atol=1e-9)
        relative[n] = np.abs(delta.numpy()) / np.abs(f_x - f_0)
    assert np.median(relative[64]) < 1e-3 and relative[64].max() < 3e-3, relative[64]
    assert relative[256].max() < 1e-3, relative[256]
