"""Registry entries: the extra activations (``nn/activation.py``), distances (``nn/distance.py``), losses
(``nn/loss_regression.py``), ``F.bilinear`` and grouped-query ``scaled_dot_product_attention``, each against
``torch.nn.functional``'s function of the same name.

Piecewise ops draw their inputs away from the corners (finite differences across a corner measure
nothing); the corners themselves, NaN and ±inf are pinned in ``tests/test_activation_loss.py``.
``tinygrad_edu.nn.functional`` is imported when an entry runs, so one broken op fails alone."""
import importlib
import math

import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st

from .spec import Case, OpSpec, binary, broadcast_pair, seeds, shapes, unary, values

SPECS = []


class _OurF:
    """``tinygrad_edu.nn.functional``, imported on first use."""

    def __getattr__(self, name):
        return getattr(importlib.import_module("tinygrad_edu.nn.functional"), name)


F = _OurF()


def add(name, cases, call, **kw):
    """``call(lib, *inputs, **kwargs)`` is run with lib = our F and with torch's F."""
    SPECS.append(OpSpec(name=name, cases=cases, family="activation_loss",
                        ours=lambda *a, **k: call(F, *a, **k), ref=lambda *a, **k: call(TF, *a, **k), **kw))


def fn(name, scale=1.0):
    """lib.<name>(scale · x, **kwargs)."""
    return lambda lib, x, **k: getattr(lib, name)(x * scale if scale != 1.0 else x, **k)


# ---- activations ---------------------------------------------------------------------------------------
add("F.hardtanh", unary(("away", -1.0, 1.0)), fn("hardtanh"))
add("F.hardtanh_range", unary(("away", -0.5, 1.2), min_val=-0.5, max_val=1.2), fn("hardtanh"))
add("F.relu6", unary(("away", 0.0, 1.5)), fn("relu6", 4.0))            # 4x: the corner at 6 is drawn
add("F.hardsigmoid", unary(("away", -1.5, 1.5)), fn("hardsigmoid", 2.0))
add("F.hardswish", unary(("away", -1.5, 1.5)), fn("hardswish", 2.0))
add("F.celu", unary(("away", 0.0)), fn("celu"))
add("F.celu_alpha", unary(("away", 0.0), alpha=0.5), fn("celu"))
add("F.selu", unary(("away", 0.0)), fn("selu"))
add("F.logsigmoid", unary(), fn("logsigmoid"))
add("F.logsigmoid_big", unary("big"), fn("logsigmoid"))                  # e^-x would overflow
add("F.mish", unary(), fn("mish"))
add("F.softsign", unary(("away", 0.0)), fn("softsign"))
add("F.tanhshrink", unary(), fn("tanhshrink"), gc_tol=(1e-5, 1e-2))     # tanh² ≈ 0 near 0
add("F.hardshrink", unary(("away", -0.5, 0.5)), fn("hardshrink"))
add("F.softshrink", unary(("away", -0.7, 0.7), lambd=0.7), fn("softshrink"))


def _dim_cases(domain="real", min_dims=1, extra=None):
    """One tensor and a ``dim`` (negative too), plus ``extra`` kwargs drawn from strategies."""
    def cases(mode):
        @st.composite
        def build(draw):
            shape = draw(shapes(mode, min_dims, 3))
            kwargs = {"dim": draw(st.integers(-len(shape), len(shape) - 1))}
            for k, strat in (extra or {}).items():
                kwargs[k] = draw(strat)
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, shape, domain),), kwargs)
        return build()
    return cases


add("F.softmin", _dim_cases(), fn("softmin"))


def _glu_cases(mode):
    @st.composite
    def build(draw):
        shape = list(draw(shapes(mode, 1, 3)))
        dim = draw(st.integers(-len(shape), len(shape) - 1))
        if shape[dim] % 2:
            shape[dim] = 2 if shape[dim] == 1 else shape[dim] + 1
        rng = np.random.default_rng(draw(seeds()))
        return Case((values(rng, tuple(shape)),), {"dim": dim})
    return build()


add("F.glu", _glu_cases, fn("glu"))


def _prelu_cases(per_channel):
    def cases(mode):
        @st.composite
        def build(draw):
            if per_channel:
                shape = draw(shapes(mode, 2, 4))
                channels = shape[1]
            else:
                shape, channels = draw(shapes(mode, 0, 3)), 1
            rng = np.random.default_rng(draw(seeds()))
            weight = rng.uniform(0.05, 0.5, (channels,))
            return Case((values(rng, shape, "kink"), weight))
        return build()
    return cases


add("F.prelu", _prelu_cases(False), lambda lib, x, w: lib.prelu(x, w))
add("F.prelu_per_channel", _prelu_cases(True), lambda lib, x, w: lib.prelu(x, w))


# ---- distances -----------------------------------------------------------------------------------------
_ps = st.sampled_from([1.0, 2.0, 3.0])
add("F.normalize", _dim_cases("nonzero", extra={"p": _ps}), fn("normalize"))
add("F.normalize_inf", _dim_cases("distinct", extra={"p": st.just(math.inf)}), fn("normalize"))


def _pair_dim_cases(mode):
    @st.composite
    def build(draw):
        sa, sb = draw(broadcast_pair(mode, 1, 3))
        ndim = max(len(sa), len(sb))
        if ndim == 0:
            sa, sb, ndim = (1,), (1,), 1
        rng = np.random.default_rng(draw(seeds()))
        return Case((values(rng, sa, "nonzero"), values(rng, sb, "nonzero")),
                    {"dim": draw(st.integers(-ndim, ndim - 1))})
    return build()


