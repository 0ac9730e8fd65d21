"""Thread pinning for the benchmark harness: every library gets the same number of threads.

A ratio against PyTorch is only fair when both libraries use the same number of cores, so before a
row is timed ``set_threads(n)`` gives ``n`` threads to torch's intra-op pool, to NumPy's BLAS
(OpenBLAS, through threadpoolctl) and to numba; ``restore_threads()`` undoes it (the tests call it).

NumPy's BLAS reads its thread count once, when it loads.  Without threadpoolctl the only way to
change it is the environment, so the process **re-executes itself** with ``OPENBLAS_NUM_THREADS``
& co. set (``_reexec_with_thread_env``); ``TINYGRAD_EDU_BENCH_THREADS`` marks the restarted
process so that it does not restart again.

``SWITCH_PAUSE_S`` lives here too: it is how long a round waits, with more than one thread, for
the previous library's idle threads to stop spinning.  ``benchmarks/harness.py`` re-exports every
name, so ``harness.set_threads`` keeps working.
"""
import os
import sys

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
_REEXEC_MARK = "TINYGRAD_EDU_BENCH_THREADS"

# After a call, OpenBLAS's worker threads spin for ~0.1 s before sleeping (libgomp's, ~0.02 s).
# With more than one thread per library on a 2-core machine, the next library's round would
# share its cores with those spinning threads (measured: torch's 1024² matmul step took 104 ms
# right after NumPy's, 35 ms after a 0.1 s pause), so rounds wait this long when threads > 1.
SWITCH_PAUSE_S = 0.2


# ---------------------------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------------------------
_limits = []  # threadpoolctl limiters kept alive (they hold the setting until restored)
_torch_threads_before = []  # torch's thread count before the first set_threads()
_numba_threads_before = []  # numba's, likewise
_intra_threads_before = []  # tinygrad_edu.backend.intra_op_threads(), likewise


def set_threads(n, reexec=True):
    """Give every library ``n`` threads: torch's intra-op pool, NumPy's BLAS and numba.

    NumPy's BLAS is limited at run time through threadpoolctl when it is installed.  Without it,
    the only way is the environment (read once, when OpenBLAS loads), so the process re-executes
    itself with ``OPENBLAS_NUM_THREADS`` & co. set (``reexec=True``, what the command line does);
    then only one thread count per run works.  With ``reexec=False`` (inside tests) NumPy's BLAS
    keeps its threads and ``environment()`` records how many.
    """
    try:
        import threadpoolctl
    except ImportError:
        threadpoolctl = None
    if threadpoolctl is not None:
        while _limits:
            _limits.pop().restore_original_limits()
        _limits.append(threadpoolctl.threadpool_limits(limits=n))
    elif reexec and os.environ.get(_REEXEC_MARK) != str(n):
        if os.environ.get(_REEXEC_MARK) is not None:
            raise RuntimeError(
                f"set_threads({n}): this process already pinned NumPy's BLAS to "
                f"{os.environ[_REEXEC_MARK]} threads through the environment; to measure several "
                "thread counts in one run, install threadpoolctl (pip install threadpoolctl)")
        _reexec_with_thread_env(n)
    numba = sys.modules.get("numba")
    if numba is not None:
        # first: starting numba's OpenMP layer resets the OpenMP thread count torch shares
        if not _numba_threads_before:
            _numba_threads_before.append(numba.get_num_threads())
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    from tinygrad_edu import backend     # the engine's own threads: what tg.set_num_threads(n) sets too
    if not _intra_threads_before:
        _intra_threads_before.append(backend.intra_op_threads())
    backend.set_intra_op_threads(n)
    import torch
    if not _torch_threads_before:
        _torch_threads_before.append(torch.get_num_threads())
    torch.set_num_threads(n)
    if torch.get_num_threads() != n:
        raise RuntimeError(f"set_threads({n}): torch reports {torch.get_num_threads()} threads")


def restore_threads():
    """Undo ``set_threads`` (BLAS limits through threadpoolctl, numba's and torch's counts)."""
    while _limits:
        _limits.pop().restore_original_limits()
    if _numba_threads_before:
        sys.modules["numba"].set_num_threads(_numba_threads_before.pop())
    if _intra_threads_before:
        from tinygrad_edu import backend
        backend.set_intra_op_threads(_intra_threads_before.pop())
    if _torch_threads_before:
        import torch
        torch.set_num_threads(_torch_threads_before.pop())


def _check_threads_still(n, log):
    """Warn when something (e.g. a numba kernel starting its OpenMP pool) changed torch's threads."""
    import torch
    if torch.get_num_threads() != n and log:
        log(f"warning: torch runs {torch.get_num_threads()} threads after the rows, {n} were set; "
            "something changed the OpenMP thread count while timing")


def _reexec_with_thread_env(n):
    """Restart this same command with the thread variables set before NumPy loads."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(n)
    os.environ[_REEXEC_MARK] = str(n)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable] + sys.orig_argv[1:])
