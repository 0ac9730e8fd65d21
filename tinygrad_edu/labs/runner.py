"""Run the tests of one lab's tasks on one submission, and say what happened to each test.

Two ways to call it:

* ``run_tests(lab, ...)`` in this process: what the grader's own tests and the mutation run use (fast:
  no new process per run).  A time limit still applies, through ``SIGALRM``.
* ``python -m tinygrad_edu.labs.runner --lab N --submission FILE --tasks a,b --out RESULT.json`` in a
  process of its own: what ``sandbox.py`` starts for ``lab check`` and ``lab grade``, so that a crash,
  an endless loop, a memory blow-up or ``sys.exit`` in a student's code ends that process only.

Each test ends in one of: passed, failed (a ``LabFailure``: the feedback), error (the student's code
raised: its type, message and line), timeout.
"""
import argparse
import contextlib
import importlib
import io
import itertools
import json
import signal
import sys
import time
import traceback
import types
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .checks import LabFailure
from .testing import Context, collect, test_seed

_loads = itertools.count()


class TimeLimit(BaseException):
    """Raised by the alarm when a test runs past its share of the time limit (a BaseException, so that a
    student's ``except Exception`` cannot swallow it)."""


@dataclass
class TestResult:
    name: str
    task: str
    visibility: str
    points: float
    score: float
    status: str               # passed | failed | error | timeout
    feedback: str
    seed: int


def test_modules(lab, visibility):
    """The public and/or hidden tests modules of ``lab`` (``visibility``: a tuple of names).  A missing
    hidden module (a student's install) is reported as ``None``."""
    modules = {}
    for which in visibility:
        try:
            modules[which] = importlib.import_module(lab.module(f"{which}_tests"))
        except ModuleNotFoundError as exc:
            if not lab.module(f"{which}_tests").startswith(exc.name or "?"):
                raise
            modules[which] = None
    return modules


def load_submission(lab, path, source=None):
    """The student's module, from ``path`` (or from ``source`` text, named after ``path``).  Returns
    ``(module, None)`` or ``(None, feedback)`` when it does not import."""
    path = Path(path)
    if source is None:
        try:
            source = path.read_text()
        except OSError as exc:
            return None, f"cannot read {path}: {exc.strerror}"
    name = f"{lab.module_name}_submission_{next(_loads)}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, str(path), "exec"), module.__dict__)
    except SyntaxError as exc:
        return None, f"{path.name} does not compile: {exc.msg} at line {exc.lineno}"
    except (Exception, SystemExit) as exc:
        return None, f"{path.name} raises while being imported: {_describe(exc, path)}"
    return module, None


def _describe(exc, path):
    """``TypeError: ... (scalar_autograd.py line 12, in backward)``: where in the student's file."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == str(path)]
    if frames:
        frame = frames[-1]
        text += f" ({Path(path).name} line {frame.lineno}, in {frame.name})"
    return text


def _on_alarm(signum, frame):
    raise TimeLimit()


def run_tests(lab, submission_path, tasks=None, visibility=("public", "hidden"), seed=0, source=None,
              time_limit_s=None, stop_at_first_failure=False):
    """Results of the tests of ``tasks`` (all by default), run here, in this process."""
    submission_path = Path(submission_path)
    modules = test_modules(lab, visibility)
    cases = []
    for which, module in modules.items():
        if module is not None:
            cases.extend(collect(module, which))
    if tasks is not None:
        cases = [case for case in cases if case.task in tasks]
    student, import_problem = load_submission(lab, submission_path, source)
    limit = lab.time_limit_s if time_limit_s is None else time_limit_s
    deadline = time.monotonic() + limit
    results = []
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        for case in cases:
            case_seed = test_seed(lab.number, case.name, seed)
            if import_problem is not None:
                result = ("error", import_problem)
            elif stop_at_first_failure and results and results[-1].status != "passed":
                result = ("error", "not run: an earlier test failed")
            else:
                result = _run_one(case, student, submission_path, case_seed, deadline)
            status, feedback = result
            score = case.points if status == "passed" else 0.0
            results.append(TestResult(case.name, case.task, case.visibility, case.points, score, status,
                                      feedback, case_seed))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return results


def _run_one(case, student, submission_path, case_seed, deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        return "timeout", "not run: the task's time limit was used up by the tests before it"
    ctx = Context(case_seed, np.random.default_rng(case_seed), submission_path, submission_path.parent)
    signal.setitimer(signal.ITIMER_REAL, left)
    try:
        with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
            case.function(student, ctx)
        return "passed", ""
    except TimeLimit:
        return "timeout", "still running when the task's time limit ran out (an endless loop?)"
    except LabFailure as failure:
        return "failed", str(failure)
    except NotImplementedError as exc:
        return "error", f"not implemented yet: {exc}" if str(exc) else "not implemented yet"
    except SystemExit as exc:
        return "error", f"your code called sys.exit({exc.code!r}); a function must return, not exit"
    except MemoryError:
        return "error", "ran out of memory (an array far larger than needed?)"
    except RecursionError:
        return "error", "RecursionError: the recursion never ends (a missing base case, or a cycle?)"
    except Exception as exc:                       # the student's code raised: say what and where
        return "error", "your code raised " + _describe(exc, submission_path)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def main(argv=None):
    """The sandboxed entry point: run, then write the results as JSON to ``--out``."""
    parser = argparse.ArgumentParser(prog="python -m tinygrad_edu.labs.runner")
    parser.add_argument("--lab", type=int, required=True)
    parser.add_argument("--submission", required=True)
    parser.add_argument("--tasks", default="")
    parser.add_argument("--visibility", default="public,hidden")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--time-limit", type=float, required=True)
    args = parser.parse_args(argv)
    from . import get_lab
    lab = get_lab(args.lab)
    tasks = set(args.tasks.split(",")) if args.tasks else None
    results = run_tests(lab, args.submission, tasks, tuple(args.visibility.split(",")), args.seed,
                        time_limit_s=args.time_limit)
    Path(args.out).write_text(json.dumps([asdict(result) for result in results]))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
