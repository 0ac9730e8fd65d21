"""What the kernel suites share (``test_kernels_attention_optim.py``, ``test_kernels_transformer.py``):
the float dtypes they draw, their tolerances, the kernels-on/off fixture, a context manager that switches
the fast tier for a block, and the marks of the CuPy-tier tests that need a GPU."""
import contextlib

import numpy as np
import pytest
from hypothesis import strategies as st

from tinygrad_edu import backend

FLOAT_DTYPES = st.sampled_from([np.float32, np.float64])


def tolerances(float32_atol):
    """Fast tier against NumPy reference: {dtype: assert_allclose keywords}."""
    return {np.float32: dict(rtol=2e-6, atol=float32_atol), np.float64: dict(rtol=1e-13, atol=1e-15)}


def kernels_on_off_fixture(name, ids):
    """A fixture ``name`` that runs its test with the fast kernel tier on, then off (test ids ``ids``),
    and restores the setting before it afterwards; the test gets the flag."""
    @pytest.fixture(params=[True, False], ids=list(ids), name=name)
    def fixture(request):
        with kernels_enabled(request.param):
            yield request.param
    return fixture


@contextlib.contextmanager
def kernels_enabled(enabled):
    """Run the block with the fast kernel tier on or off; the previous setting comes back after it."""
    previous = backend.use_kernels(enabled)
    try:
        yield
    finally:
        backend.use_kernels(previous)


def cupy_tiers_test(fn):
    """A CuPy-tier test: skipped without CuPy and a usable GPU, run in float32 and float64 (its ``dtype``
    argument).  The test itself carries ``@pytest.mark.gpu``, written out where tests/test_markers.py's
    scan of the source can see it."""
    for mark in (pytest.mark.parametrize("dtype", [np.float32, np.float64]),
                 pytest.mark.skipif(not backend.cuda_is_available(),
                                    reason="the CuPy tiers need CuPy and a usable CUDA GPU")):
        fn = mark(fn)
    return fn
