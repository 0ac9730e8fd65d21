"""CIFAR-10: 32×32 colour images in 10 classes (Krizhevsky, "Learning Multiple Layers of Features from
Tiny Images", 2009).  Classes: airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck.

Two sources, both read without pickle:

* **The staged shards** (``cifar10_train_0.npz``, ``cifar10_train_1.npz``, ``cifar10_test.npz``): what
  the tests and CI use, offline.  Each is an ``np.savez_compressed`` file with ``x`` (N, 32, 32, 3)
  uint8 HWC RGB, ``y`` (N,) uint8 and ``classes``.  The training split is both train shards, 20,000
  images (2,000 per class); the test split is the full official 10,000.  They were decoded from JPEG
  copies of CIFAR-10, so pixels are close to, not equal to, the originals (see the data README).
  Each file's SHA-256 is checked before it is read.
* **The official binary version** ``cifar-10-binary.tar.gz`` (never the pickled "python version"):
  downloaded on a machine with internet, checked against its SHA-256, and parsed record by record.
  The archive holds ``cifar-10-batches-bin/data_batch_{1..5}.bin`` (50,000 training images) and
  ``test_batch.bin`` (10,000).  Each file is a run of 3,073-byte records::

      1 byte   label 0-9
      1024 B   red channel, 32 rows of 32 pixels, row by row
      1024 B   green channel
      1024 B   blue channel

  so a file reshapes to (N, 3073); column 0 is the label and the rest reshapes to (N, 3, 32, 32)
  (CHW), which we transpose to HWC to match the shards.

Where the files are looked for, in order (the same rule as MNIST):

1. ``root=`` if you pass it: ``root`` itself or ``root/cifar10`` (shards, an extracted
   ``cifar-10-batches-bin/`` folder, or the ``.tar.gz``); with ``download=True`` the archive is
   downloaded into ``root/cifar10``.
2. ``$TINYGRAD_EDU_DATA/cifar10/`` (the staged shards).
3. The cache ``$TINYGRAD_EDU_CACHE/cifar10`` (default ``~/.cache/tinygrad_edu/cifar10``), filled by a
   verified download of the binary archive.
"""
import os
import tarfile
import zipfile

import numpy as np

from .download import ChecksumError, DownloadError, download, search_folders, sha256_of
from .image_arrays import ImageArrayDataset

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

# Per-channel mean and std of the official 50,000 training images (pixels scaled to [0, 1]); the
# usual Normalize constants.  (The staged JPEG-decoded copy has std about (0.245, 0.243, 0.261).)
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)

SHARDS = {  # staged npz shard -> SHA-256 (from shared/data/README.md)
    "cifar10_train_0.npz": "12a55dcf3c866356bd9afce1ac53a90babdd2a377ad8ec798d6d1126c0a6bf10",
    "cifar10_train_1.npz": "8a358138723b7ffffa781a242d29de58a3740f5d66429666182868cee5a0c42b",
    "cifar10_test.npz": "0988a3b3fedcfcf31f91a6e244e7b04f1def755ab538309995e445d03f8cbde9",
}
SHARD_SPLITS = {True: ("cifar10_train_0.npz", "cifar10_train_1.npz"), False: ("cifar10_test.npz",)}

# The official binary archive: 170,052,171 bytes.  The MD5 is the one published on
# https://www.cs.toronto.edu/~kriz/cifar.html (c32a1d4ab5d03f1284b67883e8d87530); the SHA-256 below is
# the one recorded for that same file by independent public projects that checked the MD5 (it was not
# recomputed here: this machine has no internet).
ARCHIVE = "cifar-10-binary.tar.gz"
ARCHIVE_SHA256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
BINARY_FOLDER = "cifar-10-batches-bin"
BINARY_SPLITS = {True: tuple(f"data_batch_{i}.bin" for i in range(1, 6)), False: ("test_batch.bin",)}
RECORD_BYTES = 1 + 3 * 32 * 32
MAX_RECORDS_PER_FILE = 10_000      # the official files hold exactly 10,000 records each
MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)   # $TINYGRAD_EDU_CIFAR10_MIRRORS replaces this


