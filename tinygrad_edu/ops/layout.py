"""Layout ops that move entries around: roll, diagonal, diag, unfold, repeat_interleave.

Each one is a *read* of x at an integer index array (``x[..., idx, ...]``), built here from
``arange`` and friends.  Reading is differentiable through indexing: the gradient of
``y = x[idx]`` is a scatter-add of g back to the positions that were read,

    dL/dx = zeros_like(x);  dL/dx[idx] += dL/dy

so an entry read twice (repeat_interleave, overlapping unfold windows) sums its gradients, and an
entry never read (off-diagonal) gets 0.  ``diag`` of a vector *writes* instead: it places the
vector on a diagonal of a zero matrix, whose gradient is reading that diagonal of g.

Tests: tests/op_registry/layout.py
"""
import numpy as np

from .checks import normalize_dim
from .indexing import IndexAdd, getitem


def _take(x, d, idx):
    """x[..., idx, ...] with the integer array ``idx`` in position ``d`` (its shape replaces dim d)."""
    return getitem(x, (slice(None),) * d + (idx,))


def roll(x, shifts, dims=None):
    """Shift entries along ``dims`` by ``shifts`` with wrap-around: y[i] = x[(i - shift) mod n].
    ``dims=None``: roll the flattened tensor and restore the shape.
    Gradient: roll g back, dL/dx[j] = g[(j + shift) mod n]."""
    if dims is None:
        if not isinstance(shifts, int):
            if len(shifts) != 1:
                raise RuntimeError(f"roll: without dims, shifts must be one number, got {shifts}")
            shifts = shifts[0]
        return roll(x.reshape(-1), shifts, 0).reshape(x.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    for s, dim in zip(shifts, dims):
        d = normalize_dim("roll", dim, x.ndim)
        n = x.shape[d]
        if n:
            x = _take(x, d, (np.arange(n) - s) % n)
    return x


def diagonal(x, offset=0, dim1=0, dim2=1):
    """The entries x[..., i, i + offset, ...] of the (dim1, dim2) planes, as a new last dim.
    Gradient: g placed back on that diagonal, zeros elsewhere."""
    return _diagonal(x, offset, dim1, dim2)


def _diagonal(x, offset, dim1, dim2):
    d1, d2 = normalize_dim("diagonal", dim1, x.ndim), normalize_dim("diagonal", dim2, x.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal: dim1 and dim2 must differ, both are {d1}")
    rest = [d for d in range(x.ndim) if d not in (d1, d2)]
    moved = x.permute(*rest, d1, d2)
    rows, cols = x.shape[d1], x.shape[d2]
    start_r, start_c = (0, offset) if offset >= 0 else (-offset, 0)
    k = max(0, min(rows - start_r, cols - start_c))
    i = np.arange(k)
    return getitem(moved, (Ellipsis, i + start_r, i + start_c))


def diag(x, diagonal=0):
    """Vector -> the square matrix with x on diagonal ``diagonal`` (above the main one when > 0);
    matrix -> that diagonal as a vector.  Gradients: read g's diagonal / put g on the diagonal."""
    if x.ndim == 1:
        n = x.shape[0] + abs(diagonal)
        i = np.arange(x.shape[0])
        r, c = (i, i + diagonal) if diagonal >= 0 else (i - diagonal, i)
        return IndexAdd.apply(x, shape=(n, n), index=(r, c), advanced=True)
    if x.ndim == 2:
        return _diagonal(x, diagonal, 0, 1)  # (the argument named diagonal hides the function)
    raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got shape {tuple(x.shape)}")


def unfold(x, dimension, size, step):
    """All windows of ``size`` entries along ``dimension``, ``step`` apart: that dim becomes the
    window count (n - size) // step + 1 and a new last dim of ``size`` holds each window.
    Gradient: each entry collects g from every window that contains it."""
    d = normalize_dim("unfold", dimension, max(x.ndim, 1))
    if x.ndim == 0:
        x, d = x.reshape(1), 0
        squeeze_back = True
    else:
        squeeze_back = False
    n = x.shape[d]
    if size > n or size < 0 or step <= 0:
        raise RuntimeError(f"unfold: need 0 <= size <= {n} (the size of dim {dimension}) and step > 0, "
                           f"got size={size}, step={step}")
    count = (n - size) // step + 1
    idx = np.arange(count)[:, None] * step + np.arange(size)[None, :]
    y = _take(x, d, idx)                      # dims: ..., count, size, ...
    order = [a for a in range(y.ndim) if a != d + 1] + [d + 1]
    y = y.permute(*order)
    return y.squeeze(0) if squeeze_back else y


def repeat_interleave(x, repeats, dim=None, output_size=None):
    """Repeat each entry (each slice along ``dim``) ``repeats`` times in place: [a, b] -> [a, a, b, b].
    ``repeats``: an int or a 1-D integer tensor (one count per entry); ``dim=None`` flattens first.
    Gradient: each entry gets the sum of g over its copies."""
    if dim is None:
        x, d = x.reshape(-1), 0
    else:
        d = normalize_dim("repeat_interleave", dim, max(x.ndim, 1))
        if x.ndim == 0:
            x = x.reshape(1)
    n = x.shape[d]
    counts = repeats.array if isinstance(repeats, Tensor) else repeats
    counts = np.asarray(counts)
    if counts.dtype.kind not in "iu":
        raise RuntimeError(f"repeat_interleave: repeats must be integers, got dtype {counts.dtype}")
    if counts.ndim == 1 and counts.shape[0] == 1:
        counts = counts[0]
    if counts.ndim > 1 or (counts.ndim == 1 and counts.shape[0] != n):
        raise RuntimeError(f"repeat_interleave: repeats must have shape ({n},) for dim of size {n}, "
                           f"got shape {tuple(counts.shape)}")
    if (counts < 0).any():
        raise RuntimeError(f"repeat_interleave: repeats must be non-negative, got {counts.tolist()}")
    return _take(x, d, np.repeat(np.arange(n), counts))


from ..tensor import Tensor  # noqa: E402
