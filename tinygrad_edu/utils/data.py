"""``tinygrad_edu.utils.data``: the ``torch.utils.data`` names, re-exported from ``tinygrad_edu.data``
(where the code lives: dataset.py, dataloader.py, samplers.py).

    from tinygrad_edu.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

Loading always runs in the calling process: ``num_workers > 0`` is accepted and behaves like 0, and
``get_worker_info()`` is always None (we are never inside a worker).
"""
from ..data.dataloader import DataLoader, default_collate, default_convert  # noqa: F401
from ..data.dataset import (ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset,  # noqa: F401
                            random_split)
from ..data.samplers import (BatchSampler, RandomSampler, Sampler, SequentialSampler,  # noqa: F401
                             SubsetRandomSampler, WeightedRandomSampler)


def get_worker_info():
    """None: there are no worker processes here (PyTorch returns None in the main process too)."""
    return None


__all__ = ["BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset", "RandomSampler",
           "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset",
           "WeightedRandomSampler", "default_collate", "default_convert", "get_worker_info", "random_split"]
