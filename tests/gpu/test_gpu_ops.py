"""Every op spec of the generated suite on the real GPU (CuPy, fast tiers on) against the CPU: outputs
and input gradients, on the device, within the spec's float32 tolerances.  Ops that may draw their own
random numbers on the GPU are compared by shape, dtype and device only."""
import pytest
from hypothesis import Phase, given, settings, strategies as st

from device_parity import RANDOM_OPS, compare_devices
from gpu_available import requires_gpu
from op_registry import ALL_SPECS

pytestmark = requires_gpu


@pytest.mark.parametrize("spec", ALL_SPECS, ids=[s.name for s in ALL_SPECS])
@settings(max_examples=1, phases=[Phase.generate])   # a failing op is reported, not shrunk (time)
@given(data=st.data())
def test_op_on_gpu(spec, data):
    case = data.draw(spec.cases("any"), label="case")
    tol = (max(spec.fwd_tol[0], 1e-5), max(spec.fwd_tol[1], 1e-4))
    compare_devices(spec, case, "cuda", tol, values=not RANDOM_OPS.search(spec.name))
