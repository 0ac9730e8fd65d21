"""``python -m tinygrad_edu.distributed.selfcheck``: does MPI work here, and how fast is it?

    mpiexec -n 2 python -m tinygrad_edu.distributed.selfcheck              # all checks
    mpiexec -n 2 python -m tinygrad_edu.distributed.selfcheck --abort-test # + rank 1 raises

1. **hello world**: every rank's ``launch_info()`` (rank, host, pid, MPI library), printed by rank 0;
2. **ring**: rank r sends its rank to r+1 and receives from r-1 with one ``Sendrecv`` (a deadlock-free
   exchange), and checks it got r-1;
3. **ping-pong** between ranks 0 and 1: a message goes 0 → 1 → 0; half the round trip is the one-way
   time.  Small messages measure the latency (µs), large ones the bandwidth (GB/s = bytes / one-way
   time) — the two numbers of the cost model t(S) = latency + S / bandwidth;
4. **all_reduce**: the sum of every rank's (rank + 1)·ones against N(N+1)/2, and the MEAN;
5. ``--abort-test``: rank 1 raises; the job must end non-zero within seconds (the launcher reports
   the abort).  If it hangs instead, the abort-on-exception hook is not working.

Exit status 0 when every check passed.
"""
import argparse
import sys
import time

import numpy as np

from . import collectives, world

SIZES = [8, 64, 512, 4096, 32768, 262144, 1 << 21, 1 << 24]   # 8 B … 16 MiB


def _say(text):
    if world.is_main_process():
        print(text, flush=True)


def hello(comm):
    infos = comm.gather(world.launch_info(), root=0)   # lowercase gather: small dicts, not tensors
    if world.is_main_process():
        print(f"hello: {len(infos)} ranks", flush=True)
        for info in infos:
            mpi = info["mpi"] or {}
            print(f"  rank {info['rank']} local {info['local_rank']} host {info['host']} pid {info['pid']}"
                  f"  {mpi.get('library', 'no MPI')}", flush=True)


def ring(comm):
    rank, size = world.get_rank(), world.get_world_size()
    got = np.full(1, -1, np.int64)
    comm.Sendrecv(np.array([rank], np.int64), dest=(rank + 1) % size, recvbuf=got, source=(rank - 1) % size)
    ok = int(got[0]) == (rank - 1) % size
    oks = comm.allgather(ok)
    _say(f"ring: {'ok' if all(oks) else 'FAILED on ranks ' + str([r for r, o in enumerate(oks) if not o])}")
    return all(oks)


def ping_pong(comm, sizes=SIZES, seconds_per_size=0.05):
    """One-way time (s) per message size between ranks 0 and 1 (others wait)."""
    rank, rows = world.get_rank(), []
    for nbytes in sizes:
        buf = np.zeros(nbytes, np.uint8)
        repeats = max(3, min(1000, int(seconds_per_size / (2e-6 + nbytes / 1e9))))
        comm.Barrier()
        start = time.perf_counter()
        for _ in range(repeats):
            if rank == 0:
                comm.Send(buf, dest=1)
                comm.Recv(buf, source=1)
            elif rank == 1:
                comm.Recv(buf, source=0)
                comm.Send(buf, dest=0)
        one_way = (time.perf_counter() - start) / repeats / 2
        rows.append((nbytes, one_way))
    comm.Barrier()
    if world.is_main_process():
        print("ping-pong 0 <-> 1:   bytes    one-way µs      GB/s", flush=True)
        for nbytes, t in rows:
            print(f"              {nbytes:>10}  {t * 1e6:>12.1f}  {nbytes / t / 1e9:>8.3f}", flush=True)
    return rows


def all_reduce_check():
    rank, size = world.get_rank(), world.get_world_size()
    x = np.full(1000, rank + 1, np.float64)
    collectives.all_reduce(x)
    ok = bool(np.all(x == size * (size + 1) / 2))
    m = np.full(10, rank + 1, np.float32)
    collectives.all_reduce(m, op=collectives.MEAN)
    ok = ok and bool(np.all(m == np.float32((size + 1) / 2)))
    oks = world.comm().allgather(ok)
    _say(f"all_reduce: {'ok' if all(oks) else 'FAILED'} (sum {size * (size + 1) // 2}, mean {(size + 1) / 2})")
    return all(oks)


def main(argv=None):
    parser = argparse.ArgumentParser(description="MPI installation check for tinygrad_edu.distributed")
    parser.add_argument("--abort-test", action="store_true", help="rank 1 raises: the job must abort")
    parser.add_argument("--no-ping-pong", action="store_true", help="skip the bandwidth table")
    args = parser.parse_args(argv)
    size = world.init()
    if size == 1:
        info = world.launch_info()
        why = "" if info["mpi"] else f" (no MPI: {info['why_no_mpi']})"
        print(f"selfcheck: a world of 1 process{why}; nothing to check between ranks.\n"
              f"Run it under an MPI launcher, for example:\n"
              f"  mpiexec -n 2 {sys.executable} -m tinygrad_edu.distributed.selfcheck", flush=True)
        return 0
    comm = world.comm()
    hello(comm)
    ok = ring(comm)
    if not args.no_ping_pong:
        ping_pong(comm)
    ok = all_reduce_check() and ok
    if args.abort_test:
        _say("abort test: rank 1 raises now; the job must end at once with a non-zero status")
        comm.Barrier()
        if world.get_rank() == 1:
            raise RuntimeError("selfcheck --abort-test: the planned exception on rank 1")
        time.sleep(60)
        _say("abort test FAILED: still running 60 s after rank 1 raised")
        return 1
    world.barrier()
    _say("selfcheck: all checks passed" if ok else "selfcheck: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
