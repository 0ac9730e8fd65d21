"""``tinygrad_edu.distributed``: data parallelism over MPI (mpi4py), started by whatever starts MPI programs.

    mpiexec -n 2 python train.py            # one machine, two processes
    srun --mpi=pmix python train.py         # SLURM

Files, in reading order:

* ``world.py``: init, rank, world size, local rank, barrier, launch_info (a world of one without MPI);
* ``collectives.py``: all_reduce, broadcast, all_gather, reduce_scatter on Tensors and arrays, with MPI's
  buffer calls (never pickle for tensor data);
* ``failure.py``: an exception on any rank aborts the whole job (MPI_Abort), and a watchdog for
  collectives that never complete;
* ``sampler.py``: DistributedSampler (each rank its own shard of the data set, as torch's);
* ``communicators.py``: three ways to average gradients (naive, flat, bucketed);
* ``ddp.py``: DistributedDataParallel, with no_sync for gradient accumulation;
* ``optimizer.py``: DistributedOptimizer (wrap the optimizer instead of the model);
* ``sync_batchnorm.py``: SyncBatchNorm, batch statistics over the global batch;
* ``selfcheck.py``: ``python -m tinygrad_edu.distributed.selfcheck``, the installation check.
"""
from .world import (barrier, comm, get_local_rank, get_rank, get_world_size, init,  # noqa: F401
                    is_initialized, is_main_process, launch_info)
from .collectives import (AVG, MAX, MEAN, MIN, PRODUCT, SUM, ReduceOp, Work, all_gather,  # noqa: F401,E402
                          all_reduce, broadcast, iall_reduce, reduce_scatter)
from .failure import collective_timeout, get_collective_timeout, install_abort_on_exception  # noqa: F401,E402
from .sampler import DistributedSampler  # noqa: F401,E402
from .communicators import (BucketedCommunicator, FlatCommunicator, GradientCommunicator,  # noqa: F401,E402
                            NaiveCommunicator)
from .ddp import DistributedDataParallel  # noqa: F401,E402
from .optimizer import DistributedOptimizer, broadcast_optimizer_state  # noqa: F401,E402
from .sync_batchnorm import SyncBatchNorm, convert_sync_batchnorm  # noqa: F401,E402
from .metrics import average_metrics, sum_metrics  # noqa: F401,E402
