"""Registry entries for ``tinygrad_edu/nn/activation_hard.py``: the piecewise-linear activations
hardtanh (default and custom range), relu6, hardsigmoid, hardswish, hardshrink and softshrink.

Inputs are drawn away from the corners (``("away", ...)`` domains; some inputs are scaled so that
the corners lie inside the drawn range); the corners themselves are pinned in
tests/test_activation_loss.py."""
from .cases import fn, lib_call
from .spec import OpSpec, unary

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="activation_hard", **kw))


add("F.hardtanh", unary(("away", -1.0, 1.0)), **lib_call(fn("hardtanh")))
add("F.hardtanh_range", unary(("away", -0.5, 1.2), min_val=-0.5, max_val=1.2), **lib_call(fn("hardtanh")))
add("F.relu6", unary(("away", 0.0, 1.5)), **lib_call(fn("relu6", 4.0)))       # 4x: the corner at 6 is drawn
add("F.hardsigmoid", unary(("away", -1.5, 1.5)), **lib_call(fn("hardsigmoid", 2.0)))
add("F.hardswish", unary(("away", -1.5, 1.5)), **lib_call(fn("hardswish", 2.0)))
add("F.hardshrink", unary(("away", -0.5, 0.5)), **lib_call(fn("hardshrink")))
add("F.softshrink", unary(("away", -0.7, 0.7), lambd=0.7), **lib_call(fn("softshrink")))
