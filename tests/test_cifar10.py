"""CIFAR-10 (staged npz shards and the official binary format) and Digits.

The staged shards are read from $TINYGRAD_EDU_DATA (CI: ../shared/data).  The binary parser is tested on
small synthetic archives laid out exactly like ``cifar-10-binary.tar.gz``, downloaded from a file://
mirror, so nothing touches the network."""
import io
import sys
import tarfile
import types

import numpy as np
import pytest

from tinygrad_edu.data import (CIFAR10, CIFAR10FormatError, CIFAR10NotFoundError, ChecksumError,
                               DataLoader, Digits, default_collate, sha256_of)
from tinygrad_edu.data import cifar10 as cifar_module
from tinygrad_edu.data.transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip, ToTensor
from staged_data import staged_data_dir



STAGED = staged_data_dir("cifar10/cifar10_test.npz")
needs_staged = pytest.mark.skipif(
    STAGED is None, reason="staged CIFAR-10 not found: set TINYGRAD_EDU_DATA (../shared/data in CI)")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No test sees the caller's settings; the cache is a fresh temp folder."""
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)
    monkeypatch.delenv("TINYGRAD_EDU_CIFAR10_MIRRORS", raising=False)
    monkeypatch.setenv("TINYGRAD_EDU_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def staged_train():
    if STAGED is None:
        pytest.skip("staged CIFAR-10 not found")
    return CIFAR10(root=STAGED, train=True, download=False)


# ---------------------------------------------------------------------------------------------
# The staged shards
# ---------------------------------------------------------------------------------------------
@needs_staged
def test_staged_train_split_counts_balance_and_layout(staged_train):
    ds = staged_train
    assert len(ds) == 20_000
    assert ds.images.shape == (20_000, 32, 32, 3) and ds.images.dtype == np.uint8
    assert ds.labels.dtype == np.int64
    assert np.bincount(ds.labels, minlength=10).tolist() == [2000] * 10
    assert ds.classes == ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                          "truck"]
    mean = ds.images[:4000].reshape(-1, 3).mean(axis=0) / 255
    np.testing.assert_allclose(mean, cifar_module.MEAN, atol=0.02)   # a real CIFAR-10 sample
    image, label = ds[7]
    np.testing.assert_array_equal(image, ds.images[7])
    assert label == ds.labels[7] and isinstance(label, int)


@needs_staged
def test_staged_test_split_via_environment_variable(monkeypatch):
    monkeypatch.setenv("TINYGRAD_EDU_DATA", str(STAGED))
    ds = CIFAR10(train=False, download=False)
    assert len(ds) == 10_000
    assert np.bincount(ds.labels, minlength=10).tolist() == [1000] * 10
    assert "test" in repr(ds)


@needs_staged
def test_loader_fast_path_with_transforms_equals_per_item(staged_train):
    ds = staged_train
    ds_transform = Compose([ToTensor(), Normalize(cifar_module.MEAN, cifar_module.STD)])
    ds.transform = ds_transform
    try:
        fast = DataLoader(ds, batch_size=64, shuffle=True, generator=np.random.default_rng(0))
        slow = DataLoader(ds, batch_size=64, shuffle=True, generator=np.random.default_rng(0),
                          collate_fn=default_collate)
        for (fx, fy), (sx, sy), _ in zip(fast, slow, range(3)):
            assert fx.shape == (64, 3, 32, 32) and fx.dtype == np.float32 and fy.dtype == np.int64
            np.testing.assert_allclose(fx.numpy(), sx.numpy(), rtol=1e-6, atol=1e-6)
            np.testing.assert_array_equal(fy.numpy(), sy.numpy())
        ds.transform = Compose([ToTensor(), RandomCrop(32, padding=4), RandomHorizontalFlip()])
        x, _ = next(iter(DataLoader(ds, batch_size=32)))
        assert x.shape == (32, 3, 32, 32) and 0 <= x.numpy().min() and x.numpy().max() <= 1
    finally:
        ds.transform = None


