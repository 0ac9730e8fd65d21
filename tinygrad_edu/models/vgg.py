"""VGG (Simonyan & Zisserman, 2014) with torchvision's module names, and ``vgg_mini`` for small images.

VGG's idea is to use one kind of layer only: 3 × 3 convolutions with padding 1 (they keep the
height and width), each followed by a ReLU, in blocks that end with a 2 × 2 max pooling (which
halves height and width).  After every pooling the number of channels doubles, up to 512.  Two
stacked 3 × 3 convolutions see a 5 × 5 window, three see 7 × 7, with fewer parameters and more
non-linearities than one big filter.  The ``_bn`` variants put a ``BatchNorm2d`` between every
convolution and its ReLU, which makes these deep stacks much easier to train.

The four depths count the layers with weights (convolutions + 3 Linear layers); a number is a
3 × 3 convolution with that many output channels, M a max pooling:

    ========  ======  =================================================================
    model     config  features
    ========  ======  =================================================================
    vgg11     A       64 M 128 M 256 256 M 512 512 M 512 512 M
    vgg13     B       64 64 M 128 128 M 256 256 M 512 512 M 512 512 M
    vgg16     D       64 64 M 128 128 M 256 256 256 M 512 512 512 M 512 512 512 M
    vgg19     E       64 64 M 128 128 M 256 256 256 256 M 512 512 512 512 M 512 512 512 512 M
    ========  ======  =================================================================

then ``avgpool`` (AdaptiveAvgPool2d((7, 7)): a 224 × 224 image arrives there as 7 × 7 already,
any other size is averaged/replicated to 7 × 7), flatten to 512·7·7 = 25,088 numbers, and the
classifier ``Linear(25088, 4096) ReLU Dropout Linear(4096, 4096) ReLU Dropout Linear(4096, classes)``.

Parameters with 1000 classes: vgg11 132,863,336; vgg13 133,047,848; vgg16 138,357,544;
vgg19 143,667,240 (the ``_bn`` variants add 2 per channel: vgg16_bn 138,365,992).  Most of them
(102,764,544) are in the first Linear layer; the convolutions of vgg16 hold only 14,714,688.

The names are torchvision's (``features.0.weight``, ``features.1.running_mean`` for ``_bn``,
``classifier.6.bias``), so its ``state_dict`` loads with ``model.load_state_dict`` one to one.
The initialisation is torchvision's: convolutions Kaiming-normal (fan_out, ReLU gain) with zero
bias, BatchNorm weight 1 and bias 0, Linear weights N(0, 0.01²) with zero bias.

``vgg_mini`` is the same recipe shrunk for 28 × 28 (MNIST) and 32 × 32 (CIFAR-10) images; see its
docstring.
"""
from .. import nn
from ..nn import init
from .common import check_image_input, default_input_size

# a number: 3×3 convolution with that many output channels; "M": 2×2 max pooling
CONFIGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}

# the small configurations of vgg_mini
MINI_CONFIGS = {
    # the benchmark network: conv3×3 32-32-pool-64-64-pool (then FC 256)
    "two_blocks": [32, 32, "M", 64, 64, "M"],
    # one more block: 32-32-pool-64-64-pool-128-128-pool (the default: better on CIFAR-10)
    "three_blocks": [32, 32, "M", 64, 64, "M", 128, 128, "M"],
}

# vgg_mini arguments of the benchmark row "mini-VGG train step" (batch 32, 32×32×3 images)
BENCHMARK_CONFIG = dict(cfg="two_blocks", batch_norm=False, hidden=256, in_channels=3,
                        num_classes=10)


def make_layers(cfg, batch_norm=False, in_channels=3):
    """The ``features`` Sequential of a configuration: each number v becomes
    ``Conv2d(c, v, 3, padding=1) (BatchNorm2d(v)) ReLU``, each "M" ``MaxPool2d(2, 2)``."""
    layers = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        in_channels = v
    return nn.Sequential(*layers)


