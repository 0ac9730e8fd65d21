"""The vocabulary of the op registry: what one op entry says, and the strategies that make inputs.

An ``OpSpec`` describes one op (or one *variant* of an op: ``sum`` over an int dim is one entry,
over a tuple of dims another) once; ``tests/test_ops_generated.py`` turns every entry into tests.

* ``ours(*inputs, **kwargs)`` / ``ref(*inputs, **kwargs)``: how to call the op here and in torch.
  ``inputs`` are tensors of the respective library (float arrays become float tensors, integer and
  bool arrays become integer/bool tensors, Python numbers stay numbers); ``kwargs`` are plain
  Python values (dims, sizes, flags) drawn together with the shapes.
* ``cases(mode)``: a hypothesis strategy of ``Case`` (the input arrays, in float64, and kwargs).
  ``mode`` is ``"any"`` (general shapes: size-1 dims, 0-d scalars where the op allows them,
  broadcasting pairs), ``"small"`` (the same with fewer entries), ``"smallest"`` (the smallest
  legal input: 0-d, or all sizes 1) or ``"empty"`` (some dim of size 0).
* domains keep inputs where the op is smooth (positive for log, away from the kink of relu, no ties
  for max), because finite differences across a kink measure nothing meaningful.
* flags and tolerances say which checks apply.
"""
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

import tinygrad_edu as tg


@dataclass
class Case:
    """One drawn input: positional arrays (float64 for float inputs) or numbers, and kwargs."""
    arrays: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass
class OpSpec:
    name: str
    ours: object                   # callable over tinygrad_edu tensors
    ref: object                    # callable over torch tensors
    cases: object                  # mode -> strategy of Case
    has_grad: bool = True          # backward parity + gradcheck
    gradcheck: bool = True         # finite differences apply (False: inputs sit on a kink on purpose)
    gradgrad: bool = True          # gradgradcheck (second derivatives)
    double_backward_raises: bool = False   # the backward is once-differentiable: check it raises
    no_grad_args: tuple = ()       # float positional inputs that must not require grad (targets)
    smooth_at: object = None       # case -> bool: is the op differentiable at this case? (gradcheck)
    edge_modes: tuple = ("smallest", "empty")
    fwd_tol: tuple = (1e-5, 1e-4)  # (atol, rtol) float32 forward parity
    bwd_tol: tuple = (1e-4, 1e-4)  # (atol, rtol) float32 backward parity
    gc_tol: tuple = (1e-5, 1e-3)   # (atol, rtol) float64 gradcheck / gradgradcheck
    eps: float = 1e-6
    family: str = ""

    def __repr__(self):
        return self.name


def same(expr):
    """The same expression works for both libraries (operators, methods with equal names)."""
    return dict(ours=expr, ref=expr)


# ---------------------------------------------------------------------------------------------
# Inputs: a drawn Case as tensors of either library, on any device
# ---------------------------------------------------------------------------------------------
def wants_grad(spec, k, array):
    return spec.has_grad and array.dtype.kind == "f" and k not in spec.no_grad_args


def make_inputs(spec, case, library="ours", dtype=np.float32, device=None):
    """Tensors of ``library`` ("ours" or "torch"): float arrays cast to ``dtype`` (requiring grad
    unless the spec says otherwise), integer/bool arrays as they are, numbers as numbers.
    ``device`` places our tensors ("cpu", "cuda"; None: the default device); torch stays on the CPU."""
    out = []
    for k, a in enumerate(case.arrays):
        if isinstance(a, np.generic):
            a = np.asarray(a)
        if not isinstance(a, np.ndarray):
            out.append(a)
            continue
        grad = wants_grad(spec, k, a)
        a = a.astype(dtype) if a.dtype.kind == "f" else a.copy()
        if library == "ours":
            out.append(tg.tensor(a, requires_grad=grad, device=device))
        else:
            import torch   # only the torch parity suites need it (not the device suites)
            t = torch.from_numpy(a)
            out.append(t.requires_grad_(grad) if grad else t)
    return out


# ---------------------------------------------------------------------------------------------
# Values: domains
# ---------------------------------------------------------------------------------------------
def values(rng, shape, domain="real"):
    return np.asarray(_values(rng, tuple(shape), domain), dtype=np.float64)


def _values(rng, shape, domain):
    """A float64 array of ``shape`` drawn from ``domain``.

    real      uniform(-2, 2)
    positive  uniform(0.5, 2.5)          (log, sqrt, rsqrt, pow base)
    nonzero   ±uniform(0.5, 2)           (divisors)
    kink      ±uniform(0.2, 2)           (relu, abs, sign, leaky_relu, elu: smooth away from 0)
    distinct  all entries differ by ≥ 0.2 (max/min/argmax: no ties)
    prob      uniform(0.1, 0.9)          (probabilities)
    log1p     uniform(-0.5, 2)
    big       ±uniform(20, 60)           (stability of sigmoid/softplus/log-sum-exp tails)
    huge      ±uniform(1e3, 1e4)         (logits of 1e4 for stable losses)
    grid_even/grid_odd  multiples of 0.4 / multiples of 0.4 + 0.2 (two inputs that never tie)
    ties      small integers (many ties on purpose)
    zeros     reals with some exact zeros (prod)
    """
    n = int(np.prod(shape, dtype=np.int64))
    if domain == "real":
        return rng.uniform(-2, 2, shape)
    if domain == "positive":
        return rng.uniform(0.5, 2.5, shape)
    if domain == "nonzero":
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2, shape)
    if domain == "kink":
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2, shape)
    if domain == "distinct":
        return ((rng.permutation(n) - n / 2) * 0.25 + rng.uniform(0, 0.05)).reshape(shape)
    if domain == "prob":
        return rng.uniform(0.1, 0.9, shape)
    if domain == "log1p":
        return rng.uniform(-0.5, 2, shape)
    if domain == "big":
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(20, 60, shape)
    if domain == "huge":
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(1e3, 1e4, shape)
    if domain == "grid_even":
        return rng.integers(-4, 5, shape) * 0.4
    if domain == "grid_odd":
        return rng.integers(-4, 4, shape) * 0.4 + 0.2
    if domain == "ties":
        return rng.integers(-1, 2, shape).astype(np.float64)
    if domain == "zeros":
        x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
        if n:
            x.reshape(-1)[rng.integers(0, n)] = 0.0
        return x
    if isinstance(domain, tuple) and domain[0] == "away":  # ("away", p1, p2, ...): kinks at p_i
        x = rng.uniform(-2, 2, shape)
        for p in domain[1:]:
            near = np.abs(x - p) < 0.15
            x = np.where(near, p + np.where(x >= p, 0.15, -0.15) + (x - p), x)
        return x
    raise ValueError(f"unknown domain {domain!r}")


