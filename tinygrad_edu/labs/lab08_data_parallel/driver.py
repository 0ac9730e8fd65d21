"""What every rank of a lab 8 test job runs::

    mpiexec -n P python -m mpi4py -m tinygrad_edu.labs.lab08_data_parallel.driver \\
        SUBMISSION_PATH CHECK SEED OUTFILE

Each rank imports the student's file, runs the requested check (``CHECKS``) on its own inputs (drawn
from SEED and its rank, so the grader can draw them again), and sends what it got to rank 0, which
writes ``{"ranks": [one dict per rank]}`` to OUTFILE as JSON.  When the student's code raises on a rank,
that rank writes ``OUTFILE.error<rank>`` (what was raised, and where) and aborts the job, so the other
ranks never wait for it.

ISOLATION: every check uses only one task's code.  The ring checks replace the student's
``chunk_bounds`` by ``correct_chunk_bounds``; the SGD checks replace ``ring_allreduce`` by
``correct_allreduce`` (MPI's own ``Allreduce``) and build the same model on every rank without the
student's ``broadcast_parameters``.

The input-making functions below have no MPI in them: the grader's tests import them to compute the
expected values with NumPy and with single-process SGD."""
import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path

import numpy as np

#: check -> list of (shape, dtype, op) cases, all run in one job
RING_CASES = {
    "ring_sum": [((12,), "float64", "sum"), ((10,), "float64", "sum"), ((4, 6), "float32", "sum")],
    "ring_mean": [((11,), "float32", "mean"), ((7,), "float64", "mean"), ((3, 5), "float64", "mean")],
    "ring_edges": [((2,), "float64", "sum"), ((1,), "float32", "mean"), ((13,), "float64", "sum"),
                   ((2, 3, 4), "float32", "mean"), ((0,), "float64", "sum")],
}
#: check -> (steps, learning rate, momentum)
SGD_CASES = {"dp_sgd": (4, 0.1, 0.0), "dp_sgd_momentum": (5, 0.05, 0.9)}
BATCH, FEATURES, HIDDEN, OUTPUTS = 12, 4, 5, 3


def ring_input(seed, case, rank, shape, dtype):
    """Rank ``rank``'s array in ring case number ``case``."""
    rng = np.random.default_rng([seed, case, rank])
    return (rng.standard_normal(shape) * 3).astype(dtype)


def correct_chunk_bounds(n, size):
    """np.array_split's chunks, as (start, stop) pairs."""
    bounds, start = [], 0
    for part in np.array_split(np.arange(n), size):
        bounds.append((start, start + len(part)))
        start += len(part)
    return bounds


def make_model(rng):
    """A small MLP whose parameters are drawn from ``rng`` (not from the engine's generator)."""
    import tinygrad_edu.nn as nn
    model = nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, OUTPUTS))
    for p in model.parameters():
        p.array[...] = rng.standard_normal(p.array.shape).astype(p.array.dtype) * 0.5
    return model


def model_arrays(model):
    return [p.array.copy() for p in model.parameters()]


def broadcast_model(seed, rank):
    """The model rank ``rank`` builds before the broadcast (a different one on every rank)."""
    return make_model(np.random.default_rng([seed, 1000 + rank]))


def sgd_problem(seed):
    """(model, x, y) of the SGD checks: the same on every rank; x and y are the full batch."""
    rng = np.random.default_rng([seed, 7])
    model = make_model(rng)
    x = rng.standard_normal((BATCH, FEATURES)).astype(np.float32)
    y = rng.standard_normal((BATCH, OUTPUTS)).astype(np.float32)
    return model, x, y


def shard(array, rank, size):
    per = len(array) // size
    return array[rank * per:(rank + 1) * per]


def mse(prediction, target):
    import tinygrad_edu.nn.functional as F
    return F.mse_loss(prediction, target)


def make_correct_allreduce(MPI):
    def correct_allreduce(comm, array, op="sum"):
        array = np.asarray(array)
        out = np.empty_like(array)
        comm.Allreduce(np.ascontiguousarray(array), out, op=MPI.SUM)
        return out / comm.Get_size() if op == "mean" else out
    return correct_allreduce


