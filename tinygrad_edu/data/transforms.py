"""Image transforms on NumPy arrays, with torchvision's names: ``Compose, ToTensor, Normalize,
RandomCrop, RandomHorizontalFlip``.

Layouts (the same as torchvision's):

* data sets store images as they come, **HWC** (height, width, channels; uint8 0-255) or HW for grey;
* :class:`ToTensor` turns one HWC image into **CHW** float32 in [0, 1] (the layout convolutions want);
* every other transform works on **CHW** images (in fact on the last two axes, H and W, so an HW grey
  image works too), i.e. it goes after ``ToTensor``, as in torchvision.

Despite its name ``ToTensor`` returns a NumPy array: the DataLoader makes the Tensor when it batches.

Each transform has two doors: ``t(image)`` for one image, and ``t.batch(images)`` for a stack of
images with the batch axis first (NHWC before ToTensor, NCHW after).  The batch form does the same
thing to every image without a Python loop — random transforms draw one independent choice per image —
and is what array-backed data sets use to build a whole batch at once (:func:`apply_batch`).

Random transforms draw from ``generator`` (a NumPy Generator or an int seed) or, by default, from the
library's generator, so ``tinygrad_edu.manual_seed(0)`` makes augmentation reproducible.
"""
import numpy as np

from .dataset import as_generator


def apply_batch(transform, images):
    """``transform`` applied to each image of the stack ``images``: in one call when the transform has a
    ``batch`` method, else image by image (for plain functions) and re-stacked."""
    if hasattr(transform, "batch"):
        return transform.batch(images)
    return np.stack([np.asarray(transform(image)) for image in images])


