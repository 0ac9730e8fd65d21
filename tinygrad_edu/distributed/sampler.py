"""``DistributedSampler``: each rank reads its own shard of the data set, as torch's.

In data parallelism every rank runs the same loop over *different* samples.  Per epoch:

1. all ranks compute the **same** order of ``range(len(dataset))``: a permutation seeded by
   ``seed + epoch`` (so call ``set_epoch(epoch)`` at the start of every epoch, or every epoch repeats
   the first one's order), or ``0, 1, …`` without shuffling;
2. the order is made a multiple of the world size N: **padded** by repeating its first indices
   (default) or, with ``drop_last=True``, **truncated** (the tail is dropped);
3. rank r takes every N-th index starting at r: ``order[r::N]``.

So each rank gets ``ceil(len/N)`` samples (``floor(len/N)`` with ``drop_last``), all ranks the same
number of steps (no rank waits for another in the last all_reduce), and with ``drop_last`` the
shards are disjoint and their union is ``order[:N·floor(len/N)]``.

The indices equal ``torch.utils.data.DistributedSampler``'s, index for index, for the same
arguments: torch draws its permutation with ``torch.randperm(n, generator)`` from a Mersenne
Twister (MT19937) seeded with ``seed + epoch``, and this file reproduces that draw with NumPy's
MT19937 (the same generator and the same seeding of its 624-word state).  torch's ``randperm`` on
the CPU is a Fisher–Yates shuffle: for i = 0 … n-2, draw a 32-bit word u and swap positions
i and ``i + u mod (n - i)``.  (That is torch's algorithm for n < 2³²/20 ≈ 214 M samples; beyond it
the order here is still a fair permutation, but not torch's.)

    sampler = DistributedSampler(train_set, shuffle=True, seed=0)   # rank and world from distributed
    loader = DataLoader(train_set, batch_size=64, sampler=sampler)  # 64 per rank
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for images, labels in loader: ...
"""
import math

import numpy as np

from ..data.samplers import Sampler
from . import world

_TORCH_SMALL_N = (2 ** 32 - 1) // 20   # below this torch's randperm uses the shuffle below


def torch_randperm(n, seed):
    """The permutation ``torch.randperm(n, generator=torch.Generator().manual_seed(seed))`` on the CPU,
    as an int64 NumPy array, without torch."""
    # RandomState(int) seeds MT19937 exactly as torch's generator does (the low 32 bits of the seed),
    # and randint over the full uint32 range returns the generator's raw 32-bit words.
    words = np.random.RandomState(int(seed) & 0xFFFFFFFF).randint(0, 2 ** 32, size=max(n - 1, 0),
                                                                  dtype=np.uint32)
    offsets = words.astype(np.int64) % np.arange(n, 1, -1, dtype=np.int64)   # u mod (n - i)
    order = np.arange(n, dtype=np.int64)
    targets = (offsets + np.arange(n - 1 if n else 0)).tolist()
    perm = order.tolist()                       # Python lists: the swap loop is ~5x faster on them
    for i, j in enumerate(targets):
        perm[i], perm[j] = perm[j], perm[i]
    return np.asarray(perm, dtype=np.int64)


class DistributedSampler(Sampler):
    """The indices of ``dataset`` for one rank (torch's signature and defaults).

    ``num_replicas`` and ``rank`` default to ``distributed.get_world_size()`` and ``get_rank()``;
    pass them to build any rank's sampler in one process (tests, or a look at the shards)."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None:
            world.init()
            num_replicas = world.get_world_size()
        if rank is None:
            world.init()
            rank = world.get_rank()
        if not isinstance(num_replicas, (int, np.integer)) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer, got {num_replicas!r}")
        if not isinstance(rank, (int, np.integer)) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last, self.epoch = bool(shuffle), int(seed), bool(drop_last), 0
        n = len(dataset)
        if self.drop_last:
            self.num_samples = n // self.num_replicas          # the tail is dropped
        else:
            self.num_samples = math.ceil(n / self.num_replicas)  # the order is padded
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """Use epoch ``epoch``'s order (seed + epoch): call it at the start of every epoch."""
        self.epoch = int(epoch)

    def order(self):
        """The whole epoch's order on every rank, padded or truncated to ``total_size``."""
        n = len(self.dataset)
        order = torch_randperm(n, self.seed + self.epoch) if self.shuffle else np.arange(n, dtype=np.int64)
        if self.total_size <= n:
            return order[:self.total_size]
        repeats = math.ceil(self.total_size / n)            # pad with the order's own first indices
        return np.tile(order, repeats)[:self.total_size]

    def __iter__(self):
        return iter(self.order()[self.rank::self.num_replicas].tolist())

    def __len__(self):
        return self.num_samples
