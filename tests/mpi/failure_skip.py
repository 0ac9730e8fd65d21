"""Rank 1 skips the third collective and then sleeps: rank 0 waits in it, and its watchdog (timeout
from TINYGRAD_EDU_COLLECTIVE_TIMEOUT, 3 s in the test) must name rank 1 and abort the job.
``failure_skip.py iall_reduce``: the third call is a non-blocking iall_reduce, stuck in its wait()."""
import os
import sys
import time

import numpy as np

from tinygrad_edu import distributed as dist

dist.init()
rank = dist.get_rank()
print(f"PID {rank} {os.getpid()}", flush=True)
nonblocking = sys.argv[1:] == ["iall_reduce"]
x = np.ones(10, np.float64)
for step in range(5):
    if rank == 1 and step == 2:
        time.sleep(60)       # "skips" the collective (and would hang the job without the watchdog)
        break
    if nonblocking and step == 2:
        dist.iall_reduce(x).wait()
    else:
        dist.all_reduce(x)
print("NOT REACHED: the watchdog should have aborted the job", flush=True)