class CIFAR10NotFoundError(FileNotFoundError):
    """The CIFAR-10 files are in none of the places looked at and could not be downloaded."""


class CIFAR10FormatError(ValueError):
    """A CIFAR-10 file does not have the expected layout."""


# ---------------------------------------------------------------------------------------------
# Reading each kind of file
# ---------------------------------------------------------------------------------------------
def read_shard(path, verify=True):
    """``(images, labels)`` of one staged npz shard, after checking its SHA-256 (``verify``)."""
    name = os.path.basename(path)
    if verify and name in SHARDS:
        actual = sha256_of(path)
        if actual != SHARDS[name]:
            raise ChecksumError(f"{path}: sha256 is {actual}, expected {SHARDS[name]}; the file is "
                                "corrupt or not the staged CIFAR-10 shard (copy it again)")
    try:
        with np.load(path, allow_pickle=False) as data:
            images, labels = data["x"], data["y"]
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise CIFAR10FormatError(f"{path}: not a readable CIFAR-10 npz shard with keys 'x' and 'y' "
                                 f"({exc.__class__.__name__}: {exc})") from None
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (32, 32, 3):
        raise CIFAR10FormatError(f"{path}: 'x' is {images.dtype} {images.shape}, expected uint8 "
                                 "(N, 32, 32, 3)")
    if labels.shape != (len(images),):
        raise CIFAR10FormatError(f"{path}: 'y' has shape {labels.shape}, expected ({len(images)},)")
    return images, _check_labels(labels, path)


def parse_binary(raw, source="<bytes>"):
    """``(images HWC uint8, labels int64)`` from the bytes of one binary batch file."""
    if len(raw) % RECORD_BYTES or not raw:
        raise CIFAR10FormatError(f"{source}: {len(raw)} bytes is not a whole number of {RECORD_BYTES}-byte "
                                 "records (1 label byte + 3072 pixel bytes)")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD_BYTES)
    labels = _check_labels(records[:, 0], source)
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)   # CHW planes -> HWC
    return np.ascontiguousarray(images), labels


def _check_labels(labels, source):
    labels = np.asarray(labels).astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise CIFAR10FormatError(f"{source}: label {labels.max()} is not a class id 0-9")
    return labels


def read_binary_archive(path, train=True):
    """``(images, labels)`` of one split, read from the binary ``.tar.gz`` without extracting it: only
    the expected regular-file members are read (no paths are written, no links followed)."""
    wanted = {f"{BINARY_FOLDER}/{name}": name for name in BINARY_SPLITS[bool(train)]}
    found = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                if member.name not in wanted:
                    continue
                if not member.isfile():
                    raise CIFAR10FormatError(f"{path}: member {member.name} is not a regular file")
                if member.size > MAX_RECORDS_PER_FILE * RECORD_BYTES:
                    raise CIFAR10FormatError(f"{path}: member {member.name} is {member.size} bytes, more "
                                             f"than {MAX_RECORDS_PER_FILE} records")
                found[wanted[member.name]] = archive.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise CIFAR10FormatError(f"{path}: corrupt or truncated archive ({exc.__class__.__name__}: "
                                 f"{exc}); delete it so that it is fetched again") from None
    missing = [name for name in wanted.values() if name not in found]
    if missing:
        raise CIFAR10FormatError(f"{path}: archive lacks {', '.join(missing)}")
    parts = [parse_binary(found[name], f"{path}:{name}") for name in BINARY_SPLITS[bool(train)]]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def read_binary_folder(folder, train=True):
    """``(images, labels)`` of one split from an extracted ``cifar-10-batches-bin`` folder."""
    parts = []
    for name in BINARY_SPLITS[bool(train)]:
        path = os.path.join(folder, name)
        if os.path.getsize(path) > MAX_RECORDS_PER_FILE * RECORD_BYTES:
            raise CIFAR10FormatError(f"{path}: larger than {MAX_RECORDS_PER_FILE} records")
        with open(path, "rb") as f:
            parts.append(parse_binary(f.read(), path))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


