"""Digits: 1,797 handwritten digits of 8×8 pixels, the small data set bundled with scikit-learn
(``sklearn.datasets.load_digits``; the UCI "Optical Recognition of Handwritten Digits" set, CC BY 4.0).

It ships inside the scikit-learn wheel, so it loads offline in a fraction of a second — the data set for
a first network that trains in seconds.  The original pixel values are counts 0-16 (how many of the 16
ink dots of a 4×4 block of the 32×32 scan are set); ``.images`` holds them divided by 16, float32 in
[0, 1].  There is no official train/test split: use ``random_split``.
"""
import numpy as np

from .image_arrays import ImageArrayDataset


class Digits(ImageArrayDataset):
    """The scikit-learn digits as ``(image, label)`` pairs: ``image`` float32 (8, 8) in [0, 1] (or what
    ``transform`` makes of it), ``label`` an int 0-9.  ``.images`` (1797, 8, 8), ``.labels`` (1797,)
    int64, ``.classes`` the ten digit names."""

    classes = [str(d) for d in range(10)]

    def __init__(self, transform=None, target_transform=None):
        try:
            from sklearn.datasets import load_digits
        except ImportError as exc:
            raise ImportError("Digits needs scikit-learn, which bundles the data: pip install scikit-learn "
                              f"({exc})") from exc
        bunch = load_digits()
        images = np.asarray(bunch.images, dtype=np.float32) / np.float32(16)
        labels = np.asarray(bunch.target, dtype=np.int64)
        if images.ndim != 3 or images.shape[1:] != (8, 8) or labels.shape != (len(images),):
            raise ValueError(f"Digits: scikit-learn returned images {images.shape} and labels "
                             f"{labels.shape}, expected (N, 8, 8) and (N,)")
        self.images, self.labels = images, labels
        self.transform, self.target_transform = transform, target_transform

    def __repr__(self):
        return f"Digits(n={len(self)})"
