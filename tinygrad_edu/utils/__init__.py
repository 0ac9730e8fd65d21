"""``tinygrad_edu.utils``: PyTorch's ``torch.utils`` paths, so ``from tinygrad_edu.utils.data import
DataLoader`` works as ``from torch.utils.data import DataLoader`` does."""
from . import data  # noqa: F401
