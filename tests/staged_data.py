"""Where the staged data sets are, for the tests that need real data."""
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def staged_data_dir(marker):
    """The data root that holds ``marker`` (a path relative to the root, e.g. ``"cifar10/cifar10_test.npz"``):
    ``$TINYGRAD_EDU_DATA`` first, then ``../shared/data`` beside the repository; None if neither has it."""
    for candidate in (os.environ.get("TINYGRAD_EDU_DATA"), REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / marker).is_file():
            return Path(candidate)
    return None
