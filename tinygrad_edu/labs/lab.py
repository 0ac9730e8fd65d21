"""What a lab is, as data: its tasks, its files and its planted bugs.

A lab is a sub-package ``tinygrad_edu/labs/labNN_<name>/`` holding five files::

    __init__.py       LAB = Lab(...): number, title, the student's file name and the tasks
    reference.py      the instructor's solution; every solution region is marked
                          # BEGIN SOLUTION <task>
                          ...the code a student writes...
                          # END SOLUTION
                      (regions sit inside function bodies, so the student version still imports)
    handout.md        what to implement, the math, hints, how to run the public checks
    public_tests.py   the checks a student runs with `lab check` (copied next to the student's file)
    hidden_tests.py   the checks only `lab grade` runs; never written into a student folder
    bugs.py           BUGS: the planted-bug catalogue the grader itself is tested against, and
                      EQUIVALENT_MUTANTS: mutants of the reference no test can kill, each with its reason

A test is a function ``test_<what>(student, ctx)`` decorated with ``@lab_test(task, points)``
(``testing.py``): ``student`` is the submitted module, ``ctx`` holds the seeded random generator.
"""
from dataclasses import dataclass, field


#: the modules that stay with the grader: never written into a student's folder, never in a wheel
INSTRUCTOR_MODULES = ("reference", "hidden_tests", "bugs")


@dataclass(frozen=True)
class Task:
    """One thing a student implements: a name used by the solution markers, the tests and the points."""
    name: str
    title: str
    #: one line shown in the student's NotImplementedError and in the handout's task list
    hint: str = ""


@dataclass(frozen=True)
class PlantedBug:
    """A mistake students really make, applied to the reference as a one-place text replacement.

    The grader is tested against it: with the bug planted, ``task`` must lose points, every other task
    must keep all of its points, and the feedback of a failed test of ``task`` must contain ``message``
    (a fragment of what the student is shown, enough to lead them to the mistake)."""
    name: str
    task: str
    description: str
    old: str
    new: str
    message: str
    #: how many times ``old`` occurs in the reference (the replacement is applied to the ``occurrence``-th)
    occurrence: int = 1


@dataclass(frozen=True)
class Lab:
    number: int
    name: str
    title: str
    #: the file the student edits, e.g. "scalar_autograd.py"
    student_file: str
    tasks: tuple
    #: the tutorial the lab follows (shown in `lab list`)
    tutorial: str = ""
    #: seconds and bytes a task's process may use before the grader stops it
    time_limit_s: float = 60.0
    memory_limit_mb: int = 4096
    #: set by labs.discover(): the package folder
    folder: object = field(default=None, compare=False)

    def task(self, name):
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(f"lab {self.number} has no task {name!r}; its tasks are "
                       f"{', '.join(t.name for t in self.tasks)}")

    def module(self, stem):
        """The dotted name of one of the lab's modules: ``public_tests`` sits in the lab's package,
        ``reference``, ``hidden_tests`` and ``bugs`` in its ``instructor`` sub-package."""
        inside = "instructor." if stem in INSTRUCTOR_MODULES and (self.folder / "instructor").is_dir() else ""
        return f"tinygrad_edu.labs.{self.folder.name}.{inside}{stem}"

    @property
    def reference_path(self):
        folder = self.folder / "instructor"
        return (folder if folder.is_dir() else self.folder) / "reference.py"

    @property
    def module_name(self):
        return self.student_file[:-3] if self.student_file.endswith(".py") else self.student_file
