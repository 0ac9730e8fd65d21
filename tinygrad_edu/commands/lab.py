"""``python -m tinygrad_edu lab ...``: the teaching labs and their local autograder.

A student::

    python -m tinygrad_edu lab list                       # the labs, their tasks and points
    python -m tinygrad_edu lab start 1 lab1/              # writes lab1/scalar_autograd.py and handout.md
    python -m tinygrad_edu lab check 1 lab1/              # the public tests: points per task, what failed
    python -m tinygrad_edu lab grade 1 lab1/              # public + hidden tests (where installed)

A teacher::

    python -m tinygrad_edu lab release course/            # every lab's student version, for the course repo
    python -m tinygrad_edu lab grade 1 alice/ --json results.json      # Gradescope's results.json
    python -m tinygrad_edu lab grade-all 1 submissions/ --csv lab1.csv  # a folder of submissions, one CSV
    python -m tinygrad_edu lab bugs 1                     # each planted bug, the test that catches it
    python -m tinygrad_edu lab mutate 1                   # the mutation score of lab 1's tests

``check`` and ``grade`` exit 0 when every test passed and 1 otherwise (so a script or CI can use them);
bad input (no such lab, no student file in DIR) is one line on stderr and exit code 2.  Student code runs
in its own process per task, with the lab's time and memory limits (``labs/sandbox.py``).
"""

import sys
from pathlib import Path

from . import UsageError
from .checks import nonnegative_int, positive_int

HELP = "teaching labs: start a lab, check it, grade it (also Gradescope JSON and a course's CSV)"


def add_arguments(parser):
    import functools
    from ..cli import HelpFormatter
    sub = parser.add_subparsers(dest="lab_command", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    sub.add_parser = functools.partial(sub.add_parser, formatter_class=HelpFormatter)
    sub.add_parser("list", help="the labs, with their tasks and points")

    start = sub.add_parser("start", help="write the student version of lab N into DIR")
    _lab_and_dir(start)
    start.add_argument("--force", action="store_true",
                       help="overwrite a student file already in DIR (your work there is lost)")

    for name, text in (("check", "run the public tests on DIR's solution"),
                       ("grade", "run the public and hidden tests on DIR's solution: points per task")):
        action = sub.add_parser(name, help=text)
        _lab_and_dir(action)
        action.add_argument("--task", action="append", metavar="TASK",
                            help="grade only this task (repeatable), e.g. to replay a failure")
        action.add_argument("--seed", type=nonnegative_int, default=0,
                            help="base seed of the tests' random inputs (a failure prints it)")
        action.add_argument("--json", metavar="FILE", help="also write Gradescope's results.json to FILE")

    grade_all = sub.add_parser("grade-all", help="grade every submission in a folder into one CSV")
    grade_all.add_argument("lab", type=positive_int, metavar="N", help="the lab's number (see `lab list`)")
    grade_all.add_argument("folder", metavar="FOLDER",
                           help="sub-folders holding the lab's file (alice/scalar_autograd.py), "
                                "or files named after their student (alice.py)")
    grade_all.add_argument("--csv", metavar="FILE", required=True, help="where to write the CSV")
    grade_all.add_argument("--seed", type=nonnegative_int, default=0, help="base seed of the tests")

    release = sub.add_parser("release", help="write every lab's student version into DIR/labNN_name/")
    release.add_argument("dir", metavar="DIR", help="the course folder: one student folder per lab inside")
    release.add_argument("--force", action="store_true", help="overwrite student files already there")

    bugs = sub.add_parser("bugs", help="plant each catalogued bug and show which test catches it")
    bugs.add_argument("lab", type=positive_int, metavar="N", nargs="?", help="the lab (default: every lab)")

    mutate = sub.add_parser("mutate", help="mutate the reference solution and report how many "
                                           "mutants the tests kill")
    mutate.add_argument("lab", type=positive_int, metavar="N", help="the lab's number (see `lab list`)")
    mutate.add_argument("--limit", type=positive_int, metavar="K", help="only the first K mutants")
    mutate.add_argument("--show-survivors", action="store_true", help="list every mutant that survived")


def _lab_and_dir(parser):
    parser.add_argument("lab", type=positive_int, metavar="N", help="the lab's number (see `lab list`)")
    parser.add_argument("dir", metavar="DIR", help="the student's folder")


def _lab(number):
    from ..labs import get_lab
    try:
        return get_lab(number)
    except KeyError as exc:
        raise UsageError(f"lab N: {exc.args[0]}") from None


def run(args):
    return {"list": run_list, "start": run_start, "check": run_check, "grade": run_grade,
            "grade-all": run_grade_all, "release": run_release, "bugs": run_bugs,
            "mutate": run_mutate}[args.lab_command](args)


def run_list(args):
    from ..labs import all_labs
    from ..labs.runner import test_modules
    from ..labs.testing import collect
    for lab in all_labs():
        print(f"lab {lab.number}: {lab.title}  (file {lab.student_file}"
              + (f"; follows {lab.tutorial}" if lab.tutorial else "") + ")")
        points = {}
        for which, module in test_modules(lab, ("public", "hidden")).items():
            for case in collect(module, which) if module is not None else []:
                points[case.task] = points.get(case.task, 0) + case.points
        for task in lab.tasks:
            print(f"    {task.name:<24} {points.get(task.name, 0):>3g} points  {task.title}")
    return 0


def run_start(args):
    from ..labs.student import write_student_version
    lab = _lab(args.lab)
    written = write_student_version(lab, Path(args.dir), force=args.force)
    for path in written:
        print(f"wrote {path}")
    print(f"next: read {Path(args.dir) / 'handout.md'}, edit {Path(args.dir) / lab.student_file}, then "
          f"`python -m tinygrad_edu lab check {lab.number} {args.dir}`")
    return 0


def _submission(lab, directory):
    path = Path(directory) / lab.student_file
    if not Path(directory).is_dir():
        raise UsageError(f"DIR {directory}: no such folder "
                         f"(make it with `lab start {lab.number} {directory}`)")
    if not path.is_file():
        raise UsageError(f"DIR {directory}: no {lab.student_file} in it (lab {lab.number}'s file; "
                         f"`lab start {lab.number} {directory}` writes it)")
    return path


def _tasks(lab, names):
    if not names:
        return None
    known = [task.name for task in lab.tasks]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UsageError(f"--task {unknown[0]}: lab {lab.number} has no such task; its tasks are "
                         f"{', '.join(known)}")
    return set(names)


def run_check(args):
    return _grade_and_report(args, ("public",), "check")


def run_grade(args):
    return _grade_and_report(args, ("public", "hidden"), "grade")


def _grade_and_report(args, visibility, command):
    from ..labs.grader import grade, gradescope_json, report_text
    lab = _lab(args.lab)
    path = _submission(lab, args.dir)
    tasks = _tasks(lab, args.task)
    result = grade(lab, path, visibility, seed=args.seed, tasks=tasks)
    print(report_text(result, path, command))
    if args.json:
        _write_atomically(Path(args.json), gradescope_json(result))
        print(f"wrote {args.json}")
    return 0 if result.score == result.max_score else 1


def run_grade_all(args):
    from ..labs.grader import find_submissions, grade, grades_csv
    lab = _lab(args.lab)
    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"FOLDER {folder}: no such folder")
    submissions = find_submissions(lab, folder)
    if not submissions:
        raise UsageError(f"FOLDER {folder}: no submissions in it (expected sub-folders holding "
                         f"{lab.student_file}, or .py files named after their students)")
    grades = {}
    for student, path in submissions.items():
        grades[student] = grade(lab, path, seed=args.seed)
        print(f"{student}: {grades[student].score:g}/{grades[student].max_score:g}", flush=True)
    _write_atomically(Path(args.csv), grades_csv(lab, grades))
    print(f"wrote {args.csv} ({len(grades)} submissions)")
    return 0


