"""tinygrad_edu.data.download: a download says on stderr what it fetches and how far it has come.

No network: files are served from a temp folder through file:// URLs, or ``urlopen`` is replaced by a
fake response that streams a known number of bytes with (or without) a Content-Length."""
import hashlib
import importlib
import io
import os

import pytest

# the module, not the function ``tinygrad_edu.data.download`` that the package re-exports
dl = importlib.import_module("tinygrad_edu.data.download")


def serve(tmp_path, name, payload):
    """A file:// mirror holding ``name``; returns ``(mirror URL, sha256)``."""
    folder = tmp_path / "mirror"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(payload)
    return folder.as_uri() + "/", hashlib.sha256(payload).hexdigest()


class FakeResponse(io.BytesIO):
    def __init__(self, payload, length=True):
        super().__init__(payload)
        self.headers = {"Content-Length": str(len(payload))} if length else {}


def fake_urlopen(payload, length=True):
    return lambda url, timeout=None: FakeResponse(payload, length)


def test_file_url_download_says_what_it_fetches_on_stderr(tmp_path, capsys):
    payload = os.urandom(3 * dl.CHUNK + 123)
    mirror, digest = serve(tmp_path, "data.bin", payload)
    destination = tmp_path / "cache" / "data.bin"
    assert dl.download("data.bin", [mirror], str(destination), digest) == str(destination)
    assert destination.read_bytes() == payload
    out, err = capsys.readouterr()
    assert out == ""                                            # stdout is left for results
    lines = err.splitlines()
    assert lines[0] == f"downloading data.bin from {mirror}data.bin"
    assert lines[-1] == "data.bin: done, 3.1 MB, sha256 ok"


def test_a_line_per_tenth_when_stderr_is_not_a_terminal(tmp_path, capsys, monkeypatch):
    payload = b"x" * (20 * dl.CHUNK)                            # 20 blocks: every tenth is reached
    monkeypatch.setattr(dl.urllib.request, "urlopen", fake_urlopen(payload))
    dl.download("big.bin", ["https://example.invalid/"], str(tmp_path / "big.bin"),
                hashlib.sha256(payload).hexdigest())
    err = capsys.readouterr().err.splitlines()
    percents = [line for line in err if "%" in line]
    assert percents == [f"big.bin: {10 * k}% ({2.097152 * k:.1f} MB of 21.0 MB)" for k in range(1, 10)]
    assert err[0] == "downloading big.bin from https://example.invalid/big.bin"
    assert err[-1] == "big.bin: done, 21.0 MB, sha256 ok"


def test_unknown_size_counts_megabytes(tmp_path, capsys, monkeypatch):
    payload = b"y" * (17 * dl.CHUNK)
    monkeypatch.setattr(dl.urllib.request, "urlopen", fake_urlopen(payload, length=False))
    dl.download("s.bin", ["https://example.invalid/"], str(tmp_path / "s.bin"),
                hashlib.sha256(payload).hexdigest())
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if "so far" in line] == ["s.bin: 8.4 MB so far", "s.bin: 16.8 MB so far"]


def test_a_terminal_gets_a_tqdm_bar_in_bytes(tmp_path, monkeypatch):
    payload = b"z" * (4 * dl.CHUNK)
    monkeypatch.setattr(dl.urllib.request, "urlopen", fake_urlopen(payload))

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(dl.sys, "stderr", terminal)
    dl.download("t.bin", ["https://example.invalid/"], str(tmp_path / "t.bin"),
                hashlib.sha256(payload).hexdigest())
    text = terminal.getvalue()
    assert "\rt.bin:" in text and "/4.19M [" in text and "B/s]" in text     # bytes, scaled
    assert text.rstrip().endswith("t.bin: done, 4.2 MB, sha256 ok")


def test_progress_false_is_silent_and_failures_are_said(tmp_path, capsys):
    payload = b"abc"
    mirror, digest = serve(tmp_path, "f.txt", payload)
    dl.download("f.txt", [mirror], str(tmp_path / "f.txt"), digest, progress=False)
    assert capsys.readouterr().err == ""
    missing = (tmp_path / "nowhere").as_uri() + "/"
    dl.download("f.txt", [missing, mirror], str(tmp_path / "g.txt"), digest)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"could not fetch f.txt from {missing}f.txt: URLError")
    assert err[-1] == "g.txt: done, 0.0 MB, sha256 ok"           # named as it is stored


def test_checksum_mismatch_is_said_and_nothing_is_left(tmp_path, capsys):
    mirror, _ = serve(tmp_path, "f.txt", b"tampered")
    with pytest.raises(dl.ChecksumError, match="checksum mismatch for f.txt"):
        dl.download("f.txt", [mirror], str(tmp_path / "out" / "f.txt"), "0" * 64)
    err = capsys.readouterr().err
    assert "f.txt: checksum mismatch after 0.0 MB" in err
    assert os.listdir(tmp_path / "out") == []