class CountingComm:
    """``comm``, counting the ``Sendrecv`` calls and the elements they send (a ring's cost)."""

    def __init__(self, comm):
        self._comm, self.calls, self.sent = comm, 0, 0

    def Sendrecv(self, sendbuf, *args, **kwargs):
        self.calls += 1
        self.sent += int(np.asarray(sendbuf[0] if isinstance(sendbuf, (list, tuple)) else sendbuf).size)
        return self._comm.Sendrecv(sendbuf, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._comm, name)


def check_ring(comm, student, seed, name):
    student.chunk_bounds = correct_chunk_bounds
    rank = comm.Get_rank()
    out = {"values": [], "dtypes": [], "shapes": [], "unchanged": [], "fresh": [], "calls": [], "sent": []}
    for case, (shape, dtype, op) in enumerate(RING_CASES[name]):
        array = ring_input(seed, case, rank, shape, dtype)
        before = array.copy()
        counting = CountingComm(comm)
        got = student.ring_allreduce(counting, array, op=op)
        out["calls"].append(counting.calls)
        out["sent"].append(counting.sent)
        if got is None:
            raise ValueError("ring_allreduce returned None: return the reduced array")
        got_array = np.asarray(got)
        out["values"].append(np.asarray(got_array, dtype=np.float64).ravel().tolist())
        out["dtypes"].append(str(got_array.dtype))
        out["shapes"].append(list(got_array.shape))
        out["unchanged"].append(bool(np.array_equal(array, before)))
        out["fresh"].append(got is not array and not np.shares_memory(got_array, array))
    return out


def check_broadcast(comm, student, seed, name):
    model = broadcast_model(seed, comm.Get_rank())
    student.broadcast_parameters(comm, model)
    return {"params": [a.ravel().astype(np.float64).tolist() for a in model_arrays(model)]}


def check_sgd(comm, student, seed, name):
    from mpi4py import MPI
    from tinygrad_edu import Tensor, optim
    student.ring_allreduce = make_correct_allreduce(MPI)
    steps, lr, momentum = SGD_CASES[name]
    rank, size = comm.Get_rank(), comm.Get_size()
    model, x, y = sgd_problem(seed)
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    xs, ys = Tensor(shard(x, rank, size)), Tensor(shard(y, rank, size))
    losses = []
    for _ in range(steps):
        loss = student.data_parallel_sgd_step(comm, model, optimizer, xs, ys, mse)
        losses.append(float(loss) if np.ndim(loss) == 0 else float("nan"))
    return {"params": [a.ravel().astype(np.float64).tolist() for a in model_arrays(model)], "losses": losses}


CHECKS = {**{name: check_ring for name in RING_CASES}, "broadcast": check_broadcast,
          **{name: check_sgd for name in SGD_CASES}}


def load_student(path):
    spec = importlib.util.spec_from_file_location("data_parallel", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def describe(exc, path):
    """``ValueError: message (line 12 of data_parallel.py: the line)``, the line being the last frame of
    the student's file."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == Path(path).resolve():
            where = f" (line {frame.lineno} of {Path(path).name}: {(frame.line or '').strip()})"
    return f"{type(exc).__name__}: {message(exc)}{where}"


def message(exc):
    """The exception's message; for an MPI error only its class ("Message truncated"), since MPI's full
    text holds buffer addresses that change from run to run."""
    if hasattr(exc, "Get_error_class"):
        from mpi4py import MPI
        return MPI.Get_error_string(exc.Get_error_class())
    return str(exc)


def main(argv):
    path, name, seed, outfile = argv[0], argv[1], int(argv[2]), Path(argv[3])
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    try:
        student = load_student(path)
        result = CHECKS[name](comm, student, seed, name)
    except BaseException as exc:           # the student's code raised (or exited): report it, end the job
        kind = "not_implemented" if isinstance(exc, NotImplementedError) else "error"
        report = {"kind": kind, "text": describe(exc, path), "message": message(exc)}
        # written under another name, then renamed: the Abort below kills the other ranks, maybe in the
        # middle of writing their own report, and the grader must never read half a file
        partial = Path(f"{outfile}.partial{rank}")
        partial.write_text(json.dumps(report))
        os.replace(partial, f"{outfile}.error{rank}")
        sys.stdout.flush()
        comm.Abort(1)
        return 1
    results = comm.gather(result, root=0)
    if rank == 0:
        outfile.write_text(json.dumps({"ranks": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
