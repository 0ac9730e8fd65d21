"""``LeNet5``: LeCun et al.'s 1998 convolutional network, with today's ReLU and max pooling.

Two ideas make a convolutional network better than an MLP on images:

* **local, shared weights** — a 5 × 5 filter slides over the image, so the same 150 numbers detect
  an edge anywhere (an MLP would learn it separately at every position);
* **pooling** — keeping the maximum of each 2 × 2 window halves the resolution, so deeper filters
  see a larger part of the image and small shifts of the input barely change the output.

The layers for a 28 × 28 MNIST digit (the first convolution pads by 2, so a 28 × 28 image is
treated like the 32 × 32 input of the original paper):

    ============  ==============  ==================================================
    name          output          layer                                 parameters
    ============  ==============  ==================================================
    features.0    (N, 6, 28, 28)  Conv2d(1, 6, 5, padding=2)    6·1·25 + 6 =    156
    features.1    (N, 6, 28, 28)  ReLU
    features.2    (N, 6, 14, 14)  MaxPool2d(2)
    features.3    (N, 16, 10, 10) Conv2d(6, 16, 5)             16·6·25 + 16 = 2,416
    features.4    (N, 16, 10, 10) ReLU
    features.5    (N, 16, 5, 5)   MaxPool2d(2)
    (flatten)     (N, 400)
    classifier.0  (N, 120)        Linear(400, 120)          400·120 + 120 = 48,120
    classifier.1  (N, 120)        ReLU
    classifier.2  (N, 84)         Linear(120, 84)             120·84 + 84 = 10,164
    classifier.3  (N, 84)         ReLU
    classifier.4  (N, 10)         Linear(84, 10)                84·10 + 10 =    850
    ============  ==============  ==================================================
    total                                                                    61,706

For a 32 × 32 input (CIFAR-10, ``in_channels=3``) the maps are 32 → 16 → 12 → 6, so the first
Linear has 16·6·6 = 576 inputs (total 83,126 parameters with 3 input channels).
Layers keep PyTorch's default initialisation.
"""
from .. import nn
from .common import check_image_input, default_input_size


class LeNet5(nn.Module):
    """``conv5(6) → pool → conv5(16) → pool → fc120 → fc84 → fc(num_classes)``, ReLU after each
    hidden layer and 2 × 2 max pooling.

    Args:
        num_classes: number of output logits.
        in_channels: 1 for gray images, 3 for colour.
        input_size: side of the square input image (default 28 for one channel, 32 otherwise);
            it fixes the size of the first Linear layer.

    Input ``(N, in_channels, input_size, input_size)``, output ``(N, num_classes)`` logits.
    """

    def __init__(self, num_classes=10, in_channels=1, input_size=None):
        super().__init__()
        self.in_channels = in_channels
        self.input_size = default_input_size(in_channels) if input_size is None else input_size
        side = self.input_size // 2            # conv1 keeps the size (padding 2), pool halves it
        side = (side - 4) // 2                 # conv2 (no padding) removes 4, pool halves
        if side < 1:
            raise ValueError(f"LeNet5: input_size must be at least 12, got {self.input_size}")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(16 * side * side, 120), nn.ReLU(inplace=True),
            nn.Linear(120, 84), nn.ReLU(inplace=True),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        check_image_input(self, x, self.in_channels, self.input_size)
        x = self.features(x)
        x = x.flatten(1)
        return self.classifier(x)

