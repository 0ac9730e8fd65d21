"""How a lab's tests are written, collected and seeded.

A test is a plain function of the submitted module and a context, registered for one task::

    from tinygrad_edu.labs.testing import lab_test
    from tinygrad_edu.labs.checks import expect_close

    @lab_test("mul_backward", points=2)
    def test_mul_gradient(student, ctx):
        a = ctx.rng.standard_normal((3, 4))
        ...
        expect_close("d(a*b)/da", got, expected)

It passes by returning and fails by raising: ``LabFailure`` (from the ``expect_*`` helpers of
``checks.py``) carries the feedback shown to the student; any other exception is reported as the
student's code raising it (type, message, and the line of the student's file it came from).

**Seeds.**  ``ctx.rng`` is a NumPy generator seeded from the lab number, the test's name and the run's
base seed (``--seed``, default 0): the same submission graded twice sees the same inputs, and a failure
prints the seed that replays it.
"""
import contextlib
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


def lab_test(task, points=1, slow=False):
    """Register the decorated function as a test of ``task`` worth ``points``.  ``slow`` tests (a
    training run) go last, so a mutation run that is already killed never waits for them."""
    if points <= 0:
        raise ValueError(f"lab_test: points must be positive, got {points}")

    def register(function):
        if not function.__name__.startswith("test_"):
            raise ValueError(f"lab_test: a test's name starts with test_, got {function.__name__}")
        function.lab_task, function.lab_points, function.lab_slow = task, points, slow
        return function
    return register


@contextlib.contextmanager
def lent(student, **functions):
    """Replace some of the student's functions by correct ones for the time of the block, so a test grades
    one task alone: ``with lent(student, col2im=correct_col2im): ...`` (restored even when the test fails)."""
    saved = {name: getattr(student, name) for name in functions}
    for name, function in functions.items():
        setattr(student, name, function)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(student, name, function)


def collect(module, visibility):
    """The tests of a tests module, in the order they are written (slow ones last)."""
    tests = [value for value in vars(module).values() if callable(value) and hasattr(value, "lab_task")]
    tests.sort(key=lambda test: (test.lab_slow, test.__code__.co_firstlineno))
    return [TestCase(test.__name__, test.lab_task, test.lab_points, visibility, test) for test in tests]


@dataclass
class TestCase:
    name: str
    task: str
    points: float
    visibility: str           # "public" or "hidden"
    function: object = field(repr=False)


def test_seed(lab_number, test_name, base_seed):
    """The seed of one test: a stable hash (crc32, not Python's salted ``hash``) of what identifies it."""
    return zlib.crc32(f"lab{lab_number}:{test_name}:{base_seed}".encode())


@dataclass
class Context:
    """What a test gets besides the student's module."""
    seed: int
    rng: np.random.Generator
    #: the student's file on disk (a lab that launches processes, such as mpiexec, runs this file)
    submission_path: Path
    #: the submission's folder (tests that write files write here, under .grader/)
    workdir: Path
