"""Run by tests/test_distributed_collectives.py under ``mpiexec -n 2 python -m mpi4py``: every
collective on float32/float64/int64 arrays and Tensors against the value computed from all ranks'
inputs (each rank can build every rank's input: it depends on the rank only).  Prints one line
``OK <name>`` per check, and ``ALL OK`` at the end."""
import numpy as np

from tinygrad_edu import Tensor
from tinygrad_edu import distributed as dist
from tinygrad_edu.distributed import collectives as C

dist.init()
rank, size = dist.get_rank(), dist.get_world_size()
assert size >= 2, "run me under mpiexec -n 2"


def make(r, dtype, shape=(6, 5)):
    """Rank r's input: distinct, exact in every dtype (small integers and halves)."""
    base = np.arange(np.prod(shape)).reshape(shape) % 17 - 8
    x = (base * (r + 1) + 3 * r).astype(dtype)
    return x / np.asarray(2, dtype) if x.dtype.kind == "f" else x


def check(name, got, want):
    got = got.array if isinstance(got, Tensor) else got
    assert got.dtype == np.asarray(want).dtype, (name, got.dtype, np.asarray(want).dtype)
    assert got.shape == np.shape(want), (name, got.shape, np.shape(want))
    assert np.array_equal(got, want), (name, got, want)
    if rank == 0:   # rank 1 checks too; a failure there aborts the job with its traceback
        print(f"OK {name}", flush=True)


inputs = {dt: [make(r, dt) for r in range(size)] for dt in ("float32", "float64", "int64")}
for dt, xs in inputs.items():
    stack = np.stack(xs)
    for kind in ("array", "Tensor"):
        wrap = (lambda a: Tensor(a.copy())) if kind == "Tensor" else (lambda a: a.copy())
        for op, want in (("SUM", stack.sum(0)), ("MAX", stack.max(0)), ("MIN", stack.min(0)),
                         ("PRODUCT", stack.prod(0))):
            x = wrap(xs[rank])
            out = C.all_reduce(x, op=getattr(C, op))
            assert out is x
            check(f"all_reduce {op} {dt} {kind}", x, want.astype(dt))
        if dt != "int64":
            x = wrap(xs[rank])
            C.all_reduce(x, op=C.MEAN)
            check(f"all_reduce MEAN {dt} {kind}", x, (stack.sum(0) / size).astype(dt))
        x = wrap(xs[rank])
        C.broadcast(x, src=1)
        check(f"broadcast src 1 {dt} {kind}", x, xs[1])
        check(f"all_gather {dt} {kind}", C.all_gather(wrap(xs[rank])), stack)
        k = xs[0].shape[0] // size
        check(f"reduce_scatter SUM {dt} {kind}", C.reduce_scatter(wrap(xs[rank])),
              stack.sum(0)[rank * k:(rank + 1) * k])
        if dt != "int64":
            check(f"reduce_scatter MEAN {dt} {kind}", C.reduce_scatter(wrap(xs[rank]), C.MEAN),
                  (stack.sum(0) / size).astype(dt)[rank * k:(rank + 1) * k])

# non-contiguous views are reduced and written back in place; the rest of the base is untouched
base = np.stack([make(rank, "float64"), make(rank, "float64")])
view = base[:, ::2, 1]
C.all_reduce(view)
want = np.stack([make(r, "float64") for r in range(size)]).sum(0)[::2, 1]
check("all_reduce non-contiguous view", view, np.stack([want, want]))
assert np.array_equal(base[:, 1::2], np.stack([make(rank, "float64")] * 2)[:, 1::2])

# torch's list form of all_gather
out = [np.zeros((6, 5), np.float32) for _ in range(size)]
assert C.all_gather(out, inputs["float32"][rank]) is None
check("all_gather into list", np.stack(out), np.stack(inputs["float32"]))

# float16 reduced in float32; 0-d tensors
x = Tensor(np.array(rank + 0.5, np.float16))
C.all_reduce(x)
check("all_reduce float16 0-d", x, np.array(sum(r + 0.5 for r in range(size)), np.float16))

# iall_reduce: several in flight, waited in any order
works, bufs = [], []
for i, op in enumerate((C.SUM, C.MEAN, C.MAX)):
    buf = make(rank, "float64") + i
    bufs.append(buf)
    works.append(C.iall_reduce(buf, op=op))
for i, (w, op) in enumerate(reversed(list(zip(works, (C.SUM, C.MEAN, C.MAX))))):
    assert w.wait() is bufs[2 - i]
stack = np.stack([make(r, "float64") for r in range(size)])
check("iall_reduce SUM", bufs[0], stack.sum(0) + size * 0)
check("iall_reduce MEAN", bufs[1], stack.mean(0) + 1)
check("iall_reduce MAX", bufs[2], stack.max(0) + 2)

# unsupported dtypes: a TypeError naming the dtype and the op
for dtype, op, words in ((np.bool_, C.SUM, ("bool", "SUM")), (object, C.MAX, ("object", "MAX")),
                         (np.int64, C.MEAN, ("int64", "MEAN")), (np.complex64, C.MAX, ("complex64", "MAX"))):
    try:
        C.all_reduce(np.zeros(3, dtype=dtype), op=op)
    except TypeError as exc:
        assert all(w in str(exc) for w in words), str(exc)
    else:
        raise AssertionError(f"no error for {dtype} {op}")
if rank == 0:
    print("OK bad dtypes", flush=True)

# a host-staged "device" array (a stand-in with CuPy's get()/set()/__cuda_array_interface__)
import collectives_fake_cupy as fake_cupy  # noqa: E402  (tests/mpi/collectives_fake_cupy.py)
g = fake_cupy.asarray(make(rank, "float32"))
C.all_reduce(g, op=C.SUM)
check("all_reduce host-staged device array", g.get(), np.stack(inputs["float32"]).sum(0))
w = C.iall_reduce(fake_cupy.asarray(make(rank, "float32")))
check("iall_reduce host-staged device array", w.wait().get(), np.stack(inputs["float32"]).sum(0))
gathered = C.all_gather(fake_cupy.asarray(make(rank, "float32")))
assert isinstance(gathered, fake_cupy.ndarray)
check("all_gather host-staged device array", gathered.get(), np.stack(inputs["float32"]))
# metric averaging: weighted by each rank's sample count (uneven shards), one float64 all_reduce
counts = [3 + 2 * r for r in range(size)]
means = [{"loss": 0.1 * (r + 1), "acc": 0.5 + 0.1 * r} for r in range(size)]
got = dist.average_metrics(means[rank], count=counts[rank])
for name in ("loss", "acc"):
    want = sum(c * m[name] for c, m in zip(counts, means)) / sum(counts)
    assert abs(got[name] - want) < 1e-15, (name, got, want)
assert dist.sum_metrics({"correct": rank + 1}) == {"correct": size * (size + 1) / 2}
if rank == 0:
    print("OK metrics", flush=True)

dist.barrier()
if rank == 0:
    print("ALL OK", flush=True)
