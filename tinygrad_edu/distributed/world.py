"""The world of processes: who am I, how many are we, and the MPI communicator that joins us.

Whatever starts MPI programs starts ours: ``mpiexec -n 4 python train.py`` on one machine,
``mpiexec -f hostfile ...`` across machines, ``srun --mpi=pmix ...`` under SLURM.  Each of the N
processes runs the same script; MPI tells each its **rank** (0 … N-1) and the **world size** N.

``init()`` is idempotent.  Without a launcher — or without mpi4py installed at all — the world is a
single process of rank 0, so the same script runs on a laptop unchanged: every collective of this
package is then the identity.

    from tinygrad_edu import distributed as dist
    dist.init()
    print(dist.get_rank(), "of", dist.get_world_size())
"""
import os
import socket

_state = {"initialized": False, "comm": None, "rank": 0, "size": 1, "local_rank": 0, "error": None}

#: environment variables launchers set for the rank within one machine
_LOCAL_RANK_VARIABLES = ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID",
                         "MV2_COMM_WORLD_LOCAL_RANK", "PMI_LOCAL_RANK")


def _load_mpi():
    """mpi4py's ``MPI`` module, or None when mpi4py (or its MPI library) is missing.  A missing MPI
    library raises RuntimeError, not ImportError, hence the broad catch."""
    try:
        from mpi4py import MPI
        return MPI
    except Exception as exc:  # noqa: BLE001  (ImportError, or RuntimeError "cannot load MPI library")
        _state["error"] = f"{type(exc).__name__}: {exc}"
        return None


def init():
    """Join the world (once; later calls do nothing).  Returns the world size."""
    if _state["initialized"]:
        return _state["size"]
    MPI = _load_mpi()
    if MPI is not None:
        comm = MPI.COMM_WORLD
        _state.update(comm=comm, rank=comm.Get_rank(), size=comm.Get_size())
        _state["local_rank"] = _local_rank(MPI, comm)
    _state["initialized"] = True
    if _state["size"] > 1:  # failure.py: an uncaught exception aborts the job; the watchdog's thread
        from .failure import install_failure_handling; install_failure_handling()  # noqa: E702
    return _state["size"]


def _local_rank(MPI, comm):
    for name in _LOCAL_RANK_VARIABLES:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    try:  # the processes that share this machine's memory, numbered from 0
        return comm.Split_type(MPI.COMM_TYPE_SHARED).Get_rank()
    except Exception:  # noqa: BLE001  (an MPI without MPI-3 shared-memory splits)
        return 0


def is_initialized():
    return _state["initialized"]


def get_rank():
    """This process's rank, 0 … world size - 1 (0 before ``init`` and without MPI)."""
    return _state["rank"]


def get_world_size():
    return _state["size"]


def get_local_rank():
    """The rank among the processes on this machine (which GPU to take, for example)."""
    return _state["local_rank"]


def is_main_process():
    """Rank 0: the one process that prints progress, writes logs and checkpoints."""
    return _state["rank"] == 0


def comm():
    """The MPI communicator of the world (``MPI.COMM_WORLD``), or None in a world of one without MPI."""
    init()
    return _state["comm"]


def barrier():
    """Wait until every rank has arrived here."""
    init()
    if _state["comm"] is not None and _state["size"] > 1:
        _state["comm"].Barrier()


def launch_info():
    """A dict describing this process in the world: rank, size, local rank, host, and the MPI library
    (vendor and version), or why there is none."""
    init()
    info = {"rank": _state["rank"], "world_size": _state["size"], "local_rank": _state["local_rank"],
            "host": socket.gethostname(), "pid": os.getpid()}
    MPI = _load_mpi() if _state["comm"] is not None else None
    if MPI is None:
        info["mpi"] = None
        info["why_no_mpi"] = _state["error"] or "mpi4py found, but the world was not initialised"
        return info
    vendor, version = MPI.get_vendor()
    info["mpi"] = {"vendor": vendor, "version": ".".join(map(str, version)),
                   "standard": ".".join(map(str, MPI.Get_version())),
                   "library": MPI.Get_library_version().splitlines()[0].strip(),
                   "mpi4py": __import__("mpi4py").__version__}
    return info
