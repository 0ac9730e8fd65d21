"""Planted bugs: the grader's own test.  Each bug of a lab's ``bugs.py`` is applied to the reference,
the result is graded, and the bug counts as *caught* when

1. its task loses points,
2. every other task keeps all of its points (the feedback points at the right place), and
3. a failed test of its task shows a message containing the bug's ``message`` fragment.

``bug_table`` renders the outcome as the table the docs show: bug → test that caught it → message.
"""
import contextlib
import importlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .grader import grade
from .student import reference_source


def _bugs_module(lab):
    try:
        return importlib.import_module(lab.module("bugs"))
    except ModuleNotFoundError as exc:
        if lab.module("bugs").startswith(exc.name or "?"):
            return None                                # a student's install: no instructor/ folder
        raise


def load_bugs(lab):
    """The lab's ``BUGS`` (``None`` where ``instructor/bugs.py`` is not installed)."""
    module = _bugs_module(lab)
    return None if module is None else list(module.BUGS)


def load_equivalent_mutants(lab):
    module = _bugs_module(lab)
    return {} if module is None else dict(getattr(module, "EQUIVALENT_MUTANTS", {}))


def plant(source, bug):
    """``source`` with ``bug.old`` replaced by ``bug.new`` at its ``bug.occurrence``-th place; a
    ``ValueError`` when that place does not exist (the catalogue no longer matches the reference)."""
    start = -1
    for _ in range(bug.occurrence):
        start = source.find(bug.old, start + 1)
        if start < 0:
            raise ValueError(f"bug {bug.name}: {bug.old!r} occurs fewer than {bug.occurrence} times in "
                             f"the reference")
    return source[:start] + bug.new + source[start + len(bug.old):]


@dataclass
class BugOutcome:
    bug: object
    grade: object
    caught: bool
    problem: str
    #: the failed tests of the bug's task: (test name, feedback)
    shown: list


@contextlib.contextmanager
def graded_file(lab, source):
    """``source`` written to a file of its own named like the student's, for the time of the block (tests
    that start processes, such as lab 8's mpiexec, run that file)."""
    with tempfile.TemporaryDirectory(prefix="tinygrad_edu_planted_") as folder:
        path = Path(folder) / lab.student_file
        path.write_text(source)
        yield path


def grade_source(lab, source, seed=0, tasks=None):
    """Grade ``source`` in this process (see ``graded_file``); ``tasks``: only these tasks' tests."""
    with graded_file(lab, source) as path:
        return grade(lab, path, seed=seed, isolate=False, tasks=tasks)


def plant_and_grade(lab, bug, seed=0):
    result = grade_source(lab, plant(reference_source(lab), bug), seed)
    scores = result.task_scores()
    if bug.task not in scores:
        return BugOutcome(bug, result, False, f"task {bug.task!r} is not a task of lab {lab.number}", [])
    shown = [(failure.name, failure.feedback) for failure in result.failures(bug.task)]
    problems = []
    if scores[bug.task][0] == scores[bug.task][1]:
        problems.append(f"task {bug.task} kept all its points")
    others = [task for task, (score, most) in scores.items() if task != bug.task and score < most]
    if others:
        problems.append(f"other tasks lost points too: {', '.join(others)}")
    if shown and not any(bug.message in feedback for _, feedback in shown):
        problems.append(f"no feedback contains {bug.message!r}; shown: {shown[0][1]!r}")
    return BugOutcome(bug, result, not problems, "; ".join(problems), shown)


def caught_by(outcome):
    """The test the docs name for a bug, with its feedback: the first failed test of the bug's task whose
    feedback holds the bug's message (the first failed one when none does; "(none)" when none failed)."""
    for name, feedback in outcome.shown:
        if outcome.bug.message in feedback:
            return name, feedback
    return outcome.shown[0] if outcome.shown else ("(none)", outcome.problem)


def bug_table(lab, outcomes):
    """A Markdown table of the outcomes (the docs' bug → test → message table)."""
    lines = [f"Lab {lab.number} ({lab.title}): planted bugs", "",
             "| bug | task | caught by | message shown |", "| --- | --- | --- | --- |"]
    for outcome in outcomes:
        test, message = caught_by(outcome)
        caught = "" if outcome.caught else " **(not caught)**"
        lines.append(f"| {outcome.bug.description}{caught} | {outcome.bug.task} | `{test}` | "
                     f"{_cell(message)} |")
    return "\n".join(lines)


def _cell(text, limit=220):
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[:limit - 3] + "..."
