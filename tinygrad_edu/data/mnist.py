"""MNIST: 70,000 handwritten digits, 28×28 grey pixels, labels 0–9 (LeCun, Cortes & Burges).

Where the files are looked for, in order:

1. ``root=`` if you pass it: the four ``.gz`` files in ``root`` or in ``root/mnist``.  If they are not
   there and ``download=True``, they are downloaded into ``root/mnist``.
2. ``$TINYGRAD_EDU_DATA/mnist/`` (the staged copy used by the tests and CI).
3. The cache ``$TINYGRAD_EDU_CACHE/mnist`` (default ``~/.cache/tinygrad_edu/mnist``), filled on first use
   by downloading the four files from a public mirror and checking each one's SHA-256.

The files are in the IDX format: a big-endian header — a magic number (two zero bytes, a type code,
0x08 for unsigned bytes, and the number of dimensions), then each dimension's size as a 4-byte integer —
followed by the raw bytes.  Images have magic 2051 (0x00000803: 3 dims, N×28×28) and labels 2049
(0x00000801: 1 dim, N).  Every header and size is checked, so a corrupt or truncated file gives an error
naming the file instead of garbage digits.
"""
import gzip
import os
import zlib

import numpy as np

from .download import DownloadError, download, search_folders
from .image_arrays import ImageArrayDataset

# name -> SHA-256 of the .gz file exactly as the mirrors serve it (the original LeCun files).
FILES = {
    "train-images-idx3-ubyte.gz": "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
    "train-labels-idx1-ubyte.gz": "9facc0c5f15e696d16577c39fb39d06c8c0d7616010797cf0e05b1067f91d9c1",
    "t10k-images-idx3-ubyte.gz": "fa1df4cb74e6e16586f395ed87c5759f799135c5fd1515996bc02340fba92f5f",
    "t10k-labels-idx1-ubyte.gz": "604e4e0dcbdf2b978afd53c607ab784f8c99e680fd61d7983bc70839ed6528bb",
}
SPLITS = {True: ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60000),
          False: ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10000)}

# Public mirrors of the original files (yann.lecun.com itself now asks for a login).
# $TINYGRAD_EDU_MNIST_MIRRORS (space-separated base URLs) replaces this list.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049


class MNISTNotFoundError(FileNotFoundError):
    """The MNIST files are in none of the places looked at and could not be downloaded."""


class IDXFormatError(ValueError):
    """An IDX file's header or size is not what MNIST's should be."""


# ---------------------------------------------------------------------------------------------
# Reading IDX files
# ---------------------------------------------------------------------------------------------
def _read_bytes(path):
    """The decompressed contents of ``path`` (gzip if it ends in .gz), with a clear error if damaged."""
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise IDXFormatError(f"{path}: corrupt or truncated gzip file ({exc.__class__.__name__}: {exc}); "
                             "delete it so that it is fetched again") from exc


def read_idx(path, expected_magic, item_shape=()):
    """Parse an IDX file of unsigned bytes: check the magic number, the item shape and that the data is
    exactly as long as the header says.  Returns a uint8 array of shape (N, *item_shape)."""
    raw = _read_bytes(path)
    ndim = 1 + len(item_shape)
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise IDXFormatError(f"{path}: file is {len(raw)} bytes, shorter than the {header_len}-byte "
                             "IDX header")
    magic = int.from_bytes(raw[0:4], "big")
    if magic != expected_magic:
        raise IDXFormatError(f"{path}: IDX magic number is {magic} (0x{magic:08x}), expected "
                             f"{expected_magic} (0x{expected_magic:08x}); is this the right file?")
    dims = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    if dims[1:] != tuple(item_shape):
        raise IDXFormatError(f"{path}: items have shape {dims[1:]}, expected {tuple(item_shape)}")
    expected_len = header_len + int(np.prod(dims))
    if len(raw) != expected_len:
        raise IDXFormatError(f"{path}: header says {dims[0]} items ({expected_len} bytes in all) but the "
                             f"file has {len(raw)} bytes: it is truncated or corrupt")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(dims)


# ---------------------------------------------------------------------------------------------
# Finding the files
# ---------------------------------------------------------------------------------------------
def _mirrors():
    env = os.environ.get("TINYGRAD_EDU_MNIST_MIRRORS")
    return tuple(env.split()) if env else MIRRORS


def _find_in(folder, names):
    """The paths of ``names`` in ``folder`` (each as .gz, or decompressed), or None if any is missing."""
    paths = []
    for name in names:
        for candidate in (name, name[:-3]):
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                paths.append(path)
                break
        else:
            return None
    return paths


def _download_or_explain(folder, names, mirrors, looked):
    """Download ``names`` into ``folder``; if no mirror answers, say where we looked and what failed.
    (A checksum mismatch is raised as it is: a file was served, but not the right one.)"""
    try:
        return [download(name, mirrors, os.path.join(folder, name), FILES[name]) for name in names]
    except DownloadError as exc:
        raise MNISTNotFoundError(f"MNIST files not found in {'; '.join(looked)} and the download failed: "
                                 f"{exc}. Pass root=<folder> or set TINYGRAD_EDU_DATA=<folder containing "
                                 "mnist/>.") from exc


def mnist_files(root=None, train=True, download=True, mirrors=None):
    """The paths of the (images, labels) files of one split, downloading them if needed and allowed."""
    names = SPLITS[bool(train)][:2]
    mirrors = tuple(mirrors) if mirrors is not None else _mirrors()
    folders, download_folder = search_folders(root, "mnist")
    looked = []
    for folder, label in folders:
        looked.append(label)
        found = _find_in(folder, names)
        if found:
            return found
    if download:
        return _download_or_explain(download_folder, names, mirrors, looked)
    raise MNISTNotFoundError(
        f"MNIST files {', '.join(names)} not found; looked in: {'; '.join(looked)}. "
        "Pass root=<folder>, set TINYGRAD_EDU_DATA=<folder containing mnist/>, or allow download=True.")


def load_mnist(root=None, train=True, download=True, mirrors=None):
    """``(images, labels)`` of the training split (60,000) or the test split (10,000):
    images uint8 of shape (N, 28, 28), labels int64 of shape (N,)."""
    image_path, label_path = mnist_files(root, train, download, mirrors)
    images = read_idx(image_path, IMAGE_MAGIC, (28, 28))
    labels = read_idx(label_path, LABEL_MAGIC).astype(np.int64)
    if len(images) != len(labels):
        raise IDXFormatError(f"{image_path} has {len(images)} images but {label_path} has "
                             f"{len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise IDXFormatError(f"{label_path}: label {labels.max()} is not a digit 0-9")
    return images, labels


class MNIST(ImageArrayDataset):
    """The MNIST data set as a sequence of ``(image, label)`` pairs, like ``torchvision.datasets.MNIST``
    but with NumPy images: ``image`` is a uint8 (28, 28) array, ``label`` an int.

    ``.images`` (N, 28, 28) uint8 and ``.labels`` (N,) int64 hold the whole split, for fast batching.
    ``transform`` / ``target_transform``, if given, are applied by ``__getitem__``."""

    def __init__(self, root=None, train=True, download=True, transform=None, target_transform=None,
                 mirrors=None):
        self.train = bool(train)
        self.images, self.labels = load_mnist(root, train, download, mirrors)
        self.transform, self.target_transform = transform, target_transform

    def __repr__(self):
        return f"MNIST(split={'train' if self.train else 'test'}, n={len(self)})"
