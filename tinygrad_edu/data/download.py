"""Downloading a file safely: try mirrors in turn, check its SHA-256, and only then give it its name.

A half-written or tampered file must never sit in the cache under the real name, or every later run would
trust it.  So a download streams into a temporary file in the destination folder, its SHA-256 is computed
on the way, and the file is renamed (atomically, ``os.replace``) only if the digest is the expected one.
"""
import hashlib
import os
import tempfile
import urllib.error
import urllib.request

CHUNK = 1 << 20  # read and hash 1 MiB at a time


class ChecksumError(RuntimeError):
    """A downloaded file's SHA-256 is not the expected one."""


class DownloadError(RuntimeError):
    """No mirror could deliver a file."""


def sha256_of(path):
    """The SHA-256 hex digest of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url, destination, expected_sha256, timeout):
    """Stream ``url`` into a temp file beside ``destination``, verify, rename.  Raises on any failure
    and leaves nothing behind."""
    folder = os.path.dirname(os.path.abspath(destination))
    fd, tmp_path = tempfile.mkstemp(prefix=".part-", suffix="-" + os.path.basename(destination), dir=folder)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            for block in iter(lambda: response.read(CHUNK), b""):
                digest.update(block)
                out.write(block)
        actual = digest.hexdigest()
        if actual != expected_sha256:
            raise ChecksumError(f"checksum mismatch for {os.path.basename(destination)} downloaded from "
                                f"{url}: expected sha256 {expected_sha256}, got {actual}")
        os.replace(tmp_path, destination)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def download(filename, mirrors, destination, expected_sha256, timeout=30.0):
    """Download ``filename`` from the first mirror that serves it with the right SHA-256 into ``destination``.

    ``mirrors`` are base URLs (``https://…/``, ``file:///…/``); the file's URL is ``mirror + filename``.
    A mirror that fails (network error, HTTP error, wrong checksum) is skipped; if every mirror fails the
    error lists what each one did.  A checksum mismatch is reported as :class:`ChecksumError` when it is
    the reason the last good candidate failed, because that one needs a human to look."""
    os.makedirs(os.path.dirname(os.path.abspath(destination)), exist_ok=True)
    problems = []
    checksum_problem = None
    for mirror in mirrors:
        url = mirror if mirror.endswith(filename) else mirror.rstrip("/") + "/" + filename
        try:
            _fetch(url, destination, expected_sha256, timeout)
            return destination
        except ChecksumError as exc:
            checksum_problem = exc
            problems.append(str(exc))
        except (urllib.error.URLError, OSError, ValueError) as exc:  # includes HTTPError and timeouts
            problems.append(f"{url}: {exc.__class__.__name__}: {getattr(exc, 'reason', exc)}")
    if checksum_problem is not None:
        raise ChecksumError("; ".join(problems))
    raise DownloadError(f"could not download {filename}: " + ("; ".join(problems) or "no mirrors given"))


def cache_folder(subdir):
    """``$TINYGRAD_EDU_CACHE/<subdir>``, default ``~/.cache/tinygrad_edu/<subdir>``."""
    base = os.environ.get("TINYGRAD_EDU_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                                 "tinygrad_edu")
    return os.path.join(base, subdir)


def search_folders(root, subdir):
    """Where a data set's files are looked for, in order, and the folder a download fills.

    Returns ``([(folder, label), ...], download_folder)``:

    * ``root`` given: ``root`` itself, then ``root/<subdir>``; a download goes to ``root/<subdir>``;
    * otherwise: ``$TINYGRAD_EDU_DATA/<subdir>`` (when set), then the cache
      (``cache_folder(subdir)``), which is also where a download goes.

    The labels say where each folder came from, for the "not found; looked in: …" message."""
    if root is not None:
        root = os.path.expanduser(os.fspath(root))
        inner = os.path.join(root, subdir)
        return [(root, root), (inner, inner)], inner
    folders = []
    env = os.environ.get("TINYGRAD_EDU_DATA")
    if env:
        folder = os.path.join(os.path.expanduser(env), subdir)
        folders.append((folder, folder + " ($TINYGRAD_EDU_DATA)"))
    cache = cache_folder(subdir)
    folders.append((cache, cache + " (cache)"))
    return folders, cache
