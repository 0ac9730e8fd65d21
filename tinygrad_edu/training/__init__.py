"""Training utilities behind ``python -m tinygrad_edu train|evaluate``: the loop, batches from
arrays with augmentation, checkpoints that resume exactly, and the plots."""
from .loop import TrainConfig, evaluate, fit  # noqa: F401
from .plots import plot_confusion_matrix, plot_history  # noqa: F401
