"""Where arrays live and which code computes on them.

Two ideas, one file:

1. **The array module.**  A tensor's data is a NumPy array (CPU) or a CuPy array (GPU).  Both
   libraries speak the same API, so every op is written once against ``xp`` — whichever module
   owns its inputs — and ``xp = array_module(x)`` picks it (the idiom of Chainer and DeZero).

2. **The kernel dispatch point.**  A hot op may have a faster implementation than its plain NumPy
   reference: a numba-JIT CPU kernel or a CuPy GPU kernel (in the top-level ``kernels/`` folder).
   An op asks ``kernel("name", xp)`` for its implementation; the reference is registered first, a
   faster tier registers over it, and ``use_kernels(False)`` switches every op back to the
   reference so a student (or a test) can compare the tiers.
"""
import os

import numpy as np

# ---------------------------------------------------------------------------------------------
# CuPy, if it is installed *and* a GPU answers.
# ---------------------------------------------------------------------------------------------
_cupy = None
_cuda_error = None  # why CUDA is unusable, for the error message


def _probe_cuda():
    """Import CuPy and run one tiny kernel.  Returns the module, or None and records why not."""
    global _cupy, _cuda_error
    if _cupy is not None or _cuda_error is not None:
        return _cupy
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken install raising anything
        _cuda_error = f"CuPy is not installed ({exc.__class__.__name__}: {exc}); " \
                      "install the 'gpu' extra: pip install 'tinygrad_edu[gpu]'"
        return None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no CUDA device found")
        (cupy.arange(2) + 1).sum().item()  # one real kernel: drivers and NVRTC must both work
    except Exception as exc:
        _cuda_error = f"CuPy is installed but no usable GPU answered ({exc.__class__.__name__}: {exc})"
        return None
    _cupy = cupy
    return cupy


def cuda_is_available():
    """True when CuPy is installed and a GPU ran a test kernel."""
    return _probe_cuda() is not None


def array_module(array):
    """NumPy for a NumPy array (or anything that is not a CuPy array), CuPy for a CuPy array."""
    if type(array) is np.ndarray:
        return np
    if _cupy is None:
        if _cuda_error is None and type(array).__module__.startswith("cupy"):
            _probe_cuda()              # a CuPy array made before anything here asked for the GPU
        if _cupy is None:
            return np
    return _cupy if isinstance(array, _cupy.ndarray) else np


# ---------------------------------------------------------------------------------------------
# Devices
# ---------------------------------------------------------------------------------------------
class Device:
    """A device name, as in ``torch.device``: ``Device('cpu')``, ``Device('cuda')``, ``Device('cuda:1')``.
    It compares equal to its string form, so ``t.device == 'cpu'`` reads naturally."""

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index=None):
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        if isinstance(spec, int) and not isinstance(spec, bool):   # Device(0): CUDA device 0, as torch
            spec = f"cuda:{spec}"
        text = str(spec)
        kind, _, idx = text.partition(":")
        if kind not in ("cpu", "cuda") or (idx and not idx.isdigit()):
            raise ValueError(f"unknown device {spec!r}: expected 'cpu', 'cuda' or 'cuda:N'")
        if index is not None:                                      # Device('cuda', 0)
            if idx:
                raise RuntimeError(f"device: type {text!r} already has an index; don't pass index={index}")
            if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                raise RuntimeError(f"device: index must be a non-negative int, got {index!r}")
            idx = str(index)
        self.type = kind
        self.index = int(idx) if idx else (0 if kind == "cuda" else None)

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = Device(other)
            except ValueError:
                return False
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}'" + ("" if self.index is None else f", index={self.index}") + ")"


CPU = Device("cpu")


def device_of(array):
    """The Device an array lives on."""
    if array_module(array) is np:
        return CPU
    return Device(f"cuda:{array.device.id}")


def require_cuda():
    """Return CuPy or raise a RuntimeError that says *why* CUDA cannot be used."""
    cupy = _probe_cuda()
    if cupy is None:
        raise RuntimeError(f"device='cuda' requested but CUDA is not usable: {_cuda_error}")
    return cupy


def to_device(array, device):
    """Copy ``array`` to ``device`` (no copy when it is already there)."""
    device = Device(device)
    if device.type == "cpu":
        if array_module(array) is np:
            return array
        return array.get()
    cupy = require_cuda()
    with cupy.cuda.Device(device.index):
        if isinstance(array, cupy.ndarray) and array.device.id != device.index:
            return cupy.array(array, copy=True)    # asarray would keep it on its own GPU
        return cupy.asarray(array)


def module_for_device(device):
    """The array module that creates arrays on ``device``."""
    device = Device(device)
    return np if device.type == "cpu" else require_cuda()


