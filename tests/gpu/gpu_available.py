"""``requires_gpu``: the mark every real-GPU test carries (``gpu``, and skipped with the reason when
CuPy or a usable GPU is missing)."""
import pytest

from tinygrad_edu import backend

HAVE_GPU = backend.cuda_is_available()
WHY_NOT = None if HAVE_GPU else (backend._cuda_error or "CUDA is not usable")

requires_gpu = [pytest.mark.gpu, pytest.mark.skipif(not HAVE_GPU, reason=f"no GPU: {WHY_NOT}")]
