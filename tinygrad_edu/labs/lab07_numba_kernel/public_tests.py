"""Lab 7, public checks: ``python -m tinygrad_edu lab check 7 DIR``.

Every expected value comes from PyTorch in float64 (``F.max_pool2d(..., return_indices=True)`` and its
autograd, ``F.layer_norm``), on float32 inputs drawn at grading time (batch > 1, several channels, odd
heights and widths).  Each task is checked alone: the backward tests make the argmax from PyTorch's
indices (never from your forward), and the speed test lends your ``max_pool_values`` a correct
compiled ``max_pool_forward`` (the engine's own kernel) in case it calls it.

The speed test times your ``max_pool_values`` against NumPy's ``x.reshape(N, C, OH, 2, OW, 2).max((3,
5))`` on the same input, single-threaded, in CPU time (so a busy machine slows neither side), after one
warm-up call (the warm-up call is where numba compiles, so compile time is never counted), best of
several calls, one retry."""
import contextlib
import gc
import time

import numba
import numpy as np
import torch
import torch.nn.functional as TF
from numba.core.registry import CPUDispatcher

from tinygrad_edu.kernels.max_pool2d_forward import _max_pool_2x2_loops
from tinygrad_edu.labs.checks import LabFailure, expect_close, expect_equal, expect_true
from tinygrad_edu.labs.testing import lab_test, lent

#: the speed test's input, and how many times faster than NumPy's reshape/max the kernel must be
#: (measured on a 2-core machine: a numba loop about 100x, np.max of a slice per window about 2x)
SPEED_SHAPE = (8, 16, 64, 64)
SPEED_FACTOR = 10


# ----------------------------------------------------------------------------- torch stand-ins
def t64(x):
    return torch.from_numpy(np.asarray(x, dtype=np.float64))


