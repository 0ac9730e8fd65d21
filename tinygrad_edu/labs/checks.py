"""Feedback a student can act on: what failed, with the shape, a sample of the values, and where.

Every helper raises ``LabFailure`` with one message that names the quantity (``what``), then the
difference.  Messages show the student's values and the expected values at the worst index only, never
the reference code; a test's inputs are drawn at grading time, so no expected value is stored in the
tests in plain text.
"""
import numpy as np


class LabFailure(AssertionError):
    """A test's verdict on the student's code: its message is the feedback."""


def _array(value, what):
    data = getattr(value, "data", value)            # a Tensor: its array
    if hasattr(data, "get"):                       # a CuPy array
        data = data.get()
    try:
        return np.asarray(data, dtype=np.float64) if not isinstance(data, np.ndarray) else data
    except (TypeError, ValueError):
        raise LabFailure(f"{what}: expected an array of numbers, got {type(value).__name__}") from None


def _short(values, limit=6):
    flat = np.asarray(values).ravel()
    text = np.array2string(flat[:limit], precision=5, separator=", ", suppress_small=False)
    return text[:-1] + ", ...]" if flat.size > limit else text


def _index(flat, shape):
    """A flat position as a tuple of plain ints, ``(1, 2)`` (``()`` for a scalar)."""
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def expect_shape(what, got, shape):
    got_shape = tuple(np.shape(getattr(got, "data", got)))
    if got_shape != tuple(shape):
        raise LabFailure(f"{what}: shape {got_shape}, expected {tuple(shape)}")


def expect_close(what, got, expected, rtol=1e-5, atol=1e-7):
    """``got`` equals ``expected`` to ``rtol``/``atol`` elementwise, NaN where NaN; the message names
    the shape, the index of the worst element, both values there, and how many elements are off."""
    if got is None:
        raise LabFailure(f"{what}: got None (did the function forget to return, or to set .grad?)")
    expected = _array(expected, what)
    got = _array(got, what)
    expect_shape(what, got, expected.shape)
    got64, exp64 = got.astype(np.float64), expected.astype(np.float64)
    nan_got, nan_exp = np.isnan(got64), np.isnan(exp64)
    if (nan_got != nan_exp).any():
        index = _index(np.argmax(nan_got != nan_exp), got.shape)
        raise LabFailure(f"{what}: {'NaN' if nan_got[index] else got64[index]!r} at index {index}, expected "
                         f"{exp64[index]!r} (NaN appears where it should not, or is missing; "
                         f"is a max subtracted before exp? is a division by zero possible?)")
    with np.errstate(invalid="ignore"):
        error = np.where(nan_exp, 0.0, np.abs(got64 - exp64))
        bound = atol + rtol * np.abs(np.where(nan_exp, 0.0, exp64))
        bad = ~(error <= bound) & ~((got64 == exp64) & np.isinf(exp64))
    if bad.any():
        index = _index(np.argmax(np.where(bad, error - bound, -np.inf)), got.shape)
        count = int(bad.sum())
        raise LabFailure(f"{what}: {got64[index]:.6g} at index {index}, expected {exp64[index]:.6g} "
                         f"({count} of {got.size} elements off; shape {got.shape}; "
                         f"yours begin {_short(got64)}, expected {_short(exp64)})")


def expect_equal(what, got, expected):
    """Exact equality of plain values (ints, tuples, strings, lists of them)."""
    if got != expected:
        raise LabFailure(f"{what}: got {got!r}, expected {expected!r}")


def expect_true(what, condition, message):
    if not condition:
        raise LabFailure(f"{what}: {message}")