# ---------------------------------------------------------------------------------------------
# Finding the files
# ---------------------------------------------------------------------------------------------
def _mirrors():
    env = os.environ.get("TINYGRAD_EDU_CIFAR10_MIRRORS")
    return tuple(env.split()) if env else MIRRORS


def _source_in(folder, train):
    """What ``folder`` offers for this split: ('shards', [paths]), ('folder', path),
    ('archive', path) or None — in that order of preference."""
    shards = [os.path.join(folder, name) for name in SHARD_SPLITS[bool(train)]]
    if all(os.path.isfile(p) for p in shards):
        return "shards", shards
    binary = os.path.join(folder, BINARY_FOLDER)
    if all(os.path.isfile(os.path.join(binary, n)) for n in BINARY_SPLITS[bool(train)]):
        return "folder", binary
    archive = os.path.join(folder, ARCHIVE)
    if os.path.isfile(archive):
        return "archive", archive
    return None


def _download_archive(folder, mirrors, looked):
    try:
        return download(ARCHIVE, mirrors, os.path.join(folder, ARCHIVE), ARCHIVE_SHA256)
    except DownloadError as exc:
        raise CIFAR10NotFoundError(f"CIFAR-10 not found in {'; '.join(looked)} and the download failed: "
                                   f"{exc}. Pass root=<folder> or set TINYGRAD_EDU_DATA=<folder containing "
                                   "cifar10/>.") from exc


def find_cifar10(root=None, train=True, download=True, mirrors=None):
    """``(kind, location)`` of the files for one split, downloading the archive if needed and allowed."""
    mirrors = tuple(mirrors) if mirrors is not None else _mirrors()
    folders, download_folder = search_folders(root, "cifar10")
    looked = []
    for folder, label in folders:
        looked.append(label)
        found = _source_in(folder, train)
        if found:
            return found
    if download:
        return "archive", _download_archive(download_folder, mirrors, looked)
    raise CIFAR10NotFoundError(
        f"CIFAR-10 files not found; looked in: {'; '.join(looked)}. Pass root=<folder>, set "
        "TINYGRAD_EDU_DATA=<folder containing cifar10/>, or allow download=True.")


def load_cifar10(root=None, train=True, download=True, mirrors=None, verify=True):
    """``(images, labels)`` of one split: images uint8 (N, 32, 32, 3) HWC RGB, labels int64 (N,).
    ``verify`` checks the SHA-256 of the shards or of an archive found on disk (a downloaded archive
    is always checked)."""
    kind, location = find_cifar10(root, train, download, mirrors)
    if kind == "shards":
        parts = [read_shard(path, verify) for path in location]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    if kind == "folder":
        return read_binary_folder(location, train)
    if verify:
        actual = sha256_of(location)
        if actual != ARCHIVE_SHA256:
            raise ChecksumError(f"{location}: sha256 is {actual}, expected {ARCHIVE_SHA256}; delete the "
                                "file so that it is downloaded again")
    return read_binary_archive(location, train)


class CIFAR10(ImageArrayDataset):
    """CIFAR-10 as a sequence of ``(image, label)`` pairs, like ``torchvision.datasets.CIFAR10`` but with
    NumPy images: ``image`` is uint8 (32, 32, 3) HWC RGB (or whatever ``transform`` makes of it) and
    ``label`` an int.

    ``.images`` (N, 32, 32, 3) uint8, ``.labels`` (N,) int64 and ``.classes`` (the 10 names) hold the
    whole split.  ``get_batch(indices)`` builds a whole batch at once (the DataLoader's fast path),
    applying ``transform`` to the stack with ``transform.batch`` when it has one.  A typical training
    transform::

        Compose([ToTensor(), RandomCrop(32, padding=4), RandomHorizontalFlip(), Normalize(MEAN, STD)])
    """

    classes = list(CLASSES)

    def __init__(self, root=None, train=True, transform=None, target_transform=None, download=True,
                 mirrors=None, verify=True):
        self.train = bool(train)
        self.images, self.labels = load_cifar10(root, train, download, mirrors, verify)
        self.transform, self.target_transform = transform, target_transform
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    def __repr__(self):
        return f"CIFAR10(split={'train' if self.train else 'test'}, n={len(self)})"

