"""The MNIST loader: lookup order, IDX parsing, and downloads that verify SHA-256 before naming a file.

There is no internet here, so downloads are served from a temp folder (file:// URLs) or from an
http.server on 127.0.0.1.  Nothing is written outside pytest's tmp_path."""
import functools
import gzip
import hashlib
import http.server
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu.data import MNIST, ChecksumError, IDXFormatError, MNISTNotFoundError, load_mnist
from tinygrad_edu.data import mnist as mnist_module

REPO = Path(__file__).resolve().parents[1]
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def _staged_data_dir():
    for candidate in (os.environ.get("TINYGRAD_EDU_DATA"), REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "mnist" / "t10k-images-idx3-ubyte.gz").is_file():
            return Path(candidate)
    return None


STAGED = _staged_data_dir()
needs_staged = pytest.mark.skipif(
    STAGED is None,
    reason="staged MNIST not found: set TINYGRAD_EDU_DATA to the folder of mnist/*.gz (../shared/data in CI)")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No test sees the caller's data/cache settings; the cache is a fresh temp folder."""
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)
    monkeypatch.delenv("TINYGRAD_EDU_MNIST_MIRRORS", raising=False)
    monkeypatch.setenv("TINYGRAD_EDU_CACHE", str(tmp_path / "cache"))


