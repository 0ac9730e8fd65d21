"""Solution regions: how the student version of a lab is made from the instructor's reference.

The reference marks what a student writes::

    def backward(self):
        # BEGIN SOLUTION topological_order
        order = ...
        # END SOLUTION

and the student version keeps everything outside the regions, replacing each region by one line at the
region's indentation::

        raise NotImplementedError("lab 1, task topological_order: <the task's hint>")

A region must sit inside a function body (indented), so the student module still imports; its task
must be one of the lab's tasks; regions do not nest.  ``make_student_source`` checks all three, and
checks that the result compiles and no line of solution code survives in it.
"""
import re
from dataclasses import dataclass

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION (?P<task>\w+)\s*$")
END = re.compile(r"^[ \t]*# END SOLUTION\s*$")


class MarkerError(ValueError):
    """A reference whose solution markers are malformed (a mistake of the lab's author)."""


@dataclass(frozen=True)
class Region:
    task: str
    #: 1-based line numbers of the BEGIN and END marker lines
    begin: int
    end: int
    indent: str


def solution_regions(source, filename="reference.py"):
    """The solution regions of ``source``, in order."""
    regions, open_ = [], None
    for number, line in enumerate(source.splitlines(), start=1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if open_ is not None:
                raise MarkerError(f"{filename}:{number}: BEGIN SOLUTION inside the region opened at line "
                                  f"{open_[1]}; regions do not nest")
            if not begin.group("indent"):
                raise MarkerError(f"{filename}:{number}: a solution region must sit inside a function "
                                  f"body (indented), so that the student version still imports")
            open_ = (begin.group("task"), number, begin.group("indent"))
        elif end:
            if open_ is None:
                raise MarkerError(f"{filename}:{number}: END SOLUTION without a BEGIN SOLUTION")
            regions.append(Region(open_[0], open_[1], number, open_[2]))
            open_ = None
    if open_ is not None:
        raise MarkerError(f"{filename}:{open_[1]}: BEGIN SOLUTION {open_[0]} is never closed")
    return regions


def task_lines(source):
    """{task: set of 1-based line numbers of its solution code} (the marker lines excluded)."""
    lines = {}
    for region in solution_regions(source):
        lines.setdefault(region.task, set()).update(range(region.begin + 1, region.end))
    return lines


def make_student_source(source, lab):
    """The student version of the reference ``source`` of ``lab`` (see the module docstring)."""
    regions = solution_regions(source, f"lab {lab.number} reference")
    known = {task.name for task in lab.tasks}
    for region in regions:
        if region.task not in known:
            raise MarkerError(f"lab {lab.number} reference:{region.begin}: task {region.task!r} is not one "
                              f"of the lab's tasks ({', '.join(sorted(known))})")
    missing = known - {region.task for region in regions}
    if missing:
        raise MarkerError(f"lab {lab.number}: tasks with no solution region: {', '.join(sorted(missing))}")
    lines = source.splitlines()
    out, removed, cursor = [], [], 0
    for region in regions:
        out.extend(lines[cursor:region.begin - 1])
        task = lab.task(region.task)
        message = f"lab {lab.number}, task {task.name}: {task.hint or task.title}"
        out.append(f"{region.indent}raise NotImplementedError({message!r})")
        removed.extend(lines[region.begin:region.end - 1])
        cursor = region.end
    out.extend(lines[cursor:])
    student = "\n".join(out) + "\n"
    compile(student, lab.student_file, "exec")
    kept = set(line.strip() for line in out)
    leaked = [line.strip() for line in removed if len(line.strip()) > 12 and line.strip() in kept
              and not line.strip().startswith("#")]
    if leaked:
        raise MarkerError(f"lab {lab.number}: solution lines also appear outside the regions: {leaked[:3]}")
    return student
