"""``tinygrad_edu.models``: ready-made networks, from an MLP to VGG and ResNet.

    from tinygrad_edu import models
    model = models.vgg_mini(num_classes=10, in_channels=1)      # for MNIST
    model = models.get_model("resnet20", num_classes=10)        # by name (what the CLI uses)
    models.list_models()                                        # every name get_model knows

``vgg*`` and ``resnet18/34`` have torchvision's module names, so a torchvision ``state_dict``
loads into them one to one (``model.load_state_dict(sd)``).
"""
import inspect

from .airbench import AirbenchNet, airbench48, airbench64
from .bert import (BertConfig, BertForMaskedLM, BertForSequenceClassification,  # noqa: F401
                   BertForTokenClassification, BertModel)
from .gpt import GPT, GPTConfig  # noqa: F401  (a language model: not in the image-model registry)
from .lenet import LeNet5
from .mlp import MLP
from .resnet import (BasicBlock, CifarResNet, ResNet, ZeroPadShortcut, resnet18, resnet20,
                     resnet34, resnet56, resnet_cifar)
from .vgg import (BENCHMARK_CONFIG, VGG, VGGMini, make_layers, vgg11, vgg11_bn, vgg13, vgg13_bn,
                  vgg16, vgg16_bn, vgg19, vgg19_bn, vgg_mini)

# name → constructor; every constructor takes keyword arguments (num_classes=…, in_channels=…)
MODELS = {
    "mlp": MLP,
    "lenet5": LeNet5,
    "vgg_mini": vgg_mini,
    "vgg11": vgg11, "vgg11_bn": vgg11_bn,
    "vgg13": vgg13, "vgg13_bn": vgg13_bn,
    "vgg16": vgg16, "vgg16_bn": vgg16_bn,
    "vgg19": vgg19, "vgg19_bn": vgg19_bn,
    "resnet18": resnet18, "resnet34": resnet34,
    "resnet_cifar": resnet_cifar, "resnet20": resnet20, "resnet56": resnet56,
    "airbench48": airbench48, "airbench64": airbench64,
}


def list_models():
    """The names ``get_model`` accepts, sorted."""
    return sorted(MODELS)


def get_model(name, **kwargs):
    """Build the model called ``name`` (case-insensitive, ``-`` or ``_``), passing ``kwargs`` to
    its constructor: ``get_model("vgg_mini", num_classes=10, in_channels=1)``."""
    if not isinstance(name, str):
        raise TypeError(f"get_model: the model name must be a string, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    if key not in MODELS:
        raise ValueError(f"get_model: unknown model {name!r}; known models: "
                         f"{', '.join(list_models())}")
    constructor = MODELS[key]
    signature = inspect.signature(constructor)
    try:
        signature.bind(**kwargs)
    except TypeError as exc:  # a wrong keyword: say which model and what it accepts
        raise TypeError(f"get_model({name!r}): {exc}; it accepts: "
                        f"{', '.join(signature.parameters)}") from None
    return constructor(**kwargs)

__all__ = ["MLP", "LeNet5", "VGG", "VGGMini", "ResNet", "CifarResNet", "BasicBlock",
           "ZeroPadShortcut", "BENCHMARK_CONFIG", "make_layers", "vgg11", "vgg11_bn", "vgg13",
           "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "vgg_mini", "resnet18",
           "resnet34", "resnet_cifar", "resnet20", "resnet56", "get_model", "list_models"]
__all__ += ["BertConfig", "BertModel", "BertForMaskedLM", "BertForSequenceClassification",
            "BertForTokenClassification"]
__all__ += ["GPT", "GPTConfig"]
__all__ += ["AirbenchNet", "airbench48", "airbench64"]
