"""Teaching labs: students write parts of the engine, a local autograder grades them.

``python -m tinygrad_edu lab list | start N DIR | check N DIR | grade N DIR [--json FILE]``
(``tinygrad_edu/commands/lab.py``).  How a lab is laid out: ``lab.py``.  How the student version is
made from the reference: ``markers.py``.  How tests are written and what feedback says: ``testing.py``
and ``checks.py``.  How a submission is run (its own process, with time and memory limits):
``sandbox.py`` and ``runner.py``.  Points, text report and Gradescope's ``results.json``: ``grader.py``.
How the grader is itself tested: ``bugs.py`` of every lab and ``mutation.py``.
"""
import importlib
import pkgutil
from dataclasses import replace
from pathlib import Path

from .lab import Lab, PlantedBug, Task

__all__ = ["Lab", "PlantedBug", "Task", "all_labs", "get_lab"]

_LABS = None


def all_labs():
    """Every lab package ``labNN_*`` of this folder, in number order."""
    global _LABS
    if _LABS is None:
        found = []
        for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
            if info.ispkg and info.name.startswith("lab") and info.name[3:5].isdigit():
                package = importlib.import_module(f"{__name__}.{info.name}")
                found.append(replace(package.LAB, folder=Path(package.__file__).parent))
        _LABS = sorted(found, key=lambda lab: lab.number)
    return _LABS


def get_lab(number):
    """The lab numbered ``number``; a ``KeyError`` naming the labs that exist otherwise."""
    for lab in all_labs():
        if lab.number == number:
            return lab
    raise KeyError(f"there is no lab {number}; the labs are "
                   f"{', '.join(str(lab.number) for lab in all_labs()) or 'none'}")
