"""Dataset, TensorDataset, Subset, random_split, DataLoader and default_collate.

The DataLoader has two ways to build a batch: one ``get_batch`` call that fancy-indexes arrays (the fast
path) and collating per-sample ``dataset[i]`` (the general path).  They must give the same batches."""
import collections

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from tinygrad_edu.data import (DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split)
from tinygrad_edu.data.dataset import batch_getter


def arrays(n=23, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 3, 2)).astype(np.float32), rng.integers(0, 10, n)


class CountingDataset(TensorDataset):
    """A TensorDataset that counts per-sample reads (to see which path the loader took)."""

    def __init__(self, *tensors):
        super().__init__(*tensors)
        self.item_reads = 0

    def __getitem__(self, index):
        self.item_reads += 1
        return super().__getitem__(index)


def as_numpy(batch):
    return [b.numpy() if isinstance(b, tg.Tensor) else b for b in batch]


# ---------------------------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------------------------
def test_dataset_base_class_requires_getitem_and_len():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]
    with pytest.raises(NotImplementedError, match="__len__"):
        len(Dataset())


def test_tensor_dataset_rows_and_errors():
    x, y = arrays()
    ds = TensorDataset(x, y)
    assert len(ds) == 23
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi, x[4])
    assert yi == y[4]
    tds = TensorDataset(tg.tensor(x), tg.tensor(y))
    row = tds[2]
    assert isinstance(row[0], tg.Tensor) and not row[0].requires_grad
    np.testing.assert_array_equal(row[0].numpy(), x[2])
    with pytest.raises(ValueError, match=r"size mismatch between tensors: first dimensions are \[23, 22\]"):
        TensorDataset(x, y[:-1])
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="at least one dimension"):
        TensorDataset(np.float32(1.0))


# ---------------------------------------------------------------------------------------------
# Batching
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n,batch_size,drop_last,expected_sizes", [
    (23, 5, False, [5, 5, 5, 5, 3]),
    (23, 5, True, [5, 5, 5, 5]),
    (20, 5, True, [5, 5, 5, 5]),
    (3, 5, True, []),
    (3, 5, False, [3]),
])
def test_len_and_batch_sizes(n, batch_size, drop_last, expected_sizes):
    x, y = arrays(n)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == len(expected_sizes)
    assert [len(xb) for xb, _ in loader] == expected_sizes


def test_without_shuffle_batches_are_in_order_with_dtypes_kept():
    x, y = arrays()
    batches = list(DataLoader(TensorDataset(x, y), batch_size=10))
    assert isinstance(batches[0], list) and len(batches[0]) == 2        # PyTorch gives a list too
    xb, yb = batches[0]
    assert isinstance(xb, tg.Tensor) and xb.dtype == np.float32 and yb.dtype == np.int64
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches]), x)
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), y)


def epoch_labels(loader):
    return np.concatenate([yb.numpy() for _, yb in loader])


def test_shuffle_is_a_permutation_deterministic_per_seed_and_new_each_epoch():
    n = 50
    ds = TensorDataset(np.zeros((n, 1), np.float32), np.arange(n))
    loader = DataLoader(ds, batch_size=7, shuffle=True, generator=np.random.default_rng(3))
    first, second = epoch_labels(loader), epoch_labels(loader)
    assert sorted(first) == list(range(n)) and sorted(second) == list(range(n))
    assert not np.array_equal(first, second)                     # a fresh order every epoch
    again = DataLoader(ds, batch_size=7, shuffle=True, generator=np.random.default_rng(3))
    np.testing.assert_array_equal(epoch_labels(again), first)    # same seed, same orders
    np.testing.assert_array_equal(epoch_labels(again), second)
    np.testing.assert_array_equal(first, np.random.default_rng(3).permutation(n))
    # an int seed behaves like a generator made from it
    seeded = DataLoader(ds, batch_size=7, shuffle=True, generator=3)
    np.testing.assert_array_equal(epoch_labels(seeded), first)
    np.testing.assert_array_equal(epoch_labels(seeded), second)


def test_shuffle_with_the_library_generator_follows_manual_seed():
    ds = TensorDataset(np.arange(30))
    loader = DataLoader(ds, batch_size=4, shuffle=True)

    def epoch():
        return np.concatenate([b[0].numpy() for b in loader])

    tg.manual_seed(11)
    a = epoch()
    tg.manual_seed(11)
    np.testing.assert_array_equal(epoch(), a)
    assert sorted(a) == list(range(30)) and not np.array_equal(a, np.arange(30))


@pytest.mark.parametrize("shuffle,drop_last", [(False, False), (True, False), (True, True)])
def test_fast_path_equals_slow_path(shuffle, drop_last):
    x, y = arrays(37)
    fast_ds, slow_ds = CountingDataset(x, y), CountingDataset(x, y)
    fast = DataLoader(fast_ds, batch_size=8, shuffle=shuffle, drop_last=drop_last,
                      generator=np.random.default_rng(0))
    slow = DataLoader(slow_ds, batch_size=8, shuffle=shuffle, drop_last=drop_last,
                      generator=np.random.default_rng(0), collate_fn=default_collate)
    fast_batches, slow_batches = list(fast), list(slow)
    assert fast_ds.item_reads == 0                                # whole batches, no per-item reads
    assert slow_ds.item_reads == sum(len(b[0]) for b in slow_batches)
    assert len(fast_batches) == len(slow_batches) == len(fast)
    for fb, sb in zip(fast_batches, slow_batches):
        for f, s in zip(fb, sb):
            assert f.dtype == s.dtype and f.shape == s.shape
            np.testing.assert_array_equal(f.numpy(), s.numpy())


