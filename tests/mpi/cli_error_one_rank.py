"""Rank 1 gives the command line a bad value; rank 0 waits in a barrier.  ``cli.main`` must end the
whole job (its one-line error, then MPI_Abort) instead of leaving rank 0 waiting."""
import os

from tinygrad_edu import cli
from tinygrad_edu import distributed as dist

dist.init()
print(f"PID {dist.get_rank()} {os.getpid()}", flush=True)
if dist.get_rank() == 1:
    cli.main(["train", "--lr", "-1", "--distributed"])
dist.barrier()
print("NOT REACHED: the job should have been aborted", flush=True)
