"""Registry entries: the convolution family beyond conv2d, against ``torch.nn.functional``:
conv1d (stride, padding int/'same'/'valid', dilation, groups), conv_transpose1d/2d (stride,
padding, output_padding, dilation, groups, bias), pad in 'reflect' / 'replicate' / 'circular'
modes and constant pad with negative widths (crops), pixel_shuffle / pixel_unshuffle.
Shapes stay small so gradcheck and gradgradcheck are quick."""
import importlib
import warnings

import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st

from .spec import Case, OpSpec, seeds, values

SPECS = []


class _OurF:
    def __getattr__(self, name):
        return getattr(importlib.import_module("tinygrad_edu.nn.functional"), name)


F = _OurF()


def add(name, cases, ours, ref, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, ours=ours, ref=ref, family="conv_family", **kw))


def _n(draw, mode):
    return {"empty": 0, "smallest": 1}.get(mode) if mode in ("empty", "smallest") else draw(st.integers(1, 2))


def _conv1d_cases(mode):
    @st.composite
    def build(draw):
        n = _n(draw, mode)
        g = 1 if mode == "smallest" else draw(st.sampled_from([1, 2]))
        c, o = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
        k, d = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        padding = draw(st.sampled_from([0, 1, "same", "valid"]))
        s = 1 if padding == "same" else draw(st.integers(1, 2))
        p = 1 if padding == 1 else 0
        length = draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), d * (k - 1) + 3))
        rng = np.random.default_rng(draw(seeds()))
        arrays = (values(rng, (n, c, length)), values(rng, (o, c // g, k)))
        if draw(st.booleans()):
            arrays += (values(rng, (o,)),)
        return Case(arrays, {"stride": s, "padding": padding, "dilation": d, "groups": g})
    return build()


def _torch_conv1d(*a, **kw):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using padding='same'")
        return TF.conv1d(*a, **kw)


add("conv1d", _conv1d_cases, ours=lambda *a, **kw: F.conv1d(*a, **kw), ref=_torch_conv1d)


def _convt_cases(dims):
    def cases(mode):
        @st.composite
        def build(draw):
            n = _n(draw, mode)
            g = 1 if mode == "smallest" else draw(st.sampled_from([1, 2]))
            c, o = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
            k = tuple(draw(st.integers(1, 3)) for _ in range(dims))
            s = tuple(draw(st.integers(1, 2)) for _ in range(dims))
            d = tuple(draw(st.integers(1, 2)) for _ in range(dims))
            p = tuple(draw(st.integers(0, 1)) for _ in range(dims))
            op = tuple(draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d))
            size = tuple(draw(st.integers(1, 3)) for _ in range(dims))
            # keep the output size positive: (i − 1)·s − 2p + d·(k − 1) + op + 1 ≥ 1
            p = tuple(min(pi, ((i - 1) * si + di * (ki - 1) + oi) // 2)
                      for pi, i, si, di, ki, oi in zip(p, size, s, d, k, op))
            rng = np.random.default_rng(draw(seeds()))
            arrays = (values(rng, (n, c) + size), values(rng, (c, o // g) + k))
            if draw(st.booleans()):
                arrays += (values(rng, (o,)),)
            one = (lambda t: t[0]) if dims == 1 else (lambda t: t)
            return Case(arrays, {"stride": one(s), "padding": one(p), "output_padding": one(op),
                                 "groups": g, "dilation": one(d)})
        return build()
    return cases


add("conv_transpose1d", _convt_cases(1), ours=lambda *a, **kw: F.conv_transpose1d(*a, **kw),
    ref=lambda *a, **kw: TF.conv_transpose1d(*a, **kw))
add("conv_transpose2d", _convt_cases(2), ours=lambda *a, **kw: F.conv_transpose2d(*a, **kw),
    ref=lambda *a, **kw: TF.conv_transpose2d(*a, **kw))


def _pad_cases(mode_name):
    def cases(mode):
        @st.composite
        def build(draw):
            n = _n(draw, mode)
            dims = draw(st.integers(1, 3))
            lo = 2 if mode_name != "replicate" else 1
            size = tuple(draw(st.integers(lo, 3)) for _ in range(dims))
            limit = {"reflect": lambda s: s - 1, "circular": lambda s: s}.get(mode_name, lambda s: 2)
            pad = ()
            for s in reversed(size):
                pad += (draw(st.integers(0, limit(s))), draw(st.integers(0, limit(s))))
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, (n, 2) + size),), {"pad": pad, "mode": mode_name})
        return build()
    return cases


for _m in ("reflect", "replicate", "circular"):
    add(f"pad_{_m}", _pad_cases(_m), ours=lambda x, **kw: F.pad(x, **kw),
        ref=lambda x, **kw: TF.pad(x, **kw), edge_modes=("smallest",))


def _crop_cases(mode):
    @st.composite
    def build(draw):
        n = _n(draw, mode)
        size = (draw(st.integers(2, 4)), draw(st.integers(2, 4)))
        pad = (draw(st.integers(-1, 2)), draw(st.integers(-1, 2)), draw(st.integers(-1, 1)),
               draw(st.integers(-1, 1)))
        rng = np.random.default_rng(draw(seeds()))
        return Case((values(rng, (n, 2) + size),), {"pad": pad, "value": draw(st.sampled_from([0.0, 1.5]))})
    return build()


add("pad_constant_negative", _crop_cases, ours=lambda x, **kw: F.pad(x, **kw),
    ref=lambda x, **kw: TF.pad(x, **kw))


def _shuffle_cases(up):
    def cases(mode):
        @st.composite
        def build(draw):
            n = _n(draw, mode)
            r = draw(st.integers(1, 2))
            c, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
            shape = (n, c * r * r, h, w) if up else (n, c, h * r, w * r)
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, shape), r))
        return build()
    return cases


