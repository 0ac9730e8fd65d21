"""``tinygrad_edu.explain``: what a model learned, and why it decides what it decides.

Every method is a few lines of gradients and forward passes on the engine's own autograd, with
Captum's names and signatures::

    from tinygrad_edu.explain import IntegratedGradients
    ig = IntegratedGradients(model)
    attributions, delta = ig.attribute(x, target=7, n_steps=64, return_convergence_delta=True)

=====================  ===========================================================================
family                 methods (file)
=====================  ===========================================================================
gradients              ``Saliency``, ``InputXGradient`` (gradient.py), ``GuidedBackprop``
                       (guided_backprop.py)
path integrals         ``IntegratedGradients`` (integrated_gradients.py), ``GradientShap``
                       (gradient_shap.py), ``DeepLift`` (deeplift.py)
noise                  ``NoiseTunnel``: SmoothGrad, SmoothGrad², VarGrad (noise_tunnel.py)
perturbation           ``Occlusion``, ``FeatureAblation``, ``FeaturePermutation`` (perturbation.py)
layers and neurons     ``LayerActivation``, ``LayerGradCam``, ``LayerIntegratedGradients``,
                       ``LayerConductance`` (layer.py), ``NeuronGradient`` (neuron.py)
training               ``ActivationStatistics``: per-layer statistics while training
                       (activation_stats.py)
attention              ``attention_maps``, ``attention_rollout``, ``head_importance``,
                       ``bertviz_export`` (attention.py)
sanity checks          ``model_randomisation``, ``rank_correlation``, ``reinitialised``: does a map
                       change when the weights are random? (sanity.py)
pictures               heatmaps over images, highlighted tokens in HTML and terminals (render.py)
=====================  ===========================================================================

What they share — inputs, targets, baselines, gradients, restoring the model's state — is in
``core.py``.  Names are imported on first use, so ``import tinygrad_edu.explain`` costs nothing.
"""
import importlib

_WHERE = {
    "Attribution": "core",
    "Saliency": "gradient", "InputXGradient": "gradient",
    "GuidedBackprop": "guided_backprop",
    "IntegratedGradients": "integrated_gradients",
    "GradientShap": "gradient_shap",
    "DeepLift": "deeplift",
    "NoiseTunnel": "noise_tunnel",
    "Occlusion": "perturbation", "FeatureAblation": "perturbation", "FeaturePermutation": "perturbation",
    "LayerActivation": "layer", "LayerGradCam": "layer", "LayerIntegratedGradients": "layer",
    "LayerConductance": "layer", "LayerAttribution": "layer",
    "NeuronGradient": "neuron",
    "ActivationStatistics": "activation_stats", "plot_activation_statistics": "activation_stats",
    "attention_maps": "attention", "attention_rollout": "attention", "head_importance": "attention",
    "bertviz_export": "attention", "plot_attention": "attention",
    "rank_correlation": "sanity", "reinitialised": "sanity", "model_randomisation": "sanity",
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module 'tinygrad_edu.explain' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)


def __dir__():
    return __all__