def run_release(args):
    from ..labs import all_labs
    from ..labs.student import write_student_version
    root = Path(args.dir)
    for lab in all_labs():
        folder = root / f"lab{lab.number:02d}_{lab.name}"
        for path in write_student_version(lab, folder, force=args.force):
            print(f"wrote {path}")
    return 0


def run_bugs(args):
    from ..labs import all_labs
    from ..labs.planted import bug_table, plant_and_grade
    missed = []
    for lab in [_lab(args.lab)] if args.lab else all_labs():
        outcomes = [plant_and_grade(lab, bug) for bug in _bugs(lab)]
        print(bug_table(lab, outcomes) + "\n", flush=True)
        missed += [outcome for outcome in outcomes if not outcome.caught]
    for outcome in missed:
        print(f"error: bug {outcome.bug.name}: {outcome.problem}", file=sys.stderr)
    return 1 if missed else 0


def _bugs(lab):
    from ..labs.planted import load_bugs
    bugs = load_bugs(lab)
    if bugs is None:
        raise UsageError(f"lab {lab.number}: its planted bugs are not installed here (an instructor's copy "
                         f"has them)")
    return bugs


def run_mutate(args):
    from ..labs.mutation import mutation_report, run_mutation
    lab = _lab(args.lab)
    report = run_mutation(lab, limit=args.limit)
    print(mutation_report(report, show_survivors=args.show_survivors))
    return 0


def _write_atomically(path, text):
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename: a reader
    never sees half a file, and an interrupted write leaves the old file as it was."""
    import os
    import tempfile
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
