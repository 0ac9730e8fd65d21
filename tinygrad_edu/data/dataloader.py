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

Both give the same batch.  ``sampler=`` / ``batch_sampler=`` choose other orders (samplers.py).
Loading runs in the calling process: ``num_workers`` (any value >= 0), ``pin_memory`` and the other
worker options are accepted so PyTorch scripts run unchanged, and ignored.
"""
import collections.abc

import numpy as np

from ..backend import array_module
from ..dtypes import get_default_dtype
from ..tensor import Tensor
from .dataset import IterableDataset, as_generator, batch_getter
from .samplers import BatchSampler, RandomSampler, SequentialSampler


class DataLoader:
    """Iterate over ``dataset`` in batches; ``len(loader)`` is the number of batches per epoch.

    PyTorch's signature.  The indices come from ``batch_sampler``, or from ``sampler`` (default:
    ``RandomSampler`` if ``shuffle`` else ``SequentialSampler``) grouped by a ``BatchSampler`` of
    ``batch_size``/``drop_last``; ``batch_size=None`` turns batching off (each sample is converted and
    yielded alone).  An ``IterableDataset`` is batched in stream order.  ``num_workers``,
    ``pin_memory``, ``timeout``, ``worker_init_fn``, ``prefetch_factor``, ``persistent_workers`` … are
    accepted so PyTorch scripts run, and ignored: loading always runs in the calling process."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="", in_order=True):
        if batch_size is not None and (isinstance(batch_size, bool)
                                       or not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size should be a positive integer (or None to turn "
                             f"batching off), got {batch_size!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing")
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        # An int seed makes one generator now, so each epoch still gets a new order; None means
        # "the library's default generator at the time of iterating" (manual_seed reseeds it).
        self.generator = None if generator is None else as_generator(generator)
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.worker_init_fn, self.prefetch_factor = worker_init_fn, prefetch_factor
        self.persistent_workers = persistent_workers
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, "
                                 f"but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, "
                                 f"but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler "
                                 f"option, but got batch_sampler={batch_sampler}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            self.batch_size, self.drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last")
        self.shuffle = bool(shuffle)
        if sampler is None and not self._iterable:
            sampler = (RandomSampler(dataset, generator=self.generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_sampler is None and self.batch_size is not None and not self._iterable:
            batch_sampler = BatchSampler(sampler, self.batch_size, self.drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)         # a TypeError when the stream has no length, as PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler) if self.batch_sampler is not None else len(self.sampler)

    def __iter__(self):
        collate = self.collate_fn or default_collate
        if self._iterable:
            yield from self._iterate_stream(collate)
            return
        if self.batch_sampler is None:        # batching turned off
            for index in self.sampler:
                sample = self.dataset[index]
                yield self.collate_fn(sample) if self.collate_fn else default_convert(sample)
            return
        getter = batch_getter(self.dataset) if self.collate_fn is None else None
        for batch in self.batch_sampler:
            if getter is not None and all(isinstance(i, (int, np.integer)) for i in batch):
                yield default_convert(getter(np.asarray(batch, dtype=np.int64)))
            else:
                yield collate([self.dataset[int(i) if isinstance(i, np.integer) else i] for i in batch])

    def _iterate_stream(self, collate):
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample) if self.collate_fn else default_convert(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield collate(batch)
                batch = []
        if batch and not self.drop_last:
            yield collate(batch)

    def __repr__(self):
        n = len(self.dataset) if hasattr(self.dataset, "__len__") else "?"
        return (f"DataLoader(n={n}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
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
