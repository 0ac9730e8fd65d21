"""Points per task, the report a student reads, Gradescope's ``results.json``, and a course's CSV.

``grade(lab, path)`` runs every task's tests — each task in its own process (``sandbox.py``) unless
``isolate=False`` (the grader's own tests and the mutation run, which need speed and plant only
well-behaved bugs) — and returns a ``Grade``.  A task's points are the sum of its passed tests' points.

The Gradescope format (https://gradescope-autograders.readthedocs.io, "Autograder specifications"): a
JSON object with ``score``, ``output`` and ``tests``, each test with ``name``, ``score``, ``max_score``,
``status``, ``output``, ``tags`` and ``visibility``.  Nothing in it depends on time or on the machine,
so grading the same submission twice gives the same bytes.
"""
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from .runner import run_tests
from .sandbox import run_task_isolated

VISIBILITIES = ("public", "hidden")


@dataclass
class Grade:
    lab: object
    results: list
    seed: int
    #: "hidden" missing from the install (a student's copy): named in the report
    missing: tuple = ()

    @property
    def score(self):
        return sum(result.score for result in self.results)

    @property
    def max_score(self):
        return sum(result.points for result in self.results)

    def task_scores(self):
        """{task: (score, max_score)} in the lab's task order."""
        scores = {task.name: [0.0, 0.0] for task in self.lab.tasks}
        for result in self.results:
            scores[result.task][0] += result.score
            scores[result.task][1] += result.points
        return {task: tuple(values) for task, values in scores.items()}

    def failures(self, task=None):
        return [result for result in self.results if result.status != "passed"
                and (task is None or result.task == task)]


def grade(lab, submission_path, visibility=VISIBILITIES, seed=0, isolate=True, tasks=None, source=None):
    """Run ``lab``'s tests on the student's file ``submission_path`` (or on ``source`` text, in this
    process).  ``tasks`` limits the run to some tasks (``--task``, to replay one)."""
    names = [task.name for task in lab.tasks if tasks is None or task.name in tasks]
    if isolate and source is None:
        results = []
        for name in names:
            results.extend(run_task_isolated(lab, submission_path, name, visibility, seed))
    else:
        results = run_tests(lab, submission_path, set(names), visibility, seed, source=source)
    order = {name: index for index, name in enumerate(names)}
    results.sort(key=lambda result: (order[result.task], VISIBILITIES.index(result.visibility)))
    from .runner import test_modules
    missing = tuple(which for which, module in test_modules(lab, visibility).items() if module is None)
    return Grade(lab, results, seed, missing)


def report_text(grade_, submission_path=None, command="grade"):
    """What ``lab check`` / ``lab grade`` print: points per task, then each failure with its feedback
    and the seed that replays it."""
    lab = grade_.lab
    lines = [f"lab {lab.number}: {lab.title}"]
    width = max(len(task.name) for task in lab.tasks)
    for task, (score, most) in grade_.task_scores().items():
        if most:
            mark = "ok  " if score == most else "FAIL"
            lines.append(f"  {mark} {task:<{width}}  {score:g}/{most:g}")
    lines.append(f"  total {grade_.score:g}/{grade_.max_score:g}")
    for which in grade_.missing:
        lines.append(f"  ({which} tests are not installed here: this is a student's copy; the course "
                     f"grades them)")
    failures = grade_.failures()
    if failures:
        lines.append("")
        lines.append("what failed:")
        for result in failures:
            lines.append(f"- [{result.task}] {result.name} ({result.visibility}): {result.feedback}")
        where = submission_path.parent if submission_path is not None else "DIR"
        first = failures[0]
        lines.append("")
        lines.append(f"replay one: python -m tinygrad_edu lab {command} {lab.number} {where} --task "
                     f"{first.task} --seed {grade_.seed}   (test seed {first.seed})")
    return "\n".join(lines)


def gradescope_results(grade_):
    """Gradescope's ``results.json`` as a dict (see the module docstring)."""
    tests = []
    for number, result in enumerate(grade_.results, start=1):
        tests.append({
            "name": f"{result.task}: {result.name}",
            "number": str(number),
            "score": result.score,
            "max_score": result.points,
            "status": "passed" if result.status == "passed" else "failed",
            "output": result.feedback if result.status != "passed" else "",
            "tags": [result.task, result.visibility],
            "visibility": "visible",
        })
    summary = "; ".join(f"{task} {score:g}/{most:g}" for task, (score, most) in grade_.task_scores().items())
    return {"score": grade_.score, "output": f"lab {grade_.lab.number}: {summary}",
            "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}


def gradescope_json(grade_):
    return json.dumps(gradescope_results(grade_), indent=2, sort_keys=True) + "\n"


def find_submissions(lab, folder):
    """A course's folder of submissions: ``{student: path}`` from sub-folders that hold the lab's file
    (``alice/scalar_autograd.py``) and from ``.py`` files named after their student (``alice.py``)."""
    folder = Path(folder)
    found = {}
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and (entry / lab.student_file).is_file():
            found[entry.name] = entry / lab.student_file
        elif entry.is_file() and entry.suffix == ".py":
            found[entry.stem] = entry
    return found


def grades_csv(lab, grades):
    """One row per student: total, maximum, then each task's points (``grades``: {student: Grade})."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "score", "max_score"] + [task.name for task in lab.tasks])
    for student, grade_ in grades.items():
        scores = grade_.task_scores()
        writer.writerow([student, f"{grade_.score:g}", f"{grade_.max_score:g}"]
                        + [f"{scores[task.name][0]:g}" for task in lab.tasks])
    return out.getvalue()
