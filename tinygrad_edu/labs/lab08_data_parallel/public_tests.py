"""Lab 8, public checks: ``python -m tinygrad_edu lab check 8 DIR``.

``chunk_bounds`` is checked in this process.  The other tasks run in real MPI jobs (``launch.py``
starts ``mpiexec -n P`` on ``driver.py``) and are compared here with NumPy (the sum or mean of the
ranks' arrays, drawn again from the job's seed) and with single-process SGD on the full batch.

Each task is checked alone: the ring jobs use a correct ``chunk_bounds``, and the SGD jobs use MPI's own
``Allreduce`` in place of your ``ring_allreduce`` and build the same model on every rank without your
``broadcast_parameters``."""
import numpy as np

from tinygrad_edu.labs.checks import LabFailure, expect_close, expect_equal, expect_true
from tinygrad_edu.labs.testing import lab_test

from tinygrad_edu.labs.lab08_data_parallel.driver import (
    RING_CASES, SGD_CASES, broadcast_model, correct_chunk_bounds, model_arrays, mse,
    ring_input, sgd_problem)
from tinygrad_edu.labs.lab08_data_parallel.launch import run_job


def check_chunk_bounds(student, n, size):
    what = f"chunk_bounds({n}, {size})"
    got = student.chunk_bounds(n, size)
    expected = correct_chunk_bounds(n, size)
    expect_true(what, isinstance(got, (list, tuple)), f"should return a list of (start, stop) pairs, got "
                                                      f"{type(got).__name__}")
    expect_equal(f"{what}: how many chunks (one per rank, empty ones included)", len(got), size)
    got = [tuple(int(v) for v in pair) for pair in got]
    for i, ((start, stop), (e_start, e_stop)) in enumerate(zip(got, expected)):
        if (start, stop) != (e_start, e_stop):
            raise LabFailure(f"{what}: chunk {i} is {(start, stop)}, expected {(e_start, e_stop)} "
                             f"(chunk i has n // size = {n // size} elements, one more for the first "
                             f"n % size = {n % size} chunks; the chunks cover 0..{n} in order, no element "
                             f"lost or repeated)")


def _chunk_of(index, n, size):
    for c, (start, stop) in enumerate(correct_chunk_bounds(n, size)):
        if start <= index < stop:
            return c
    return -1


def check_ring_job(ctx, check, ranks):
    """Run the ring cases of ``check`` on ``ranks`` processes and compare every rank's results."""
    seed, results = run_job(ctx, check, ranks)
    for case, (shape, dtype, op) in enumerate(RING_CASES[check]):
        check_ring_case(seed, results, case, shape, dtype, op, ranks)


def check_ring_case(seed, results, case, shape, dtype, op, ranks):
    """Compare every rank's result of ring case ``case`` with the NumPy sum (or mean) of the ranks' inputs."""
    inputs = np.stack([ring_input(seed, case, r, shape, dtype) for r in range(ranks)]).astype(np.float64)
    total = inputs.sum(axis=0)
    expected = total / ranks if op == "mean" else total
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    label = f"ring_allreduce(comm, x, op={op!r}) on {ranks} ranks, x of shape {shape} ({dtype})"
    for rank, result in enumerate(results):
        what = f"{label}, rank {rank}"
        expect_equal(f"{what}: shape of the result", tuple(result["shapes"][case]), shape)
        expect_equal(f"{what}: dtype of the result (keep the input's)", result["dtypes"][case], dtype)
        got = np.array(result["values"][case]).reshape(shape)
        differ = ranks > 1 and got.size > 0
        if op == "mean" and differ and np.allclose(got, total, **tol):
            raise LabFailure(f"{what}: you returned the SUM over the ranks; op='mean' divides the sum by "
                             f"the number of ranks")
        if op == "sum" and differ and np.allclose(got, total / ranks, **tol):
            raise LabFailure(f"{what}: you returned the MEAN; op='sum' does not divide")
        bad = ~np.isclose(got, expected, **tol)
        if bad.any():
            n = int(np.prod(shape))
            chunks = sorted({_chunk_of(i, n, ranks) for i in np.flatnonzero(bad.ravel())})
            raise LabFailure(f"{what}: chunk(s) {chunks} of chunk_bounds({n}, {ranks}) are wrong on "
                             f"this rank. In the reduce-scatter phase rank r sends chunk (r - s) % size "
                             f"at step s and adds the chunk (r - s - 1) % size it receives; in the "
                             f"all-gather phase it sends chunk (r + 1 - s) % size and copies in chunk "
                             f"(r - s) % size. Detail: " + _detail(what, got, expected, tol))
        expect_equal(f"{what}: how many times comm.Sendrecv was called (a ring makes size - 1 calls in "
                     f"each phase)", result["calls"][case], 2 * (ranks - 1))
        expect_true(what, result["unchanged"][case],
                    "the input array was modified: work on a copy (np.array(x, copy=True)); the caller "
                    "still needs its own values")
        expect_true(what, result["fresh"][case],
                    "the result shares memory with the input array: return a new array")
    n = int(np.prod(shape))
    expect_equal(f"{label}: elements sent by Sendrecv, all ranks together (each step of a ring sends every "
                 f"chunk once: 2 (size - 1) n)", sum(result["sent"][case] for result in results),
                 2 * (ranks - 1) * n)