def test_fast_path_through_subsets_and_array_backed_datasets():
    x, y = arrays(40)
    base = CountingDataset(x, y)
    train, _ = random_split(base, [30, 10], generator=np.random.default_rng(1))
    fast = list(DataLoader(train, batch_size=8))
    assert base.item_reads == 0
    slow = list(DataLoader(train, batch_size=8, collate_fn=default_collate))
    for fb, sb in zip(fast, slow):
        np.testing.assert_array_equal(fb[0].numpy(), sb[0].numpy())
        np.testing.assert_array_equal(fb[1].numpy(), sb[1].numpy())

    class ImagesLabels:                     # MNIST's shape: .images/.labels arrays, no transform
        transform = target_transform = None

        def __init__(self):
            self.images, self.labels = (x * 255).astype(np.uint8), y.astype(np.int64)

        def __len__(self):
            return len(self.labels)

        def __getitem__(self, i):
            raise AssertionError("the fast path should not read items one by one")

    xb, yb = next(iter(DataLoader(ImagesLabels(), batch_size=5)))
    assert xb.dtype == np.uint8 and yb.dtype == np.int64
    np.testing.assert_array_equal(yb.numpy(), y[:5])
    transformed = ImagesLabels()
    transformed.transform = lambda image: image
    assert batch_getter(transformed) is None                     # a transform forces the general path


def test_default_collate_of_tuples_dicts_and_numbers():
    samples = [{"image": np.full((2, 2), i, np.uint8), "label": i, "weight": 0.5 * i, "ok": i % 2 == 0,
                "name": f"s{i}", "pair": (np.float64(i), tg.tensor([i, i + 1]))} for i in range(3)]
    batch = default_collate(samples)
    assert set(batch) == {"image", "label", "weight", "ok", "name", "pair"}
    assert batch["image"].dtype == np.uint8 and batch["image"].shape == (3, 2, 2)
    assert batch["label"].dtype == np.int64 and batch["label"].tolist() == [0, 1, 2]
    assert batch["weight"].dtype == np.float32 and batch["weight"].tolist() == [0.0, 0.5, 1.0]
    assert batch["ok"].dtype == np.bool_ and batch["ok"].tolist() == [True, False, True]
    assert batch["name"] == ["s0", "s1", "s2"]
    assert isinstance(batch["pair"], list) and batch["pair"][0].dtype == np.float64
    np.testing.assert_array_equal(batch["pair"][1].numpy(), [[0, 1], [1, 2], [2, 3]])

    Point = collections.namedtuple("Point", "x y")
    points = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(points, Point) and points.x.tolist() == [1, 3]


def test_default_collate_matches_torch_for_ints_tuples_and_arrays():
    samples = [(np.arange(3, dtype=np.int32) + i, i) for i in range(4)]
    ours = default_collate(samples)
    theirs = torch.utils.data.default_collate(samples)
    assert type(ours) is type(theirs) is list
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.numpy(), t.numpy())
        assert str(o.dtype) == str(t.dtype).replace("torch.", "")


def test_collate_errors_and_custom_collate_fn():
    with pytest.raises(ValueError, match=r"different shapes \[\(2,\), \(3,\)\]"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="same number of fields"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])
    x, y = arrays(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4, collate_fn=lambda samples: len(samples))
    assert list(loader) == [4, 4, 2]
    for bad in (0, -1, 2.5):  # (None turns batching off, as in PyTorch)
        with pytest.raises(ValueError, match="batch_size should be a positive integer"):
            DataLoader(TensorDataset(x), batch_size=bad)


# ---------------------------------------------------------------------------------------------
# random_split
# ---------------------------------------------------------------------------------------------
def test_random_split_with_lengths():
    ds = TensorDataset(np.arange(20))
    a, b, c = random_split(ds, [10, 7, 3], generator=np.random.default_rng(0))
    assert [len(a), len(b), len(c)] == [10, 7, 3]
    values = [int(s[i][0]) for s in (a, b, c) for i in range(len(s))]
    assert sorted(values) == list(range(20))                     # disjoint and complete
    np.testing.assert_array_equal(np.concatenate([a.indices, b.indices, c.indices]),
                                  np.random.default_rng(0).permutation(20))
    again = random_split(ds, [10, 7, 3], generator=np.random.default_rng(0))
    np.testing.assert_array_equal(again[0].indices, a.indices)
    assert isinstance(a, Subset)
    with pytest.raises(ValueError, match="does not equal the length"):
        random_split(ds, [10, 5])


@pytest.mark.parametrize("n,fractions", [(10, [0.5, 0.5]), (11, [0.7, 0.2, 0.1]), (7, [1 / 3] * 3),
                                         (5, [0.1, 0.9]), (101, [0.8, 0.1, 0.1])])
def test_random_split_with_fractions_gives_torchs_lengths(n, fractions):
    ours = random_split(TensorDataset(np.arange(n)), fractions, generator=0)
    theirs = torch.utils.data.random_split(range(n), fractions)
    assert [len(s) for s in ours] == [len(s) for s in theirs]


def test_random_split_bad_fractions():
    with pytest.raises(ValueError):
        random_split(TensorDataset(np.arange(10)), [0.5, 0.6])
    with pytest.raises(TypeError, match="generator must be"):
        random_split(TensorDataset(np.arange(10)), [5, 5], generator="seed")
