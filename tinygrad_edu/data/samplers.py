"""Samplers: which indices of a data set a :class:`DataLoader` visits, and in what order
(``torch.utils.data``'s samplers, same names, arguments and rules).

A sampler is an iterable of indices (``BatchSampler``: of lists of indices) with a ``len``:

* ``SequentialSampler(ds)``: 0, 1, …, len(ds) - 1 (what ``shuffle=False`` uses);
* ``RandomSampler(ds)``: a fresh random permutation each epoch (``shuffle=True``), or with
  ``replacement=True`` ``num_samples`` independent uniform draws;
* ``SubsetRandomSampler(indices)``: the given indices in a random order;
* ``WeightedRandomSampler(weights, num_samples)``: index i with probability wᵢ/Σw (with replacement
  by default) — e.g. to oversample rare classes;
* ``BatchSampler(sampler, batch_size, drop_last)``: groups another sampler's indices into lists.

``generator`` is a ``tinygrad_edu.Generator``, a NumPy Generator or an int seed; without one the
random samplers draw from the library's default generator (``tinygrad_edu.manual_seed``) when an
epoch starts.  The random orders are not PyTorch's for the same seed.
"""
import numpy as np

from .dataset import as_generator


class Sampler:
    """Base class: subclasses define ``__iter__`` (and usually ``__len__``)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__()")


class SequentialSampler(Sampler):
    """0, 1, …, len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


def _generator_or_none(generator):
    return None if generator is None else as_generator(generator)


class RandomSampler(Sampler):
    """A random permutation of the data set each epoch; with ``replacement=True``, ``num_samples``
    uniform draws.  ``num_samples`` larger than the data set without replacement chains several
    permutations (each index appears ⌊num_samples/n⌋ or one more times)."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = _generator_or_none(generator)
        if isinstance(self.num_samples, bool) or not isinstance(self.num_samples, (int, np.integer)) \
                or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n, rng = len(self.data_source), as_generator(self.generator)
        if self.replacement:
            return iter(rng.integers(0, n, self.num_samples).tolist())
        rounds = -(-self.num_samples // n)
        order = np.concatenate([rng.permutation(n) for _ in range(rounds)])[:self.num_samples]
        return iter(order.tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices``, in a new random order each epoch."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = _generator_or_none(generator)

    def __iter__(self):
        order = as_generator(self.generator).permutation(len(self.indices))
        return iter([self.indices[i] for i in order])

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices, index i drawn with probability ``weights[i] / sum(weights)``
    (``replacement=False``: each index at most once, as ``multinomial``)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) \
                or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        array = np.asarray(getattr(weights, "array", weights), dtype=np.float64)
        if array.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(array.shape)}")
        self.weights = array
        self.num_samples, self.replacement = int(num_samples), replacement
        self.generator = _generator_or_none(generator)

    def __iter__(self):
        from ..random import multinomial
        from ..tensor import Tensor
        drawn = multinomial(Tensor._wrap(self.weights), self.num_samples, self.replacement,
                            generator=as_generator(self.generator))
        return iter(drawn.array.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` consecutive indices of ``sampler`` (the last one shorter, unless
    ``drop_last``)."""

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), drop_last

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
