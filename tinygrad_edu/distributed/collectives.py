"""Collectives: every rank calls the same function, and together they compute one result.

With N ranks each holding an array ``x_r`` of the same shape and dtype:

* ``all_reduce(x, op)``: every rank ends with ``x_0 ∘ x_1 ∘ … ∘ x_{N-1}`` (∘ = +, max, min, ×),
  written **in place** into ``x`` (like ``torch.distributed.all_reduce``).  ``MEAN`` (torch: ``AVG``)
  is the sum divided by N: the average gradient of data parallelism.
* ``broadcast(x, src)``: every rank ends with rank ``src``'s ``x``, in place.
* ``all_gather(x)``: every rank gets all N arrays, stacked: a new array (or Tensor) of shape
  ``(N, *x.shape)`` whose row r is rank r's ``x``.  ``list(result)`` is torch's list;
  ``all_gather(tensor_list, x)`` (torch's form) fills the list you pass.
* ``reduce_scatter(x, op)``: the reduction of ``all_reduce``, but rank r keeps only its slice r of
  the first dimension: ``x`` of shape ``(N·k, …)`` gives each rank a new ``(k, …)``.  An all_reduce
  is a reduce_scatter followed by an all_gather — which is how ring all-reduce moves only
  2(N−1)/N of the data per rank.
* ``iall_reduce(array, op) -> Work``: the non-blocking all_reduce of a contiguous NumPy buffer;
  ``work.wait()`` completes it (the bucketed gradient communicator overlaps it with backward).

How.  mpi4py's **buffer** calls (``Allreduce``, ``Bcast``, ``Allgather``, ``Reduce_scatter_block``,
``Iallreduce``) hand the array's memory straight to MPI: C speed, no copies.  (The lowercase calls
pickle the object, ~9× slower on 25 MiB here; never for tensor data.)  MPI needs a contiguous buffer
of a type it knows, so a non-contiguous array is copied into a contiguous one and the result copied
back; float16 is reduced in float32 and rounded back once; bool, object, string and structured
dtypes are refused with a TypeError naming the dtype and the operation (``broadcast`` and
``all_gather`` move bytes, so they accept bool and float16 too).  A GPU (CuPy) array is staged
through host memory: copied to a NumPy array, reduced there, copied back (CUDA-aware MPI would skip
the copies; this file does not use it).  In a world of one every collective is the identity (the
dtype is still checked, so a mistake shows on a laptop too).  Every blocking call runs under the
watchdog of failure.py.  The inputs must have the same shape and dtype on every rank (MPI does not
check it).
"""
import enum

import numpy as np

from ..tensor import Tensor
from . import world
from .failure import next_sequence_number, watch


class ReduceOp(enum.Enum):
    """How ``all_reduce``/``reduce_scatter`` combine the ranks' values (torch's names; MEAN = AVG)."""
    SUM = "sum"
    AVG = "avg"
    MEAN = "avg"      # an alias: ReduceOp.MEAN is ReduceOp.AVG
    PRODUCT = "product"
    MAX = "max"
    MIN = "min"


SUM, AVG, MEAN, PRODUCT, MAX, MIN = (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.MEAN, ReduceOp.PRODUCT,
                                     ReduceOp.MAX, ReduceOp.MIN)


def _as_op(op):
    if isinstance(op, ReduceOp):
        return op
    if isinstance(op, str) and op.upper() in ReduceOp.__members__:
        return ReduceOp[op.upper()]
    raise ValueError(f"unknown reduce op {op!r}; use one of SUM, MEAN (AVG), PRODUCT, MAX, MIN")


# ---- NumPy dtype -> MPI datatype ---------------------------------------------------------------
_CACHE = {}   # the two tables below, built once (MPI is imported only in a world > 1)


def _mpi_types():
    if "types" not in _CACHE:
        _CACHE["types"] = _build_mpi_types()
    return _CACHE["types"]


def _build_mpi_types():
    from mpi4py import MPI
    return {np.dtype(np.float32): MPI.FLOAT, np.dtype(np.float64): MPI.DOUBLE,
            np.dtype(np.int8): MPI.INT8_T, np.dtype(np.int16): MPI.INT16_T,
            np.dtype(np.int32): MPI.INT32_T, np.dtype(np.int64): MPI.INT64_T,
            np.dtype(np.uint8): MPI.UINT8_T, np.dtype(np.uint16): MPI.UINT16_T,
            np.dtype(np.uint32): MPI.UINT32_T, np.dtype(np.uint64): MPI.UINT64_T,
            np.dtype(np.complex64): MPI.C_FLOAT_COMPLEX, np.dtype(np.complex128): MPI.C_DOUBLE_COMPLEX}


_REDUCIBLE = ("float32", "float64", "float16 (reduced in float32)", "int8/16/32/64", "uint8/16/32/64",
              "complex64/128 (SUM, MEAN, PRODUCT)")


