"""Registry entries: convolution, pooling and normalisation, against ``torch.nn.functional``:
conv2d (stride, padding ints/pairs/'same'/'valid', dilation, groups, with and without bias,
unbatched), max_pool2d (padding, dilation, ceil_mode, return_indices, ties), avg_pool2d
(count_include_pad, ceil_mode, divisor_override), adaptive_avg_pool2d, batch_norm (training and
eval, with and without affine parameters), layer_norm, group_norm.

Shapes stay small: gradcheck perturbs every input entry, and gradgradcheck every entry of the
inputs *and* of the output gradient."""
import importlib
import warnings

import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st

from .spec import Case, OpSpec, seeds, values

SPECS = []


class _OurF:
    """``tinygrad_edu.nn.functional``, imported on first use (an entry fails alone if it breaks)."""

    def __getattr__(self, name):
        return getattr(importlib.import_module("tinygrad_edu.nn.functional"), name)


F = _OurF()


def add(name, cases, ours, ref, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, ours=ours, ref=ref, family="conv_norm", **kw))


def _batch(draw, mode, most=2):
    """The batch size: 0 in 'empty' mode, 1 in 'smallest', else 1..most."""
    if mode == "empty":
        return 0
    if mode == "smallest":
        return 1
    return draw(st.integers(1, most))