def test_checksum_failure_names_the_file(tmp_path):
    folder = tmp_path / "cifar10"
    folder.mkdir()
    for name in cifar_module.SHARD_SPLITS[True]:
        (folder / name).write_bytes(b"not the real shard")
    with pytest.raises(ChecksumError, match=r"cifar10_train_0\.npz: sha256 is .* expected 12a55dcf"):
        CIFAR10(root=tmp_path, train=True, download=False)


def test_corrupt_shard_without_verification_is_a_format_error(tmp_path):
    for name in cifar_module.SHARD_SPLITS[False]:
        (tmp_path / name).write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(CIFAR10FormatError, match="cifar10_test.npz: not a readable CIFAR-10 npz"):
        CIFAR10(root=tmp_path, train=False, download=False, verify=False)
    np.savez(tmp_path / "cifar10_test.npz", x=np.zeros((2, 28, 28), np.uint8), y=np.zeros(2, np.uint8))
    with pytest.raises(CIFAR10FormatError, match=r"expected uint8 \(N, 32, 32, 3\)"):
        CIFAR10(root=tmp_path, train=False, download=False, verify=False)


def test_not_found_says_where_it_looked(tmp_path):
    with pytest.raises(CIFAR10NotFoundError, match="looked in") as info:
        CIFAR10(root=tmp_path / "empty", download=False)
    assert "empty" in str(info.value)
    with pytest.raises(CIFAR10NotFoundError, match=r"\(cache\)"):
        CIFAR10(download=False)


# ---------------------------------------------------------------------------------------------
# The official binary format, on synthetic archives
# ---------------------------------------------------------------------------------------------
def binary_records(images, labels):
    """CIFAR-10 binary records: label byte, then the R, G and B planes (each 32 rows of 32)."""
    planes = images.transpose(0, 3, 1, 2).reshape(len(images), -1)          # HWC -> CHW, flattened
    return np.concatenate([labels.astype(np.uint8)[:, None], planes], axis=1).tobytes()


def make_split(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n)


