"""How lab 8's tests start a job: ``run_job(ctx, check, ranks)`` runs ``driver.py`` on ``ranks``
processes under ``mpiexec`` and returns the ranks' results (a list of dicts, rank order).

Every wait has a limit: ``MPIEXEC_TIMEOUT`` for mpiexec itself, and a subprocess timeout after which
the whole process group (mpiexec, its proxy and every rank) is killed, so a student's deadlocked ring
costs the test, never the grader.  A failure is raised as the student's feedback: ``LabFailure`` for a
deadlock or a crash, ``NotImplementedError`` for a task not written yet (the runner reports it so)."""
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from ..checks import LabFailure

#: seconds a job may take before it counts as deadlocked (a correct one takes about one)
JOB_TIMEOUT_S = 8
ROOT = Path(__file__).resolve().parents[3]
DRIVER = "tinygrad_edu.labs.lab08_data_parallel.driver"


def mpiexec():
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def mpi_missing():
    """Why no job can start here (None when it can)."""
    if mpiexec() is None:
        return ("no mpiexec next to the Python interpreter or on PATH: lab 8 needs MPI; install it with "
                "`pip install mpi4py mpich`")
    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed: lab 8 needs it; install it with `pip install mpi4py mpich`"
    return None


def run_job(ctx, check, ranks):
    """The per-rank results of ``check`` (a key of driver.CHECKS) run on ``ranks`` processes."""
    problem = mpi_missing()
    if problem is not None:
        raise LabFailure(problem)
    seed = int(ctx.rng.integers(2 ** 31))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
               MPIEXEC_TIMEOUT=str(JOB_TIMEOUT_S), PYTHONDONTWRITEBYTECODE="1")
    with tempfile.TemporaryDirectory(prefix="tinygrad_edu_lab8_") as scratch:
        out = Path(scratch) / "result.json"
        command = [mpiexec(), "-n", str(ranks), sys.executable, "-m", "mpi4py", "-m", DRIVER,
                   str(Path(ctx.submission_path).resolve()), check, str(seed), str(out)]
        process = subprocess.Popen(command, cwd=scratch, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        timed_out = False
        try:
            process.communicate(timeout=JOB_TIMEOUT_S + 2)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
        errors = [json.loads(path.read_text()) for path in sorted(Path(scratch).glob("result.json.error*"))]
        if errors:
            first = errors[0]
            if first["kind"] == "not_implemented":
                raise NotImplementedError(first["message"])
            hint = (" (a message larger than its receive buffer: the sender and the receiver disagree on "
                    "which chunk is sent at this step)" if "truncat" in first["text"].lower() else "")
            raise LabFailure(f"on {ranks} ranks ({check}): your code raised {first['text']}{hint}")
        if out.exists():
            return seed, json.loads(out.read_text())["ranks"]
        if timed_out or process.returncode != 0:
            raise LabFailure(
                f"the job on {ranks} ranks ({check}) did not finish within {JOB_TIMEOUT_S} s: a deadlock? "
                f"Every rank must send to its right neighbour (rank + 1) % size and receive from its left "
                f"neighbour (rank - 1) % size, and every rank must call Sendrecv the same number of times "
                f"with matching sizes")
        raise LabFailure(f"the job on {ranks} ranks ({check}) wrote no result (exit code "
                         f"{process.returncode})")