# ---------------------------------------------------------------------------------------------
# conv2d
# ---------------------------------------------------------------------------------------------
def _conv_cases(bias=True, padding="int", dilation=False, groups=False, asymmetric=False,
                unbatched=False):
    """Input (N, C, H, W), weight (O, C/G, kh, kw) [, bias (O,)] and kwargs; the image is always
    at least as large as the dilated kernel (invalid sizes have their own error tests)."""
    def cases(mode):
        @st.composite
        def build(draw):
            small = mode in ("small", "smallest")
            n = _batch(draw, mode)
            g = draw(st.sampled_from([2, 3] if mode != "smallest" else [1])) if groups else 1
            c = g * (1 if small else draw(st.integers(1, 2)))
            o = g * (1 if small else draw(st.integers(1, 2)))
            if mode == "smallest":
                kernel, stride, dil = (1, 1), (1, 1), (1, 1)
            else:
                k_max = 2 if small else 3
                kernel = (draw(st.integers(1, k_max)), draw(st.integers(1, k_max)))
                if not asymmetric:
                    kernel = (kernel[0], kernel[0])
                stride = (draw(st.integers(1, 2)),) * 2 if padding != "same" else (1, 1)
                if asymmetric and padding != "same":
                    stride = (stride[0], draw(st.integers(1, 2)))
                dil = (draw(st.integers(1, 2)),) * 2 if dilation else (1, 1)
                if asymmetric and dilation:
                    dil = (dil[0], draw(st.integers(1, 2)))
            kwargs = {"stride": stride if asymmetric else stride[0],
                      "dilation": dil if asymmetric else dil[0]}
            if padding == "int":
                pad = draw(st.integers(0, 1)) if mode != "smallest" else 0
                kwargs["padding"] = pad
                pads = (pad, pad)
            elif padding == "pair":
                pads = (draw(st.integers(0, 2)), draw(st.integers(0, 1)))
                kwargs["padding"] = pads
            else:  # 'same' or 'valid'
                kwargs["padding"] = padding
                pads = (0, 0)
            if g > 1:
                kwargs["groups"] = g
            eff = [d * (k - 1) + 1 for d, k in zip(dil, kernel)]
            lo = [max(1, e - 2 * p) for e, p in zip(eff, pads)]
            extra = 0 if mode == "smallest" else (1 if small else 2)
            hw = [draw(st.integers(m, m + extra)) for m in lo]
            if mode == "smallest":
                c = o = g
                hw = [1, 1]
            rng = np.random.default_rng(draw(seeds()))
            x_shape = (c, *hw) if unbatched else (n, c, *hw)
            arrays = (values(rng, x_shape), values(rng, (o, c // g) + tuple(kernel)))
            if bias:
                arrays += (values(rng, (o,)),)
            return Case(arrays, kwargs)
        return build()
    return cases


def _torch_conv2d(*args, **kwargs):
    with warnings.catch_warnings():  # torch notes that it copies the input for an even 'same'
        warnings.filterwarnings("ignore", message="Using padding='same'")
        return TF.conv2d(*args, **kwargs)


def _conv(bias):
    if bias:
        return dict(ours=lambda x, w, b, **k: F.conv2d(x, w, b, **k),
                    ref=lambda x, w, b, **k: _torch_conv2d(x, w, b, **k))
    return dict(ours=lambda x, w, **k: F.conv2d(x, w, **k),
                ref=lambda x, w, **k: _torch_conv2d(x, w, **k))


_CONV_TOL = dict(fwd_tol=(1e-4, 1e-4), bwd_tol=(1e-4, 1e-4))
add("F.conv2d", _conv_cases(), **_conv(True), **_CONV_TOL)
add("F.conv2d_no_bias", _conv_cases(bias=False), **_conv(False), **_CONV_TOL)
add("F.conv2d_padding_pair", _conv_cases(padding="pair"), **_conv(True), **_CONV_TOL)
add("F.conv2d_padding_same", _conv_cases(padding="same", dilation=True, asymmetric=True),
    **_conv(True), **_CONV_TOL)
add("F.conv2d_padding_valid", _conv_cases(bias=False, padding="valid"), **_conv(False), **_CONV_TOL)
add("F.conv2d_dilation", _conv_cases(dilation=True), **_conv(True), **_CONV_TOL)
add("F.conv2d_groups", _conv_cases(groups=True), **_conv(True), **_CONV_TOL)
add("F.conv2d_asymmetric", _conv_cases(bias=False, padding="pair", dilation=True,
                                       asymmetric=True, groups=True), **_conv(False), **_CONV_TOL)
add("F.conv2d_unbatched", _conv_cases(unbatched=True), **_conv(True), edge_modes=("smallest",),
    **_CONV_TOL)


# ---------------------------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------------------------
def _pool_cases(domain="distinct", dilation=False, ceil=False, padding=True, extra=None):
    """An (N, C, H, W) input and pooling kwargs with a valid geometry (padding at most half the
    effective kernel, image at least one window)."""
    def cases(mode):
        @st.composite
        def build(draw):
            small = mode in ("small", "smallest")
            n = _batch(draw, mode)
            c = 1 if small else draw(st.integers(1, 2))
            if mode == "smallest":
                k, s, d, p = 1, 1, 1, 0
            else:
                k = draw(st.integers(2, 3))
                s = draw(st.integers(1, k))
                d = draw(st.integers(1, 2)) if dilation else 1
                eff = d * (k - 1) + 1
                p = draw(st.integers(0, k // 2)) if padding else 0
            eff = d * (k - 1) + 1
            # every window holds a real entry (padding-only windows: a test of their own)
            lo = eff if d > 1 else max(1, eff - 2 * p)
            hw = (1, 1) if mode == "smallest" else \
                tuple(draw(st.integers(lo, lo + (2 if small else 4))) for _ in range(2))
            kwargs = {"kernel_size": k, "stride": s, "padding": p}
            if dilation:
                kwargs["dilation"] = d
            if ceil:
                kwargs["ceil_mode"] = draw(st.booleans())
            for key, strat in (extra or {}).items():
                kwargs[key] = draw(strat)
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, (n, c) + hw, domain),), kwargs)
        return build()
    return cases


def _fn(name):
    return dict(ours=lambda x, **k: getattr(F, name)(x, **k),
                ref=lambda x, **k: getattr(TF, name)(x, **k))


add("F.max_pool2d", _pool_cases(), **_fn("max_pool2d"))
add("F.max_pool2d_dilation_ceil", _pool_cases(dilation=True, ceil=True), **_fn("max_pool2d"))
add("F.max_pool2d_return_indices", _pool_cases(dilation=True, ceil=True,
                                               extra={"return_indices": st.just(True)}),
    **_fn("max_pool2d"))
# many equal entries: the gradient goes to the *first* maximum of each window, as in torch
# (finite differences across a tie measure nothing, so only parity is checked)
add("F.max_pool2d_ties", _pool_cases(domain="ties", dilation=True, ceil=True,
                                     extra={"return_indices": st.just(True)}),
    **_fn("max_pool2d"), gradcheck=False)
add("F.avg_pool2d", _pool_cases(domain="real"), **_fn("avg_pool2d"))
add("F.avg_pool2d_ceil_count_include_pad", _pool_cases(
    domain="real", ceil=True, extra={"count_include_pad": st.booleans()}), **_fn("avg_pool2d"))
add("F.avg_pool2d_divisor_override", _pool_cases(
    domain="real", extra={"divisor_override": st.integers(1, 5)}), **_fn("avg_pool2d"))


def _adaptive_cases(mode):
    @st.composite
    def build(draw):
        n = _batch(draw, mode)
        hw = (1, 1) if mode == "smallest" else \
            (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
        if mode == "smallest":
            size = 1
        else:
            size = draw(st.one_of(st.integers(1, 4), st.tuples(
                st.one_of(st.none(), st.integers(1, 4)), st.integers(1, 4))))
        rng = np.random.default_rng(draw(seeds()))
        return Case((values(rng, (n, 2) + hw),), {"output_size": size})
    return build()


add("F.adaptive_avg_pool2d", _adaptive_cases, **_fn("adaptive_avg_pool2d"))


# ---------------------------------------------------------------------------------------------
# normalisation
# ---------------------------------------------------------------------------------------------
def _bn_cases(training, affine=True):
    """(x, running_mean, running_var[, weight, bias]) with x of 2, 3 or 4 dims; at least 4
    values per channel in training (batch statistics of 2 values are degenerate)."""
    def cases(mode):
        @st.composite
        def build(draw):
            c = 1 if mode == "smallest" else draw(st.integers(1, 3))
            ndim = 2 if mode == "smallest" else draw(st.integers(2, 4))
            n = _batch(draw, mode, 4)
            if training and mode in ("any", "small"):
                n = draw(st.integers(4, 6) if ndim == 2 else st.integers(2, 3))
            rest = tuple(draw(st.integers(2, 3)) for _ in range(ndim - 2))
            rng = np.random.default_rng(draw(seeds()))
            arrays = (values(rng, (n, c) + rest), values(rng, (c,)),
                      values(rng, (c,), "positive"))
            if affine:
                arrays += (values(rng, (c,)), values(rng, (c,)))
            return Case(arrays, {"training": training, "momentum": draw(st.sampled_from([0.1, 0.5])),
                                 "eps": 1e-5})
        return build()
    return cases


def _bn(affine):
    if affine:
        return dict(ours=lambda x, m, v, w, b, **k: F.batch_norm(x, m, v, w, b, **k),
                    ref=lambda x, m, v, w, b, **k: TF.batch_norm(x, m, v, w, b, **k))
    return dict(ours=lambda x, m, v, **k: F.batch_norm(x, m, v, **k),
                ref=lambda x, m, v, **k: TF.batch_norm(x, m, v, **k))


_NORM_TOL = dict(fwd_tol=(1e-4, 1e-4), bwd_tol=(3e-4, 1e-3))
add("F.batch_norm_training", _bn_cases(True), **_bn(True), no_grad_args=(1, 2), **_NORM_TOL)
add("F.batch_norm_training_no_affine", _bn_cases(True, affine=False), **_bn(False),
    no_grad_args=(1, 2), **_NORM_TOL)
add("F.batch_norm_eval", _bn_cases(False), **_bn(True), no_grad_args=(1, 2), **_NORM_TOL)
add("F.batch_norm_eval_no_affine", _bn_cases(False, affine=False), **_bn(False),
    no_grad_args=(1, 2), **_NORM_TOL)


def _layer_norm_cases(affine):
    def cases(mode):
        @st.composite
        def build(draw):
            if mode == "smallest":
                lead, normalized = (), (1,)
            else:
                k = draw(st.integers(1, 2))
                normalized = (draw(st.integers(3, 5)),) if k == 1 else \
                    (draw(st.integers(2, 3)), draw(st.integers(2, 3)))
                lead = (0,) if mode == "empty" else \
                    tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))
            rng = np.random.default_rng(draw(seeds()))
            arrays = (values(rng, lead + normalized),)
            if affine:
                arrays += (values(rng, normalized), values(rng, normalized))
            shape = normalized[0] if len(normalized) == 1 and draw(st.booleans()) else normalized
            return Case(arrays, {"normalized_shape": shape})
        return build()
    return cases


add("F.layer_norm", _layer_norm_cases(True),
    ours=lambda x, w, b, normalized_shape: F.layer_norm(x, normalized_shape, w, b),
    ref=lambda x, w, b, normalized_shape: TF.layer_norm(
        x, (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape, w, b),
    **_NORM_TOL)
add("F.layer_norm_no_affine", _layer_norm_cases(False),
    ours=lambda x, normalized_shape: F.layer_norm(x, normalized_shape),
    ref=lambda x, normalized_shape: TF.layer_norm(
        x, (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape),
    **_NORM_TOL)


def _group_norm_cases(mode):
    """(x, weight, bias) with x (N, C, *rest) and num_groups dividing C; each group holds at
    least 4 values."""
    @st.composite
    def build(draw):
        groups = 1 if mode == "smallest" else draw(st.integers(1, 3))
        per_group = 1 if mode == "smallest" else draw(st.integers(1, 2))
        c = groups * per_group
        n = _batch(draw, mode)
        rest = () if mode == "smallest" else \
            tuple(draw(st.integers(2, 3)) for _ in range(draw(st.integers(1, 2))))
        rng = np.random.default_rng(draw(seeds()))
        return Case((values(rng, (n, c) + rest), values(rng, (c,)), values(rng, (c,))),
                    {"num_groups": groups})
    return build()


add("F.group_norm", _group_norm_cases,
    ours=lambda x, w, b, num_groups: F.group_norm(x, num_groups, w, b),
    ref=lambda x, w, b, num_groups: TF.group_norm(x, num_groups, w, b), **_NORM_TOL)
