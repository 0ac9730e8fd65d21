"""Compiled kernels: a faster tier for the hot ops, each beside the NumPy reference it must equal.

The contract
------------
Every hot op's *reference* is plain NumPy, beside the op itself (``tinygrad_edu/ops/``, ``tinygrad_edu/nn/``,
``tinygrad_edu/optim/``): what you read first, perhaps slow, but obviously right.  The op registers it
under a kernel *name* with ``backend.register_kernel(name, "numpy", fn)`` and calls its implementation
only through the dispatch point ``backend.kernel(name, xp)``.

This folder holds the fast tiers, **one file per kernel name** (``kernels/<name>.py``) with both of them:

* the numba tier (NumPy arrays, CPU), registered with ``register_kernel(name, "numpy", fn, tier="fast")``;
* the CuPy tier (CuPy arrays, GPU) where there is one, registered for ``"cupy"`` only when CuPy is
  installed; its CUDA source, when it has one, sits beside it as ``kernels/<name>.cu`` and is compiled
  by ``cuda_source.raw_kernel`` on first use (and to PTX in the tests, with no GPU needed).

``backend.use_kernels(False)`` (or ``TINYGRAD_EDU_KERNELS=0``) switches every op back to its reference,
so the tiers can be compared; the test suite runs every op both ways.  ``backend.registered_kernels()``
lists what the table holds; ``kernel_table()`` below lists it with each kernel's file.

A fast tier equals its reference to float32 rounding and keeps the reference's NaN and tie rules
(for max pooling: the first maximum wins, NaN wins).  Where a tier does not handle a case (a dtype, a
layout) it calls the reference itself, so a caller never has to know which tier ran.

Importing this package imports every kernel file here, so each registers itself.  A kernel that cannot
load (say numba is broken on this machine) is skipped with a warning and its op keeps working on the
reference tier; ``loaded`` and ``failed`` say which did what.

This folder lives at the top of the repository (``kernels/``) and is installed as the subpackage
``tinygrad_edu.kernels`` through the committed symlink ``tinygrad_edu/kernels -> ../kernels``.
"""
import importlib
import os
import sys
import tempfile
import warnings


def _default_numba_cache_dir():
    """numba's ``cache=True`` writes compiled code beside the source, or failing that under ``$HOME``;
    if neither is writable it fails *at import time* ("no locator available").  When the package folder
    is read-only, point numba at a user cache folder (or a temp folder) before numba is imported."""
    if os.environ.get("NUMBA_CACHE_DIR") or os.access(os.path.dirname(os.path.abspath(__file__)), os.W_OK):
        return None
    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    candidates = [os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                               "tinygrad_edu", "numba"),
                  os.path.join(tempfile.gettempdir(), f"tinygrad_edu-numba-{user}")]
    for folder in candidates:
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder
    return None


_cache_dir = _default_numba_cache_dir()
if _cache_dir is not None:
    os.environ["NUMBA_CACHE_DIR"] = _cache_dir
    if "numba" in sys.modules:  # numba was imported before us: tell its live config too
        sys.modules["numba"].config.CACHE_DIR = _cache_dir

# Files here that are not kernels: the CUDA source loader.
_NOT_KERNELS = {"cuda_source"}
# The kernels this package provides, one module each (its file name is the kernel name).
KERNEL_MODULES = tuple(sorted(
    name[:-3] for name in os.listdir(os.path.dirname(os.path.abspath(__file__)))
    if name.endswith(".py") and not name.startswith("_") and name[:-3] not in _NOT_KERNELS))

loaded = []   # modules that registered
failed = {}   # module name -> why it could not load

for _name in KERNEL_MODULES:
    try:
        importlib.import_module(f"{__name__}.{_name}")
        loaded.append(_name)
    except Exception as _exc:  # noqa: BLE001  (any failure means: fall back to the reference)
        failed[_name] = f"{_exc.__class__.__name__}: {_exc}"
        warnings.warn(f"tinygrad_edu.kernels: could not load {_name} ({failed[_name]}); "
                      "its ops use the NumPy reference tier", RuntimeWarning, stacklevel=2)


def kernel_table():
    """[(kernel name, backend, tiers, file)] for every registered kernel, sorted: what a student asks
    first ("which ops have a fast version, and where is it?")."""
    from tinygrad_edu.backend import registered_kernels
    here = os.path.dirname(os.path.abspath(__file__))
    rows = []
    for (name, backend), tiers in sorted(registered_kernels().items()):
        path = os.path.join(here, f"{name}.py")
        rows.append((name, backend, tiers, f"kernels/{name}.py" if os.path.exists(path) else None))
    return rows
