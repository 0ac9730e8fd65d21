"""What every text data set shares: where one lives (``_Source``: folder name, files with their
SHA-256, mirror), finding its files or downloading them (``find_files``), checking and reading them
(``verify_file``, ``read_text``), checking the ``split`` argument, and the two error classes.

The data sets themselves are in ``shakespeare.py``, ``sentiment.py`` and ``ner.py``; the package
docstring gives the lookup order.
"""
import os

from ..download import ChecksumError, DownloadError, search_folders, sha256_of
from ..download import download as download_file


_RAW = "https://raw.githubusercontent.com/"


class TextDatasetNotFoundError(FileNotFoundError):
    """A text data set's files are in none of the places looked at and could not be downloaded."""


class TextFormatError(ValueError):
    """A text data set's file does not have the expected layout."""


class _Source:
    """Where one data set lives: its folder name, its files with their SHA-256, and its mirrors.

    ``files`` maps a file name to a tuple of accepted SHA-256 digests: the **first** is the file exactly
    as the mirror serves it (what a download must match); any others are known-good local variants
    (the staged SST-2 ``train.tsv`` had its CRLF line ends turned into LF)."""

    def __init__(self, subdir, files, mirror, env):
        self.subdir, self.files, self.mirror, self.env = subdir, files, mirror, env

    def mirrors(self, override=None):
        if override is not None:
            return tuple(override)
        env = os.environ.get(self.env)
        return tuple(env.split()) if env else (self.mirror,)


# ---------------------------------------------------------------------------------------------
# Finding, verifying and reading files
# ---------------------------------------------------------------------------------------------
def find_files(source, names, root=None, download=True, mirrors=None):
    """The paths of ``names`` (files of ``source``), from the first folder that has them all;
    otherwise downloaded (when allowed) into the download folder."""
    folders, download_folder = search_folders(root, source.subdir)
    looked = []
    for folder, label in folders:
        looked.append(label)
        paths = [os.path.join(folder, name) for name in names]
        if all(os.path.isfile(p) for p in paths):
            return paths
    hint = (f"Pass root=<folder>, set TINYGRAD_EDU_DATA=<folder containing {source.subdir}/>"
            + ("" if download else ", or allow download=True") + ".")
    if not download:
        raise TextDatasetNotFoundError(f"{source.subdir} files {', '.join(names)} not found; looked in: "
                                       f"{'; '.join(looked)}. {hint}")
    paths = []
    try:
        for name in names:
            path = os.path.join(download_folder, name)
            if not os.path.isfile(path):
                download_file(name, source.mirrors(mirrors), path, source.files[name][0])
            paths.append(path)
    except DownloadError as exc:
        raise TextDatasetNotFoundError(f"{source.subdir} files not found in {'; '.join(looked)} and the "
                                       f"download failed: {exc}. {hint}") from exc
    return paths


def verify_file(path, accepted):
    """Raise :class:`ChecksumError` naming ``path`` unless its SHA-256 is one of ``accepted``."""
    actual = sha256_of(path)
    if actual not in accepted:
        raise ChecksumError(f"{path}: sha256 is {actual}, expected {' or '.join(accepted)}; the file is "
                            "corrupt or not the published one (delete it so that it is fetched again, or "
                            "pass verify=False to read it anyway)")


def read_text(path, source, verify=True):
    """The contents of ``path`` as text (UTF-8; CRLF line ends read as LF), after the checksum check."""
    if verify:
        verify_file(path, source.files[os.path.basename(path)])
    try:
        with open(path, encoding="utf-8") as f:       # universal newlines: '\r\n' -> '\n'
            return f.read()
    except UnicodeDecodeError as exc:
        raise TextFormatError(f"{path}: not valid UTF-8 ({exc})") from None


def check_split(owner, split, splits, aliases=None):
    """``split`` itself (or what its alias stands for) if it is one of ``splits``; else a ValueError."""
    split = (aliases or {}).get(split, split)
    if split not in splits:
        raise ValueError(f"{owner}: split must be one of {', '.join(repr(s) for s in splits)}, "
                         f"got {split!r}")
    return split
