"""Every explanation method on the real GPU (CuPy, fast tiers on) against the CPU, on the small CNN of
``explain_cases`` (``test_fake_device_explain.py`` proves the same code path on the CPU)."""
import copy

import numpy as np
import pytest

from explain_cases import host_array, methods, model_and_input
from gpu_available import requires_gpu

pytestmark = requires_gpu


@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(methods(model_and_input()[0])))
def test_a_method_on_the_gpu_equals_the_cpu(name):
    import cupy
    model, x = model_and_input()
    expected = host_array(methods(model)[name](x))
    out = methods(copy.deepcopy(model).to("cuda"))[name](x.to("cuda"))
    for part in (out if isinstance(out, tuple) else (out,)):
        assert isinstance(part.array, cupy.ndarray), f"{name} returned a host array"
    got = host_array(out)
    for g, e in zip(got if isinstance(got, list) else [got],
                    expected if isinstance(expected, list) else [expected]):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5, err_msg=name)