def _check_reduce_dtype(dtype, op, name):
    """The dtype a reduction runs in (float16 -> float32), or a TypeError that says why not."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iuf" and dtype.itemsize in (1, 2, 4, 8) and dtype != np.float16:
        wire = dtype.newbyteorder("=")
    elif dtype == np.float16:
        wire = np.dtype(np.float32)
    elif dtype.kind == "c" and op in (SUM, AVG, PRODUCT):
        wire = dtype.newbyteorder("=")
    else:
        raise TypeError(f"{name}: dtype {dtype} is not supported for op {op.name}; reducible dtypes are "
                        + ", ".join(_REDUCIBLE) + (" (convert bool to an integer dtype first)"
                                                   if dtype == np.bool_ else ""))
    if op is AVG and dtype.kind in "iu":
        raise TypeError(f"{name}: op MEAN on integer dtype {dtype} would have to round; use op SUM and "
                        f"divide, or convert to a float dtype first")
    return wire


def _check_bytes_dtype(dtype, name):
    dtype = np.dtype(dtype)
    if dtype.hasobject or dtype.kind in "OSUV" or dtype.fields is not None:
        raise TypeError(f"{name}: dtype {dtype} is not supported (only numeric and bool arrays travel "
                        f"as buffers; Python objects and strings would need pickle)")
    return dtype


# ---- what the caller gave: a Tensor, a NumPy array or a CuPy array -----------------------------
def _raw(x, name):
    """(the raw array, the Tensor it belongs to or None)."""
    if isinstance(x, Tensor):
        return x.array, x
    if isinstance(x, np.ndarray) or hasattr(x, "__cuda_array_interface__"):
        return x, None
    raise TypeError(f"{name}: expected a Tensor, a NumPy array or a CuPy array, got {type(x).__name__}")


def _on_device(array):
    return not isinstance(array, np.ndarray) and hasattr(array, "__cuda_array_interface__")


def _host_buffer(array, wire):
    """A C-contiguous NumPy array of dtype ``wire`` holding ``array`` (itself when it already is one)."""
    host = array.get() if _on_device(array) else array
    return np.asarray(host, dtype=wire, order="C")


def _write_back(array, host, tensor=None):
    """Copy the result into the caller's array unless the buffer *is* that array; bump the version."""
    if _on_device(array):
        array.set(host.astype(array.dtype, copy=False))
    elif host is not array:
        array[...] = host
    if tensor is not None:
        tensor._version_box[0] += 1


def _wrap_like(template, tensor, host):
    """A new result of the caller's kind: a Tensor, a NumPy array, or a CuPy array."""
    out = host.astype(template.dtype, copy=False)
    if _on_device(template):
        out = _device_copy(template, out)
    if tensor is not None:
        return Tensor._wrap(out)
    return out


def _device_copy(template, host):
    """``cupy.asarray(host)``, found through the template's module (so a stand-in works in tests)."""
    import importlib
    module = importlib.import_module(type(template).__module__.split(".")[0])
    return module.asarray(host)


def _detail(array, op=None):
    shape = "x".join(map(str, array.shape)) or "scalar"
    return f"{array.dtype}[{shape}]" + (f", {op.name}" if op is not None else "")


def _comm():
    comm = world.comm()
    return comm if comm is not None and world.get_world_size() > 1 else None


# ---- the collectives ---------------------------------------------------------------------------
def all_reduce(x, op=SUM):
    """Reduce ``x`` over all ranks, in place; returns ``x``.  MEAN divides the sum by the world size."""
    op = _as_op(op)
    array, tensor = _raw(x, "all_reduce")
    wire = _check_reduce_dtype(array.dtype, op, "all_reduce")
    comm = _comm()
    if comm is None:
        return x
    from mpi4py import MPI
    buf = _host_buffer(array, wire)
    with watch("all_reduce", _detail(array, op)):
        comm.Allreduce(MPI.IN_PLACE, [buf, _mpi_types()[wire]], op=_mpi_op(op))
    if op is AVG:
        buf /= world.get_world_size()
    _write_back(array, buf, tensor)
    return x


def _mpi_op(op):
    if "ops" not in _CACHE:
        from mpi4py import MPI
        _CACHE["ops"] = {SUM: MPI.SUM, AVG: MPI.SUM, PRODUCT: MPI.PROD, MAX: MPI.MAX, MIN: MPI.MIN}
    return _CACHE["ops"][op]


def broadcast(x, src=0):
    """Every rank's ``x`` becomes rank ``src``'s ``x`` (in place); returns ``x``."""
    array, tensor = _raw(x, "broadcast")
    _check_bytes_dtype(array.dtype, "broadcast")
    size = world.get_world_size()
    if not (isinstance(src, (int, np.integer)) and 0 <= src < size):
        raise ValueError(f"broadcast: src must be a rank in [0, {size - 1}], got {src!r}")
    comm = _comm()
    if comm is None:
        return x
    from mpi4py import MPI
    buf = _host_buffer(array, array.dtype)
    with watch("broadcast", _detail(array) + f", src {src}"):
        comm.Bcast([buf, buf.nbytes, MPI.BYTE], root=int(src))
    _write_back(array, buf, tensor)
    return x


