"""The lab grader's machinery on lab 1: the sandbox (a crash, an endless loop, ``sys.exit``, a memory
blow-up or a segfault in a student's code costs that task only), the command line, Gradescope's format,
a course's CSV, and the parts the labs are built from (markers, feedback, mutants)."""
import csv
import io
import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from tinygrad_edu.labs import get_lab
from tinygrad_edu.labs.checks import LabFailure, expect_close
from tinygrad_edu.labs.grader import grade, gradescope_results
from tinygrad_edu.labs.markers import MarkerError, make_student_source, solution_regions
from tinygrad_edu.labs.mutation import mutants
from tinygrad_edu.labs.student import reference_source, student_source

LAB1 = get_lab(1)
ADD_BACKWARD = "            self.grad += out.grad\n            other.grad += out.grad\n"


def submission(tmp_path, source, name="alice"):
    folder = tmp_path / name
    folder.mkdir()
    path = folder / LAB1.student_file
    path.write_text(source)
    return path


def with_add_backward(body):
    """Lab 1's reference with the backward of + replaced by ``body`` (indented for it)."""
    source = reference_source(LAB1)
    assert source.count(ADD_BACKWARD) == 1
    return source.replace(ADD_BACKWARD, "".join(f"            {line}\n" for line in body.splitlines()))


def sandboxed(tmp_path, body, **limits):
    lab = replace(LAB1, **limits) if limits else LAB1
    return grade(lab, submission(tmp_path, with_add_backward(body)))


def only_add_mul_lost(result):
    scores = result.task_scores()
    assert scores["add_mul"][0] < scores["add_mul"][1]
    assert all(score == most for task, (score, most) in scores.items() if task != "add_mul"), scores
    return [f.feedback for f in result.failures("add_mul")]


def test_sandboxed_reference_scores_full_marks(tmp_path):
    result = grade(LAB1, submission(tmp_path, reference_source(LAB1)))
    assert result.score == result.max_score > 0


@pytest.mark.parametrize("body,says", [
    ("import sys\nsys.exit(0)", "sys.exit"),
    ("while True:\n    pass", "time limit"),
    ("import numpy\nnumpy.ones(2 ** 36)", "memory"),
    ("raise ValueError('oops')", "ValueError: oops"),
    ("import os\nos._exit(3)", "exit code 3"),
    ("import ctypes\nctypes.string_at(0)", "signal SIGSEGV"),
])
def test_a_misbehaving_task_costs_that_task_only(tmp_path, body, says):
    feedback = only_add_mul_lost(sandboxed(tmp_path, body, time_limit_s=3.0, memory_limit_mb=2048))
    assert any(says in text for text in feedback), feedback


def test_code_that_ignores_the_alarm_is_killed(tmp_path):
    body = "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass"
    feedback = only_add_mul_lost(sandboxed(tmp_path, body, time_limit_s=2.0))
    assert any("killed after" in text for text in feedback), feedback


def test_a_file_that_does_not_compile_scores_zero_with_the_line(tmp_path):
    result = grade(LAB1, submission(tmp_path, reference_source(LAB1) + "\ndef broken(:\n"), isolate=False)
    assert result.score == 0
    assert all("does not compile" in f.feedback and "line" in f.feedback for f in result.failures())


def test_gradescope_results_format(tmp_path):
    result = grade(LAB1, submission(tmp_path, with_add_backward("self.grad += out.grad")), isolate=False)
    data = gradescope_results(result)
    assert set(data) >= {"score", "output", "tests", "visibility", "stdout_visibility"}
    assert data["score"] == sum(test["score"] for test in data["tests"]) == result.score
    for test in data["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed") and 0 <= test["score"] <= test["max_score"]
        assert (test["status"] == "failed") == (test["output"] != "")
    assert any(test["status"] == "failed" and test["tags"][0] == "add_mul" for test in data["tests"])


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tinygrad_edu", "lab", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=180)


def test_cli_student_workflow(tmp_path):
    folder = tmp_path / "lab1"
    started = cli("start", 1, folder)
    assert started.returncode == 0, started.stderr
    written = sorted(p.name for p in folder.iterdir())
    assert written == ["handout.md", "public_tests.py", "scalar_autograd.py"]
    assert "hidden" not in (folder / "public_tests.py").read_text().split('"""')[0]
    again = cli("start", 1, folder)
    assert again.returncode == 2 and "already there" in again.stderr and "Traceback" not in again.stderr
    checked = cli("check", 1, folder)
    assert checked.returncode == 1 and "total 0/" in checked.stdout and "not implemented yet" in checked.stdout
    (folder / LAB1.student_file).write_text(reference_source(LAB1))
    graded = cli("grade", 1, folder, "--json", folder / "results.json")
    assert graded.returncode == 0, graded.stdout + graded.stderr
    results = json.loads((folder / "results.json").read_text())
    assert results["score"] == sum(t["max_score"] for t in results["tests"]) > 0
    assert {t["tags"][1] for t in results["tests"]} == {"public", "hidden"}