class Compose:
    """Apply transforms one after the other: ``Compose([ToTensor(), Normalize(mean, std)])``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, image):
        for t in self.transforms:
            image = t(image)
        return image

    def batch(self, images):
        for t in self.transforms:
            images = apply_batch(t, images)
        return images

    def __repr__(self):
        return "Compose(\n" + "".join(f"    {t!r}\n" for t in self.transforms) + ")"


class ToTensor:
    """HWC (or HW) image → CHW float32; uint8 values are divided by 255 into [0, 1], float images keep
    their values.  ``batch``: NHWC (or NHW) → NCHW."""

    def __call__(self, image):
        image = np.asarray(image)
        if image.ndim not in (2, 3):
            raise ValueError(f"ToTensor: expected one HWC or HW image, got shape {image.shape}")
        return self.batch(image[None])[0]

    def batch(self, images):
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[..., None]           # NHW grey -> NHW1
        if images.ndim != 4:
            raise ValueError(f"ToTensor.batch: expected NHWC or NHW images, got shape {images.shape}")
        chw = images.transpose(0, 3, 1, 2)
        if images.dtype == np.uint8:
            out = np.ascontiguousarray(chw, dtype=np.float32)
            return np.divide(out, np.float32(255), out=out)      # x / 255, as torchvision
        return np.ascontiguousarray(chw, dtype=np.float32 if images.dtype.kind != "f" else images.dtype)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """``(image - mean[c]) / std[c]`` for each channel c of a CHW image (mean and std: one value per
    channel, or one for all).  Returns a new array of the image's float dtype."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        self.std = np.asarray(std, dtype=np.float64).reshape(-1)
        if self.mean.size != self.std.size and 1 not in (self.mean.size, self.std.size):
            raise ValueError(f"Normalize: mean has {self.mean.size} values and std {self.std.size}")
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std evaluated to zero ({self.std.tolist()}), leading to division "
                             "by zero")

    def __call__(self, image):
        image = np.asarray(image)
        if image.ndim != 3:
            raise ValueError(f"Normalize: expected one CHW image, got shape {image.shape}")
        return self.batch(image[None])[0]

    def batch(self, images):
        images = np.asarray(images)
        if images.ndim != 4:
            raise ValueError(f"Normalize.batch: expected NCHW images, got shape {images.shape}")
        channels = images.shape[1]
        for name, values in (("mean", self.mean), ("std", self.std)):
            if values.size not in (1, channels):
                raise ValueError(f"Normalize: {values.size} {name} values for images with {channels} "
                                 "channels")
        dtype = images.dtype if images.dtype.kind == "f" else np.float32
        mean = self.mean.astype(dtype).reshape(1, -1, 1, 1)
        std = self.std.astype(dtype).reshape(1, -1, 1, 1)
        return (images.astype(dtype, copy=False) - mean) / std

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomCrop:
    """Pad a CHW image (optionally), then cut a ``size`` (h, w) window at a random position.

    ``padding``: an int (all four sides), ``(left/right, top/bottom)`` or ``(left, top, right, bottom)``
    — torchvision's order.  ``fill`` is the value of constant padding; ``padding_mode`` one of
    ``'constant', 'edge', 'reflect', 'symmetric'``.  The standard CIFAR-10 augmentation is
    ``RandomCrop(32, padding=4)``: shift the image by up to 4 pixels in each direction."""

    def __init__(self, size, padding=None, fill=0, padding_mode="constant", generator=None):
        self.size = (int(size), int(size)) if np.isscalar(size) else tuple(int(s) for s in size)
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(f"RandomCrop: size must be an int or (h, w) of positive ints, got {size!r}")
        if padding is None:
            padding = 0
        padding = (padding,) * 4 if np.isscalar(padding) else tuple(padding)
        if len(padding) == 2:
            padding = (padding[0], padding[1], padding[0], padding[1])
        if len(padding) != 4 or min(padding) < 0:
            raise ValueError(f"RandomCrop: padding must be an int or 2 or 4 non-negative ints, got "
                             f"{padding!r}")
        self.padding = tuple(int(p) for p in padding)          # left, top, right, bottom
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"RandomCrop: unknown padding_mode {padding_mode!r}")
        self.fill, self.padding_mode = fill, padding_mode
        self.generator = None if generator is None else as_generator(generator)

    def _pad(self, images):
        left, top, right, bottom = self.padding
        if not any(self.padding):
            return images
        widths = [(0, 0)] * (images.ndim - 2) + [(top, bottom), (left, right)]
        if self.padding_mode == "constant":
            return np.pad(images, widths, mode="constant", constant_values=self.fill)
        return np.pad(images, widths, mode=self.padding_mode)

    def __call__(self, image):
        image = np.asarray(image)
        if image.ndim not in (2, 3):
            raise ValueError(f"RandomCrop: expected one CHW or HW image, got shape {image.shape}")
        return self.batch(image[None])[0]

    def batch(self, images):
        images = self._pad(np.asarray(images))
        h, w = self.size
        height, width = images.shape[-2:]
        if h > height or w > width:
            raise ValueError(f"RandomCrop: crop size {(h, w)} is larger than the padded image size "
                             f"{(height, width)}")
        n = images.shape[0]
        generator = as_generator(self.generator)
        tops = generator.integers(0, height - h + 1, size=n)
        lefts = generator.integers(0, width - w + 1, size=n)
        # All n crops at once: every h×w window of every image, as a view, then pick one per image.
        windows = np.lib.stride_tricks.sliding_window_view(images, (h, w), axis=(-2, -1))
        return np.ascontiguousarray(windows[np.arange(n), ..., tops, lefts, :, :])

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror a CHW (or HW) image left-right with probability ``p``."""

    def __init__(self, p=0.5, generator=None):
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p
        self.generator = None if generator is None else as_generator(generator)

    def __call__(self, image):
        image = np.asarray(image)
        if image.ndim not in (2, 3):
            raise ValueError(f"RandomHorizontalFlip: expected one CHW or HW image, got shape {image.shape}")
        return self.batch(image[None])[0]

    def batch(self, images):
        images = np.asarray(images)
        flip = as_generator(self.generator).random(images.shape[0]) < self.p
        out = images.copy()
        out[flip] = images[flip][..., ::-1]
        return out

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"
