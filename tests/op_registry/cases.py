"""Case builders and call helpers shared by registry files of *different* source files.

A builder used by the specs of one registry file lives in that file, next to its specs; the ones here
are used by several (``values_of`` by ``sorting.py`` and ``scan.py``, ``batch`` by every convolution
and pooling file, ``fn_pair`` by the files of the elementwise family, ...).  The vocabulary itself
(``OpSpec``, ``Case``, domains, shapes, ``unary``, ``binary``, ``reduction``) is in ``spec.py``."""
import importlib

import numpy as np
import torch
import torch.nn.functional as TF
from hypothesis import strategies as st

import tinygrad_edu as tg

from .spec import Case, broadcast_pair, seeds, shapes, values


# ---------------------------------------------------------------------------------------------
# Calling the op in both libraries
# ---------------------------------------------------------------------------------------------
class _OurF:
    """``tinygrad_edu.nn.functional``, imported on first use (an entry fails alone if it breaks)."""

    def __getattr__(self, name):
        return getattr(importlib.import_module("tinygrad_edu.nn.functional"), name)


F = _OurF()


def f_call(fn_name):
    """``F.<fn_name>(*inputs, **kwargs)`` here, ``torch.nn.functional.<fn_name>`` in torch."""
    return dict(ours=lambda *a, **k: getattr(F, fn_name)(*a, **k),
                ref=lambda *a, **k: getattr(TF, fn_name)(*a, **k))


def fn_pair(name, torch_fn=None, **kwargs):
    """``tg.<name>(x, **kw)`` here, ``torch.<name>`` (or ``torch_fn``) in torch."""
    ours = getattr(tg, name)
    ref = torch_fn or getattr(torch, name)
    return dict(ours=lambda x, **kw: ours(x, **kw), ref=lambda x, **kw: ref(x, **kw))


def f_pair(name):
    """``F.<name>(x, **kwargs)`` in both libraries (one input)."""
    return dict(ours=lambda x, **k: getattr(F, name)(x, **k),
                ref=lambda x, **k: getattr(TF, name)(x, **k))


def lib_call(call):
    """``call(lib, *inputs, **kwargs)`` is run with lib = our F and with torch's F."""
    return dict(ours=lambda *a, **k: call(F, *a, **k), ref=lambda *a, **k: call(TF, *a, **k))


def fn(name, scale=1.0):
    """For ``lib_call``: lib.<name>(scale · x, **kwargs)."""
    return lambda lib, x, **k: getattr(lib, name)(x * scale if scale != 1.0 else x, **k)


def values_of(expr):
    """Same call in both libraries; compare the ``values`` of the returned (values, indices)."""
    return dict(ours=lambda x, **kw: expr(x, **kw)[0], ref=lambda x, **kw: expr(x, **kw)[0])


# ---------------------------------------------------------------------------------------------
# Case builders
# ---------------------------------------------------------------------------------------------
def with_shape(kwargs_of_shape, min_dims=0, max_dims=3, sides=None, n_inputs=1, same_shape=True):
    """cases(mode) that draw a shape, then kwargs from ``kwargs_of_shape(draw, shape)``."""
    def cases(mode):
        @st.composite
        def build(draw):
            if sides is not None and mode == "any":
                ndim = draw(st.integers(min_dims, max_dims))
                shape = tuple(draw(st.lists(st.sampled_from(sides), min_size=ndim, max_size=ndim)))
            else:
                shape = draw(shapes(mode, min_dims, max_dims))
            kwargs = kwargs_of_shape(draw, shape)
            rng = np.random.default_rng(draw(seeds()))
            return Case(tuple(values(rng, shape) for _ in range(n_inputs)), kwargs)
        return build()
    return cases


REDUCTIONS = st.sampled_from(["mean", "sum", "none"])


def batch(draw, mode, most=2):
    """The batch size: 0 in 'empty' mode, 1 in 'smallest', else 1..most."""
    if mode == "empty":
        return 0
    if mode == "smallest":
        return 1
    return draw(st.integers(1, most))


def three(draw, lo, hi):
    """Three sizes (of a 3-D kernel, stride, ...) drawn from lo..hi."""
    return tuple(draw(st.integers(lo, hi)) for _ in range(3))


def simple(mode, kwargs, domain="real"):
    """One tensor of any shape and fixed ``kwargs``."""
    @st.composite
    def build(draw):
        shape = draw(shapes(mode))
        rng = np.random.default_rng(draw(seeds()))
        return Case((values(rng, shape, domain),), dict(kwargs))
    return build()


def fixed(shape, domain="real", **kwargs):
    """cases: one input of a fixed ``shape`` (the op's kwargs are fixed too); empty mode zeroes dim 0."""
    def cases(mode):
        @st.composite
        def build(draw):
            s = (0,) + tuple(shape[1:]) if mode == "empty" else tuple(shape)
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, s, domain),), dict(kwargs))
        return build()
    return cases


def dim_cases(domain="real", min_dims=1, extra=None):
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


def where_cases(mode):
    """(condition, a, b): a and b broadcast together, the bool condition has the shape of one."""
    @st.composite
    def build(draw):
        sa, sb = draw(broadcast_pair(mode))
        sc = draw(st.sampled_from([sa, sb]))
        rng = np.random.default_rng(draw(seeds()))
        return Case((rng.random(sc) < 0.5, values(rng, sa), values(rng, sb)))
    return build()


def with_weight(fn_name):
    """(input, target, weight) -> F.<fn_name>(input, target, weight=weight, **kwargs) in both libraries."""
    return dict(ours=lambda x, t, w, **k: getattr(F, fn_name)(x, t, weight=w, **k),
                ref=lambda x, t, w, **k: getattr(TF, fn_name)(x, t, weight=w, **k))


# float32 parity of the normalisations: statistics over few entries lose a little precision
NORM_TOL = dict(fwd_tol=(1e-4, 1e-4), bwd_tol=(3e-4, 1e-3))
