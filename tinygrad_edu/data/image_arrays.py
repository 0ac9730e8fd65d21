"""The shared shape of MNIST, CIFAR10 and Digits: a labelled image set held in two arrays.

A subclass loads ``self.images`` (N, ...) and ``self.labels`` (N,) int64 and sets ``self.transform`` /
``self.target_transform``; this class gives it ``len``, ``ds[i] -> (image, label)`` with the transforms
applied, and ``get_batch(indices)`` so the DataLoader can index a whole batch at once instead of making a
Python call per image.
"""
import numpy as np

from .dataset import Dataset
from .transforms import apply_batch


class ImageArrayDataset(Dataset):
    """Base of the array-backed image data sets (see the module docstring)."""

    transform = None
    target_transform = None

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        image, label = self.images[index], int(self.labels[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def get_batch(self, indices):
        images, labels = self.images[indices], self.labels[indices]
        if self.transform is not None:
            images = apply_batch(self.transform, images)
        if self.target_transform is not None:
            labels = np.asarray([self.target_transform(int(label)) for label in labels])
        return images, labels
