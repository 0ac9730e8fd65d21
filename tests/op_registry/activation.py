"""Registry entries for ``tinygrad_edu/nn/activation.py``: the smooth activations as ``F`` functions
(relu, gelu, silu, tanh, sigmoid, leaky_relu, elu, softplus: the same ops as ``tg.relu`` & co.,
reached through F), celu, selu, logsigmoid, mish, softsign, tanhshrink and prelu (one weight or
one per channel).

Activations with a corner draw their inputs away from it (finite differences across a corner
measure nothing); corners, NaN and ±inf are pinned in tests/test_activation_loss.py."""
import numpy as np
from hypothesis import strategies as st

from .cases import f_call, fn, lib_call, simple
from .spec import Case, OpSpec, seeds, shapes, unary, values

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="activation", **kw))


add("F.relu", lambda m: simple(m, {}, "kink"), **f_call("relu"))
add("F.gelu_tanh", lambda m: simple(m, {"approximate": "tanh"}), **f_call("gelu"))
add("F.silu", lambda m: simple(m, {}), **f_call("silu"))
add("F.tanh", lambda m: simple(m, {}), **f_call("tanh"))
add("F.sigmoid", lambda m: simple(m, {}), **f_call("sigmoid"))
add("F.leaky_relu", lambda m: simple(m, {"negative_slope": 0.1}, "kink"), **f_call("leaky_relu"))
add("F.elu", lambda m: simple(m, {"alpha": 0.7}, "kink"), **f_call("elu"))
add("F.softplus", lambda m: simple(m, {"beta": 1.5}), **f_call("softplus"))

add("F.celu", unary(("away", 0.0)), **lib_call(fn("celu")))
add("F.celu_alpha", unary(("away", 0.0), alpha=0.5), **lib_call(fn("celu")))
add("F.selu", unary(("away", 0.0)), **lib_call(fn("selu")))
add("F.logsigmoid", unary(), **lib_call(fn("logsigmoid")))
add("F.logsigmoid_big", unary("big"), **lib_call(fn("logsigmoid")))                  # e^-x would overflow
add("F.mish", unary(), **lib_call(fn("mish")))
add("F.softsign", unary(("away", 0.0)), **lib_call(fn("softsign")))
add("F.tanhshrink", unary(), gc_tol=(1e-5, 1e-2), **lib_call(fn("tanhshrink")))     # tanh² ≈ 0 near 0


def _prelu_cases(per_channel):
    def cases(mode):
        @st.composite
        def build(draw):
            if per_channel:
                shape = draw(shapes(mode, 2, 4))
                channels = shape[1]
            else:
                shape, channels = draw(shapes(mode, 0, 3)), 1
            rng = np.random.default_rng(draw(seeds()))
            weight = rng.uniform(0.05, 0.5, (channels,))
            return Case((values(rng, shape, "kink"), weight))
        return build()
    return cases


add("F.prelu", _prelu_cases(False), **lib_call(lambda lib, x, w: lib.prelu(x, w)))
add("F.prelu_per_channel", _prelu_cases(True), **lib_call(lambda lib, x, w: lib.prelu(x, w)))
