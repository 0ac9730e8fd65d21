"""The student's copy of a lab: the generated file, the handout and the public tests.

``write_student_version(lab, folder)`` writes three files::

    folder/<lab.student_file>     the reference with every solution region replaced (markers.py)
    folder/handout.md             the lab's handout
    folder/public_tests.py        the public tests, to read (``lab check`` runs the installed copy)

Never the reference, the hidden tests or the planted bugs.  A student file already in ``folder`` is
kept unless ``force``: ``start`` run twice by mistake must not wipe a week of work.
"""
import os
import tempfile
from pathlib import Path

from .markers import make_student_source


def reference_source(lab):
    return (lab.folder / "reference.py").read_text()


def student_source(lab):
    return make_student_source(reference_source(lab), lab)


def write_student_version(lab, folder, force=False):
    from ..commands import UsageError
    folder = Path(folder)
    target = folder / lab.student_file
    if target.exists() and not force:
        raise UsageError(f"DIR {folder}: {lab.student_file} is already there (your work?); "
                         f"pass --force to overwrite it, or choose another folder")
    folder.mkdir(parents=True, exist_ok=True)
    files = {target: student_source(lab),
             folder / "handout.md": (lab.folder / "handout.md").read_text(),
             folder / "public_tests.py": (lab.folder / "public_tests.py").read_text()}
    for path, text in files.items():
        _write(path, text)
    return list(files)


def _write(path, text):
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as file:
        file.write(text)
    os.replace(temporary, path)
