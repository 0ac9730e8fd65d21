"""Registry entries for ``tinygrad_edu/nn/unpooling.py``: ``F.max_unpool1d/2d/3d`` with indices as
max_pool*d returns them (distinct positions of each output plane; only the values are
differentiated), with and without ``output_size``, and max_unpool3d of max_pool3d's own output."""
import numpy as np
import torch
import torch.nn.functional as TF
from hypothesis import strategies as st

from .cases import F, batch, three
from .spec import Case, OpSpec, seeds, values

SPECS = []


def add(name, cases, ours, ref, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, ours=ours, ref=ref, family="unpooling", **kw))


def _unpool_cases(dims):
    def cases(mode):
        @st.composite
        def build(draw):
            n = batch(draw, mode)
            smallest = mode == "smallest"
            k = tuple(1 if smallest else draw(st.integers(1, 3)) for _ in range(dims))
            s = tuple(1 if smallest else draw(st.integers(1, 2)) for _ in range(dims))
            p = tuple(0 if smallest else draw(st.integers(0, (ki - 1) // 2)) for ki in k)
            size = tuple(1 if smallest else draw(st.integers(1, 3)) for _ in range(dims))
            default = tuple((i - 1) * si + ki - 2 * pi for i, si, ki, pi in zip(size, s, k, p))
            kw = {"kernel_size": k if dims > 1 else k[0], "stride": s if dims > 1 else s[0],
                  "padding": p if dims > 1 else p[0]}
            out = default
            if not smallest and draw(st.booleans()):
                out = tuple(o + draw(st.integers(-(si - 1), si - 1)) for o, si in zip(default, s))
                if np.prod(out) < np.prod(size) or min(out) < 1:
                    out = default
                kw["output_size"] = list(out)
            rng = np.random.default_rng(draw(seeds()))
            planes, per_plane, plane = n * 2, int(np.prod(size)), int(np.prod(out))
            # distinct positions in each output plane, as max pooling with stride ≥ kernel gives
            idx = np.stack([rng.permutation(plane)[:per_plane] for _ in range(planes)]) \
                if planes else np.zeros((0, per_plane), dtype=np.int64)
            idx = idx.astype(np.int64).reshape((n, 2) + size)
            return Case((values(rng, (n, 2) + size), idx), kw)
        return build()
    return cases


for _d in (1, 2, 3):
    add(f"max_unpool{_d}d", _unpool_cases(_d),
        ours=(lambda d: lambda x, i, **kw: getattr(F, f"max_unpool{d}d")(x, i, **kw))(_d),
        ref=(lambda d: lambda x, i, **kw: getattr(TF, f"max_unpool{d}d")(x, i, **kw))(_d))


def _pool_unpool_cases(mode):
    """max_unpool3d of the (maxima, indices) pair that max_pool3d itself returned."""
    @st.composite
    def build(draw):
        n = batch(draw, mode)
        k = (1, 1, 1) if mode == "smallest" else three(draw, 1, 2)
        size = tuple(ki + draw(st.integers(0, 2)) for ki in k)
        rng = np.random.default_rng(draw(seeds()))
        x = values(rng, (n, 2) + size, "distinct")
        _, idx = TF.max_pool3d(torch.from_numpy(x), k, return_indices=True)
        pooled = values(rng, tuple(idx.shape))
        return Case((pooled, idx.numpy()), {"kernel_size": k, "output_size": size})
    return build()


add("max_unpool3d_of_max_pool3d", _pool_unpool_cases,
    ours=lambda x, i, **kw: F.max_unpool3d(x, i, **kw), ref=lambda x, i, **kw: TF.max_unpool3d(x, i, **kw))