def all_gather(*args):
    """``all_gather(x)`` returns every rank's ``x`` stacked, shape ``(world_size, *x.shape)``, of the
    kind of ``x`` (Tensor or array).  ``all_gather(tensor_list, x)`` is torch's form: it copies rank
    r's ``x`` into ``tensor_list[r]`` (in place) and returns None."""
    if len(args) == 2:
        out_list, x = args
        stacked = all_gather(x)
        if len(out_list) != world.get_world_size():
            raise ValueError(f"all_gather: tensor_list has {len(out_list)} entries for a world of "
                             f"{world.get_world_size()}")
        rows = _raw(stacked, "all_gather")[0]
        for r, out in enumerate(out_list):
            target, tensor = _raw(out, "all_gather")
            _write_back(target, _host_buffer(rows[r], target.dtype), tensor)
        return None
    if len(args) != 1:
        raise TypeError("all_gather(x) or all_gather(tensor_list, x)")
    x = args[0]
    array, tensor = _raw(x, "all_gather")
    _check_bytes_dtype(array.dtype, "all_gather")
    buf = _host_buffer(array, array.dtype)
    out = np.empty((world.get_world_size(),) + buf.shape, dtype=buf.dtype)
    comm = _comm()
    if comm is None:
        out[0] = buf
    else:
        from mpi4py import MPI
        with watch("all_gather", _detail(array)):
            comm.Allgather([buf, buf.nbytes, MPI.BYTE], [out, buf.nbytes, MPI.BYTE])
    return _wrap_like(array, tensor, out)


def reduce_scatter(x, op=SUM):
    """Reduce ``x`` (first dimension N·k for a world of N) over all ranks; rank r returns rows
    r·k … r·k+k-1 of the result, as a new Tensor/array of shape ``(k, *x.shape[1:])``."""
    op = _as_op(op)
    array, tensor = _raw(x, "reduce_scatter")
    wire = _check_reduce_dtype(array.dtype, op, "reduce_scatter")
    size = world.get_world_size()
    if array.ndim == 0 or array.shape[0] % size:
        raise ValueError(f"reduce_scatter: the first dimension ({array.shape[0] if array.ndim else 'none'})"
                         f" must be a multiple of the world size {size}")
    buf = _host_buffer(array, wire)
    k = buf.shape[0] // size
    out = np.empty((k,) + buf.shape[1:], dtype=wire)
    comm = _comm()
    if comm is None:
        out[...] = buf
    else:
        from mpi4py import MPI
        with watch("reduce_scatter", _detail(array, op)):
            comm.Reduce_scatter_block([buf, _mpi_types()[wire]], [out, _mpi_types()[wire]], op=_mpi_op(op))
        if op is AVG:
            out /= size
    return _wrap_like(array, tensor, out)


# ---- non-blocking ------------------------------------------------------------------------------
class Work:
    """A started ``iall_reduce``.  ``wait()`` blocks until it is complete (the result is then in the
    array); ``is_completed()`` asks without blocking.  ``wait()`` twice is harmless."""

    def __init__(self, request, buf, array, op, seq, detail):
        self._request, self._buf, self.array, self.op = request, buf, array, op
        self._seq, self._detail, self._done = seq, detail, request is None

    def is_completed(self):
        if not self._done and self._request.Test():
            self._finish()
        return self._done

    def wait(self):
        if not self._done:
            with watch("iall_reduce", self._detail + ", in wait()", seq=self._seq):
                self._request.Wait()
            self._finish()
        return self.array

    def _finish(self):
        if self.op is AVG:
            self._buf /= world.get_world_size()
        if self._buf is not self.array:
            _write_back(self.array, self._buf)
        self._done = True


def iall_reduce(array, op=SUM):
    """Start reducing ``array`` (a contiguous NumPy buffer; a CuPy array is staged through the host)
    in place over all ranks; returns a ``Work`` whose ``wait()`` completes it.  Ranks must start their
    iall_reduces in the same order."""
    op = _as_op(op)
    if not (isinstance(array, np.ndarray) or _on_device(array)):
        raise TypeError(f"iall_reduce: expected a NumPy (or CuPy) array, got {type(array).__name__}")
    wire = _check_reduce_dtype(array.dtype, op, "iall_reduce")
    comm = _comm()
    if comm is None:
        return Work(None, array, array, op, 0, _detail(array, op))
    from mpi4py import MPI
    buf = _host_buffer(array, wire)   # the array itself when contiguous and of the wire dtype
    request = comm.Iallreduce(MPI.IN_PLACE, [buf, _mpi_types()[wire]], op=_mpi_op(op))
    return Work(request, buf, array, op, next_sequence_number(), _detail(array, op))
