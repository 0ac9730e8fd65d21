"""Lab 8: data parallelism over MPI — a ring allreduce written with Sendrecv, a parameter broadcast,
and a data-parallel SGD step that equals single-process SGD on the full batch.

The tests start real multi-rank jobs (``mpiexec -n P python -m tinygrad_edu.labs.lab08_data_parallel.driver``,
see ``launch.py``); ``driver.py`` is what runs on every rank."""
from ..lab import Lab, Task

LAB = Lab(
    number=8,
    name="data_parallel",
    title="data parallelism over MPI: ring allreduce and data-parallel SGD",
    student_file="data_parallel.py",
    tutorial="tutorials/08_data_parallel_mpi.py",
    tasks=(
        Task("chunk_bounds", "split n elements into `size` contiguous chunks",
             "chunk i has n // size elements, plus one more for the first n % size chunks; "
             "return [(start, stop), ...] covering 0..n exactly"),
        Task("ring_allreduce", "reduce-scatter then all-gather around a ring with comm.Sendrecv",
             "send to (rank + 1) % size, receive from (rank - 1) % size; size - 1 steps of each phase; "
             "work on a copy; divide by size for op='mean'"),
        Task("broadcast_parameters", "every rank starts from rank 0's weights",
             "comm.Bcast each parameter's array (p.array) in place, root=0"),
        Task("dp_sgd_step", "one data-parallel SGD step: local backward, averaged gradients, step",
             "zero_grad, loss on the shard, backward, replace each p.grad by its MEAN over ranks, "
             "then optimizer.step()"),
    ),
)