@pytest.mark.parametrize("args,says", [
    (("check", 99, "."), "there is no lab 99"),
    (("check", 1, "no/such/folder"), "no such folder"),
    (("grade", 1, "."), "no scalar_autograd.py in it"),
    (("grade", 1, "{tmp}", "--task", "nope"), "--task nope"),
    (("grade", 0, "."), "must be positive"),
])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, args, says):
    (tmp_path / LAB1.student_file).write_text(reference_source(LAB1))
    empty = tmp_path / "empty"
    empty.mkdir()
    args = [str(a).replace("{tmp}", str(tmp_path)) for a in args]
    result = cli(*args, cwd=empty)
    assert result.returncode == 2, result.stdout + result.stderr
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_cli_teacher_grades_a_folder_into_one_csv(tmp_path):
    folder = tmp_path / "submissions"
    (folder / "alice").mkdir(parents=True)
    (folder / "alice" / LAB1.student_file).write_text(reference_source(LAB1))
    (folder / "bob.py").write_text(student_source(LAB1))
    result = cli("grade-all", 1, folder, "--csv", tmp_path / "lab1.csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "lab1.csv").read_text())))
    assert [row["student"] for row in rows] == ["alice", "bob"]
    assert rows[0]["score"] == rows[0]["max_score"] != "0" and rows[1]["score"] == "0"
    assert set(rows[0]) == {"student", "score", "max_score"} | {task.name for task in LAB1.tasks}


def test_cli_list_release_and_bugs(tmp_path):
    listed = cli("list")
    assert listed.returncode == 0 and "lab 1: a scalar autograd engine" in listed.stdout
    released = cli("release", tmp_path / "course")
    assert released.returncode == 0, released.stderr
    from tinygrad_edu.labs import all_labs
    for lab in all_labs():
        folder = tmp_path / "course" / f"lab{lab.number:02d}_{lab.name}"
        assert (folder / lab.student_file).read_text() == student_source(lab)
        assert not (folder / "hidden_tests.py").exists() and not (folder / "reference.py").exists()
    bugs = cli("bugs", 1)
    assert bugs.returncode == 0, bugs.stderr
    assert bugs.stdout.count("\n| ") >= 4 and "not caught" not in bugs.stdout


def test_release_names_a_missing_handout_or_an_unwritable_folder_in_one_line(tmp_path):
    import dataclasses
    import shutil

    from tinygrad_edu.commands import UsageError
    from tinygrad_edu.labs.student import write_student_version
    broken = dataclasses.replace(LAB1, folder=tmp_path / LAB1.folder.name)
    shutil.copytree(LAB1.folder, broken.folder)
    (broken.folder / "handout.md").unlink()
    with pytest.raises(UsageError, match=r"lab 1 \(.*\): its handout.md is missing from"):
        write_student_version(broken, tmp_path / "out")
    (tmp_path / "a_file").write_text("")
    with pytest.raises(UsageError, match="cannot write the lab's files there"):
        write_student_version(LAB1, tmp_path / "a_file" / "lab1")


def test_markers_refuse_malformed_regions():
    def student(text):
        return make_student_source(text, LAB1)
    good = "def f():\n    # BEGIN SOLUTION add_mul\n    return 1\n    # END SOLUTION\n"
    assert solution_regions(good)[0].task == "add_mul"
    with pytest.raises(MarkerError, match="inside a function body"):
        solution_regions("# BEGIN SOLUTION add_mul\nx = 1\n# END SOLUTION\n")
    with pytest.raises(MarkerError, match="never closed"):
        solution_regions("def f():\n    # BEGIN SOLUTION add_mul\n    return 1\n")
    with pytest.raises(MarkerError, match="do not nest"):
        solution_regions("def f():\n    # BEGIN SOLUTION a\n    # BEGIN SOLUTION b\n")
    with pytest.raises(MarkerError, match="not one of the lab's tasks"):
        student(good.replace("add_mul", "nope"))
    with pytest.raises(MarkerError, match="no solution region"):
        student(good)


def test_feedback_names_the_index_and_both_values():
    got = np.zeros((2, 3))
    expected = got.copy()
    expected[1, 2] = 5.0
    with pytest.raises(LabFailure, match=r"dW: 0 at index \(1, 2\), expected 5 \(1 of 6 elements off"):
        expect_close("dW", got, expected)
    with pytest.raises(LabFailure, match=r"shape \(3,\), expected \(2, 3\)"):
        expect_close("dW", np.zeros(3), expected)
    with pytest.raises(LabFailure, match="NaN"):
        expect_close("p", np.array([np.nan]), np.array([1.0]))
    expect_close("p", np.array([np.nan, np.inf]), np.array([np.nan, np.inf]))


def test_mutants_are_one_edit_inside_solution_regions():
    source = reference_source(LAB1)
    inside = {line for region in solution_regions(source) for line in range(region.begin + 1, region.end)}
    found = mutants(LAB1)
    assert len(found) >= 20
    for mutant in found[:40]:
        assert mutant.line in inside
        mutated = mutant.apply(source)
        start, end = mutant.span
        assert mutated != source and source[start:end] == mutant.before
        assert mutated == source[:start] + mutant.after + source[end:]
    assert any("= out.grad" in m.after and "+=" not in m.after for m in found), "+= -> = is a mutant"
