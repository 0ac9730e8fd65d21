"""The kernel tiers agree: numba (CPU) and CuPy (GPU) fast tiers against the NumPy references."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
from tinygrad_edu import backend
from tinygrad_edu.ops.elementwise import _erf_reference

from tinygrad_edu.kernels.erf import erf_numba  # numba is a dependency: no skip if it breaks

TOL = {np.float32: dict(rtol=2e-6, atol=2e-7), np.float64: dict(rtol=1e-14, atol=1e-15)}


@pytest.fixture
def kernels_on():
    previous = backend.use_kernels(True)
    yield
    backend.use_kernels(previous)


def test_kernels_package_loaded_and_registered():
    assert "erf" in tg.kernels.loaded and tg.kernels.failed.get("erf") is None
    assert backend.registered_kernels()[("erf", "numpy")] == ["fast", "reference"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (0,), (3, 0), (7,), (4, 5), (2, 3, 4)])
def test_erf_fast_matches_reference(dtype, shape):
    x = np.random.default_rng(0).normal(scale=2.0, size=shape).astype(dtype)
    fast, ref = erf_numba(x), _erf_reference(x)
    assert fast.shape == ref.shape == x.shape and fast.dtype == ref.dtype == dtype
    assert isinstance(fast, np.ndarray)  # 0-d input gives a 0-d array, not a NumPy scalar
    np.testing.assert_allclose(fast, ref, **TOL[dtype])


def test_erf_fast_special_values_and_strides():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, 6.0, -6.0], dtype=np.float64)
    np.testing.assert_array_equal(erf_numba(x), _erf_reference(x))
    assert math.copysign(1.0, erf_numba(x)[1]) == -1.0  # erf(-0) = -0
    strided = np.linspace(-3, 3, 40, dtype=np.float32).reshape(5, 8)[:, ::3].T  # non-contiguous view
    np.testing.assert_allclose(erf_numba(strided), _erf_reference(strided), **TOL[np.float32])


def test_erf_other_dtypes_fall_back_to_reference():
    x = np.array([-1.5, 0.25, 2.0], dtype=np.float16)
    out = erf_numba(x)
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, _erf_reference(x))


@settings(max_examples=25, deadline=None)
@given(hnp.arrays(st.sampled_from([np.float32, np.float64]),
                  hnp.array_shapes(min_dims=0, max_dims=3, min_side=0), elements=st.floats(-8, 8, width=32)))
def test_erf_tiers_agree_hypothesis(x):
    np.testing.assert_allclose(erf_numba(x), _erf_reference(x), **TOL[x.dtype.type])


def _is_numba_erf(fn):
    """The numba erf kernel (by identity, or by module and name when a second import of the kernels
    package under another sys.path entry made a second function object of the same kernel)."""
    return fn is erf_numba or (getattr(fn, "__name__", "") == "erf_numba"
                               and getattr(fn, "__module__", "").endswith("kernels.erf"))


def test_use_kernels_switches_the_dispatch(kernels_on):
    assert _is_numba_erf(backend.kernel("erf", np))
    previous = backend.use_kernels(False)
    try:
        assert previous is True
        assert backend.kernel("erf", np) is _erf_reference
        x = tg.tensor([-1.0, 0.3, 2.5], dtype=tg.float64)
        slow = tg.erf(x).numpy()
    finally:
        backend.use_kernels(True)
    assert _is_numba_erf(backend.kernel("erf", np))
    np.testing.assert_allclose(tg.erf(x).numpy(), slow, rtol=1e-14)
    np.testing.assert_allclose(slow, [math.erf(v) for v in (-1.0, 0.3, 2.5)], rtol=1e-14)


def test_gelu_runs_through_the_fast_tier(kernels_on, monkeypatch):
    calls = []

    def counting(x):
        calls.append(x.shape)
        return erf_numba(x)

    monkeypatch.setitem(backend._KERNELS[("erf", "numpy")], "fast", counting)
    x = tg.tensor(np.linspace(-3, 3, 12, dtype=np.float64))
    y = tg.gelu(x).numpy()
    assert calls == [(12,)]
    expected = 0.5 * x.numpy() * (1 + np.array([math.erf(v / math.sqrt(2)) for v in x.numpy()], np.float64))
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-7)


def _cuda_usable():
    return backend.cuda_is_available()


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda_usable(), reason="CuPy with a usable CUDA GPU is needed for the CuPy erf tier")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erf_cupy_matches_reference(dtype, kernels_on):
    import cupy

    from tinygrad_edu.kernels.erf import erf_cupy, erf_cupy_reference
    assert backend.kernel("erf", cupy) is erf_cupy
    for shape in [(), (0,), (1000,), (3, 7)]:
        x = np.random.default_rng(1).normal(scale=2.0, size=shape).astype(dtype)
        fast = erf_cupy(cupy.asarray(x))
        assert isinstance(fast, cupy.ndarray) and fast.dtype == dtype and fast.shape == shape
        np.testing.assert_allclose(cupy.asnumpy(fast), _erf_reference(x), **TOL[dtype])
        np.testing.assert_array_equal(cupy.asnumpy(erf_cupy_reference(cupy.asarray(x))), _erf_reference(x))
    previous = backend.use_kernels(False)
    try:
        assert backend.kernel("erf", cupy) is erf_cupy_reference
    finally:
        backend.use_kernels(previous)


def test_broken_numba_falls_back_to_the_reference_with_a_warning():
    import subprocess
    import sys
    code = ("import sys, warnings; sys.modules['numba'] = None\n"  # `import numba` now raises ImportError
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    import tinygrad_edu as tg\n"
            "from tinygrad_edu import backend\n"
            "print(any('could not load erf' in str(w.message) for w in caught))\n"
            "print(backend.kernel('erf').__name__)\n"
            "print(tg.erf(tg.tensor([0.5], dtype=tg.float64)).item())\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    warned, implementation, value = result.stdout.split()
    assert warned == "True" and implementation == "_erf_reference"
    assert abs(float(value) - math.erf(0.5)) < 1e-15


# ---- relu_backward: the ReLU's backward (numba tier vs np.where reference) -------------------------
from tinygrad_edu.kernels.relu_backward import relu_backward_numba  # noqa: E402
from tinygrad_edu.ops.elementwise import _relu_backward_reference  # noqa: E402


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (0,), (7,), (4, 3, 5)])
def test_relu_backward_fast_matches_reference(dtype, shape):
    rng = np.random.default_rng(1)
    g = rng.standard_normal(shape).astype(dtype)
    y = np.maximum(rng.standard_normal(shape), 0).astype(dtype)
    fast, ref = relu_backward_numba(g, y), _relu_backward_reference(g, y)
    assert fast.dtype == ref.dtype == dtype and fast.shape == ref.shape == shape
    np.testing.assert_array_equal(fast, ref)


def test_relu_backward_gives_zero_not_nan_where_the_relu_was_off():
    # torch's threshold_backward: a NaN/inf gradient behind an inactive unit becomes 0
    g = np.array([np.nan, np.inf, -np.inf, np.nan, 2.0], np.float32)
    y = np.array([0.0, 0.0, 0.0, 1.0, 3.0], np.float32)
    expected = np.array([0.0, 0.0, 0.0, np.nan, 2.0], np.float32)
    np.testing.assert_array_equal(relu_backward_numba(g, y), expected)
    np.testing.assert_array_equal(_relu_backward_reference(g, y), expected)


def test_relu_backward_non_contiguous_and_mixed_dtypes():
    rng = np.random.default_rng(2)
    g = rng.standard_normal((6, 8)).astype(np.float32)[:, ::2]
    y = np.maximum(rng.standard_normal((8, 6)), 0).astype(np.float32).T[:, ::2]
    np.testing.assert_array_equal(relu_backward_numba(g, y), _relu_backward_reference(g, y))
    y64 = y.astype(np.float64)  # mismatched dtypes take the reference path
    np.testing.assert_array_equal(relu_backward_numba(g, y64), _relu_backward_reference(g, y64))


def test_relu_gradient_is_the_same_with_kernels_off():
    x = tg.randn(5, 7, requires_grad=True)
    (x.relu() * 3).sum().backward()
    fast_grad = x.grad.numpy().copy()
    previous = backend.use_kernels(False)
    try:
        x.grad = None
        (x.relu() * 3).sum().backward()
    finally:
        backend.use_kernels(previous)
    np.testing.assert_array_equal(fast_grad, x.grad.numpy())
    np.testing.assert_array_equal(fast_grad, np.where(x.detach().numpy() > 0, 3.0, 0.0))


def test_an_op_without_a_gpu_tier_gets_the_reference_for_cupy_arrays(kernels_on):
    """relu_backward has a numba tier only: for CuPy arrays the dispatch must hand out the NumPy
    reference (array-module generic), never the numba kernel, which takes NumPy arrays only.  A
    stand-in module object plays CuPy here, so this runs without a GPU."""
    class FakeCupy:
        pass
    # (compared by name: see test_use_kernels_switches_the_dispatch for why not by identity)
    assert backend.kernel("relu_backward", np).__name__ == "relu_backward_numba"
    assert backend.kernel("relu_backward", FakeCupy).__name__ == "_relu_backward_reference"
    with pytest.raises(KeyError, match="no implementation registered for 'no_such_op'"):
        backend.kernel("no_such_op", FakeCupy)


def test_the_readme_lists_every_kernel_and_each_has_its_file():
    """The README's "Kernels today" list is the dispatch table's, and every kernel name has its
    ``kernels/<name>.py`` (the contract of ``kernels/__init__.py``)."""
    import pathlib
    import re
    from tinygrad_edu.kernels import failed, kernel_table
    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    listed = readme.split("Kernels today:", 1)[1].split("(`tinygrad_edu.kernels.kernel_table()`", 1)[0]
    fast = {name for name, _, tiers, _ in kernel_table() if "fast" in tiers}
    assert set(re.findall(r"`(\w+)`", listed)) == fast
    assert not failed
    assert all(path is not None for name, _, tiers, path in kernel_table() if "fast" in tiers)
