"""Never a hang (tinygrad_edu/distributed/failure.py): an exception on rank 1 ends a 2-rank job under
plain ``python`` (our abort-on-exception hook, not ``-m mpi4py``) within seconds, with the traceback
printed once and no rank left running; a rank that skips a collective is named by the watchdog; the
selfcheck's abort test ends non-zero."""
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "mpi"))
from collectives_launch import alive, launch, mpi_missing, pids  # noqa: E402

from tinygrad_edu.distributed import failure  # noqa: E402

needs_mpi = pytest.mark.skipif(mpi_missing() is not None, reason=str(mpi_missing()))


def _all_gone(pid_by_rank, wait=3.0):
    deadline = time.monotonic() + wait
    while any(alive(p) for p in pid_by_rank.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pid_by_rank.values() if alive(p)]


def test_timeout_setting_and_env(monkeypatch):
    before = failure.get_collective_timeout()
    with failure.collective_timeout(3):
        assert failure.get_collective_timeout() == 3.0
    assert failure.get_collective_timeout() == before
    for text, want in (("", failure.DEFAULT_TIMEOUT), ("7.5", 7.5), ("off", None), ("0", None)):
        monkeypatch.setenv("TINYGRAD_EDU_COLLECTIVE_TIMEOUT", text)
        assert failure._timeout_from_env() == want
    monkeypatch.setenv("TINYGRAD_EDU_COLLECTIVE_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="TINYGRAD_EDU_COLLECTIVE_TIMEOUT"):
        failure._timeout_from_env()


@pytest.mark.mpi
@needs_mpi
def test_rank_raising_at_step_5_aborts_the_job_quickly():
    result, seconds = launch("failure_raise.py", mpi4py=False, timeout=30)
    assert result.returncode != 0
    assert seconds < 10, f"the job took {seconds:.1f} s to end"
    assert "NOT REACHED" not in result.stdout
    assert result.stderr.count("[rank 1] Traceback") == 1, result.stderr
    assert "planned failure on rank 1 at step 5" in result.stderr
    assert "[rank 0] Traceback" not in result.stderr
    ranks = pids(result.stdout)
    assert sorted(ranks) == [0, 1], result.stdout
    assert _all_gone(ranks) == [], "ranks left running after the abort"


@pytest.mark.mpi
@needs_mpi
@pytest.mark.parametrize("collective", ["all_reduce", "iall_reduce"])
def test_watchdog_names_the_rank_that_skipped_a_collective(collective):
    result, seconds = launch("failure_skip.py", *(["iall_reduce"] if collective == "iall_reduce" else []),
                             mpi4py=False, timeout=40, env={"TINYGRAD_EDU_COLLECTIVE_TIMEOUT": "3"})
    assert result.returncode != 0
    assert "NOT REACHED" not in result.stdout
    assert f"[rank 0] watchdog: {collective} #3" in result.stderr, result.stderr
    assert "ranks that did not arrive: 1 (not in a collective; its last was all_reduce #2" in result.stderr
    assert seconds < 15, f"the job took {seconds:.1f} s to end (timeout 3 s)"
    assert _all_gone(pids(result.stdout)) == []


@pytest.mark.mpi
@needs_mpi
def test_selfcheck_abort_test():
    result, seconds = launch("tinygrad_edu.distributed.selfcheck", "--abort-test", "--no-ping-pong",
                             module=True, mpi4py=False, timeout=40)
    assert result.returncode != 0 and seconds < 10
    assert "ring: ok" in result.stdout and "abort test FAILED" not in result.stdout
    assert result.stderr.count("[rank 1] Traceback") == 1, result.stderr


@pytest.mark.mpi
@needs_mpi
@pytest.mark.parametrize("communicator", ["flat", "bucketed"])
def test_watchdog_reports_a_rank_that_skips_a_ddp_backward(communicator):
    result, seconds = launch("failure_ddp_skip.py", communicator, mpi4py=False, timeout=40,
                             env={"TINYGRAD_EDU_COLLECTIVE_TIMEOUT": "3"})
    assert result.returncode != 0
    assert "NOT REACHED" not in result.stdout
    assert "[rank 0] watchdog: gradient" in result.stderr, result.stderr
    assert "ranks that did not arrive: 1" in result.stderr, result.stderr
    assert seconds < 15, f"the job took {seconds:.1f} s to end (timeout 3 s)"
    assert _all_gone(pids(result.stdout)) == []


@pytest.mark.mpi
@needs_mpi
def test_a_command_line_error_on_one_rank_ends_the_whole_job():
    """Without this, rank 0 would wait in its barrier until the watchdog's default (600 s)."""
    result, seconds = launch("cli_error_one_rank.py", mpi4py=False, timeout=40,
                             env={"TINYGRAD_EDU_COLLECTIVE_TIMEOUT": "300"})
    assert result.returncode != 0
    assert "NOT REACHED" not in result.stdout
    assert "error: argument --lr" in result.stderr, result.stderr
    assert seconds < 15, f"the job took {seconds:.1f} s to end"
    assert _all_gone(pids(result.stdout)) == []
