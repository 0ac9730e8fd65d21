"""Run a submission's tests in a process of their own, one process per task, with limits.

Why a process per task: whatever the student's code does — segfault in NumPy, an endless loop in C,
``os._exit``, eating all memory — ends that process only, and costs only that task's points.  The
grader (this process) reads the results the runner wrote to a file; when there is no file, every test of
the task gets the same explanation (killed by the time limit, ran out of memory, exit code N).

Limits (POSIX ``resource``, set in the child before it starts Python):

* memory: ``RLIMIT_AS``, the address space, ``lab.memory_limit_mb`` (4 GiB by default: NumPy and numba
  reserve address space they never touch, so much less breaks imports, not students);
* time: the runner's own alarm stops a test at ``lab.time_limit_s`` and goes on with the next task's
  tests in a new process; code that does not return to Python (a C loop) is killed here
  ``KILL_SLACK_S`` seconds later, with its whole process group.

This protects the grader from accidents, not from a student who sets out to cheat: run course grading
where submissions cannot reach the grader's files (Gradescope's container, or a throw-away account).
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from .runner import TestResult, test_modules
from .testing import collect, test_seed

KILL_SLACK_S = 5.0


def _limits(memory_mb):
    def apply():
        import resource
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def run_task_isolated(lab, submission_path, task, visibility, seed):
    """The results of one task's tests, run by ``runner.py`` in a child process with the lab's limits."""
    submission_path = Path(submission_path).resolve()
    with tempfile.TemporaryDirectory(prefix="tinygrad_edu_lab_") as scratch:
        out = Path(scratch) / "results.json"
        command = [sys.executable, "-m", "tinygrad_edu.labs.runner", "--lab", str(lab.number),
                   "--submission", str(submission_path), "--tasks", task,
                   "--visibility", ",".join(visibility), "--seed", str(seed), "--out", str(out),
                   "--time-limit", str(lab.time_limit_s)]
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
        process = subprocess.Popen(command, cwd=submission_path.parent, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                                   preexec_fn=_limits(lab.memory_limit_mb))
        try:
            _, stderr = process.communicate(timeout=lab.time_limit_s + KILL_SLACK_S)
            problem = None if out.exists() else _why_no_results(process.returncode, stderr, lab)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            problem = ("timeout", f"killed after {lab.time_limit_s + KILL_SLACK_S:.0f} s: the task's code "
                                  f"never returned (an endless loop?)")
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if problem is None:
            return [TestResult(**item) for item in json.loads(out.read_text())]
    return _all_failed(lab, task, visibility, seed, *problem)


def _why_no_results(returncode, stderr, lab):
    tail = stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
    if b"MemoryError" in stderr or returncode == -signal.SIGKILL:
        return "error", f"ran out of memory (the limit is {lab.memory_limit_mb} MB): {tail[0]}"
    if returncode is not None and returncode < 0:
        return "error", f"the process was killed by signal {signal.Signals(-returncode).name} " \
                        f"(a crash in compiled code?)"
    return "error", f"the process ended with exit code {returncode} before reporting " \
                    f"(os._exit or a crash in the test run?): {tail[0]}"


def _all_failed(lab, task, visibility, seed, status, feedback):
    results = []
    for which, module in test_modules(lab, visibility).items():
        for case in collect(module, which) if module is not None else []:
            if case.task == task:
                results.append(TestResult(case.name, task, which, case.points, 0.0, status, feedback,
                                          test_seed(lab.number, case.name, seed)))
    return results
