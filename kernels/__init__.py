"""Hot-op kernels: the fast tiers beside the plain NumPy references.

Every hot op in tinygrad_edu has up to three implementations, and a student can read them side by side:

1. **reference** — plain NumPy (or the standard library), in ``tinygrad_edu/ops/``.  It is what you
   read first: slow perhaps, but obviously right.  It is registered by the op's own module.
2. **numba (CPU)** — the same math compiled to machine code by numba (``*_numba.py`` here).  It is
   registered as the ``"fast"`` tier for NumPy arrays.
3. **CuPy (GPU)** — a CuPy/CUDA implementation (``*_cupy.py`` here, ``.cu`` sources beside it), the
   ``"fast"`` tier for CuPy arrays.  It is registered only where CuPy is installed.

An op never imports a kernel directly: it asks the dispatch point ``tinygrad_edu.backend.kernel(name, xp)``,
which returns the fast tier when one is registered and ``use_kernels(True)`` (the default), else the
reference.  ``tinygrad_edu.backend.use_kernels(False)`` (or ``TINYGRAD_EDU_KERNELS=0``) switches every op
back to its reference, so the tiers can be compared; ``tests/test_kernels.py`` asserts that they agree.

This folder lives at the top of the repository (``kernels/``) and is installed as the subpackage
``tinygrad_edu.kernels`` through the committed symlink ``tinygrad_edu/kernels -> ../kernels``.

Importing this package registers every kernel it has.  A kernel that cannot load (say numba is broken on
this machine) is skipped with a warning: its op keeps working on the reference tier.
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

# The kernels this package provides, one module each.  Each module registers itself on import.
KERNEL_MODULES = ("erf_numba", "erf_cupy", "relu_numba")

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
