"""``tinygrad_edu.utils.data`` against ``torch.utils.data``: with deterministic settings (no shuffle,
samplers given explicit index lists) the batches are the same in order and content; the random
samplers are checked for their rules (permutations, counts, reproducibility); argument errors as
PyTorch's.  Also ``tinygrad_edu.accelerator``, ``tinygrad_edu.cuda`` and ``tinygrad_edu.device``."""
import numpy as np
import pytest
import torch
import torch.utils.data as tud

import tinygrad_edu as tg
import tinygrad_edu.utils.data as ud


def _values(batches):
    """Batches (tuples/lists of tensors, tensors, ints) as nested Python lists, for either library."""
    def plain(x):
        if hasattr(x, "detach"):
            return x.detach().numpy().tolist()
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        return x
    return [plain(b) for b in batches]


def _pair(n=11):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64) % 4
    return (ud.TensorDataset(tg.tensor(x), tg.tensor(y)),
            tud.TensorDataset(torch.tensor(x), torch.tensor(y)))


class _Squares:
    """A map-style data set with no batch fast path (one sample at a time)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.array([i, i * i], dtype=np.float32), "y": i % 3}


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (4, False), (4, True), (11, False), (20, True)])
def test_sequential_batches_match_torch(batch_size, drop_last):
    ours, theirs = _pair()
    a = ud.DataLoader(ours, batch_size=batch_size, drop_last=drop_last)
    b = tud.DataLoader(theirs, batch_size=batch_size, drop_last=drop_last)
    assert len(a) == len(b)
    assert _values(a) == _values(b)
    a2 = ud.DataLoader(_Squares(7), batch_size=batch_size, drop_last=drop_last)
    b2 = tud.DataLoader(_Squares(7), batch_size=batch_size, drop_last=drop_last)
    assert len(a2) == len(b2) and _values(a2) == _values(b2)


def test_explicit_samplers_and_batch_samplers_match_torch():
    ours, theirs = _pair()
    order = [3, 1, 10, 0, 0, 7, 2]
    a = ud.DataLoader(ours, batch_size=3, sampler=order)
    b = tud.DataLoader(theirs, batch_size=3, sampler=order)
    assert len(a) == len(b) == 3 and _values(a) == _values(b)
    batches = [[4, 2], [9], [0, 1, 5]]
    a = ud.DataLoader(ours, batch_sampler=batches)
    b = tud.DataLoader(theirs, batch_sampler=batches)
    assert len(a) == len(b) == 3 and _values(a) == _values(b)
    a = ud.DataLoader(ours, batch_sampler=ud.BatchSampler(ud.SequentialSampler(ours), 4, True))
    b = tud.DataLoader(theirs, batch_sampler=tud.BatchSampler(tud.SequentialSampler(theirs), 4, True))
    assert _values(a) == _values(b)
    # BatchSampler over a plain list, as torch
    for drop_last in (False, True):
        assert list(ud.BatchSampler(range(10), 3, drop_last)) == \
            list(tud.BatchSampler(range(10), 3, drop_last))
        assert len(ud.BatchSampler(range(10), 3, drop_last)) == len(tud.BatchSampler(range(10), 3, drop_last))
    assert list(ud.SequentialSampler(range(5))) == list(tud.SequentialSampler(range(5)))


def test_batching_off_collate_fn_and_default_collate_like_torch():
    ours, theirs = _pair(5)
    a = ud.DataLoader(ours, batch_size=None)
    b = tud.DataLoader(theirs, batch_size=None)
    assert len(a) == len(b) == 5 and _values(a) == _values(b)
    a = ud.DataLoader(_Squares(6), batch_size=None, sampler=[5, 0, 2])
    b = tud.DataLoader(_Squares(6), batch_size=None, sampler=[5, 0, 2])
    assert _values(a) == _values(b)
    a = ud.DataLoader(ours, batch_size=2, collate_fn=lambda samples: len(samples))
    b = tud.DataLoader(theirs, batch_size=2, collate_fn=lambda samples: len(samples))
    assert list(a) == list(b) == [2, 2, 1]
    samples = [(np.array([1.0, 2.0], np.float32), 3), (np.array([4.0, 5.0], np.float32), 6)]
    assert _values([ud.default_collate(samples)]) == _values([tud.default_collate(samples)])


def test_concat_dataset_and_subset_match_torch():
    a1, b1 = _pair(4)
    a2, b2 = _pair(3)
    ours, theirs = ud.ConcatDataset([a1, a2]), tud.ConcatDataset([b1, b2])
    assert len(ours) == len(theirs) == 7 and ours.cumulative_sizes == theirs.cumulative_sizes
    for i in list(range(7)) + [-1, -7]:
        assert _values([ours[i]]) == _values([theirs[i]])
    with pytest.raises(ValueError, match="absolute value of index"):
        ours[-8]
    with pytest.raises(ValueError):
        theirs[-8]
    assert _values(ud.DataLoader(ours, batch_size=3)) == _values(tud.DataLoader(theirs, batch_size=3))
    sub_ours, sub_theirs = ud.Subset(ours, [6, 0, 4]), tud.Subset(theirs, [6, 0, 4])
    assert _values(ud.DataLoader(sub_ours, batch_size=2)) == _values(tud.DataLoader(sub_theirs, batch_size=2))
    with pytest.raises(ValueError, match="datasets should not be an empty iterable"):
        ud.ConcatDataset([])


class _OurStream(ud.IterableDataset):
    def __iter__(self):
        return iter([np.array([i, -i]) for i in range(7)])


class _TheirStream(tud.IterableDataset):
    def __iter__(self):
        return iter([np.array([i, -i]) for i in range(7)])


def test_iterable_dataset_batches_in_stream_order_like_torch():
    for batch_size, drop_last in ((3, False), (3, True), (None, False)):
        a = ud.DataLoader(_OurStream(), batch_size=batch_size, drop_last=drop_last)
        b = tud.DataLoader(_TheirStream(), batch_size=batch_size, drop_last=drop_last)
        assert _values(a) == _values(b)
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        ud.DataLoader(_OurStream(), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        ud.DataLoader(_OurStream(), sampler=[0])
    with pytest.raises(TypeError):
        len(ud.DataLoader(_OurStream()))
    with pytest.raises(TypeError, match="IterableDataset"):
        _OurStream()[0]


def test_random_sampler_rules_and_reproducibility():
    ds = list(range(10))
    s = ud.RandomSampler(ds, generator=tg.Generator().manual_seed(0))
    first, second = list(s), list(s)
    assert sorted(first) == sorted(second) == ds and first != second       # a new permutation per epoch
    assert list(ud.RandomSampler(ds, generator=tg.Generator().manual_seed(0))) == first
    long = list(ud.RandomSampler(ds, num_samples=25, generator=3))
    assert len(long) == 25 and np.bincount(long).min() >= 2 and np.bincount(long).max() <= 3
    assert sorted(long[:10]) == ds and sorted(long[10:20]) == ds
    drawn = list(ud.RandomSampler(ds, replacement=True, num_samples=4000, generator=1))
    assert len(drawn) == 4000 and set(drawn) == set(ds)
    counts = np.bincount(drawn, minlength=10)
    assert ((counts - 400.0) ** 2 / 400).sum() < 27.88                     # chi-square, 9 dof, 99.9%
    assert len(ud.RandomSampler(ds, num_samples=7)) == len(tud.RandomSampler(ds, num_samples=7)) == 7
    tg.manual_seed(5)
    a = list(ud.RandomSampler(ds))
    tg.manual_seed(5)
    assert list(ud.RandomSampler(ds)) == a                                 # default generator is seeded


def test_shuffled_loader_is_reproducible_with_a_generator_and_covers_everything():
    ours, _ = _pair(11)

    def epoch(seed):
        g = tg.Generator().manual_seed(seed)
        return _values(ud.DataLoader(ours, batch_size=4, shuffle=True, generator=g))
    assert epoch(0) == epoch(0) and epoch(0) != epoch(1)
    labels = sorted(v for batch in epoch(2) for v in batch[1])
    assert labels == sorted((np.arange(11) % 4).tolist())


def test_subset_random_and_weighted_samplers():
    indices = [4, 9, 2, 7]
    s = ud.SubsetRandomSampler(indices, generator=tg.Generator().manual_seed(0))
    assert sorted(s) == sorted(indices) and len(s) == len(tud.SubsetRandomSampler(indices)) == 4
    weights = [0.0, 1.0, 3.0, 0.0, 6.0]
    w = ud.WeightedRandomSampler(weights, 10000, generator=tg.Generator().manual_seed(1))
    drawn = list(w)
    assert len(w) == len(tud.WeightedRandomSampler(weights, 10000)) == 10000 and len(drawn) == 10000
    counts = np.bincount(drawn, minlength=5)
    assert counts[0] == counts[3] == 0
    expected = np.array([1000.0, 3000.0, 6000.0])
    assert ((counts[[1, 2, 4]] - expected) ** 2 / expected).sum() < 13.82  # 2 dof, 99.9%
    no_repeat = list(ud.WeightedRandomSampler(weights, 3, replacement=False, generator=2))
    assert sorted(no_repeat) == [1, 2, 4]
    loader = ud.DataLoader(list(range(5)), batch_size=3, sampler=w)
    assert len(loader) == len(tud.DataLoader(list(range(5)), batch_size=3, sampler=tud.WeightedRandomSampler(
        weights, 10000))) == 3334


def test_errors_like_torch():
    ours, theirs = _pair()
    cases = [dict(sampler=[0, 1], shuffle=True), dict(batch_sampler=[[0]], batch_size=2),
             dict(batch_sampler=[[0]], shuffle=True), dict(batch_sampler=[[0]], drop_last=True),
             dict(batch_size=None, drop_last=True), dict(num_workers=-1)]
    messages = ["sampler option is mutually exclusive with shuffle",
                "batch_sampler option is mutually exclusive", "batch_sampler option is mutually exclusive",
                "batch_sampler option is mutually exclusive", "batch_size=None option disables auto-batching",
                "num_workers option should be non-negative"]
    for kwargs, message in zip(cases, messages):
        with pytest.raises(ValueError, match=message):
            ud.DataLoader(ours, **kwargs)
        with pytest.raises(ValueError, match=message):
            tud.DataLoader(theirs, **kwargs)
    for make in (ud, tud):
        with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
            make.BatchSampler(range(3), 0, False)
        with pytest.raises(ValueError, match="drop_last should be a boolean value"):
            make.BatchSampler(range(3), 2, 1)
        with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
            make.RandomSampler(range(3), num_samples=0)
        with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
            make.WeightedRandomSampler([1.0, 2.0], 0)
        with pytest.raises(ValueError, match="weights should be a 1d sequence"):
            make.WeightedRandomSampler([[1.0, 2.0]], 2)


def test_torch_signature_options_are_accepted_and_run_in_process():
    ours, theirs = _pair(6)
    a = ud.DataLoader(ours, 2, False, None, None, 4, None, True, False, 0, None, None, None,
                      prefetch_factor=2, persistent_workers=True)
    assert _values(a) == _values(tud.DataLoader(theirs, 2))
    assert ud.get_worker_info() is None and tud.get_worker_info() is None
    import tinygrad_edu.utils.data as again
    assert again.DataLoader is tg.data.DataLoader is tg.utils.data.DataLoader


def test_accelerator_cuda_and_device_like_torch():
    assert tg.device("cpu") == torch.device("cpu").type
    assert repr(tg.device("cpu")) == repr(torch.device("cpu"))
    assert repr(tg.device("cuda", 0)) == repr(torch.device("cuda", 0))
    assert repr(tg.device("cpu", 0)) == repr(torch.device("cpu", 0))
    assert str(tg.device("cuda", 1)) == "cuda:1"
    with pytest.raises(RuntimeError, match="already has an index"):
        tg.device("cuda:0", 1)
    with pytest.raises(RuntimeError):
        torch.device("cuda:0", 1)
    available = tg.accelerator.is_available()
    assert available == tg.cuda.is_available()
    if available:
        assert tg.accelerator.current_accelerator().type == "cuda" and tg.cuda.device_count() >= 1
    else:
        assert tg.accelerator.current_accelerator() is None and tg.cuda.device_count() == 0
        assert tg.accelerator.current_device_index() == -1
    tg.cuda.manual_seed(9)
    assert tg.initial_seed() == 9
    tg.cuda.manual_seed_all(10)
    assert tg.initial_seed() == 10
