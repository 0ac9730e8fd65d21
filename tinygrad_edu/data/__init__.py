"""Data sets: real data read with NumPy and the standard library only."""
from .download import ChecksumError, DownloadError, download, sha256_of  # noqa: F401
from .mnist import MNIST, IDXFormatError, MNISTNotFoundError, load_mnist  # noqa: F401
from .dataset import Dataset, Subset, TensorDataset, random_split  # noqa: F401,E402
from .dataset import ConcatDataset, IterableDataset  # noqa: F401,E402
from .samplers import (BatchSampler, RandomSampler, Sampler, SequentialSampler,  # noqa: F401,E402
                       SubsetRandomSampler, WeightedRandomSampler)
from .dataloader import DataLoader, default_collate, default_convert  # noqa: F401,E402
from . import transforms  # noqa: F401,E402
from .cifar10 import CIFAR10, CIFAR10FormatError, CIFAR10NotFoundError, load_cifar10  # noqa: F401,E402
from .digits import Digits  # noqa: F401,E402
from .text_datasets import (SST2, WNUT17, CoNLL2003, RTPolarity, TextDatasetNotFoundError,  # noqa: F401,E402
                            TextFormatError, TinyShakespeare, iob1_to_bio)