def make_archive(path, per_file=3, extra_members=()):
    """A tar.gz laid out as cifar-10-binary.tar.gz; returns {train: (images, labels), ...}."""
    splits = {True: [], False: []}
    with tarfile.open(path, "w:gz") as archive:
        def add(name, payload):
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))

        add("batches.meta.txt", "\n".join(cifar_module.CLASSES).encode())
        for train, names in cifar_module.BINARY_SPLITS.items():
            for i, name in enumerate(names):
                images, labels = make_split(per_file, seed=10 * train + i)
                splits[train].append((images, labels))
                add(name, binary_records(images, labels))
        for member in extra_members:
            archive.addfile(member)
    return {train: (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
            for train, parts in splits.items()}


def test_parse_binary_records_by_hand():
    images, labels = make_split(2, seed=0)
    raw = binary_records(images, labels)
    assert len(raw) == 2 * 3073
    assert raw[0] == labels[0] and raw[1] == images[0, 0, 0, 0] and raw[2] == images[0, 0, 1, 0]
    assert raw[1 + 1024] == images[0, 0, 0, 1]               # the green plane starts after 1024 reds
    got_images, got_labels = cifar_module.parse_binary(raw)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert got_images.flags.c_contiguous and got_labels.dtype == np.int64
    with pytest.raises(CIFAR10FormatError, match="not a whole number of 3073-byte records"):
        cifar_module.parse_binary(raw[:-1], "x.bin")
    bad = bytearray(raw)
    bad[0] = 12
    with pytest.raises(CIFAR10FormatError, match="label 12 is not a class id"):
        cifar_module.parse_binary(bytes(bad), "x.bin")


def test_download_verify_and_read_the_binary_archive(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    expected = make_archive(mirror / cifar_module.ARCHIVE)
    monkeypatch.setattr(cifar_module, "ARCHIVE_SHA256", sha256_of(mirror / cifar_module.ARCHIVE))
    monkeypatch.setenv("TINYGRAD_EDU_CIFAR10_MIRRORS", mirror.as_uri() + "/")
    train = CIFAR10(train=True)                                  # cache empty: downloads
    assert (tmp_path / "cache" / "cifar10" / cifar_module.ARCHIVE).is_file()
    np.testing.assert_array_equal(train.images, expected[True][0])
    np.testing.assert_array_equal(train.labels, expected[True][1])
    assert len(train) == 15                                       # 5 files of 3 records
    test = CIFAR10(train=False, download=False)                   # now from the cache
    np.testing.assert_array_equal(test.images, expected[False][0])
    assert len(test) == 3


def test_wrong_archive_checksum_is_refused(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    make_archive(mirror / cifar_module.ARCHIVE)
    monkeypatch.setenv("TINYGRAD_EDU_CIFAR10_MIRRORS", mirror.as_uri() + "/")
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        CIFAR10(train=True)                                       # real SHA-256 != synthetic file
    assert not (tmp_path / "cache" / "cifar10" / cifar_module.ARCHIVE).exists()
    # an archive already on disk is checked too, unless verify=False
    root = tmp_path / "root"
    root.mkdir()
    expected = make_archive(root / cifar_module.ARCHIVE)
    with pytest.raises(ChecksumError, match="delete the file"):
        CIFAR10(root=root, train=False, download=False)
    test = CIFAR10(root=root, train=False, download=False, verify=False)
    np.testing.assert_array_equal(test.images, expected[False][0])


def test_extracted_binary_folder_is_read(tmp_path):
    folder = tmp_path / "cifar10" / cifar_module.BINARY_FOLDER
    folder.mkdir(parents=True)
    images, labels = make_split(4, seed=3)
    (folder / "test_batch.bin").write_bytes(binary_records(images, labels))
    ds = CIFAR10(root=tmp_path, train=False, download=False)
    np.testing.assert_array_equal(ds.images, images)
    np.testing.assert_array_equal(ds.labels, labels)


def test_archive_with_a_link_in_place_of_a_batch_is_rejected(tmp_path):
    path = tmp_path / cifar_module.ARCHIVE
    with tarfile.open(path, "w:gz") as archive:
        link = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    with pytest.raises(CIFAR10FormatError, match="not a regular file"):
        cifar_module.read_binary_archive(path, train=False)
    path.write_bytes(b"\x1f\x8b truncated")
    with pytest.raises(CIFAR10FormatError, match="corrupt or truncated archive"):
        cifar_module.read_binary_archive(path, train=False)


# ---------------------------------------------------------------------------------------------
# Digits (scikit-learn's bundled 8x8 set)
# ---------------------------------------------------------------------------------------------
def test_digits_without_scikit_learn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        Digits()


def test_digits_scales_pixels_and_batches(monkeypatch):
    """Our conversion, on a stand-in for ``load_digits`` (the real one is checked below)."""
    rng = np.random.default_rng(0)
    fake_images = rng.integers(0, 17, (30, 8, 8)).astype(np.float64)
    fake_target = rng.integers(0, 10, 30)
    fake = types.ModuleType("sklearn.datasets")
    fake.load_digits = lambda: types.SimpleNamespace(images=fake_images, target=fake_target)
    monkeypatch.setitem(sys.modules, "sklearn", types.ModuleType("sklearn"))
    monkeypatch.setitem(sys.modules, "sklearn.datasets", fake)
    ds = Digits(transform=ToTensor())
    assert ds.images.dtype == np.float32 and ds.labels.dtype == np.int64
    np.testing.assert_array_equal(ds.images, (fake_images / 16).astype(np.float32))
    x, y = next(iter(DataLoader(ds, batch_size=8)))
    assert x.shape == (8, 1, 8, 8)
    np.testing.assert_array_equal(y.numpy(), fake_target[:8])


def test_digits_from_scikit_learn():
    pytest.importorskip("sklearn", reason="scikit-learn is optional (pip install scikit-learn)")
    ds = Digits()
    assert len(ds) == 1797 and ds.images.shape == (1797, 8, 8)
    assert 0 <= ds.images.min() and ds.images.max() == 1.0
    assert sorted(set(ds.labels.tolist())) == list(range(10))
