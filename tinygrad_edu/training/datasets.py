"""The image data sets the CLI trains on, as normalised float32 arrays in NCHW layout.

Each entry knows how to load its images, its channel statistics and whether random crops and flips
make sense (they do for CIFAR-10's photos; a flipped "2" is not a "2", so not for digits).
"""
import numpy as np

# per-channel mean and std of the training images, after scaling pixels to [0, 1]
_STATS = {
    "mnist": ((0.1307,), (0.3081,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "digits": ((0.3051,), (0.3767,)),
}


class ImageData:
    """Train/test arrays of one data set: ``x`` float32 (N, C, H, W) normalised, ``y`` int64 (N,)."""

    def __init__(self, name, x_train, y_train, x_test, y_test, classes, augment):
        self.name, self.classes, self.augment = name, list(classes), augment
        self.x_train, self.y_train, self.x_test, self.y_test = x_train, y_train, x_test, y_test

    @property
    def in_channels(self):
        return self.x_train.shape[1]


def _normalise(images_nhwc_uint8, name):
    mean, std = _STATS[name]
    x = images_nhwc_uint8.astype(np.float32) / 255.0
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def load_image_data(name, root=None, download=True, limit_train=None):
    """Load ``name`` ('mnist', 'cifar10' or 'digits'); ``limit_train`` keeps the first N train images."""
    if name == "mnist":
        from ..data import MNIST
        train, test = MNIST(root, train=True, download=download), MNIST(root, train=False, download=download)
        keep = slice(None, limit_train)                       # cut before normalising: less work
        data = ImageData(name, _normalise(train.images[keep][..., None], name),
                         train.labels[keep].astype(np.int64), _normalise(test.images[..., None], name),
                         test.labels.astype(np.int64), [str(i) for i in range(10)], augment=False)
    elif name == "cifar10":
        from ..data import CIFAR10
        train = CIFAR10(root, train=True, download=download)
        test = CIFAR10(root, train=False, download=download)
        keep = slice(None, limit_train)
        data = ImageData(name, _normalise(train.images[keep], name), train.labels[keep].astype(np.int64),
                         _normalise(test.images, name), test.labels.astype(np.int64),
                         list(train.classes), augment=True)
    elif name == "digits":
        from ..data import Digits
        digits = Digits()
        images = (np.asarray(digits.images, np.float32) * (255.0 / 16.0)).astype(np.uint8)[..., None]
        labels = np.asarray(digits.labels, np.int64)
        order = np.random.default_rng(0).permutation(len(labels))  # a fixed 80/20 split
        cut = int(0.8 * len(labels))
        x = _normalise(images, name)
        data = ImageData(name, x[order[:cut]], labels[order[:cut]], x[order[cut:]], labels[order[cut:]],
                         [str(i) for i in range(10)], augment=False)
    else:
        raise KeyError(name)
    if limit_train is not None:
        data.x_train, data.y_train = data.x_train[:limit_train], data.y_train[:limit_train]
    return data


DATASETS = tuple(_STATS)


def augment_batch(x, rng, padding=4):
    """Random crop after zero padding, and a random horizontal flip, for a whole NCHW batch at once
    (the standard CIFAR-10 recipe).  One padded copy, then one gather per offset: no per-image loop
    over pixels."""
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dy = rng.integers(0, 2 * padding + 1, n)
    dx = rng.integers(0, 2 * padding + 1, n)
    rows = dy[:, None] + np.arange(h)[None, :]                       # (n, h)
    cols = dx[:, None] + np.arange(w)[None, :]                       # (n, w)
    flip = rng.random(n) < 0.5
    cols = np.where(flip[:, None], cols[:, ::-1], cols)
    out = padded[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None],
                 rows[:, None, :, None], cols[:, None, None, :]]
    return out.astype(np.float32, copy=False)
