"""Rank 1 raises at step 5 of a training-like loop; run under *plain* python (no ``-m mpi4py``) so
that our abort-on-exception hook, installed by ``distributed.init()``, is what ends the job."""
import os
import time

import numpy as np

from tinygrad_edu import distributed as dist

dist.init()
rank = dist.get_rank()
print(f"PID {rank} {os.getpid()}", flush=True)
x = np.zeros(1000, np.float32)
for step in range(100):
    if rank == 1 and step == 5:
        raise RuntimeError(f"planned failure on rank {rank} at step {step}")
    dist.all_reduce(x)
    time.sleep(0.01)
print("NOT REACHED: the job should have been aborted", flush=True)
