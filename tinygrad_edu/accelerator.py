"""``tinygrad_edu.accelerator``: which accelerator this machine offers, as ``torch.accelerator``.

The only accelerator the engine can use is a CUDA GPU through CuPy.  ``is_available()`` is True when
CuPy is installed and ran a test kernel; ``current_accelerator()`` is then ``device('cuda', k)``
(k = the current CuPy device), else None — so ``device = accelerator.current_accelerator() or 'cpu'``
picks the GPU when there is one.
"""
from . import backend


def is_available():
    """True when a CUDA GPU is usable (CuPy installed and working)."""
    return backend.cuda_is_available()


def device_count():
    """The number of CUDA GPUs CuPy sees (0 without CuPy)."""
    if not is_available():
        return 0
    return int(backend.require_cuda().cuda.runtime.getDeviceCount())


def current_device_index():
    """The index of the current CUDA device; -1 when there is no accelerator (as PyTorch)."""
    if not is_available():
        return -1
    return int(backend.require_cuda().cuda.runtime.getDevice())


def current_accelerator(check_available=False):
    """``device('cuda', index)`` of the current GPU, or None when there is none."""
    if not is_available():
        return None
    return backend.Device("cuda", current_device_index())