add("pixel_shuffle", _shuffle_cases(True), ours=lambda x, r: F.pixel_shuffle(x, r),
    ref=lambda x, r: TF.pixel_shuffle(x, r),
    edge_modes=("smallest",))  # torch's backward rejects empty input
add("pixel_unshuffle", _shuffle_cases(False), ours=lambda x, r: F.pixel_unshuffle(x, r),
    ref=lambda x, r: TF.pixel_unshuffle(x, r),
    edge_modes=("smallest",))  # torch's backward rejects empty input


def _fold_cases(is_fold):
    def cases(mode):
        @st.composite
        def build(draw):
            n = _n(draw, mode)
            c = draw(st.integers(1, 2))
            k = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
            s = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
            d = (draw(st.integers(1, 2)), 1)
            p = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
            hw = tuple(max(1, di * (ki - 1) + 1 - 2 * pi) + draw(st.integers(0, 2))
                       for di, ki, pi in zip(d, k, p))
            kw = {"kernel_size": k, "dilation": d, "padding": p, "stride": s}
            rng = np.random.default_rng(draw(seeds()))
            if not is_fold:
                return Case((values(rng, (n, c) + hw),), kw)
            blocks = 1
            for i, ki, si, pi, di in zip(hw, k, s, p, d):
                blocks *= (i + 2 * pi - di * (ki - 1) - 1) // si + 1
            return Case((values(rng, (n, c * k[0] * k[1], blocks)),), dict(kw, output_size=hw))
        return build()
    return cases


add("F_unfold", _fold_cases(False), ours=lambda x, **kw: F.unfold(x, **kw),
    ref=lambda x, **kw: TF.unfold(x, **kw))
add("F_fold", _fold_cases(True), ours=lambda x, **kw: F.fold(x, **kw),
    ref=lambda x, **kw: TF.fold(x, **kw))


def _interp_cases(mode_name):
    def cases(mode):
        @st.composite
        def build(draw):
            n = _n(draw, mode)
            k = {"linear": 1, "bilinear": 2}.get(mode_name) or draw(st.integers(1, 2))
            size_in = tuple(draw(st.integers(1, 3)) for _ in range(k))
            kw = {"mode": mode_name}
            if mode_name != "nearest":
                kw["align_corners"] = draw(st.booleans())
            if draw(st.booleans()):
                kw["size"] = tuple(draw(st.integers(1, 5)) for _ in range(k))
            else:
                kw["scale_factor"] = tuple(draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.3]))
                                           for _ in range(k))
                if any(int(i * f) < 1 for i, f in zip(size_in, kw["scale_factor"])):
                    kw["scale_factor"] = tuple(2.0 for _ in range(k))
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, (n, 2) + size_in),), kw)
        return build()
    return cases


for _m in ("nearest", "linear", "bilinear"):
    add(f"interpolate_{_m}", _interp_cases(_m), ours=lambda x, **kw: F.interpolate(x, **kw),
        ref=lambda x, **kw: TF.interpolate(x, **kw))


def _pool1d_cases(is_max):
    def cases(mode):
        @st.composite
        def build(draw):
            n = _n(draw, mode)
            k = draw(st.integers(1, 3))
            s = draw(st.integers(1, 2))
            p = draw(st.integers(0, k // 2))
            d = draw(st.integers(1, 2)) if is_max else 1
            length = d * (k - 1) + 1 + draw(st.integers(0, 3))
            kw = {"kernel_size": k, "stride": s, "padding": p, "ceil_mode": draw(st.booleans())}
            if is_max:
                kw["dilation"] = d
            else:
                kw["count_include_pad"] = draw(st.booleans())
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, (n, 2, length)),), kw)
        return build()
    return cases


add("max_pool1d", _pool1d_cases(True), ours=lambda x, **kw: F.max_pool1d(x, **kw),
    ref=lambda x, **kw: TF.max_pool1d(x, **kw))
add("avg_pool1d", _pool1d_cases(False), ours=lambda x, **kw: F.avg_pool1d(x, **kw),
    ref=lambda x, **kw: TF.avg_pool1d(x, **kw))
add("max_pool1d_indices", _pool1d_cases(True),
    ours=lambda x, **kw: F.max_pool1d(x, return_indices=True, **kw)[1],
    ref=lambda x, **kw: TF.max_pool1d(x, return_indices=True, **kw)[1], has_grad=False)
