"""``MLP``: the multi-layer perceptron, the first network anyone trains on MNIST.

An image is flattened into one vector (28 × 28 = 784 numbers for MNIST) and passed through a stack
of fully connected layers, each ``Linear → ReLU (→ Dropout)``, and a last ``Linear`` that gives one
score (logit) per class.  It ignores that pixels have neighbours — which is exactly what the
convolutional networks in ``lenet.py`` and ``vgg.py`` add.

With the defaults (784 → 256 → 256 → 10):

    ==========  ===========  ===========================================
    name        output       parameters
    ==========  ===========  ===========================================
    layers.0    (N, 784)     Flatten                                   0
    layers.1    (N, 256)     Linear(784, 256)     784·256 + 256 = 200,960
    layers.2    (N, 256)     ReLU                                      0
    layers.3    (N, 256)     Linear(256, 256)     256·256 + 256 =  65,792
    layers.4    (N, 256)     ReLU                                      0
    layers.5    (N, 10)      Linear(256, 10)       256·10 + 10  =   2,570
    ==========  ===========  ===========================================
    total                                                        269,322

With ``dropout > 0`` a ``Dropout`` follows every ReLU (and the indices shift by one per layer).
"""
import math

from .. import nn


class MLP(nn.Module):
    """Fully connected classifier: ``Flatten → [Linear → ReLU (→ Dropout)] × len(hidden) → Linear``.

    Args:
        in_features: size of one flattened input (784 for 28 × 28 images).
        hidden: the width of each hidden layer, e.g. ``(256, 256)``; ``()`` gives logistic
            regression (one Linear).
        num_classes: number of output logits.
        dropout: probability of zeroing a hidden unit while training (0 = no Dropout layers).

    Input: ``(N, in_features)`` or anything that flattens to it, e.g. ``(N, 1, 28, 28)``.
    Output: ``(N, num_classes)`` logits (feed them to ``nn.CrossEntropyLoss``).
    """

    def __init__(self, in_features=784, hidden=(256, 256), num_classes=10, dropout=0.0):
        super().__init__()
        if isinstance(hidden, int):
            hidden = (hidden,)
        hidden = tuple(hidden)
        for width in (in_features, num_classes) + hidden:
            if not isinstance(width, int) or isinstance(width, bool) or width <= 0:
                raise ValueError(f"MLP: in_features, hidden and num_classes must be positive "
                                 f"integers, got in_features={in_features!r}, hidden={hidden!r}, "
                                 f"num_classes={num_classes!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MLP: dropout must be in [0, 1), got {dropout}")
        self.in_features, self.hidden, self.num_classes = in_features, hidden, num_classes
        layers = [nn.Flatten()]
        width = in_features
        for out in hidden:
            layers += [nn.Linear(width, out), nn.ReLU(inplace=True)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = out
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        features = math.prod(x.shape[1:])
        if x.ndim < 2 or features != self.in_features:
            raise ValueError(f"MLP: each input must flatten to {self.in_features} features, got an "
                             f"input of shape {tuple(x.shape)} ({features} per sample)")
        return self.layers(x)
