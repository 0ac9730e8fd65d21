"""DistributedSampler (tinygrad_edu/distributed/sampler.py) in one process: index for index equal to
torch's DistributedSampler for several sizes, world sizes 1-4, shuffle and drop_last on and off and
several epochs; shards disjoint and covering with drop_last; works with our DataLoader."""
import numpy as np
import pytest

from tinygrad_edu.data import DataLoader
from tinygrad_edu.distributed import DistributedSampler
from tinygrad_edu.distributed.sampler import torch_randperm

torch = pytest.importorskip("torch")
from torch.utils.data import DistributedSampler as TorchSampler  # noqa: E402


@pytest.mark.parametrize("n", [0, 1, 2, 5, 100, 1001, 60000])
@pytest.mark.parametrize("seed", [0, 17, 2 ** 32 + 3])
def test_randperm_equals_torch(n, seed):
    g = torch.Generator().manual_seed(seed)
    assert np.array_equal(torch_randperm(n, seed), torch.randperm(n, generator=g).numpy())


@pytest.mark.parametrize("n", [1, 3, 7, 10, 33, 64, 101])
@pytest.mark.parametrize("world", [1, 2, 3, 4])
def test_indices_equal_torch(n, world):
    for shuffle in (True, False):
        for drop_last in (True, False):
            for rank in range(world):
                ours = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=shuffle, seed=5,
                                          drop_last=drop_last)
                theirs = TorchSampler(range(n), num_replicas=world, rank=rank, shuffle=shuffle, seed=5,
                                      drop_last=drop_last)
                for epoch in (0, 1, 4):
                    ours.set_epoch(epoch)
                    theirs.set_epoch(epoch)
                    got = list(ours)
                    assert got == list(theirs), (n, world, rank, shuffle, drop_last, epoch)
                    assert len(ours) == len(theirs) == len(got)
                    assert all(type(i) is int for i in got)


@pytest.mark.parametrize("n, world", [(10, 3), (100, 4), (7, 2), (3, 4)])
def test_drop_last_shards_are_disjoint_and_cover(n, world):
    shards = [list(DistributedSampler(range(n), world, r, seed=1, drop_last=True)) for r in range(world)]
    flat = [i for s in shards for i in s]
    assert len(flat) == len(set(flat)) == world * (n // world)      # disjoint, equal sizes
    full = DistributedSampler(range(n), 1, 0, seed=1).order()       # the epoch's order on every rank
    assert sorted(flat) == sorted(full[:world * (n // world)].tolist())
    padded = [list(DistributedSampler(range(n), world, r, seed=1)) for r in range(world)]
    assert sorted(set(i for s in padded for i in s)) == list(range(n))   # without drop_last: all of it


def test_epochs_differ_and_bad_arguments():
    s = DistributedSampler(range(50), num_replicas=2, rank=1)
    first = list(s)
    assert list(s) == first
    s.set_epoch(1)
    assert list(s) != first
    with pytest.raises(ValueError, match="Invalid rank 2"):
        DistributedSampler(range(5), num_replicas=2, rank=2)
    assert len(DistributedSampler(range(5))) == 5   # world of one by default


def test_with_our_dataloader():
    data = np.arange(20, dtype=np.float32)[:, None]
    sampler = DistributedSampler(data, num_replicas=2, rank=1, shuffle=True, seed=3)
    loader = DataLoader(data, batch_size=4, sampler=sampler)
    sampler.set_epoch(2)
    seen = np.concatenate([batch.numpy()[:, 0] for batch in loader]).astype(int).tolist()
    assert seen == list(sampler) and len(loader) == 3
