"""Lab 8 — data parallelism over MPI.

Every rank (process) holds a full copy of the model and one shard of the batch.  After backward each
rank has the gradient of ITS shard's loss; the ranks then average their gradients, so that every copy
takes the same step — the step single-process SGD takes on the whole batch.

Why the MEAN (not the sum): with P equal shards of b samples and a loss that is a mean over samples,

    L(full batch) = (1/P) * sum_r L_r        so        dL/dw = (1/P) * sum_r dL_r/dw

Summing instead would take a step P times too long.

The ring allreduce (what NCCL and Horovod do) reduces an array of n numbers over P ranks sending only
2 (P - 1) / P * n numbers per rank, whatever P.  Split the array into P chunks (``chunk_bounds``).

* reduce-scatter, P - 1 steps: at step s, rank r sends chunk (r - s) % P to its right neighbour
  (r + 1) % P, receives chunk (r - s - 1) % P from its left neighbour (r - 1) % P, and ADDS it into its
  own copy of that chunk.  Afterwards rank r holds the complete sum of chunk (r + 1) % P.
* all-gather, P - 1 steps: at step s, rank r sends chunk (r + 1 - s) % P (complete) to the right,
  receives chunk (r - s) % P from the left and COPIES it in.  Afterwards every rank holds every chunk.

``comm.Sendrecv(sendbuf, dest=right, recvbuf=buf, source=left)`` sends and receives at once, so a ring
in which every rank sends first never deadlocks.  Run a file that uses this module under

    mpiexec -n 3 python -m mpi4py your_script.py
"""
import numpy as np


def chunk_bounds(n, size):
    """The ``size`` contiguous chunks an array of ``n`` elements is split into: a list of
    ``(start, stop)`` pairs, chunk i covering ``array[start:stop]``.

    Every chunk has ``n // size`` elements and the first ``n % size`` chunks one more (NumPy's
    ``np.array_split`` convention), so chunk sizes differ by at most one and the chunks cover
    0..n exactly, in order.  When n < size, the last chunks are empty: ``(k, k)``.

    Example: ``chunk_bounds(7, 3) == [(0, 3), (3, 5), (5, 7)]``."""
    # BEGIN SOLUTION chunk_bounds
    base, extra = divmod(n, size)
    bounds, start = [], 0
    for i in range(size):
        stop = start + base + (1 if i < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds
    # END SOLUTION


def ring_allreduce(comm, array, op="sum"):
    """The elementwise sum (``op="sum"``) or mean (``op="mean"``) of ``array`` over all ranks of
    ``comm``, returned as a NEW array of the same shape and dtype on every rank; ``array`` itself is
    never modified.

    ``comm`` is an ``mpi4py.MPI.Comm`` (``comm.Get_rank()``, ``comm.Get_size()``, ``comm.Sendrecv``).
    Every rank calls this with an array of the same shape and dtype (float32 or float64).  Use
    ``chunk_bounds(array.size, size)`` for the chunks (see the module docstring for the two phases).
    A world of one rank returns a copy (the sum over one rank is the array itself)."""
    if op not in ("sum", "mean"):
        raise ValueError(f"ring_allreduce: op must be 'sum' or 'mean', got {op!r}")
    array = np.asarray(array)
    rank, size = comm.Get_rank(), comm.Get_size()
    # BEGIN SOLUTION ring_allreduce
    flat = np.array(array, copy=True).ravel()
    bounds = chunk_bounds(flat.size, size)
    right, left = (rank + 1) % size, (rank - 1) % size
    for step in range(size - 1):
        send_start, send_stop = bounds[(rank - step) % size]
        recv_start, recv_stop = bounds[(rank - step - 1) % size]
        incoming = np.empty(recv_stop - recv_start, dtype=flat.dtype)
        comm.Sendrecv(flat[send_start:send_stop], dest=right, recvbuf=incoming, source=left)
        flat[recv_start:recv_stop] += incoming
    for step in range(size - 1):
        send_start, send_stop = bounds[(rank + 1 - step) % size]
        recv_start, recv_stop = bounds[(rank - step) % size]
        incoming = np.empty(recv_stop - recv_start, dtype=flat.dtype)
        comm.Sendrecv(flat[send_start:send_stop], dest=right, recvbuf=incoming, source=left)
        flat[recv_start:recv_stop] = incoming
    if op == "mean":
        flat /= size
    return flat.reshape(array.shape)
    # END SOLUTION


def broadcast_parameters(comm, model):
    """Make every rank's parameters equal to rank 0's, in place (the models are built independently on
    each rank, e.g. from different seeds; data parallelism needs one starting point).

    Each parameter ``p`` of ``model.parameters()`` keeps its values in the NumPy array ``p.array``;
    ``comm.Bcast(buffer, root=0)`` overwrites ``buffer`` on every rank with rank 0's ``buffer``
    (the buffer itself must be the parameter's array, not a copy of it)."""
    # BEGIN SOLUTION broadcast_parameters
    for p in model.parameters():
        comm.Bcast(p.array, root=0)
    # END SOLUTION


def data_parallel_sgd_step(comm, model, optimizer, x_shard, y_shard, loss_fn):
    """One data-parallel training step on this rank's shard; returns this rank's loss (a float).

    1. ``optimizer.zero_grad()``, so gradients of the previous step do not accumulate;
    2. ``loss = loss_fn(model(x_shard), y_shard)`` and ``loss.backward()``: the gradient of this
       shard's (mean) loss in each ``p.grad`` (a Tensor; its NumPy array is ``p.grad.array``);
    3. replace every gradient by its MEAN over the ranks, ``ring_allreduce(comm, g, op="mean")``
       (write it back into ``p.grad.array[...]``), so that every rank holds the full-batch gradient;
    4. ``optimizer.step()``: every rank takes the same step, and the copies stay identical.

    With P ranks holding equal shards of a batch, the weights after K steps equal those of
    single-process SGD on the whole batch (same learning rate)."""
    # BEGIN SOLUTION dp_sgd_step
    optimizer.zero_grad()
    loss = loss_fn(model(x_shard), y_shard)
    loss.backward()
    for p in model.parameters():
        if p.grad is not None:
            p.grad.array[...] = ring_allreduce(comm, p.grad.array, op="mean")
    optimizer.step()
    return float(loss.item())
    # END SOLUTION
