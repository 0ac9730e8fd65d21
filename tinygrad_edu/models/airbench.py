"""A fast-training CIFAR-10 network in the style of Keller Jordan's *airbench* (2024).

airbench asks: what is the least compute that trains a network to 94% on CIFAR-10?  Its answer is a
plain, wide, shallow VGG-like stack — no residual connections — whose every layer is cheap to run:

    stem      Conv2d(3, 24, kernel 2, no padding)  GELU                 32 × 32 → 31 × 31
    block 1   Conv2d(24, w1, 3, pad 1)  MaxPool2d(2)  BN  GELU           → 15 × 15
              Conv2d(w1, w1, 3, pad 1)  BN  GELU
    block 2   the same with w2 channels                                 → 7 × 7
    block 3   the same with w3 channels                                 → 3 × 3
    head      global max pool (amax over H, W)  Linear(w3, classes, no bias)   → logits

Two choices make it fast per unit of accuracy:

* **pool first, then normalise**: each block's max pooling comes right after its first convolution, so
  batch norm, GELU and the second convolution run on a quarter of the pixels;
* **few, wide layers**: 7 convolutions with 48–256 channels are large matrix products (BLAS runs them near
  its peak), where a ResNet-20's 19 convolutions of 16–64 channels are many small ones.  Here the
  1.1M-parameter ``airbench48`` trains about as fast per image as the 0.27M-parameter ResNet-20.

The original (widths 64/256/256) also whitens the stem's 2 × 2 patches from the data, freezes the batch-norm
scales, uses Lookahead and label smoothing 0.2; we keep the architecture and train it with the CLI's ordinary
recipe (SGD + Nesterov, OneCycle, label smoothing, crops and flips).  Convolutions have no bias: each one is
followed by a batch norm, whose shift does the bias's job.

Reference: K. Jordan, "94% on CIFAR-10 in 3.29 seconds on a single GPU", arXiv:2404.00498.
"""
from .. import nn

AIRBENCH_WIDTHS = {"airbench48": (48, 192, 192), "airbench64": (64, 256, 256)}


def _block(in_channels, out_channels):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.MaxPool2d(2),
        nn.BatchNorm2d(out_channels),
        nn.GELU(),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.GELU(),
    )


class AirbenchNet(nn.Module):
    """stem → three pool-first conv blocks → global max pool → linear (see the module docstring).

    Input (N, in_channels, H, W) with H, W ≥ 24 (so that 3 × 3 pixels remain for the head's pooling;
    32 × 32 CIFAR-10 and 28 × 28 MNIST both fit); output (N, num_classes) logits."""

    def __init__(self, num_classes=10, in_channels=3, widths=(48, 192, 192), stem_channels=24):
        super().__init__()
        if len(widths) != 3:
            raise ValueError(f"AirbenchNet: widths must be three channel counts, got {widths!r}")
        self.in_channels = in_channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem_channels, 2, bias=False), nn.GELU())
        self.layer1 = _block(stem_channels, widths[0])
        self.layer2 = _block(widths[0], widths[1])
        self.layer3 = _block(widths[1], widths[2])
        self.fc = nn.Linear(widths[2], num_classes, bias=False)

    def forward(self, x):
        shape = tuple(x.shape)
        if len(shape) != 4 or shape[1] != self.in_channels or min(shape[2:]) < 24:
            raise ValueError(f"AirbenchNet: expected input of shape (N, {self.in_channels}, H, W) "
                             f"with H, W >= 24, got {shape}")
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        x = x.amax(dim=(2, 3))                       # global max pooling: (N, C, 3, 3) → (N, C)
        return self.fc(x)


def airbench48(num_classes=10, in_channels=3):
    """AirbenchNet with widths 48/192/192 (1.1M parameters): the CLI's fast CIFAR-10 model."""
    return AirbenchNet(num_classes, in_channels, AIRBENCH_WIDTHS["airbench48"])


def airbench64(num_classes=10, in_channels=3):
    """AirbenchNet with airbench94's widths 64/256/256 (2.0M parameters)."""
    return AirbenchNet(num_classes, in_channels, AIRBENCH_WIDTHS["airbench64"])
