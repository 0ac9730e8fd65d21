"""How the pytest files start a multi-rank job: ``launch(script, n=2, ...)`` runs
``mpiexec -n <n> python [-m mpi4py] tests/mpi/<script>`` with the repository on PYTHONPATH, one BLAS
thread per rank, ``MPIEXEC_TIMEOUT`` and a subprocess timeout (a hung job is killed), and returns
(the CompletedProcess, seconds).  ``mpi_missing()`` is the reason to skip, or None."""
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def mpiexec():
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def mpi_missing():
    if mpiexec() is None:
        return "no mpiexec next to the Python interpreter or on PATH (install the 'mpi' extra)"
    try:
        from mpi4py import MPI  # noqa: F401
    except Exception as exc:  # noqa: BLE001  (RuntimeError when the MPI library is missing)
        return f"mpi4py unusable: {type(exc).__name__}: {exc}"
    return None


def launch(target, *args, n=2, mpi4py=True, timeout=60, env=None, module=False):
    """Run ``target`` (a script in tests/mpi, or a module with module=True) on n ranks."""
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE)]),
                       OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                       MPIEXEC_TIMEOUT=str(timeout))
    environment.update(env or {})
    command = [mpiexec(), "-n", str(n), sys.executable] + (["-m", "mpi4py"] if mpi4py else [])
    command += ["-m", target] if module else [str(HERE / target)]
    start = time.monotonic()
    result = subprocess.run(command + list(args), capture_output=True, text=True, env=environment,
                            timeout=timeout + 15, cwd=str(ROOT))
    return result, time.monotonic() - start


def pids(stdout):
    """The ``PID <rank> <pid>`` lines the failure scripts print: {rank: pid} (a regular expression,
    since mpiexec may glue two ranks' lines together)."""
    return {int(rank): int(pid) for rank, pid in re.findall(r"PID (\d+) (\d+)", stdout)}


def alive(pid):
    """True if a process with this PID still runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False
