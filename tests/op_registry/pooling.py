"""Registry entries for ``tinygrad_edu/nn/pooling.py``: ``F.max_pool2d`` (padding, dilation,
ceil_mode, return_indices, ties), ``F.avg_pool2d`` (count_include_pad, ceil_mode,
divisor_override) and ``F.adaptive_avg_pool2d``."""
import numpy as np
from hypothesis import strategies as st

from .cases import batch, f_pair
from .spec import Case, OpSpec, seeds, values

SPECS = []


def add(name, cases, ours, ref, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, ours=ours, ref=ref, family="pooling", **kw))


def _pool_cases(domain="distinct", dilation=False, ceil=False, padding=True, extra=None):
    """An (N, C, H, W) input and pooling kwargs with a valid geometry (padding at most half the
    effective kernel, image at least one window)."""
    def cases(mode):
        @st.composite
        def build(draw):
            small = mode in ("small", "smallest")
            n = batch(draw, mode)
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


add("F.max_pool2d", _pool_cases(), **f_pair("max_pool2d"))
add("F.max_pool2d_dilation_ceil", _pool_cases(dilation=True, ceil=True), **f_pair("max_pool2d"))
add("F.max_pool2d_return_indices", _pool_cases(dilation=True, ceil=True,
                                               extra={"return_indices": st.just(True)}),
    **f_pair("max_pool2d"))
# many equal entries: the gradient goes to the *first* maximum of each window, as in torch
# (finite differences across a tie measure nothing, so only parity is checked)
add("F.max_pool2d_ties", _pool_cases(domain="ties", dilation=True, ceil=True,
                                     extra={"return_indices": st.just(True)}),
    **f_pair("max_pool2d"), gradcheck=False)
add("F.avg_pool2d", _pool_cases(domain="real"), **f_pair("avg_pool2d"))
add("F.avg_pool2d_ceil_count_include_pad", _pool_cases(
    domain="real", ceil=True, extra={"count_include_pad": st.booleans()}), **f_pair("avg_pool2d"))
add("F.avg_pool2d_divisor_override", _pool_cases(
    domain="real", extra={"divisor_override": st.integers(1, 5)}), **f_pair("avg_pool2d"))


def _adaptive_cases(mode):
    @st.composite
    def build(draw):
        n = batch(draw, mode)
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


add("F.adaptive_avg_pool2d", _adaptive_cases, **f_pair("adaptive_avg_pool2d"))