def torch_max_pool(x):
    """PyTorch's 2x2 stride-2 max pool of float32 ``x`` in float64: (out, argmax as the tap 2 i + j)."""
    if x.shape[2] < 2 or x.shape[3] < 2:            # no window at all (PyTorch refuses such an input)
        shape = x.shape[:2] + (x.shape[2] // 2, x.shape[3] // 2)
        return np.zeros(shape), np.zeros(shape, dtype=np.int64)
    out, flat = TF.max_pool2d(t64(x), 2, 2, return_indices=True)
    flat = flat.numpy()
    w = x.shape[3]
    rows = np.arange(flat.shape[2])[:, None] * 2
    cols = np.arange(flat.shape[3])[None, :] * 2
    return out.numpy(), (flat // w - rows) * 2 + (flat % w - cols)


def torch_max_pool_grad(x, grad_out):
    if x.shape[2] < 2 or x.shape[3] < 2:
        return np.zeros(x.shape)
    tx = t64(x).requires_grad_(True)
    (TF.max_pool2d(tx, 2, 2) * t64(grad_out)).sum().backward()
    return tx.grad.numpy()


def torch_layer_norm(x, weight, bias, eps):
    return TF.layer_norm(t64(x), (x.shape[1],), t64(weight), t64(bias), eps).numpy()


def float32(array):
    return np.ascontiguousarray(array, dtype=np.float32)


def random_image(rng, odd=True):
    """(N, C, H, W) float32 with N, C >= 2 and, when ``odd``, an odd height or width (or both)."""
    n, c = (int(v) for v in rng.integers(2, 4, size=2))
    h, w = (int(v) for v in rng.integers(2, 10, size=2))
    if odd and h % 2 == 0 and w % 2 == 0:
        h += 1
    return float32(rng.standard_normal((n, c, h, w)))


@numba.njit(cache=False)
def engine_max_pool_forward(x):
    """A correct max_pool_forward from the engine's own kernel (lent to the speed test)."""
    n, c, h, w = x.shape
    out = np.empty((n, c, h // 2, w // 2), dtype=x.dtype)
    taps = np.empty((n, c, h // 2, w // 2), dtype=np.int64)
    _max_pool_2x2_loops(x, out, taps)
    return out, taps


def expect_compiled(what, function):
    expect_true(what, isinstance(function, CPUDispatcher),
                "is not a numba-compiled function (keep the @numba.njit decorator above it)")


# ----------------------------------------------------------------------------- max_pool_forward
def check_forward(student, x, note=""):
    where = f"max_pool_forward(x of shape {x.shape})"
    got = student.max_pool_forward(x)
    expect_compiled("max_pool_forward", student.max_pool_forward)
    expect_true(where, isinstance(got, tuple) and len(got) == 2, "should return a pair (out, argmax)")
    want, want_argmax = torch_max_pool(x)
    expect_close(f"{where}: out (N, C, H // 2, W // 2), each window's maximum", got[0], want,
                 rtol=0, atol=0)
    argmax = np.asarray(got[1])
    expect_true(f"{where}: argmax", np.issubdtype(argmax.dtype, np.integer),
                f"should hold integers, got dtype {argmax.dtype}")
    expect_close(f"{where}: argmax (the tap k = 2 * i + j of the window's maximum){note}", argmax,
                 want_argmax, rtol=0, atol=0)


@lab_test("max_pool_forward", points=3)
def test_max_pool_forward_matches_torch(student, ctx):
    for _ in range(4):
        check_forward(student, random_image(ctx.rng))
    check_forward(student, float32(ctx.rng.standard_normal((2, 3, 6, 8))))


@lab_test("max_pool_forward", points=2)
def test_max_pool_forward_ties_go_to_the_first(student, ctx):
    for _ in range(2):
        x = random_image(ctx.rng)
        x = float32(ctx.rng.integers(0, 2, size=x.shape))
        check_forward(student, x, note=" with ties (inputs of 0 and 1): the FIRST maximum in the order "
                                       "k = 0, 1, 2, 3 wins, replace only on a strictly greater value")


# ----------------------------------------------------------------------------- max_pool_backward
def check_backward(student, rng, x, note=""):
    where = f"max_pool_backward(grad_out, argmax, x_shape={x.shape})"
    _, argmax = torch_max_pool(x)
    grad_out = float32(rng.standard_normal(argmax.shape))
    got = student.max_pool_backward(grad_out, np.ascontiguousarray(argmax, dtype=np.int64), x.shape)
    expect_compiled("max_pool_backward", student.max_pool_backward)
    expect_close(f"{where}: dx (each window's gradient goes to its argmax element only, zero "
                 f"elsewhere{note})", got, torch_max_pool_grad(x, grad_out), rtol=0, atol=0)
    expect_equal(f"{where}: the dtype of dx (that of grad_out)", str(np.asarray(got).dtype), "float32")


@lab_test("max_pool_backward", points=3)
def test_max_pool_backward_matches_autograd(student, ctx):
    for _ in range(4):
        check_backward(student, ctx.rng, random_image(ctx.rng),
                       note="; an odd last row or column gets no gradient")


@lab_test("max_pool_backward", points=2)
def test_max_pool_backward_every_tap(student, ctx):
    x = float32(ctx.rng.standard_normal((3, 2, 4, 6)))
    for k in range(4):            # make tap k win every window
        boost = np.zeros((2, 2), dtype=np.float32)
        boost[k // 2, k % 2] = 10.0
        check_backward(student, ctx.rng, x + np.tile(boost, (2, 3)), note=f"; here tap {k} = "
                       f"(row {k // 2}, column {k % 2}) of every window wins: dx[2p + k // 2, 2q + k % 2]")


# ----------------------------------------------------------------------------- layer_norm_rows
def random_layer_norm(rng, scale=3.0, offset=0.0, rows=None, n=None):
    rows = int(rng.integers(2, 6)) if rows is None else rows
    n = int(rng.integers(3, 40)) if n is None else n
    x = float32(offset + scale * rng.standard_normal((rows, n)))
    return x, float32(rng.standard_normal(n)), float32(rng.standard_normal(n))


def check_layer_norm(student, x, weight, bias, eps, note="", rtol=1e-6, atol=1e-6):
    where = f"layer_norm_rows(x of shape {x.shape}, eps={eps:g})"
    got = student.layer_norm_rows(x, weight, bias, eps)
    expect_compiled("layer_norm_rows", student.layer_norm_rows)
    expect_close(f"{where}: y = (x - mu) / sqrt(var + eps) * w + b, var = mean of (x - mu)^2 (divide by "
                 f"n){note}", got, torch_layer_norm(x, weight, bias, eps), rtol=rtol, atol=atol)
    expect_equal(f"{where}: the dtype of y", str(np.asarray(got).dtype), "float32")


@lab_test("layer_norm_rows", points=3)
def test_layer_norm_matches_torch(student, ctx):
    for _ in range(4):
        x, weight, bias = random_layer_norm(ctx.rng, offset=float(ctx.rng.uniform(-2, 2)))
        check_layer_norm(student, x, weight, bias, 1e-5)


@lab_test("layer_norm_rows", points=2)
def test_layer_norm_eps_inside_the_root(student, ctx):
    for eps in (1e-5, 1e-3):
        x, weight, bias = random_layer_norm(ctx.rng, scale=1e-3)
        x[0] = 0.5                     # a constant row: var = 0, y = b
        check_layer_norm(student, x, weight, bias, eps,
                         note=" (here var is about 1e-6, so eps matters: add it to var, inside the "
                              "square root)")


@lab_test("layer_norm_rows", points=2)
def test_layer_norm_large_offset(student, ctx):
    x, weight, bias = random_layer_norm(ctx.rng, scale=0.01, offset=1e4, n=64)
    check_layer_norm(student, x, weight, bias, 1e-6,
                     note=" for x = 10000 + noise of size 0.01: accumulate the sums in float64 (a "
                          "float32 sum of 64 values near 1e4 is off by about 0.06) and use two passes "
                          "(E[x^2] - mu^2 cancels every digit)", rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- speed
def numpy_max_pool_values(x):
    n, c, h, w = x.shape
    return x[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def check_values(student, x, note=""):
    with lent(student, max_pool_forward=engine_max_pool_forward):
        got = student.max_pool_values(x)
    want, _ = torch_max_pool(x)
    expect_close(f"max_pool_values(x of shape {x.shape}): each window's maximum{note}", got, want,
                 rtol=0, atol=0)


@contextlib.contextmanager
def single_thread():
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        numba.set_num_threads(threads)
        if enabled:
            gc.enable()


def best_time(function, x, repeat):
    """The least CPU time of this thread over ``repeat`` calls, in seconds.  CPU time, not the clock on
    the wall: on a busy machine a call that waits for a core is not charged for the wait (with one
    numba thread, a ``parallel=True`` kernel runs on this thread too)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.thread_time()
        function(x)
        best = min(best, time.thread_time() - start)
    return best


def why_slow(function):
    """What is likely wrong with a slow ``max_pool_values``, from how it is compiled."""
    if not isinstance(function, CPUDispatcher):
        return ("max_pool_values is a plain Python function: every x[...] and max() goes through the "
                "interpreter; compile it with @numba.njit")
    options = function.targetoptions
    if options.get("forceobj") or not options.get("nopython", True):
        return ("max_pool_values is compiled in object mode (forceobj): every operation still goes "
                "through Python objects; use @numba.njit (nopython mode)")
    return ("it is compiled in nopython mode, so the time goes inside the loop: is there a NumPy call per "
            "window (np.max of a slice makes an array object every time)? compare the four taps with "
            "scalar max(), and loop in memory order (the last index innermost)")


def check_speed(student, rng):
    x = float32(rng.standard_normal(SPEED_SHAPE))
    with lent(student, max_pool_forward=engine_max_pool_forward), single_thread():
        got = student.max_pool_values(x)              # the warm-up call: numba compiles here
        expect_close(f"max_pool_values(x of shape {x.shape})", got, numpy_max_pool_values(x), rtol=0,
                     atol=0)
        for attempt in range(2):
            reference = best_time(numpy_max_pool_values, x, 7)
            budget = reference / SPEED_FACTOR
            yours = best_time(student.max_pool_values, x, 1)
            if yours <= 20 * budget:                  # far over budget: no point in timing it more
                yours = min(yours, best_time(student.max_pool_values, x, 7))
            if yours <= budget:
                return
            if yours > 20 * budget:
                break
    raise LabFailure(f"max_pool_values on a {SPEED_SHAPE} float32 input, one thread, CPU time: "
                     f"{yours * 1e3:.3f} ms, NumPy's reshape/max {reference * 1e3:.3f} ms, so "
                     f"{reference / yours:.1f} times as fast; at least {SPEED_FACTOR} times is needed "
                     f"({why_slow(student.max_pool_values)})")


@lab_test("speed", points=2)
def test_max_pool_values_matches_torch(student, ctx):
    for _ in range(3):
        check_values(student, random_image(ctx.rng))
    check_values(student, -float32(ctx.rng.integers(1, 4, size=(2, 3, 5, 6))),
                 note=" (negative values: start each window from one of its taps, not from 0)")


@lab_test("speed", points=3)
def test_max_pool_values_beats_numpy(student, ctx):
    check_speed(student, ctx.rng)
