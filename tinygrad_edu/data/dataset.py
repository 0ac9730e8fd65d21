"""Datasets: anything with ``len(ds)`` and ``ds[i]`` — PyTorch's map-style ``Dataset``.

``ds[i]`` returns one *sample*, usually a tuple ``(image, label)``.  A :class:`DataLoader` turns lists of
samples into batches.  Going one sample at a time is the general way and the slow way: a Python call
per image.  Data sets that hold all their data in arrays can also hand out a whole batch at once with
one fancy-indexing operation; they say so by defining::

    def get_batch(self, indices):      # indices: a 1-D int64 NumPy array
        return self.images[indices], self.labels[indices]

which must return exactly what collating ``[self[i] for i in indices]`` would (arrays stacked along a
new first axis).  :class:`TensorDataset`, :class:`Subset` (when its data set can), ``CIFAR10`` and
``Digits`` and ``MNIST`` do (through ``ImageArrayDataset``); the DataLoader uses it whenever its
``collate_fn`` is the default one.
"""
import math

import numpy as np

from ..creation import default_generator
from ..random import Generator, numpy_rng
from ..tensor import Tensor


class Dataset:
    """Base class of map-style data sets: subclasses define ``__getitem__(index)`` and ``__len__()``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index)")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__()")


class TensorDataset(Dataset):
    """Samples are the rows of equally long tensors or arrays: ``ds[i] == (a[i], b[i], ...)``.

    ``TensorDataset(x_train, y_train)`` with NumPy arrays or Tensors (each row comes back as the kind
    it was given)."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor or array")
        lengths = []
        for i, t in enumerate(tensors):
            if not (isinstance(t, Tensor) or hasattr(t, "shape")) or len(t.shape) == 0:
                raise ValueError(f"TensorDataset: argument {i} must be a tensor or array with at least "
                                 f"one dimension, got {type(t).__name__} of shape "
                                 f"{getattr(t, 'shape', None)}")
            lengths.append(t.shape[0])
        if len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors: first dimensions are "
                             f"{lengths}; all must be equal")
        self.tensors = tensors

    def __len__(self):
        return self.tensors[0].shape[0]

    def __getitem__(self, index):
        return tuple(_take(t, index) for t in self.tensors)

    def get_batch(self, indices):
        return tuple(_take(t, indices) for t in self.tensors)


def _take(t, index):
    """Row(s) ``index`` of an array, or of a Tensor as a Tensor (no graph: data is not trained)."""
    if isinstance(t, Tensor):
        return Tensor._wrap(t.array[index])
    return t[index]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return [self.dataset[int(i)] for i in self.indices[index]]
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices):
        """Whole batch from the underlying data set; only called when :func:`batch_getter` found one."""
        return batch_getter(self.dataset)(self.indices[indices])


def batch_getter(dataset):
    """A function ``indices -> batch`` that reads a whole batch at once, or None if ``dataset`` can
    only be read one sample at a time.

    Datasets with a ``get_batch`` method qualify (a :class:`Subset` only if its own data set does),
    and so do data sets that keep their data as ``.images`` and ``.labels`` arrays and apply no
    transform (``MNIST``): their batch is ``(images[indices], labels[indices])``."""
    if isinstance(dataset, Subset):
        inner = batch_getter(dataset.dataset)
        return None if inner is None else (lambda indices: inner(dataset.indices[indices]))
    if callable(getattr(dataset, "get_batch", None)):
        return dataset.get_batch
    images, labels = getattr(dataset, "images", None), getattr(dataset, "labels", None)
    if (isinstance(images, np.ndarray) and isinstance(labels, np.ndarray)
            and getattr(dataset, "transform", None) is None
            and getattr(dataset, "target_transform", None) is None
            and len(images) == len(labels) == len(dataset)):
        return lambda indices: (images[indices], labels[indices])
    return None


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random :class:`Subset` s of the given lengths.

    ``lengths`` are sizes that sum to ``len(dataset)``, or fractions that sum to 1: each subset then
    gets ``floor(n * fraction)`` samples and the left-over ones are dealt one each to the first
    subsets in turn (PyTorch's rule).  ``generator`` is a NumPy ``Generator`` (default: the library's,
    seeded by ``tinygrad_edu.manual_seed``) or an int seed."""
    n = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths must not be empty")
    if math.isclose(sum(lengths), 1) and not all(isinstance(x, (int, np.integer)) for x in lengths):
        for i, fraction in enumerate(lengths):
            if not 0 <= fraction <= 1:
                raise ValueError(f"random_split: fraction at index {i} is {fraction}, not in [0, 1]")
        sizes = [int(math.floor(n * fraction)) for fraction in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
    if not all(isinstance(x, (int, np.integer)) and x >= 0 for x in lengths):
        raise ValueError(f"random_split: lengths {lengths} must be non-negative ints or fractions "
                         "summing to 1")
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths {sum(lengths)} does not equal the length "
                         f"of the input dataset ({n})")
    order = as_generator(generator).permutation(n)
    subsets, start = [], 0
    for length in lengths:
        subsets.append(Subset(dataset, order[start:start + length]))
        start += length
    return subsets


def as_generator(generator):
    """A NumPy Generator: the one given (or inside a ``tinygrad_edu.Generator``), a new one seeded with
    an int, or the library's default."""
    if generator is None:
        return default_generator()
    if isinstance(generator, (int, np.integer)):
        return np.random.default_rng(int(generator))
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, Generator):
        return numpy_rng(generator)
    raise TypeError(f"generator must be a tinygrad_edu.Generator, a numpy.random.Generator, an int seed "
                    f"or None, got "
                    f"{type(generator).__name__}")


class IterableDataset(Dataset):
    """A data set that is a stream: subclasses define ``__iter__`` (yielding samples) instead of
    ``__getitem__``.  A DataLoader batches consecutive samples; it cannot shuffle or sample it."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__()")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: iterate over it, don't index it")

    def __len__(self):
        raise TypeError(f"object of type {type(self).__name__!r} has no len() (an IterableDataset may "
                        "define __len__ if it knows its length)")


class ConcatDataset(Dataset):
    """Several data sets one after the other: index ``i`` goes to the data set whose cumulative size
    range contains it (negative indices count from the end, as for lists)."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise ValueError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        if index < 0:
            if -index > len(self):
                raise ValueError(f"ConcatDataset: absolute value of index {index} should not exceed "
                                 f"dataset length {len(self)}")
            index += len(self)
        if index >= len(self):
            raise IndexError(f"ConcatDataset: index {index} out of range for length {len(self)}")
        which = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        start = 0 if which == 0 else self.cumulative_sizes[which - 1]
        return self.datasets[which][index - start]
