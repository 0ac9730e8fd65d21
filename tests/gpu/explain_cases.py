"""The explanation methods on one small CNN, shared by the fake-device test (CPU) and the real-GPU test:
``methods(model)`` maps each method's name to a function of the input."""
import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import explain, nn


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(3 * 3 * 3, 4)
        self.tanh = nn.Tanh()

    def forward(self, x):
        return self.tanh(self.fc(self.pool(self.relu(self.conv(x))).flatten(1)))


def host_array(value):
    value = getattr(value, "array", value)
    if hasattr(value, "get") and not isinstance(value, np.ndarray):       # CuPy (or the fake): to the host
        return value.get()
    if isinstance(value, (tuple, list)):
        return [host_array(v) for v in value]
    return np.asarray(value)


def methods(model):
    conv = model.conv
    return {
        "Saliency": lambda x: explain.Saliency(model).attribute(x, target=1),
        "InputXGradient": lambda x: explain.InputXGradient(model).attribute(x, target=[0, 1]),
        "IntegratedGradients": lambda x: explain.IntegratedGradients(model).attribute(
            x, target=1, n_steps=5, internal_batch_size=4, return_convergence_delta=True),
        "GuidedBackprop": lambda x: explain.GuidedBackprop(model).attribute(x, target=1),
        "DeepLift": lambda x: explain.DeepLift(model).attribute(x, target=1, return_convergence_delta=True),
        "Occlusion": lambda x: explain.Occlusion(model).attribute(x, sliding_window_shapes=(1, 3, 3),
                                                                  strides=(1, 2, 2), target=1,
                                                                  perturbations_per_eval=3),
        "FeatureAblation": lambda x: explain.FeatureAblation(model).attribute(x, target=1,
                                                                              perturbations_per_eval=4),
        "LayerActivation": lambda x: explain.LayerActivation(model, conv).attribute(x),
        "LayerGradCam": lambda x: explain.LayerAttribution.interpolate(
            explain.LayerGradCam(model, conv).attribute(x, target=1), (6, 6), interpolate_mode="bilinear"),
        "LayerIntegratedGradients": lambda x: explain.LayerIntegratedGradients(model, conv).attribute(
            x, target=1, n_steps=4, return_convergence_delta=True),
        "LayerConductance": lambda x: explain.LayerConductance(model, conv).attribute(x, target=1, n_steps=4),
        "NeuronGradient": lambda x: explain.NeuronGradient(model, conv).attribute(x,
                                                                                  neuron_selector=(0, 1, 1)),
    }


def model_and_input():
    tg.manual_seed(0)
    model = SmallCNN()
    model.eval()
    x = tg.tensor(np.random.default_rng(0).normal(size=(2, 1, 6, 6)).astype(np.float32))
    return model, x