def seeds():
    return st.integers(0, 2 ** 32 - 1)


# ---------------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------------
MAX_NUMEL = 24


def _numel(shape):
    return int(np.prod(shape, dtype=np.int64))


@st.composite
def shapes(draw, mode="any", min_dims=0, max_dims=3, max_side=4, max_numel=MAX_NUMEL):
    """One shape.  ``any``: 0-d up to ``max_dims`` dims of sizes 1..max_side (small numel);
    ``smallest``: ``min_dims`` dims of size 1 (a 0-d scalar when min_dims = 0); ``empty``: at
    least one dim, one of them of size 0."""
    if mode == "smallest":
        return (1,) * min_dims
    if mode == "empty":
        ndim = draw(st.integers(max(1, min_dims), max(1, max_dims)))
        shape = draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim))
        shape[draw(st.integers(0, ndim - 1))] = 0
        return tuple(shape)
    # more dims first: hypothesis leans towards the first choice, and 0-d / size-1 inputs are
    # also drawn by the "smallest" mode
    ndim = draw(st.sampled_from(list(range(max_dims, min_dims - 1, -1))))
    shape = draw(st.lists(st.integers(1, max_side), min_size=ndim, max_size=ndim)
                 .filter(lambda s: _numel(s) <= max_numel))
    return tuple(shape)


@st.composite
def broadcast_pair(draw, mode="any", min_dims=0, max_dims=3):
    """Two shapes that broadcast together: each is the common shape with some leading dims
    dropped and some dims turned into 1 (so (3, 1) with (4,), or (2, 0) with (1,))."""
    # at least 1 dim in the common shape: 0-d operands still come from dropping every dim, and
    # the "smallest" mode tests 0-d with 0-d
    lo = min_dims if mode in ("smallest", "empty") else max(min_dims, 1)
    full = draw(shapes(mode, lo, max_dims, max_side=3, max_numel=6 if mode == "small" else 12))
    mode = "any" if mode == "small" else mode

    def shrink(may_drop):
        drop = draw(st.integers(0, len(full))) if may_drop and mode == "any" else 0
        out = list(full[drop:])
        for i in range(len(out)):
            if draw(st.integers(0, 3)) == 3:  # a quarter of the dims become size-1
                out[i] = 1
        return tuple(out)
    return shrink(False), shrink(True)


# ---------------------------------------------------------------------------------------------
# Case builders shared by the registry files (more in cases.py)
# ---------------------------------------------------------------------------------------------
def unary(domain="real", min_dims=0, max_dims=3, max_numel=MAX_NUMEL, **fixed):
    """cases(mode) for an op of one tensor (``fixed`` kwargs are passed as they are)."""
    def cases(mode):
        @st.composite
        def build(draw):
            shape = draw(shapes(mode, min_dims, max_dims, max_numel=max_numel))
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, shape, domain),), dict(fixed))
        return build()
    return cases


def binary(domain_a="real", domain_b="real", min_dims=0, max_dims=3, **fixed):
    """cases(mode) for an op of two broadcasting tensors."""
    def cases(mode):
        @st.composite
        def build(draw):
            sa, sb = draw(broadcast_pair(mode, min_dims, max_dims))
            if draw(st.booleans()):
                sa, sb = sb, sa
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, sa, domain_a), values(rng, sb, domain_b)), dict(fixed))
        return build()
    return cases


@st.composite
def dim_arg(draw, ndim, kind):
    """A ``dim`` argument for a tensor of ``ndim`` dims: ``int`` (negative too), ``tuple`` (1 or
    more distinct dims), or ``none``."""
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1)) if ndim else draw(st.sampled_from([0, -1]))
    picks = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(p - ndim if draw(st.booleans()) else p for p in picks)


def reduction(domain="real", dim="int", keepdim=True, min_dims=None, max_dims=3, extra=None):
    """cases(mode) for a reduction: draws a shape, a ``dim`` of the given kind and ``keepdim``
    (when ``keepdim`` is True), plus ``extra`` kwargs drawn from strategies."""
    lo = (1 if dim == "tuple" else 0) if min_dims is None else min_dims

    def cases(mode):
        @st.composite
        def build(draw):
            shape = draw(shapes(mode, lo, max_dims))
            kwargs = {}
            if dim != "none":
                kwargs["dim"] = draw(dim_arg(len(shape), dim))
            if keepdim:
                kwargs["keepdim"] = draw(st.booleans())
            for k, strat in (extra or {}).items():
                kwargs[k] = draw(strat)
            rng = np.random.default_rng(draw(seeds()))
            return Case((values(rng, shape, domain),), kwargs)
        return build()
    return cases