def _detail(what, got, expected, tol):
    try:
        expect_close("values", got, expected, **tol)
    except LabFailure as failure:
        return str(failure)
    return ""


def single_process_sgd(seed, steps, lr, momentum):
    """(weights after ``steps`` SGD steps on the full batch, the loss before each step)."""
    from tinygrad_edu import Tensor, optim
    model, x, y = sgd_problem(seed)
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = mse(model(Tensor(x)), Tensor(y))
        loss.backward()
        optimizer.step()
        losses.append(float(loss.item()))
    return [a.astype(np.float64) for a in model_arrays(model)], losses


def _close(params, reference, tol):
    return all(np.allclose(np.reshape(p, np.shape(r)), r, **tol) for p, r in zip(params, reference))


def check_sgd_job(ctx, check, ranks):
    seed, results = run_job(ctx, check, ranks)
    steps, lr, momentum = SGD_CASES[check]
    label = (f"data_parallel_sgd_step on {ranks} ranks ({steps} steps, lr {lr}, momentum {momentum}, "
             f"batch split into {ranks} equal shards)")
    tol = dict(rtol=1e-4, atol=1e-5)
    names = ["layer 0 weight", "layer 0 bias", "layer 2 weight", "layer 2 bias"]
    for rank, result in enumerate(results[1:], start=1):
        expect_true(label, _close(result["params"], [np.array(p) for p in results[0]["params"]], tol),
                    f"rank {rank}'s weights differ from rank 0's: every rank must step with the SAME "
                    f"averaged gradient (write the mean over ranks back into p.grad.array before "
                    f"optimizer.step())")
    reference, losses = single_process_sgd(seed, steps, lr, momentum)
    params = results[0]["params"]
    if not _close(params, reference, tol):
        if ranks > 1 and _close(params, single_process_sgd(seed, steps, lr * ranks, momentum)[0], tol):
            raise LabFailure(f"{label}: the weights match SGD with a {ranks}x larger step: the gradients "
                             f"were SUMMED over the ranks; average them (op='mean')")
        if ranks > 1 and _close(params, single_process_sgd(seed, steps, lr / ranks, momentum)[0], tol):
            raise LabFailure(f"{label}: the weights match SGD with a {ranks}x smaller step: the gradients "
                             f"were divided by the number of ranks twice (op='mean' already divides)")
        for name, got, expected in zip(names, params, reference):
            expect_close(f"{label}: {name} after the last step, compared with single-process SGD on the "
                         f"full batch (was optimizer.zero_grad() called before backward? was every gradient "
                         f"averaged before optimizer.step()?)", np.reshape(got, expected.shape), expected,
                         **tol)
    mean_losses = np.mean([result["losses"] for result in results], axis=0)
    expect_close(f"{label}: the mean over ranks of the returned losses (each rank returns the loss of its "
                 f"shard, computed before the step)", mean_losses, np.array(losses), rtol=1e-4, atol=1e-6)


@lab_test("chunk_bounds", points=3)
def test_chunk_bounds_examples(student, ctx):
    for n, size in ((12, 3), (7, 3), (10, 4), (5, 1), (2, 3), (0, 2)):
        check_chunk_bounds(student, n, size)


@lab_test("ring_allreduce", points=3)
def test_ring_sum_two_and_three_ranks(student, ctx):
    check_ring_job(ctx, "ring_sum", 2)
    check_ring_job(ctx, "ring_sum", 3)


@lab_test("ring_allreduce", points=3)
def test_ring_mean_uneven_chunks(student, ctx):
    check_ring_job(ctx, "ring_mean", 3)


@lab_test("broadcast_parameters", points=3)
def test_broadcast_from_rank_zero(student, ctx):
    ranks = 3
    seed, results = run_job(ctx, "broadcast", ranks)
    initial = [[a.ravel().astype(np.float64) for a in model_arrays(broadcast_model(seed, r))]
               for r in range(ranks)]
    for rank, result in enumerate(results):
        got = [np.array(p) for p in result["params"]]
        if all(np.array_equal(g, e) for g, e in zip(got, initial[0])):
            continue
        for other in range(ranks):
            if all(np.array_equal(g, e) for g, e in zip(got, initial[other])):
                detail = ("kept its own weights: Bcast must fill p.array itself, not a copy of it"
                          if other == rank else f"holds rank {other}'s weights: broadcast from root=0")
                raise LabFailure(f"broadcast_parameters on {ranks} ranks: after the call rank {rank} "
                                 f"{detail}")
        expect_close(f"broadcast_parameters on {ranks} ranks: rank {rank}'s first parameter (should equal "
                     f"rank 0's before the call)", got[0], initial[0][0])


@lab_test("dp_sgd_step", points=4, slow=True)
def test_dp_sgd_equals_single_process(student, ctx):
    check_sgd_job(ctx, "dp_sgd", 2)
