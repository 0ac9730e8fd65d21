"""Compiled kernels: a faster tier for a few hot ops, each beside the NumPy reference it must equal.

What is here
------------
Every op's *reference* is plain NumPy, in ``tinygrad_edu/ops/``: what you read first, slow perhaps, but
obviously right, and registered by the op's own module.  Two ops also have a compiled *fast* tier::

    kernel name      NumPy arrays (CPU)                   CuPy arrays (GPU)
    erf              erf_numba.py: numba ufunc            erf_cupy.py: cupyx.scipy.special.erf
                     over math.erf                        (CuPy's own CUDA ufunc; no .cu source here)
    relu_backward    relu_numba.py: numba ufunc           none
                     (g where y > 0, else 0)

``erf`` serves ``tinygrad_edu.erf`` and the exact GELU; ``relu_backward`` serves the ReLU's gradient.  Every
other op has only its reference (which runs on CuPy arrays through CuPy's NumPy-compatible functions).
There are no ``.cu`` sources in this folder; the CuPy tier's test is marked ``gpu`` and skips where
there is no GPU.

How an op finds its kernel
--------------------------
An op never imports a kernel directly: it asks the dispatch point ``tinygrad_edu.backend.kernel(name, xp)``,
which returns the fast tier when one is registered and ``use_kernels(True)`` (the default), else the
reference.  ``tinygrad_edu.backend.use_kernels(False)`` (or ``TINYGRAD_EDU_KERNELS=0``) switches every op
back to its reference, so the tiers can be compared; ``tests/test_kernels.py`` asserts that they agree.
``tinygrad_edu.backend.registered_kernels()`` lists what the table holds.

What comes next
---------------
Issue 14 plans more kernels where measurements show they pay (max-pool, the small-plane convolution
layout, both GELUs, layer_norm, attention softmax, softmax + cross-entropy, AdamW, ...) and CuPy kernels
with their CUDA sources in this folder.  Until they land, the table above is the whole list.

This folder lives at the top of the repository (``kernels/``) and is installed as the subpackage
``tinygrad_edu.kernels`` through the committed symlink ``tinygrad_edu/kernels -> ../kernels``.

Importing this package registers every kernel it has (``KERNEL_MODULES``).  A kernel that cannot load
(say numba is broken on this machine) is skipped with a warning, and its op keeps working on the
reference tier; ``loaded`` and ``failed`` say which did what.
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
