"""Registry entries: 3-D convolution and pooling, max unpooling and the 3-D pad modes, against
``torch.nn.functional``: conv3d (stride, padding int/triple/'same'/'valid', dilation, groups, bias,
unbatched), max_pool3d (padding, dilation, ceil_mode, return_indices), avg_pool3d (ceil_mode,
count_include_pad, divisor_override), max_unpool1d/2d/3d (indices as max_pool*d returns them:
distinct positions of each output plane; only the values are differentiated, with output_size),
pad 'reflect' / 'replicate' / 'circular' / 'constant' of the last 3 dims of 4-D and 5-D input.
Shapes stay tiny so gradcheck and gradgradcheck take well under a second each."""
import importlib
import warnings

import numpy as np
import torch
import torch.nn.functional as TF
from hypothesis import strategies as st

from .spec import Case, OpSpec, seeds, values

SPECS = []


class _OurF:
    def __getattr__(self, name):
        return getattr(importlib.import_module("tinygrad_edu.nn.functional"), name)


F = _OurF()


def add(name, cases, ours, ref, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, ours=ours, ref=ref, family="conv_pool_3d", **kw))


def _n(draw, mode):
    return {"empty": 0, "smallest": 1}.get(mode) if mode in ("empty", "smallest") else draw(st.integers(1, 2))


def _three(draw, lo, hi):
    return tuple(draw(st.integers(lo, hi)) for _ in range(3))