def init_vgg_weights(model):
    """torchvision's VGG initialisation: Kaiming-normal convolutions (fan_out, so the gradients
    flowing back keep their scale), BatchNorm (1, 0), Linear N(0, 0.01²) with zero bias."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                init.constant_(m.bias, 0)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            init.constant_(m.weight, 1)
            init.constant_(m.bias, 0)
        elif isinstance(m, nn.Linear):
            init.normal_(m.weight, 0, 0.01)
            init.constant_(m.bias, 0)


class VGG(nn.Module):
    """``features`` (the convolutions) → ``avgpool`` (to 7 × 7) → flatten → ``classifier``."""

    def __init__(self, features, num_classes=1000, init_weights=True, dropout=0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            init_vgg_weights(self)

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = x.flatten(1)
        return self.classifier(x)


def _vgg(cfg, batch_norm, num_classes, in_channels, dropout, init_weights):
    return VGG(make_layers(CONFIGS[cfg], batch_norm, in_channels), num_classes=num_classes,
               init_weights=init_weights, dropout=dropout)


def vgg11(num_classes=1000, in_channels=3, dropout=0.5, init_weights=True):
    """VGG-11 (configuration A): 8 convolutions + 3 Linear, 132,863,336 parameters."""
    return _vgg("A", False, num_classes, in_channels, dropout, init_weights)


def vgg11_bn(num_classes=1000, in_channels=3, dropout=0.5, init_weights=True):
    """VGG-11 with BatchNorm2d after every convolution, 132,868,840 parameters."""
    return _vgg("A", True, num_classes, in_channels, dropout, init_weights)


def vgg13(num_classes=1000, in_channels=3, dropout=0.5, init_weights=True):
    """VGG-13 (configuration B): 10 convolutions + 3 Linear, 133,047,848 parameters."""
    return _vgg("B", False, num_classes, in_channels, dropout, init_weights)


def vgg13_bn(num_classes=1000, in_channels=3, dropout=0.5, init_weights=True):
    """VGG-13 with BatchNorm2d after every convolution, 133,053,736 parameters."""
    return _vgg("B", True, num_classes, in_channels, dropout, init_weights)


def vgg16(num_classes=1000, in_channels=3, dropout=0.5, init_weights=True):
    """VGG-16 (configuration D): 13 convolutions + 3 Linear, 138,357,544 parameters."""
    return _vgg("D", False, num_classes, in_channels, dropout, init_weights)


def vgg16_bn(num_classes=1000, in_channels=3, dropout=0.5, init_weights=True):
    """VGG-16 with BatchNorm2d after every convolution, 138,365,992 parameters."""
    return _vgg("D", True, num_classes, in_channels, dropout, init_weights)


def vgg19(num_classes=1000, in_channels=3, dropout=0.5, init_weights=True):
    """VGG-19 (configuration E): 16 convolutions + 3 Linear, 143,667,240 parameters."""
    return _vgg("E", False, num_classes, in_channels, dropout, init_weights)


def vgg19_bn(num_classes=1000, in_channels=3, dropout=0.5, init_weights=True):
    """VGG-19 with BatchNorm2d after every convolution, 143,678,248 parameters."""
    return _vgg("E", True, num_classes, in_channels, dropout, init_weights)


class VGGMini(nn.Module):
    """A VGG for small images: ``features`` (3 × 3 convolutions, (BatchNorm,) ReLU, 2 × 2 max
    pooling) → flatten → ``classifier`` = ``Linear(C·s·s, hidden) ReLU Dropout Linear(hidden,
    num_classes)``, where C is the last block's channels and s the side left after the poolings.
    No ``avgpool``: the first Linear sees the feature maps directly, so the image size is fixed
    at construction (``input_size``)."""

    def __init__(self, features, flat_features, input_size, in_channels, num_classes=10,
                 hidden=256, dropout=0.5):
        super().__init__()
        self.in_channels, self.input_size = in_channels, input_size
        self.features = features
        self.classifier = nn.Sequential(
            nn.Linear(flat_features, hidden), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        check_image_input(self, x, self.in_channels, self.input_size)
        x = self.features(x)
        x = x.flatten(1)
        return self.classifier(x)


def vgg_mini(num_classes=10, in_channels=3, batch_norm=True, cfg="three_blocks", hidden=256,
             dropout=0.5, input_size=None, init_weights=True):
    """A small VGG for 28 × 28 and 32 × 32 images.

    Args:
        num_classes: number of output logits.
        in_channels: 1 (MNIST) or 3 (CIFAR-10).
        batch_norm: put BatchNorm2d between each convolution and its ReLU.
        cfg: ``"three_blocks"`` (32-32-M-64-64-M-128-128-M, the default), ``"two_blocks"``
            (32-32-M-64-64-M: the issue's benchmark network, see ``BENCHMARK_CONFIG``) or a list
            in the format of ``CONFIGS``.
        hidden: width of the hidden Linear layer.
        dropout: dropout probability before the last Linear.
        input_size: image side (default 28 for one channel, 32 otherwise).
        init_weights: VGG's initialisation for the convolutions (Kaiming-normal, fan_out) and
            BatchNorm; the Linear layers keep PyTorch's default, which suits a small classifier
            better than VGG's N(0, 0.01²).

    ``three_blocks`` with batch norm on 32 × 32 × 3 images:

        =============  ================  ===========================================
        name           output            layer                            parameters
        =============  ================  ===========================================
        features.0-2   (N, 32, 32, 32)   Conv2d(3, 32, 3, padding=1) BN ReLU     960
        features.3-5   (N, 32, 32, 32)   Conv2d(32, 32, 3, padding=1) BN ReLU  9,312
        features.6     (N, 32, 16, 16)   MaxPool2d(2)
        features.7-9   (N, 64, 16, 16)   Conv2d(32, 64, ...) BN ReLU          18,624
        features.10-12 (N, 64, 16, 16)   Conv2d(64, 64, ...) BN ReLU          37,056
        features.13    (N, 64, 8, 8)     MaxPool2d(2)
        features.14-16 (N, 128, 8, 8)    Conv2d(64, 128, ...) BN ReLU         74,112
        features.17-19 (N, 128, 8, 8)    Conv2d(128, 128, ...) BN ReLU       147,840
        features.20    (N, 128, 4, 4)    MaxPool2d(2)
        classifier.0-2 (N, 256)          Linear(2048, 256) ReLU Dropout      524,544
        classifier.3   (N, 10)           Linear(256, 10)                       2,570
        =============  ================  ===========================================
        total                                                                815,018

    On 28 × 28 × 1 the maps are 28 → 14 → 7 → 3, the first Linear has 128·3·3 = 1,152 inputs and
    the total is 585,066.  The benchmark network (``two_blocks``, no batch norm, 32 × 32 × 3) has
    64·8·8 = 4,096 features going into Linear(4096, 256), 1,116,970 parameters in all.
    """
    if isinstance(cfg, str):
        if cfg not in MINI_CONFIGS:
            raise ValueError(f"vgg_mini: unknown cfg {cfg!r}; known: {sorted(MINI_CONFIGS)} (or "
                             "pass a list such as [32, 'M', 64, 'M'])")
        cfg = MINI_CONFIGS[cfg]
    input_size = default_input_size(in_channels) if input_size is None else input_size
    channels = [v for v in cfg if v != "M"]
    if not channels:
        raise ValueError(f"vgg_mini: cfg {cfg!r} has no convolution")
    side = input_size
    for v in cfg:
        if v == "M":
            side //= 2
    if side < 1:
        raise ValueError(f"vgg_mini: a {input_size}×{input_size} input is pooled to nothing by "
                         f"{cfg.count('M')} max poolings; use fewer blocks or larger images")
    features = make_layers(cfg, batch_norm, in_channels)
    model = VGGMini(features, channels[-1] * side * side, input_size, in_channels, num_classes,
                    hidden, dropout)
    if init_weights:
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm2d):
                init.constant_(m.weight, 1)
                init.constant_(m.bias, 0)
    return model
