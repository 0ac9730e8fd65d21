"""ResNet (He et al., 2015): torchvision's ``resnet18``/``resnet34`` and the paper's CIFAR ResNets.

Stacking more layers on a plain network (VGG-style) eventually makes *training* error worse: the
optimiser cannot even find the identity mapping for the extra layers.  A residual block makes the
identity the easy default: it computes ``relu(x + F(x))``, so its layers only learn a correction
``F`` and, at initialisation, the signal and its gradient pass straight through the ``+ x``
("shortcut").  In ``BasicBlock`` F is ``conv3×3 → BN → ReLU → conv3×3 → BN``.

When a block halves the resolution (stride 2) and widens the channels, ``x`` no longer has the
shape of ``F(x)`` and the shortcut must change it too (``downsample``):

* **option B** (torchvision, ImageNet ResNets): a 1 × 1 convolution with stride 2 and a BatchNorm
  (``layer2.0.downsample.0`` / ``.1``);
* **option A** (the paper's CIFAR networks): keep every second pixel and append zero channels —
  no parameters (``ZeroPadShortcut``).

ImageNet ResNets (``resnet18``, ``resnet34``; torchvision's names and initialisation, so its
``state_dict`` loads 1:1) for a 224 × 224 input:

    =========  ==================  ===========================================
    name       output              layers
    =========  ==================  ===========================================
    conv1      (N, 64, 112, 112)   Conv2d(3, 64, 7, stride 2, padding 3), no bias
    bn1, relu
    maxpool    (N, 64, 56, 56)     MaxPool2d(3, stride 2, padding 1)
    layer1     (N, 64, 56, 56)     n₁ BasicBlocks, 64 channels
    layer2     (N, 128, 28, 28)    n₂ BasicBlocks, the first with stride 2 (option B shortcut)
    layer3     (N, 256, 14, 14)    n₃ BasicBlocks, the first with stride 2
    layer4     (N, 512, 7, 7)      n₄ BasicBlocks, the first with stride 2
    avgpool    (N, 512, 1, 1)      AdaptiveAvgPool2d((1, 1))
    fc         (N, 1000)           Linear(512, num_classes)
    =========  ==================  ===========================================

resnet18 has (n₁..n₄) = (2, 2, 2, 2) blocks, 11,689,512 parameters; resnet34 (3, 4, 6, 3),
21,797,672 parameters (with 1000 classes).  Smaller inputs work too (a 32 × 32 image reaches
layer4 as 1 × 1).

CIFAR ResNets (``resnet_cifar(depth)``, the paper's section 4.2, depth = 6n + 2 = 20, 32, 44, 56,
110): a 3 × 3 convolution with 16 channels, three stages of n BasicBlocks with 16, 32, 64 channels
on 32 × 32, 16 × 16, 8 × 8 maps, global average pooling, ``fc``.  The paper uses option A
shortcuts, our default: ResNet-20 then has 269,722 parameters, ResNet-56 853,018 (10 classes).
``shortcut="B"`` uses projections instead (ResNet-20: 272,474).
"""
from .. import nn
from ..nn import init


def conv3x3(in_planes, out_planes, stride=1):
    """3 × 3 convolution with padding 1, without bias (a BatchNorm follows and has one)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    """1 × 1 convolution without bias (the option B shortcut)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``; ``shortcut`` is the identity, or
    ``downsample`` when the block changes the shape (stride 2 / more channels)."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ZeroPadShortcut(nn.Module):
    """Option A shortcut: subsample by ``stride`` (keep pixels 0, 2, 4, …) and append zero
    channels up to ``planes``.  No parameters; its gradient passes the kept entries through."""

    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.inplanes, self.planes, self.stride = inplanes, planes, stride

    def forward(self, x):
        x = x[:, :, ::self.stride, ::self.stride]
        # F.pad pads the last dims first: (W left, W right, H top, H bottom, C front, C back)
        return nn.functional.pad(x, (0, 0, 0, 0, 0, self.planes - self.inplanes))

    def extra_repr(self):
        return f"{self.inplanes}, {self.planes}, stride={self.stride}"


def _make_layer(inplanes, planes, blocks, stride, shortcut):
    """``blocks`` BasicBlocks; the first one takes ``stride`` and changes the channel count."""
    downsample = None
    if stride != 1 or inplanes != planes:
        if shortcut == "A":
            downsample = ZeroPadShortcut(inplanes, planes, stride)
        else:
            downsample = nn.Sequential(conv1x1(inplanes, planes, stride), nn.BatchNorm2d(planes))
    layers = [BasicBlock(inplanes, planes, stride, downsample)]
    layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