# ---------------------------------------------------------------------------------------------
# Kernel dispatch: one place where a hot op's implementation is chosen.
# ---------------------------------------------------------------------------------------------
_KERNELS = {}  # (name, "numpy" | "cupy") -> {"reference": fn, "fast": fn}
_use_fast = os.environ.get("TINYGRAD_EDU_KERNELS", "1") != "0"


def register_kernel(name, backend, fn, tier="reference"):
    """Register ``fn`` as the ``tier`` ('reference' or 'fast') implementation of ``name`` for
    ``backend`` ('numpy' or 'cupy')."""
    if tier not in ("reference", "fast"):
        raise ValueError(f"register_kernel: tier must be 'reference' or 'fast', got {tier!r}")
    _KERNELS.setdefault((name, backend), {})[tier] = fn


def kernel(name, xp=np):
    """The implementation of ``name`` for arrays of module ``xp``: the fast tier when one is
    registered and kernels are enabled, else the reference."""
    backend = "numpy" if xp is np else "cupy"
    tiers = _KERNELS.get((name, backend))
    if tiers is None and backend == "cupy" and (name, "numpy") in _KERNELS:
        # no GPU tier: the NumPy *reference* (written with the array module of its inputs) runs on
        # CuPy arrays too; the numba tier would not, it only takes NumPy arrays
        return _KERNELS[(name, "numpy")]["reference"]
    if tiers is None:
        raise KeyError(f"kernel: no implementation registered for {name!r} on {backend}")
    if _use_fast and "fast" in tiers:
        if _dispatch_log is not None:
            _dispatch_log.add(name)
        return tiers["fast"]
    return tiers["reference"]


_dispatch_log = None   # a set while record_kernel_dispatch() is active


class record_kernel_dispatch:  # noqa: N801  (used like a function: ``with record_kernel_dispatch() as used``)
    """Record which kernels handed out their fast tier inside a ``with`` block::

        with record_kernel_dispatch() as used:
            y = F.max_pool2d(x, 2)
        used   # {'max_pool2d_forward'}

    The test suite uses it to run an op a second time with ``use_kernels(False)`` exactly when a
    fast tier took part, so both tiers are checked against PyTorch on the same drawn inputs."""

    def __enter__(self):
        global _dispatch_log
        self._outer, _dispatch_log = _dispatch_log, set()
        return _dispatch_log

    def __exit__(self, *exc):
        global _dispatch_log
        inner, _dispatch_log = _dispatch_log, self._outer
        if self._outer is not None:
            self._outer.update(inner)
        return False


def use_kernels(enabled=True):
    """Switch the fast kernel tier on or off for every op; returns the previous setting."""
    global _use_fast
    previous, _use_fast = _use_fast, bool(enabled)
    return previous


def registered_kernels():
    """{(name, backend): [tiers]} — what the dispatch table holds, for tests and curious students."""
    return {key: sorted(tiers) for key, tiers in _KERNELS.items()}


# ---------------------------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------------------------
_thread_limit = None  # the threadpoolctl limiter in force (kept alive so the limit holds)


def set_num_threads(n):
    """Use ``n`` threads in the BLAS library under NumPy, in numba's kernels and in the engine's own
    parallel loops (a narrow Winograd convolution's chunks of images), like ``torch.set_num_threads``.

    Why it matters here: a convolution is many medium-sized matrix products, and OpenBLAS threads
    that wait on each other for every small product can make a training step *slower* with 2 threads
    than with 1 (10x and worse on a busy 2-core machine).  The training commands use 1 by default."""
    global _thread_limit
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    from threadpoolctl import threadpool_limits
    _thread_limit = threadpool_limits(n)
    set_intra_op_threads(n)
    try:
        import numba
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    except Exception:  # noqa: BLE001  (numba missing or its threading layer unavailable: BLAS is what counts)
        pass


_intra_op_threads = 1   # what set_num_threads last set: how many threads the engine's own kernels use
_blas_controller = None


def intra_op_threads():
    """How many threads the engine's own parallel loops use (the convolution's chunks of images): the
    ``n`` of the last ``set_num_threads(n)``, 1 until it is called."""
    return _intra_op_threads


def set_intra_op_threads(n):
    """Let the engine's own parallel loops use ``n`` threads (``set_num_threads`` calls this; the
    benchmarks, which set BLAS's and torch's threads themselves, call it directly)."""
    global _intra_op_threads
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"set_intra_op_threads: expected a positive int, got {n!r}")
    _intra_op_threads = n


def blas_threads(n):
    """A ``with`` block in which the BLAS library uses ``n`` threads (restored after).  For code that
    runs several matrix products side by side on its own threads, each on one core."""
    global _blas_controller
    if _blas_controller is None:
        from threadpoolctl import ThreadpoolController
        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=n, user_api="blas")


def get_num_threads():
    """The number of BLAS threads NumPy's matrix products use now."""
    from threadpoolctl import threadpool_info
    counts = [lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"]
    return max(counts) if counts else 1
