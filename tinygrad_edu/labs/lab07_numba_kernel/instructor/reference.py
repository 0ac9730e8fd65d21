"""Lab 7 — compiled kernels: loops that numba turns into machine code, beside their NumPy versions.

NumPy is fast when one call does a lot of work; a loop written in Python is slow because every
``x[i, j]`` and every ``+`` goes through the interpreter (about 50-100 ns each).  ``@numba.njit``
compiles a function to machine code the first time it is called with a given set of argument types
(the *signature*: dtypes, number of dimensions, memory layout); later calls with the same types run
the compiled code directly.  In that code a loop over an array costs about what it costs in C, so a
kernel may read each input once and write each output once, where NumPy makes a full temporary array
per operation.

Rules of ``nopython`` mode (what ``njit`` means): only NumPy arrays, numbers, tuples and a subset of
NumPy functions; no Python lists of mixed types, no dicts of arbitrary objects, no classes.  Type
errors are reported when the function is *compiled*, i.e. at its first call, as a ``TypingError``.

The decorators below also switch on ``boundscheck=True``: an index out of range raises ``IndexError``
instead of silently reading (or overwriting!) memory outside the array, which is what compiled code
does otherwise.  It costs a little speed; a production kernel switches it off once its tests pass.

Shapes follow PyTorch: images are ``(N, C, H, W)``.  Every pooling here is 2x2 with stride 2 and no
padding: window ``(p, q)`` covers rows ``2p, 2p + 1`` and columns ``2q, 2q + 1``; there are
``OH = H // 2`` by ``OW = W // 2`` windows (an odd last row or column is in no window, as in
``F.max_pool2d(x, 2)``).  Inside a window, tap ``k = 2 * i + j`` is row ``i``, column ``j``.

Your tasks (see handout.md).  Run the public checks with ``python -m tinygrad_edu lab check 7 .``.
"""
import numba
import numpy as np


@numba.njit(cache=False, boundscheck=True)
def max_pool_forward(x):
    """2x2 stride-2 max pooling of ``x`` (N, C, H, W) -> ``(out, argmax)``, both (N, C, H // 2, W // 2):
    ``out`` in x's dtype, ``argmax`` int64, the tap ``k = 2 * i + j`` (0..3) of the FIRST maximum of
    the window, scanning taps in the order k = 0, 1, 2, 3 and replacing only on a strictly greater
    value (as ``np.argmax`` and PyTorch).  One loop nest, each input read at most once."""
    n, c, h, w = x.shape
    # BEGIN SOLUTION max_pool_forward
    oh, ow = h // 2, w // 2
    out = np.empty((n, c, oh, ow), dtype=x.dtype)
    argmax = np.empty((n, c, oh, ow), dtype=np.int64)
    for b in range(n):
        for ch in range(c):
            for p in range(oh):
                for q in range(ow):
                    best = x[b, ch, 2 * p, 2 * q]
                    won = 0
                    for k in range(1, 4):
                        value = x[b, ch, 2 * p + k // 2, 2 * q + k % 2]
                        if value > best:
                            best = value
                            won = k
                    out[b, ch, p, q] = best
                    argmax[b, ch, p, q] = won
    return out, argmax
    # END SOLUTION


@numba.njit(cache=False, boundscheck=True)
def max_pool_backward(grad_out, argmax, x_shape):
    """The gradient of ``max_pool_forward`` with respect to x (a tuple ``x_shape`` = (N, C, H, W)):

        dx[n, c, 2p + k // 2, 2q + k % 2] = grad_out[n, c, p, q]   with k = argmax[n, c, p, q]

    and zero everywhere else (the taps that lost, and an odd last row or column that no window saw).
    The windows do not overlap, so each element of dx receives at most one gradient.  dx has
    grad_out's dtype."""
    n, c, oh, ow = grad_out.shape
    # BEGIN SOLUTION max_pool_backward
    dx = np.zeros(x_shape, dtype=grad_out.dtype)
    for b in range(n):
        for ch in range(c):
            for p in range(oh):
                for q in range(ow):
                    k = argmax[b, ch, p, q]
                    dx[b, ch, 2 * p + k // 2, 2 * q + k % 2] = grad_out[b, ch, p, q]
    return dx
    # END SOLUTION


@numba.njit(cache=False, boundscheck=True)
def layer_norm_rows(x, weight, bias, eps):
    """Layer norm of every row of ``x`` (R, n), float32, with ``weight`` and ``bias`` (n,):

        mu = sum_j x_j / n        var = sum_j (x_j - mu)^2 / n        y = (x - mu) / sqrt(var + eps) * w + b

    Two passes over the row (the mean first, then the squared deviations): the one-pass formula
    E[x^2] - mu^2 subtracts two large, nearly equal numbers and loses every digit of a small
    variance.  Accumulate the sums in float64 (``total = 0.0`` is a float64 in numba; adding float32
    entries to it promotes them), compute y in float64, store it into a float32 output."""
    rows, n = x.shape
    # BEGIN SOLUTION layer_norm_rows
    y = np.empty((rows, n), dtype=x.dtype)
    for r in range(rows):
        total = 0.0
        for j in range(n):
            total += x[r, j]
        mu = total / n
        squares = 0.0
        for j in range(n):
            deviation = x[r, j] - mu
            squares += deviation * deviation
        inv_std = 1.0 / np.sqrt(squares / n + eps)
        for j in range(n):
            y[r, j] = (x[r, j] - mu) * inv_std * weight[j] + bias[j]
    return y
    # END SOLUTION


@numba.njit(cache=False, boundscheck=True)
def max_pool_values(x):
    """The maxima of ``max_pool_forward`` alone: (N, C, H, W) -> (N, C, H // 2, W // 2), x's dtype.

    The speed task: it must be much faster than NumPy's ``x.reshape(N, C, OH, 2, OW, 2).max((3, 5))``
    on a (8, 16, 64, 64) float32 input, single-threaded (handout.md says how much).  Loop in memory
    order (n, c, then rows, then columns: the last index moves fastest), compare the four taps with
    plain scalar code; a NumPy call per window (``np.max(x[..., 2p:2p + 2, 2q:2q + 2])``) makes a
    small array object per window and is slower than NumPy's own reduction."""
    n, c, h, w = x.shape
    # BEGIN SOLUTION speed
    oh, ow = h // 2, w // 2
    out = np.empty((n, c, oh, ow), dtype=x.dtype)
    for b in range(n):
        for ch in range(c):
            for p in range(oh):
                for q in range(ow):
                    top = max(x[b, ch, 2 * p, 2 * q], x[b, ch, 2 * p, 2 * q + 1])
                    bottom = max(x[b, ch, 2 * p + 1, 2 * q], x[b, ch, 2 * p + 1, 2 * q + 1])
                    out[b, ch, p, q] = max(top, bottom)
    return out
    # END SOLUTION