def write_idx(path, array, magic):
    """Write ``array`` (uint8) as a gzipped IDX file with the given magic number."""
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def make_tiny_split(folder, n=5, train=False, seed=0):
    """A synthetic MNIST split of n images in ``folder``; returns (images, labels)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    image_name, label_name, _ = mnist_module.SPLITS[train]
    write_idx(folder / image_name, images, 2051)
    write_idx(folder / label_name, labels, 2049)
    return images, labels


def make_mirror(folder, corrupt=()):
    """Copy the staged test-split files into ``folder``; flip one byte of those named in ``corrupt``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in TEST_FILES:
        shutil.copyfile(STAGED / "mnist" / name, folder / name)
        if name in corrupt:
            data = bytearray((folder / name).read_bytes())
            data[len(data) // 2] ^= 0xFF
            (folder / name).write_bytes(bytes(data))
    return folder


def leftovers(folder):
    return [p.name for p in folder.rglob("*") if p.name.startswith(".part-")]


# ---------------------------------------------------------------------------------------------
# The real data
# ---------------------------------------------------------------------------------------------
@needs_staged
def test_real_mnist_from_env(monkeypatch):
    monkeypatch.setenv("TINYGRAD_EDU_DATA", str(STAGED))
    train = MNIST(download=False)
    test = MNIST(train=False, download=False)
    assert train.images.shape == (60000, 28, 28) and train.images.dtype == np.uint8
    assert train.labels.shape == (60000,) and train.labels.dtype == np.int64
    assert test.images.shape == (10000, 28, 28) and len(test) == 10000
    # Published facts about MNIST (shared/data/README.md): class counts and pixel means.
    assert np.bincount(train.labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert abs(train.images.mean() - 33.318) < 0.01 and abs(test.images.mean() - 33.791) < 0.01
    image, label = train[0]
    assert image.shape == (28, 28) and image.dtype == np.uint8 and isinstance(label, int) and label == 5


@needs_staged
def test_checksum_table_matches_shared_sha256sums():
    lines = (STAGED / "SHA256SUMS").read_text().splitlines()
    sums = dict(reversed(line.split()) for line in lines if line.strip())
    for name, digest in mnist_module.FILES.items():
        assert sums[f"mnist/{name}"] == digest


# ---------------------------------------------------------------------------------------------
# Lookup order: root=, then $TINYGRAD_EDU_DATA, then the cache
# ---------------------------------------------------------------------------------------------
def test_root_is_used_first_and_may_hold_files_directly_or_in_mnist(tmp_path, monkeypatch):
    env_images, _ = make_tiny_split(tmp_path / "env" / "mnist", n=3, seed=1)
    monkeypatch.setenv("TINYGRAD_EDU_DATA", str(tmp_path / "env"))
    flat_images, flat_labels = make_tiny_split(tmp_path / "flat", n=4, seed=2)
    nested_images, _ = make_tiny_split(tmp_path / "nested" / "mnist", n=6, seed=3)

    images, labels = load_mnist(root=tmp_path / "flat", train=False, download=False)
    np.testing.assert_array_equal(images, flat_images)
    np.testing.assert_array_equal(labels, flat_labels.astype(np.int64))
    np.testing.assert_array_equal(load_mnist(root=str(tmp_path / "nested"), train=False)[0], nested_images)
    np.testing.assert_array_equal(load_mnist(train=False, download=False)[0], env_images)


def test_env_then_cache(tmp_path, monkeypatch):
    cache_images, _ = make_tiny_split(tmp_path / "cache" / "mnist", n=2, seed=4)
    monkeypatch.setenv("TINYGRAD_EDU_DATA", str(tmp_path / "empty"))  # set, but holds nothing
    np.testing.assert_array_equal(load_mnist(train=False, download=False)[0], cache_images)
    env_images, _ = make_tiny_split(tmp_path / "empty" / "mnist", n=3, seed=5)
    np.testing.assert_array_equal(load_mnist(train=False, download=False)[0], env_images)


def test_uncompressed_files_are_read_too(tmp_path):
    images, labels = make_tiny_split(tmp_path / "d", n=3)
    for name in TEST_FILES:
        (tmp_path / "d" / name[:-3]).write_bytes(gzip.decompress((tmp_path / "d" / name).read_bytes()))
        (tmp_path / "d" / name).unlink()
    np.testing.assert_array_equal(load_mnist(tmp_path / "d", train=False, download=False)[0], images)


def test_missing_data_without_download_names_the_places_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_EDU_DATA", str(tmp_path / "nothing"))
    with pytest.raises(MNISTNotFoundError, match="t10k-images-idx3-ubyte.gz") as info:
        load_mnist(train=False, download=False)
    assert str(tmp_path / "nothing") in str(info.value) and str(tmp_path / "cache") in str(info.value)


def test_dataset_protocol_and_transforms(tmp_path):
    images, labels = make_tiny_split(tmp_path / "d", n=5)
    ds = MNIST(tmp_path / "d", train=False, download=False,
               transform=lambda im: im.astype(np.float32) / 255, target_transform=lambda y: y + 100)
    assert len(ds) == 5 and "test" in repr(ds)
    image, label = ds[3]
    assert image.dtype == np.float32 and np.allclose(image, images[3] / 255) and label == int(labels[3]) + 100


# ---------------------------------------------------------------------------------------------
# IDX parsing: corrupt files give clear errors
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("damage, message", [
    ("magic", "magic number is 2049"),
    ("shape", r"items have shape \(27, 28\)"),
    ("short_data", "truncated or corrupt"),
    ("long_data", "truncated or corrupt"),
    ("short_header", "shorter than the 16-byte IDX header"),
    ("truncated_gzip", "corrupt or truncated gzip"),
    ("not_gzip", "corrupt or truncated gzip"),
])
def test_corrupt_idx_files_raise_clear_errors(tmp_path, damage, message):
    folder = tmp_path / "d"
    make_tiny_split(folder, n=4)
    path = folder / TEST_FILES[0]
    good = gzip.decompress(path.read_bytes())
    if damage == "magic":
        write_idx(path, np.zeros((4, 28, 28), np.uint8), 2049)
    elif damage == "shape":
        write_idx(path, np.zeros((4, 27, 28), np.uint8), 2051)
    elif damage in ("short_data", "long_data", "short_header"):
        raw = {"short_data": good[:-10], "long_data": good + b"\0", "short_header": good[:10]}[damage]
        path.write_bytes(gzip.compress(raw))
    elif damage == "truncated_gzip":
        path.write_bytes(path.read_bytes()[:-20])
    else:
        path.write_bytes(b"this is not a gzip file at all")
    with pytest.raises(IDXFormatError, match=message) as info:
        load_mnist(folder, train=False, download=False)
    assert str(path) in str(info.value)


def test_image_and_label_counts_must_agree(tmp_path):
    make_tiny_split(tmp_path / "d", n=4)
    write_idx(tmp_path / "d" / TEST_FILES[1], np.zeros(3, np.uint8), 2049)
    with pytest.raises(IDXFormatError, match="4 images but .* 3 labels"):
        load_mnist(tmp_path / "d", train=False, download=False)


# ---------------------------------------------------------------------------------------------
# Downloads (served locally): checksum verified before the file gets its name
# ---------------------------------------------------------------------------------------------
@needs_staged
def test_download_from_file_url_fills_the_cache(tmp_path):
    mirror = make_mirror(tmp_path / "mirror")
    images, labels = load_mnist(train=False, mirrors=[mirror.as_uri() + "/"])
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
    cache = tmp_path / "cache" / "mnist"
    for name in TEST_FILES:
        assert hashlib.sha256((cache / name).read_bytes()).hexdigest() == mnist_module.FILES[name]
    assert leftovers(cache) == []
    shutil.rmtree(mirror)  # a second load is served from the cache, with no mirror at all
    np.testing.assert_array_equal(load_mnist(train=False, download=False)[0], images)


@needs_staged
def test_checksum_mismatch_names_file_and_digests_and_leaves_nothing(tmp_path):
    mirror = make_mirror(tmp_path / "mirror", corrupt=TEST_FILES[:1])
    actual = hashlib.sha256((mirror / TEST_FILES[0]).read_bytes()).hexdigest()
    with pytest.raises(ChecksumError) as info:
        load_mnist(train=False, mirrors=[mirror.as_uri()])
    text = str(info.value)
    assert TEST_FILES[0] in text and mnist_module.FILES[TEST_FILES[0]] in text and actual in text
    cache = tmp_path / "cache" / "mnist"
    assert not (cache / TEST_FILES[0]).exists() and leftovers(cache) == []


@needs_staged
def test_bad_mirror_falls_back_to_the_next(tmp_path):
    bad = make_mirror(tmp_path / "bad", corrupt=TEST_FILES)
    good = make_mirror(tmp_path / "good")
    missing = (tmp_path / "missing").as_uri()
    mirrors = [missing, bad.as_uri(), good.as_uri()]
    images, _ = load_mnist(root=tmp_path / "root", train=False, mirrors=mirrors)
    assert images.shape == (10000, 28, 28)
    assert sorted(p.name for p in (tmp_path / "root" / "mnist").iterdir()) == sorted(TEST_FILES)


def test_every_mirror_failing_gives_a_not_found_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_EDU_MNIST_MIRRORS", (tmp_path / "nowhere").as_uri() + " http://127.0.0.1:9/")
    with pytest.raises(MNISTNotFoundError, match="download failed") as info:
        load_mnist(train=False)
    assert "nowhere" in str(info.value) and "127.0.0.1:9" in str(info.value)
    assert leftovers(tmp_path) == []


@pytest.fixture
def http_mirror(tmp_path):
    """An http.server on 127.0.0.1 serving a folder; yields (folder, base_url)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@needs_staged
def test_download_over_http(http_mirror, tmp_path):
    folder, url = http_mirror
    make_mirror(folder)
    dataset = MNIST(train=False, mirrors=[url + "no-such-dir/", url])  # the first answers 404
    assert dataset.images.shape == (10000, 28, 28)
    make_mirror(folder, corrupt=TEST_FILES[1:])
    shutil.rmtree(tmp_path / "cache")
    with pytest.raises(ChecksumError, match=TEST_FILES[1]):
        load_mnist(train=False, mirrors=[url])
