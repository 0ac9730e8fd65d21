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


class InstructorFilesMissing(Exception):
    """The reference is not installed (a wheel ships no ``instructor/`` folders)."""


def reference_source(lab):
    try:
        return lab.reference_path.read_text()
    except FileNotFoundError:
        raise InstructorFilesMissing(
            f"lab {lab.number}: this install has no instructor files (wheels do not ship them), so the "
            f"student version cannot be made here: work in the folder your course gives you, or install "
            f"tinygrad_edu from a clone of its repository") from None


def student_source(lab):
    return make_student_source(reference_source(lab), lab)


def write_student_version(lab, folder, force=False):
    from ..commands import UsageError
    folder = Path(folder)
    try:
        source = student_source(lab)
    except InstructorFilesMissing as exc:
        raise UsageError(str(exc)) from None
    target = folder / lab.student_file
    if target.exists() and not force:
        raise UsageError(f"DIR {folder}: {lab.student_file} is already there (your work?); "
                         f"pass --force to overwrite it, or choose another folder")
    files = {target: source}
    for name in ("handout.md", "public_tests.py"):
        shipped = lab.folder / name
        if not shipped.is_file():
            raise UsageError(f"lab {lab.number} ({lab.name}): its {name} is missing from {lab.folder} "
                             "(a broken install: reinstall tinygrad_edu)")
        files[folder / name] = shipped.read_text()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for path, text in files.items():
            _write(path, text)
    except OSError as exc:
        raise UsageError(f"DIR {folder}: cannot write the lab's files there ({exc.strerror})") from None
    return list(files)


def _write(path, text):
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as file:
        file.write(text)
    os.replace(temporary, path)
