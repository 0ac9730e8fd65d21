"""Scans (running reductions along one dim): cumprod, cummax, cummin, logcumsumexp.
(``cumsum`` lives in ops/reduce.py.)

cumprod and logcumsumexp are written as the recurrence itself, one step per position:

    cumprod:       y_0 = x_0,   y_i = y_{i-1} * x_i
    logcumsumexp:  y_0 = x_0,   y_i = log(exp(y_{i-1}) + exp(x_i))

in Tensor ops, so the engine differentiates the recurrence.  That is slower than a closed-form
backward, but exact: the textbook shortcut dL/dx_j = sum_{i>=j} g_i * y_i / x_j divides by x_j
and breaks where x_j = 0, while the recurrence gives the product of the *other* factors there.

cummax/cummin pick entries (an index array, no gradient) and read them with ``gather``, so their
gradient goes to the chosen positions:  dL/dx[idx[i]] += dL/dvalues[i].

Tests: tests/op_registry/scan.py, tests/test_select_sort_scan.py
"""
import numpy as np

from .. import dtypes as _dt
from ..backend import array_module
from .checks import normalize_dim
from .indexing import gather
from .sorting import ValuesIndices


def _steps(x, d):
    """The slices x[..., i, ...] along dim d, as Tensors (each keeps dim d with size 1)."""
    lead = (slice(None),) * d
    return [x[lead + (slice(i, i + 1),)] for i in range(x.shape[d])]


def cumprod(x, dim, dtype=None):
    """y_i = x_0 * x_1 * ... * x_i along ``dim``.

    Gradient: dL/dx_j = sum_{i>=j} g_i * prod_{k<=i, k!=j} x_k, obtained by differentiating the
    recurrence y_i = y_{i-1} * x_i (right also where some x_k = 0)."""
    if dtype is not None:
        x = x.to(dtype)
    elif x.array.dtype.kind in "biu":
        x = x.to(_dt.int64)  # integer and bool inputs accumulate in int64, as in PyTorch
    if x.ndim == 0:
        return x.clone()
    d = normalize_dim("cumprod", dim, x.ndim)
    if x.shape[d] == 0:
        return x.clone()
    out = []
    for step in _steps(x, d):
        out.append(step if not out else out[-1] * step)
    return cat(out, dim=d)


def logcumsumexp(x, dim):
    """y_i = log(exp(x_0) + ... + exp(x_i)) along ``dim``, computed stably step by step:
    with m = max(y_{i-1}, x_i) (a constant for the graph),  y_i = m + log(exp(y_{i-1} - m) + exp(x_i - m)).

    Gradient: dL/dx_j = sum_{i>=j} g_i * exp(x_j - y_i)  (a softmax over the prefix), obtained by
    differentiating that recurrence."""
    if x.array.dtype.kind != "f":
        raise TypeError(f"logcumsumexp: expected a floating point input, got dtype {x.dtype}")
    if x.ndim == 0:
        return x.clone()
    d = normalize_dim("logcumsumexp", dim, x.ndim)
    if x.shape[d] == 0:
        return x.clone()
    out = []
    for step in _steps(x, d):
        if not out:
            out.append(step * 1)
            continue
        prev = out[-1]
        xp = array_module(step.array)
        m = xp.maximum(prev.array, step.array)
        m = Tensor._wrap(xp.where(xp.isfinite(m), m, 0).astype(step.array.dtype))  # -inf/inf: shift by 0
        out.append(m + ((prev - m).exp() + (step - m).exp()).log())
    return cat(out, dim=d)


def cummax(x, dim):
    """Running maximum along ``dim`` and the index where it was reached (the latest index on ties;
    a NaN wins and stays).  Gradient: dL/dx[indices[i]] += dL/dvalues[i]."""
    return _cum_extreme(x, dim, "cummax")


def cummin(x, dim):
    """Running minimum along ``dim`` and its index (latest on ties; NaN wins and stays).
    Gradient: dL/dx[indices[i]] += dL/dvalues[i]."""
    return _cum_extreme(x, dim, "cummin")


def _cum_extreme(x, dim, name):
    if x.ndim == 0:
        return ValuesIndices((x.clone(), Tensor._wrap(np.zeros((), dtype=np.int64))))
    d = normalize_dim(name, dim, x.ndim)
    xp = array_module(x.array)
    a = xp.moveaxis(x.array, d, 0)
    idx = xp.zeros(a.shape, dtype=np.int64)
    if a.shape[0]:
        best, best_i = a[0], xp.zeros(a.shape[1:], dtype=np.int64)
        floating = a.dtype.kind == "f"
        for i in range(a.shape[0]):
            v = a[i]
            better = (v >= best) if name == "cummax" else (v <= best)
            if floating:
                better = xp.isnan(v) | (better & ~xp.isnan(best))
            best = xp.where(better, v, best)
            best_i = xp.where(better, i, best_i)
            idx[i] = best_i
    idx = xp.moveaxis(idx, 0, d)
    return ValuesIndices((gather(x, d, Tensor._wrap(idx)), Tensor._wrap(idx)))


from ..tensor import Tensor  # noqa: E402
from .shape import cat  # noqa: E402
