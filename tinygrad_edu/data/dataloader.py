"""``DataLoader``: walk a data set in (shuffled) mini-batches, as ``torch.utils.data.DataLoader``.

    loader = DataLoader(train_set, batch_size=128, shuffle=True, generator=np.random.default_rng(0))
    for epoch in range(epochs):
        for images, labels in loader:          # Tensors: (128, ...) images, (128,) int64 labels
            ...

Each epoch draws a fresh permutation of ``range(len(dataset))`` from a NumPy ``Generator`` (the one you
pass, or the library's default one that ``tinygrad_edu.manual_seed`` reseeds), cuts it into batches of
``batch_size`` indices (the last one shorter unless ``drop_last``) and turns each into a batch:

* **Fast path** (the default ``collate_fn``, and a data set that can read whole batches — see
  ``dataset.batch_getter``): one call ``dataset.get_batch(indices)`` that fancy-indexes the arrays.
  No Python loop over samples: this is what makes an MNIST or CIFAR-10 epoch fast.
* **General path**: ``collate_fn([dataset[i] for i in indices])``.

Both give the same batch.  Loading runs in the calling process: ``num_workers`` and ``pin_memory``
are accepted so PyTorch scripts run unchanged, and ignored.
"""
import collections.abc

import numpy as np

from ..backend import array_module
from ..dtypes import get_default_dtype
from ..tensor import Tensor
from .dataset import as_generator, batch_getter


class DataLoader:
    """Iterate over ``dataset`` in batches; ``len(loader)`` is the number of batches per epoch."""

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None,
                 generator=None, num_workers=0, pin_memory=False):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size should be a positive integer, got {batch_size!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        # An int seed makes one generator now, so each epoch still gets a new order; None means
        # "the library's default generator at the time of iterating" (manual_seed replaces it).
        self.generator = None if generator is None else as_generator(generator)
        self.num_workers, self.pin_memory = num_workers, pin_memory

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def batch_indices(self):
        """The index arrays of one epoch's batches (draws a new permutation when shuffling)."""
        n = len(self.dataset)
        order = as_generator(self.generator).permutation(n) if self.shuffle else np.arange(n)
        stop = len(self) * self.batch_size
        return [order[start:min(start + self.batch_size, n)] for start in range(0, stop, self.batch_size)]

    def __iter__(self):
        getter = batch_getter(self.dataset) if self.collate_fn is None else None
        collate = self.collate_fn or default_collate
        for indices in self.batch_indices():
            if getter is not None:
                yield default_convert(getter(indices))
            else:
                yield collate([self.dataset[int(i)] for i in indices])

    def __repr__(self):
        return (f"DataLoader(n={len(self.dataset)}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last})")


def default_convert(batch):
    """An already stacked batch (arrays with the batch axis first) as Tensors: arrays become Tensors
    with their dtype, and tuples (turned into lists, as PyTorch does), lists and dicts are converted
    inside."""
    if isinstance(batch, Tensor):
        return batch
    if isinstance(batch, np.ndarray):
        return batch if batch.dtype.kind in "USO" else Tensor._wrap(batch)
    if isinstance(batch, collections.abc.Mapping):
        return {key: default_convert(value) for key, value in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):       # a namedtuple keeps its type
        return type(batch)(*(default_convert(value) for value in batch))
    if isinstance(batch, (tuple, list)):
        return [default_convert(value) for value in batch]
    return batch


def default_collate(samples):
    """Stack a list of samples into a batch, as PyTorch's ``default_collate``:

    * Tensors and NumPy arrays → one Tensor with a new first axis (dtype as given);
    * NumPy scalars → a Tensor of their dtype; Python ``int`` → int64, ``bool`` → bool, ``float`` →
      the default float dtype (float32; PyTorch makes float64 here);
    * strings → the list of strings;
    * dicts → a dict collating each key; tuples and lists → a list collating each position
      (a namedtuple stays a namedtuple).
    """
    if not samples:
        raise ValueError("default_collate: got an empty batch")
    first = samples[0]
    if isinstance(first, (Tensor, np.ndarray)):
        arrays = [s.array if isinstance(s, Tensor) else np.asarray(s) for s in samples]
        if arrays[0].dtype.kind in "USO":
            raise TypeError(f"default_collate: cannot stack arrays of dtype {arrays[0].dtype}; batch must "
                            "contain tensors, numeric arrays, numbers, strings, dicts or lists")
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise ValueError(f"default_collate: cannot stack samples of different shapes "
                             f"{sorted(shapes)}; give a collate_fn that pads them, or resize them")
        return Tensor._wrap(array_module(arrays[0]).stack(arrays))
    if isinstance(first, np.generic):
        return Tensor._wrap(np.array(samples))
    if isinstance(first, bool):
        return Tensor._wrap(np.array(samples, dtype=np.bool_))
    if isinstance(first, int):
        return Tensor._wrap(np.array(samples, dtype=np.int64))
    if isinstance(first, float):
        return Tensor._wrap(np.array(samples, dtype=get_default_dtype()))
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, collections.abc.Mapping):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, (tuple, list)):
        lengths = {len(s) for s in samples}
        if len(lengths) != 1:
            raise ValueError(f"default_collate: each sample in a batch should have the same number of "
                             f"fields, got lengths {sorted(lengths)}")
        columns = [default_collate(list(column)) for column in zip(*samples)]
        return type(first)(*columns) if hasattr(first, "_fields") else columns
    raise TypeError(f"default_collate: batch must contain tensors, NumPy arrays, numbers, strings, dicts or "
                    f"lists; found {type(first).__name__}")
