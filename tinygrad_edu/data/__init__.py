"""Data sets: real data read with NumPy and the standard library only."""
from .download import ChecksumError, DownloadError, download, sha256_of  # noqa: F401
from .mnist import MNIST, IDXFormatError, MNISTNotFoundError, load_mnist  # noqa: F401
