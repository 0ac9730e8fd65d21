"""Downloading a file safely: try mirrors in turn, check its SHA-256, and only then give it its name.

A half-written or tampered file must never sit in the cache under the real name, or every later run would
trust it.  So a download streams into a temporary file in the destination folder, its SHA-256 is computed
on the way, and the file is renamed (atomically, ``os.replace``) only if the digest is the expected one.

A download can take minutes, so it says what it is doing, on stderr (stdout stays for results)::

    downloading cifar-10-binary.tar.gz from https://.../cifar-10-binary.tar.gz
    cifar-10-binary.tar.gz:  40%|████      | 68.0M/170M [00:09<00:13, 7.51MB/s]     (a terminal)
    cifar-10-binary.tar.gz: 40% (68.0 MB of 170.1 MB)                             (a log file)
    cifar-10-binary.tar.gz: done, 170.1 MB, sha256 ok

On a terminal the progress is a tqdm bar counting bytes; when stderr is a file or a pipe (a log, CI)
it is one line per tenth of the file, or per 8 MB when the server does not say how big the file is.
``download(..., progress=False)`` is silent.
"""
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request

CHUNK = 1 << 20  # read and hash 1 MiB at a time
UNKNOWN_SIZE_STEP = 8_000_000  # bytes between two progress lines when the size is not known


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


def _megabytes(n):
    return f"{n / 1e6:.1f} MB"


class _Progress:
    """How far a download has come, on stderr: a tqdm bar on a terminal, else a line per 10%."""

    def __init__(self, name, total, enabled):
        self.name, self.total, self.done, self.enabled = name, total, 0, enabled
        self.stream = sys.stderr                    # looked up now, so that a redirect is followed
        self.bar, self.next_line = None, self._step()
        if enabled and self.stream.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=name, unit="B", unit_scale=True, unit_divisor=1000,
                            file=self.stream, dynamic_ncols=True, leave=False)

    def _step(self):
        return max(1, self.total // 10) if self.total else UNKNOWN_SIZE_STEP

    def update(self, n):
        self.done += n
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(n)
            return
        if self.done >= self.next_line and (not self.total or self.done < self.total):
            if self.total:
                percent = 100 * self.done // self.total
                print(f"{self.name}: {percent}% ({_megabytes(self.done)} of {_megabytes(self.total)})",
                      file=self.stream, flush=True)
            else:
                print(f"{self.name}: {_megabytes(self.done)} so far", file=self.stream, flush=True)
            while self.next_line <= self.done:
                self.next_line += self._step()

    def close(self, outcome):
        if self.bar is not None:
            self.bar.close()
        if self.enabled:
            print(f"{self.name}: {outcome}", file=self.stream, flush=True)


def _fetch(url, destination, expected_sha256, timeout, progress=True):
    """Stream ``url`` into a temp file beside ``destination``, verify, rename.  Raises on any failure
    and leaves nothing behind."""
    folder = os.path.dirname(os.path.abspath(destination))
    name = os.path.basename(destination)
    fd, tmp_path = tempfile.mkstemp(prefix=".part-", suffix="-" + name, dir=folder)
    meter = None
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            if progress:
                print(f"downloading {name} from {url}", file=sys.stderr, flush=True)
            length = response.headers.get("Content-Length") if response.headers else None
            meter = _Progress(name, int(length) if length and length.isdigit() else None, progress)
            for block in iter(lambda: response.read(CHUNK), b""):
                digest.update(block)
                out.write(block)
                meter.update(len(block))
        actual = digest.hexdigest()
        if actual != expected_sha256:
            meter.close(f"checksum mismatch after {_megabytes(meter.done)}")
            meter = None
            raise ChecksumError(f"checksum mismatch for {name} downloaded from "
                                f"{url}: expected sha256 {expected_sha256}, got {actual}")
        os.replace(tmp_path, destination)
        meter.close(f"done, {_megabytes(meter.done)}, sha256 ok")
        meter = None
    except BaseException as exc:
        if meter is not None:
            meter.close(f"failed after {_megabytes(meter.done)} ({exc.__class__.__name__})")
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def download(filename, mirrors, destination, expected_sha256, timeout=30.0, progress=True):
    """Download ``filename`` from the first mirror that serves it with the right SHA-256 into ``destination``.

    ``mirrors`` are base URLs (``https://…/``, ``file:///…/``); the file's URL is ``mirror + filename``.
    A mirror that fails (network error, HTTP error, wrong checksum) is skipped; if every mirror fails the
    error lists what each one did.  A checksum mismatch is reported as :class:`ChecksumError` when it is
    the reason the last good candidate failed, because that one needs a human to look.  With
    ``progress`` (the default) it says on stderr what it fetches and how far it has come."""
    os.makedirs(os.path.dirname(os.path.abspath(destination)), exist_ok=True)
    problems = []
    checksum_problem = None
    for mirror in mirrors:
        url = mirror if mirror.endswith(filename) else mirror.rstrip("/") + "/" + filename
        try:
            _fetch(url, destination, expected_sha256, timeout, progress)
            return destination
        except ChecksumError as exc:
            checksum_problem = exc
            problems.append(str(exc))
        except (urllib.error.URLError, OSError, ValueError) as exc:  # includes HTTPError and timeouts
            problems.append(f"{url}: {exc.__class__.__name__}: {getattr(exc, 'reason', exc)}")
        if progress:
            print(f"could not fetch {filename} from {url}: {problems[-1].removeprefix(url + ': ')}",
                  file=sys.stderr, flush=True)
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