# ---------------------------------------------------------------------------------------------
# conv3d
# ---------------------------------------------------------------------------------------------
def _conv3d_cases(unbatched):
    def cases(mode):
        @st.composite
        def build(draw):
            n = _n(draw, mode)
            smallest = mode == "smallest"
            g = 1 if smallest else draw(st.sampled_from([1, 2]))
            c, o = g * (1 if smallest else draw(st.integers(1, 2))), g * draw(st.integers(1, 2))
            k = (1, 1, 1) if smallest else _three(draw, 1, 2)
            d = (1, 1, 1) if smallest else _three(draw, 1, 2)
            padding = 0 if smallest else draw(st.sampled_from([0, 1, (1, 0, 1), "same", "valid"]))
            s = (1, 1, 1) if padding == "same" or smallest else _three(draw, 1, 2)
            pads = (padding,) * 3 if isinstance(padding, int) else \
                padding if isinstance(padding, tuple) else (0, 0, 0)
            size = tuple(draw(st.integers(max(1, di * (ki - 1) + 1 - 2 * pi), di * (ki - 1) + 2))
                         for di, ki, pi in zip(d, k, pads))
            rng = np.random.default_rng(draw(seeds()))
            x = values(rng, (c,) + size) if unbatched else values(rng, (n, c) + size)
            arrays = (x, values(rng, (o, c // g) + k))
            if draw(st.booleans()):
                arrays += (values(rng, (o,)),)
            return Case(arrays, {"stride": s, "padding": padding, "dilation": d, "groups": g})
        return build()
    return cases


def _torch_conv3d(*a, **kw):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using padding='same'")
        return TF.conv3d(*a, **kw)


add("conv3d", _conv3d_cases(False), ours=lambda *a, **kw: F.conv3d(*a, **kw), ref=_torch_conv3d)
add("conv3d_unbatched", _conv3d_cases(True), ours=lambda *a, **kw: F.conv3d(*a, **kw),
    ref=_torch_conv3d, edge_modes=("smallest",))


# ---------------------------------------------------------------------------------------------
# max_pool3d / avg_pool3d
# ---------------------------------------------------------------------------------------------
def _pool3d_cases(is_max, domain="distinct", extra=None):
    def cases(mode):
        @st.composite
        def build(draw):
            n = _n(draw, mode)
            if mode == "smallest":
                k, s, p, d = (1, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1)
            else:
                k = _three(draw, 1, 2)
                s = _three(draw, 1, 2)
                p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
                d = _three(draw, 1, 2) if is_max else (1, 1, 1)
            # every window holds an entry of the volume (padding-only windows have no gradient)
            size = (1, 1, 1) if mode == "smallest" else tuple(
                di * (ki - 1) + 1 + draw(st.integers(0, 2)) for di, ki in zip(d, k))
            kw = {"kernel_size": k, "stride": s, "padding": p, "ceil_mode": draw(st.booleans())}
            if is_max:
                kw["dilation"] = d
            for key, strat in (extra or {}).items():
                kw[key] = draw(strat)
            rng = np.random.default_rng(draw(seeds()))
            unbatched = mode not in ("empty",) and draw(st.integers(0, 3)) == 0
            shape = ((2,) if unbatched else (n, 2)) + size
            return Case((values(rng, shape, domain),), kw)
        return build()
    return cases


add("max_pool3d", _pool3d_cases(True), ours=lambda x, **kw: F.max_pool3d(x, **kw),
    ref=lambda x, **kw: TF.max_pool3d(x, **kw))
add("max_pool3d_return_indices", _pool3d_cases(True, extra={"return_indices": st.just(True)}),
    ours=lambda x, **kw: F.max_pool3d(x, **kw), ref=lambda x, **kw: TF.max_pool3d(x, **kw))
# ties: the first maximum of each window (in (d, h, w) order) wins, as in torch; parity only
add("max_pool3d_ties", _pool3d_cases(True, domain="ties", extra={"return_indices": st.just(True)}),
    ours=lambda x, **kw: F.max_pool3d(x, **kw), ref=lambda x, **kw: TF.max_pool3d(x, **kw),
    gradcheck=False)
add("avg_pool3d", _pool3d_cases(False, domain="real", extra={"count_include_pad": st.booleans()}),
    ours=lambda x, **kw: F.avg_pool3d(x, **kw), ref=lambda x, **kw: TF.avg_pool3d(x, **kw))
add("avg_pool3d_divisor_override", _pool3d_cases(False, domain="real",
                                                 extra={"divisor_override": st.integers(1, 5)}),
    ours=lambda x, **kw: F.avg_pool3d(x, **kw), ref=lambda x, **kw: TF.avg_pool3d(x, **kw))


# ---------------------------------------------------------------------------------------------
# max_unpool1d/2d/3d
# ---------------------------------------------------------------------------------------------
def _unpool_cases(dims):
    def cases(mode):
        @st.composite
        def build(draw):
            n = _n(draw, mode)
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
        n = _n(draw, mode)
        k = (1, 1, 1) if mode == "smallest" else _three(draw, 1, 2)
        size = tuple(ki + draw(st.integers(0, 2)) for ki in k)
        rng = np.random.default_rng(draw(seeds()))
        x = values(rng, (n, 2) + size, "distinct")
        _, idx = TF.max_pool3d(torch.from_numpy(x), k, return_indices=True)
        pooled = values(rng, tuple(idx.shape))
        return Case((pooled, idx.numpy()), {"kernel_size": k, "output_size": size})
    return build()


add("max_unpool3d_of_max_pool3d", _pool_unpool_cases,
    ours=lambda x, i, **kw: F.max_unpool3d(x, i, **kw), ref=lambda x, i, **kw: TF.max_unpool3d(x, i, **kw))


# ---------------------------------------------------------------------------------------------
# F.pad of the last 3 dims, every mode
# ---------------------------------------------------------------------------------------------
def _pad3d_cases(mode_name):
    def cases(mode):
        @st.composite
        def build(draw):
            n = _n(draw, mode)
            lo = 1 if mode_name in ("replicate", "constant") else 2
            size = tuple(draw(st.integers(lo, 3)) for _ in range(3))
            limit = {"reflect": lambda s: s - 1, "circular": lambda s: s}.get(mode_name, lambda s: 2)
            pad = ()
            for s in reversed(size):
                pad += (draw(st.integers(0, limit(s))), draw(st.integers(0, limit(s))))
            unbatched = mode != "empty" and draw(st.booleans())
            rng = np.random.default_rng(draw(seeds()))
            kw = {"pad": pad, "mode": mode_name}
            if mode_name == "constant":
                kw["value"] = draw(st.sampled_from([0.0, -1.5]))
            return Case((values(rng, ((2,) if unbatched else (n, 2)) + size),), kw)
        return build()
    return cases


for _m in ("reflect", "replicate", "circular", "constant"):
    add(f"pad_{_m}_3d", _pad3d_cases(_m), ours=lambda x, **kw: F.pad(x, **kw),
        ref=lambda x, **kw: TF.pad(x, **kw), edge_modes=("smallest",))
