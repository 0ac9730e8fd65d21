"""Every lab, checked the same way: the grader is itself tested (issue 15).

For each lab: the reference scores full marks, the generated student version scores 0 without crashing
and holds no solution code, every planted bug loses points in its own task only (with feedback that names
it), grading is deterministic, and the mutation score of its tests is at least 90%."""
import json
import re
from pathlib import Path

import pytest

from tinygrad_edu.labs import all_labs
from tinygrad_edu.labs.grader import grade, gradescope_json
from tinygrad_edu.labs.markers import solution_regions
from tinygrad_edu.labs.mutation import run_mutation
from tinygrad_edu.labs.planted import caught_by, grade_source, load_bugs, plant, plant_and_grade
from tinygrad_edu.labs.student import reference_source, student_source

LABS = all_labs()
LAB_IDS = [f"lab{lab.number}" for lab in LABS]
BUGS = [(lab, bug) for lab in LABS for bug in load_bugs(lab)]
GUIDE = Path(__file__).resolve().parent.parent / "tinygrad_edu" / "labs" / "README.md"


def test_the_eight_labs_exist_in_course_order():
    assert [lab.number for lab in LABS] == list(range(1, 9))


def test_the_bug_catalogue_has_at_least_4_per_lab_and_30_in_all():
    per_lab = {lab.number: len(load_bugs(lab)) for lab in LABS}
    assert all(count >= 4 for count in per_lab.values()), per_lab
    assert sum(per_lab.values()) >= 30, per_lab


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_reference_scores_full_marks(lab):
    result = grade(lab, lab.reference_path, isolate=False)
    assert result.max_score > 0
    assert not result.failures(), [(f.name, f.feedback) for f in result.failures()]
    assert set(result.task_scores()) == {task.name for task in lab.tasks}
    assert all(most > 0 for _, most in result.task_scores().values()), "a task without tests"


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_student_version_scores_zero_without_crashing(lab):
    result = grade_source(lab, student_source(lab))
    assert result.score == 0 and result.max_score > 0
    for failure in result.failures():
        assert failure.status == "error" and "not implemented yet" in failure.feedback, failure


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_student_version_holds_no_solution_code(lab):
    reference, student = reference_source(lab), student_source(lab)
    lines = reference.splitlines()
    kept = {line.strip() for line in student.splitlines()}
    for region in solution_regions(reference):
        for line in lines[region.begin:region.end - 1]:
            code = line.strip()
            if code and not code.startswith("#") and len(code) > 12:
                assert code not in kept, f"lab {lab.number}: solution line {code!r} is in the student file"
        assert f"task {region.task}:" in student
    assert "BEGIN SOLUTION" not in student and "END SOLUTION" not in student


def guide_rows():
    """{(lab number, bug description): (task, test)} from the teacher's guide's bug tables."""
    rows, lab_number = {}, None
    for line in GUIDE.read_text().splitlines():
        match = re.match(r"(?:#+ )?Lab (\d+) \(", line)
        if match:
            lab_number = int(match.group(1))
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if lab_number and line.startswith("| ") and len(cells) == 4 and cells[2].startswith("`"):
            rows[(lab_number, cells[0])] = (cells[1], cells[2].strip("`"))
    return rows


@pytest.mark.parametrize("lab,bug", BUGS, ids=[f"lab{lab.number}-{bug.name}" for lab, bug in BUGS])
def test_planted_bug_is_caught_in_its_task_only(lab, bug):
    outcome = plant_and_grade(lab, bug)
    assert outcome.caught, outcome.problem
    # the teacher's guide names the test that catches it (regenerate its tables with `lab bugs`)
    listed = guide_rows().get((lab.number, bug.description))
    assert listed == (bug.task, caught_by(outcome)[0]), \
        f"the guide (tinygrad_edu/labs/README.md) lists {listed}; `python -m tinygrad_edu lab bugs " \
        f"{lab.number}` prints the table as it is now"


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_grading_twice_gives_the_same_json(lab):
    bug = load_bugs(lab)[0]
    source = plant(reference_source(lab), bug)      # one task is enough to show it, and lab 8's are slow
    first, second = (gradescope_json(grade_source(lab, source, tasks=[bug.task])) for _ in range(2))
    assert first == second
    assert json.loads(first)["score"] < sum(t["max_score"] for t in json.loads(first)["tests"])


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_a_failure_shows_the_seed_that_replays_it(lab):
    bug = load_bugs(lab)[0]
    result = grade_source(lab, plant(reference_source(lab), bug), seed=3, tasks=[bug.task])
    failure = result.failures(bug.task)[0]
    replay = grade_source(lab, plant(reference_source(lab), bug), seed=3, tasks=[bug.task])
    assert [(f.name, f.feedback, f.seed) for f in replay.failures()] == \
        [(f.name, f.feedback, f.seed) for f in result.failures()]
    assert failure.seed == result.failures(bug.task)[0].seed


#: labs whose whole mutation run takes more than ~20 s here sample every k-th mutant in CI
MUTATION_SAMPLE = {7: 2, 8: 3}


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_mutation_score_is_at_least_90_percent(lab):
    every = MUTATION_SAMPLE.get(lab.number, 1)
    report = run_mutation(lab, every=every)
    assert len(report.killed) + len(report.survived) >= 10, "too few mutants to mean anything"
    assert report.score >= 0.9, [m.name for m in report.survived]