add("F.cosine_similarity", _pair_dim_cases, lambda lib, a, b, **k: lib.cosine_similarity(a, b, **k))
add("F.pairwise_distance",
    binary(p=2.0), lambda lib, a, b, **k: lib.pairwise_distance(a, b, **k))
add("F.pairwise_distance_p_keepdim",
    lambda mode: _with_kwargs(binary("real", "real"), mode, {"p": st.sampled_from([1.0, 3.0]),
                                                             "keepdim": st.booleans()}),
    lambda lib, a, b, **k: lib.pairwise_distance(a, b, **k))


def _with_kwargs(cases, mode, strategies):
    @st.composite
    def build(draw):
        case = draw(cases(mode))
        return Case(case.arrays, {**case.kwargs, **{k: draw(s) for k, s in strategies.items()}})
    return build()


# ---- losses --------------------------------------------------------------------------------------------
def _kl_cases(log_target):
    def cases(mode):
        @st.composite
        def build(draw):
            shape = draw(shapes(mode, 0, 3))
            rng = np.random.default_rng(draw(seeds()))
            logq = -values(rng, shape, "positive")
            target = np.log(values(rng, shape, "prob")) if log_target else values(rng, shape, "prob")
            reduction = draw(st.sampled_from(["batchmean", "sum", "none", "mean"]))
            return Case((logq, target), {"reduction": reduction, "log_target": log_target})
        return build()
    return cases


def _kl(lib, x, t, **k):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # reduction='mean' warns in both libraries
        return lib.kl_div(x, t, **k)


add("F.kl_div", _kl_cases(False), _kl)
add("F.kl_div_log_target", _kl_cases(True), _kl)


def _regression_cases(extra, weight=False):
    def cases(mode):
        @st.composite
        def build(draw):
            shape = draw(shapes(mode))
            rng = np.random.default_rng(draw(seeds()))
            target = values(rng, shape)
            x = target + 1.5 * values(rng, shape, "kink")       # residuals on both sides of the seam
            kwargs = {"reduction": draw(st.sampled_from(["mean", "sum", "none"]))}
            kwargs.update({k: draw(s) for k, s in extra.items()})
            arrays = (x, target) + ((rng.uniform(0.5, 2, shape),) if weight else ())
            return Case(arrays, kwargs)
        return build()
    return cases


add("F.huber_loss", _regression_cases({"delta": st.sampled_from([0.5, 1.0, 2.0])}),
    lambda lib, x, t, **k: lib.huber_loss(x, t, **k))
add("F.huber_loss_weight", _regression_cases({"delta": st.just(1.0)}, weight=True),
    lambda lib, x, t, w, **k: lib.huber_loss(x, t, weight=w, **k))
add("F.smooth_l1_loss", _regression_cases({"beta": st.sampled_from([0.5, 1.0, 2.0])}),
    lambda lib, x, t, **k: lib.smooth_l1_loss(x, t, **k))
add("F.smooth_l1_loss_beta0", _regression_cases({"beta": st.just(0.0)}),
    lambda lib, x, t, **k: lib.smooth_l1_loss(x, t, **k))


# ---- bilinear ------------------------------------------------------------------------------------------
def _bilinear_cases(bias):
    def cases(mode):
        @st.composite
        def build(draw):
            lo = 0 if mode == "empty" else 1
            batch = draw(st.sampled_from([(), (draw(st.integers(lo, 3)),), (2, draw(st.integers(lo, 2)))]))
            if mode == "empty" and 0 not in batch:
                batch = (0,)
            n1, n2, out = (draw(st.integers(1, 3)) for _ in range(3))
            if mode == "smallest":
                batch, n1, n2, out = (), 1, 1, 1
            rng = np.random.default_rng(draw(seeds()))
            arrays = (values(rng, batch + (n1,)), values(rng, batch + (n2,)), values(rng, (out, n1, n2)))
            return Case(arrays + ((values(rng, (out,)),) if bias else ()))
        return build()
    return cases


add("F.bilinear", _bilinear_cases(True), lambda lib, a, b, w, bias: lib.bilinear(a, b, w, bias))
add("F.bilinear_no_bias", _bilinear_cases(False), lambda lib, a, b, w: lib.bilinear(a, b, w))


# ---- grouped-query attention ---------------------------------------------------------------------------
def _gqa_cases(causal):
    def cases(mode):
        @st.composite
        def build(draw):
            b = 0 if mode == "empty" else 1 if mode == "smallest" else draw(st.integers(1, 2))
            kv_heads = 1 if mode == "smallest" else draw(st.integers(1, 2))
            group = 1 if mode == "smallest" else draw(st.integers(1, 3))
            L, S, E, Ev = (1, 1, 1, 1) if mode == "smallest" else (draw(st.integers(1, 3)) for _ in range(4))
            rng = np.random.default_rng(draw(seeds()))
            q = values(rng, (b, kv_heads * group, L, E))
            k, v = values(rng, (b, kv_heads, S, E)), values(rng, (b, kv_heads, S, Ev))
            return Case((q, k, v), {"enable_gqa": True, "is_causal": causal})
        return build()
    return cases


def _sdpa(lib, q, k, v, **kw):
    return lib.scaled_dot_product_attention(q, k, v, **kw)


add("F.sdpa_gqa", _gqa_cases(False), _sdpa)
add("F.sdpa_gqa_causal", _gqa_cases(True), _sdpa)