def _init_resnet_weights(model, zero_init_residual):
    """torchvision's scheme: convolutions Kaiming-normal (fan_out, ReLU), BatchNorm (1, 0); the
    ``fc`` keeps PyTorch's Linear default.  ``zero_init_residual`` starts each block's last BN
    at 0, so every block is exactly the identity at the start (Goyal et al., 2017)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            init.constant_(m.weight, 1)
            init.constant_(m.bias, 0)
    if zero_init_residual:
        for m in model.modules():
            if isinstance(m, BasicBlock):
                init.constant_(m.bn2.weight, 0)


class ResNet(nn.Module):
    """torchvision's ImageNet ResNet with BasicBlocks (see the module docstring's table)."""

    def __init__(self, layers, num_classes=1000, in_channels=3, zero_init_residual=False):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = _make_layer(64, 64, layers[0], 1, "B")
        self.layer2 = _make_layer(64, 128, layers[1], 2, "B")
        self.layer3 = _make_layer(128, 256, layers[2], 2, "B")
        self.layer4 = _make_layer(256, 512, layers[3], 2, "B")
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * BasicBlock.expansion, num_classes)
        _init_resnet_weights(self, zero_init_residual)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.avgpool(x).flatten(1)
        return self.fc(x)


def resnet18(num_classes=1000, in_channels=3, zero_init_residual=False):
    """ResNet-18: BasicBlocks (2, 2, 2, 2), 11,689,512 parameters with 1000 classes."""
    return ResNet([2, 2, 2, 2], num_classes, in_channels, zero_init_residual)


def resnet34(num_classes=1000, in_channels=3, zero_init_residual=False):
    """ResNet-34: BasicBlocks (3, 4, 6, 3), 21,797,672 parameters with 1000 classes."""
    return ResNet([3, 4, 6, 3], num_classes, in_channels, zero_init_residual)


class CifarResNet(nn.Module):
    """He et al.'s CIFAR-10 ResNet: ``conv1`` (3×3, 16) ``bn1`` ``relu`` → ``layer1`` (16 ch,
    32×32) → ``layer2`` (32 ch, 16×16) → ``layer3`` (64 ch, 8×8) → ``avgpool`` → ``fc``."""

    def __init__(self, depth=20, num_classes=10, in_channels=3, shortcut="A",
                 zero_init_residual=False):
        super().__init__()
        if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6 != 0:
            raise ValueError(f"resnet_cifar: depth must be 6n + 2 (20, 32, 44, 56, 110, …), got "
                             f"{depth!r}")
        if shortcut not in ("A", "B"):
            raise ValueError(f"resnet_cifar: shortcut must be 'A' (zero padding, the paper's) or "
                             f"'B' (1×1 convolution), got {shortcut!r}")
        n = (depth - 2) // 6
        self.depth, self.shortcut = depth, shortcut
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = _make_layer(16, 16, n, 1, shortcut)
        self.layer2 = _make_layer(16, 32, n, 2, shortcut)
        self.layer3 = _make_layer(32, 64, n, 2, shortcut)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)
        _init_resnet_weights(self, zero_init_residual)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.avgpool(x).flatten(1)
        return self.fc(x)


def resnet_cifar(depth=20, num_classes=10, in_channels=3, shortcut="A", zero_init_residual=False):
    """The CIFAR ResNet of depth 6n + 2 (ResNet-20/32/44/56/110); ``shortcut`` "A" (the
    paper's parameter-free zero padding, default) or "B" (1×1 convolution + BN)."""
    return CifarResNet(depth, num_classes, in_channels, shortcut, zero_init_residual)


def resnet20(num_classes=10, in_channels=3, shortcut="A"):
    """ResNet-20 for CIFAR (3 stages of 3 BasicBlocks), 269,722 parameters (option A)."""
    return resnet_cifar(20, num_classes, in_channels, shortcut)


def resnet56(num_classes=10, in_channels=3, shortcut="A"):
    """ResNet-56 for CIFAR (3 stages of 9 BasicBlocks), 853,018 parameters (option A)."""
    return resnet_cifar(56, num_classes, in_channels, shortcut)
