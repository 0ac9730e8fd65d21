"""Rank 1 skips the backward of the third step and sleeps: rank 0 waits in the gradient reduction of
DistributedDataParallel, and its watchdog (TINYGRAD_EDU_COLLECTIVE_TIMEOUT, 3 s in the test) must name
the gradient collective and rank 1, then abort the job.  ``failure_ddp_skip.py flat|bucketed``."""
import os
import sys
import time

import tinygrad_edu as tg
from tinygrad_edu import distributed as dist, nn

dist.init()
rank = dist.get_rank()
print(f"PID {rank} {os.getpid()}", flush=True)
tg.manual_seed(0)
model = dist.DistributedDataParallel(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)),
                                     communicator=sys.argv[1])
x = tg.randn(6, 4)
for step in range(5):
    loss = model(x).pow(2).mean()
    if rank == 1 and step == 2:
        time.sleep(60)       # never joins this step's gradient reduction
        break
    loss.backward()
print("NOT REACHED: the watchdog should have aborted the job", flush=True)
