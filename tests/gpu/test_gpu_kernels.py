"""Every CuPy fast kernel tier against its reference, on the real GPU.

The kernels are discovered, not listed: every ``(name, "cupy")`` entry of ``backend.registered_kernels()``
with a ``fast`` tier gets a test, so a kernel file added later is covered by itself.  Their arguments are
the ones real workloads pass (geometry objects, saved statistics, index arrays): the fast tiers are
wrapped by a recorder while the op specs (one random case each) and four tiny train steps run on the
GPU, and each recorded call is replayed through both tiers on copies of its inputs.  The results *and*
every array argument afterwards (for in-place kernels such as the optimizer step) must agree to
float32 rounding.
"""
import copy
import types

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from tinygrad_edu import backend

from device_parity import compare_devices
from gpu_available import HAVE_GPU, requires_gpu
from op_registry import ALL_SPECS

pytestmark = requires_gpu

CUPY_KERNELS = sorted(name for (name, where), tiers in backend.registered_kernels().items()
                      if where == "cupy" and "fast" in tiers)
CALLS_PER_KERNEL = 4
# Arguments a kernel's contract lets it use as scratch: their contents after the call are not compared.
# attention_softmax.forward(scores, ...) and .backward(p, grad_p): the attention op passes fresh arrays
# ("the softmax may work in place"; "grad_p ... may be overwritten"), and the fast tiers write their
# results over them while the reference leaves them as they were.
SCRATCH_ARGUMENTS = {"attention_softmax.forward": {0}, "attention_softmax.backward": {1}}


def _copy(value):
    """Deep copy of arrays (CuPy or NumPy) inside tuples, lists and dicts; other objects as they are."""
    if hasattr(value, "__cuda_array_interface__") or isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple) and hasattr(value, "_fields"):        # a namedtuple (geometry)
        return type(value)(*[_copy(v) for v in value])
    if isinstance(value, (tuple, list)):
        return type(value)(_copy(v) for v in value)
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return copy.copy(value) if hasattr(value, "__dict__") else value


def _host(value):
    if hasattr(value, "__cuda_array_interface__"):
        return backend.to_device(value, "cpu")
    return value


def _assert_same(fast, ref, what):
    if isinstance(ref, (tuple, list)):
        assert isinstance(fast, (tuple, list)) and len(fast) == len(ref), \
            f"{what}: {type(fast)} vs {type(ref)}"
        for k, (f, r) in enumerate(zip(fast, ref)):
            _assert_same(f, r, f"{what}[{k}]")
        return
    f, r = _host(fast), _host(ref)
    if isinstance(r, np.ndarray):
        assert isinstance(f, np.ndarray), f"{what}: {type(fast).__name__}, reference {type(ref).__name__}"
        assert f.shape == r.shape and f.dtype == r.dtype, \
            f"{what}: {f.shape} {f.dtype} vs {r.shape} {r.dtype}"
        tol = (1e-5, 1e-4) if r.dtype.kind == "f" and r.dtype.itemsize <= 4 else (1e-10, 1e-9)
        np.testing.assert_allclose(f, r, atol=tol[0], rtol=tol[1], equal_nan=True, err_msg=what)
    elif isinstance(r, float):
        assert np.isclose(f, r, rtol=1e-4, atol=1e-6, equal_nan=True), f"{what}: {f} vs {r}"


def _entry_points(tier):
    """A tier is a function, or a namespace of functions (``forward``/``backward``): {label: function}."""
    if isinstance(tier, types.FunctionType) or not any(
            callable(getattr(tier, n)) for n in dir(tier) if not n.startswith("_")):
        return {"": tier}
    return {n: getattr(tier, n) for n in dir(tier) if not n.startswith("_") and callable(getattr(tier, n))}


def _recording(tier, calls, name):
    """The tier with every entry point recording its first calls into ``calls[name + label]``."""
    wrapped = {}
    for label, fn in _entry_points(tier).items():
        key = f"{name}.{label}" if label else name
        calls.setdefault(key, [])

        def recorder(*args, _key=key, _fn=fn, **kwargs):
            if len(calls[_key]) < CALLS_PER_KERNEL:
                calls[_key].append((_copy(args), _copy(kwargs)))
            return _fn(*args, **kwargs)
        wrapped[label] = recorder
    return wrapped[""] if "" in wrapped else types.SimpleNamespace(**wrapped)


@pytest.fixture(scope="module")
def recorded():
    """'name' or 'name.entry' -> [(args, kwargs)] of the first calls of each CuPy fast tier during real
    workloads."""
    from benchmarks import bench_gpu
    calls = {}
    originals = {}
    for name in CUPY_KERNELS:
        tiers = backend._KERNELS[(name, "cupy")]
        originals[name] = tiers["fast"]
        tiers["fast"] = _recording(tiers["fast"], calls, name)
    try:
        for build in (bench_gpu.vgg_task, bench_gpu.airbench_task, bench_gpu.gpt_task, bench_gpu.bert_task):
            try:
                step, _, _ = bench_gpu.ours_step(build(smoke=True), "cuda")
                step()
            except Exception:  # noqa: BLE001  (test_gpu_train.py reports these)
                pass
        for spec in ALL_SPECS if not all(calls.values()) else ():   # the op specs reach the rest
            @settings(max_examples=1, derandomize=True, database=None, deadline=None,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))
            @given(data=st.data())
            def run(data):
                compare_devices(spec, data.draw(spec.cases("any")), "cuda", tol=(np.inf, np.inf))
            try:
                run()
            except Exception:  # noqa: BLE001  (op failures are test_gpu_ops.py's business)
                pass
    finally:
        for name, fn in originals.items():
            backend._KERNELS[(name, "cupy")]["fast"] = fn
    return calls


def test_kernels_are_discovered():
    assert not HAVE_GPU or CUPY_KERNELS, "CuPy is installed but no kernel registered a cupy fast tier"


@pytest.mark.parametrize("name", CUPY_KERNELS)
def test_cupy_tier_equals_reference(name, recorded):
    tiers = backend._KERNELS[(name, "cupy")]
    reference = tiers.get("reference") or backend._KERNELS[(name, "numpy")]["reference"]
    fast_entries, ref_entries = _entry_points(tiers["fast"]), _entry_points(reference)
    assert set(fast_entries) <= set(ref_entries), \
        f"{name}: entry points {sorted(fast_entries)} vs reference {sorted(ref_entries)}"
    replayed = 0
    for label, fast in fast_entries.items():
        for k, (args, kwargs) in enumerate(recorded[f"{name}.{label}" if label else name]):
            what = f"{name}{'.' + label if label else ''} call {k}"
            fast_args, fast_kwargs = _copy(args), _copy(kwargs)
            ref_args, ref_kwargs = _copy(args), _copy(kwargs)
            fast_out = fast(*fast_args, **fast_kwargs)
            ref_out = ref_entries[label](*ref_args, **ref_kwargs)
            _assert_same(fast_out, ref_out, f"{what}: result")
            scratch = SCRATCH_ARGUMENTS.get(f"{name}.{label}" if label else name, set())
            _assert_same([a for i, a in enumerate(fast_args) if i not in scratch],
                         [a for i, a in enumerate(ref_args) if i not in scratch],
                         f"{what}: arguments after the call")
            replayed += 1
    assert replayed, f"no workload called the cupy tier of {name!r} (op specs + tiny train steps)"
