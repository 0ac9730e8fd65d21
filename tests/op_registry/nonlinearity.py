"""Registry entries for ``tinygrad_edu/ops/nonlinearity.py``: tanh, sigmoid, relu, leaky_relu, elu,
gelu (exact and tanh), silu and softplus, with their large-input tails."""
import torch.nn.functional as TF

from .cases import fn_pair
from .spec import OpSpec, unary

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="nonlinearity", **kw))


# ---- activations ------------------------------------------------------------------------------
add("tanh", unary(), **fn_pair("tanh"))
add("sigmoid", unary(), **fn_pair("sigmoid"))
add("sigmoid_large_inputs", unary("big"), gradgrad=False, **fn_pair("sigmoid"))
add("relu", unary("kink"), **fn_pair("relu"))
add("leaky_relu", unary("kink"), **fn_pair("leaky_relu", TF.leaky_relu))
add("leaky_relu_slope", unary("kink", negative_slope=0.2), **fn_pair("leaky_relu", TF.leaky_relu))
add("elu", unary("kink"), **fn_pair("elu", TF.elu))
add("elu_alpha", unary("kink", alpha=0.5), **fn_pair("elu", TF.elu))
add("gelu_exact", unary(), **fn_pair("gelu", TF.gelu))
add("gelu_tanh", unary(approximate="tanh"), **fn_pair("gelu", TF.gelu))
add("silu", unary(), **fn_pair("silu", TF.silu))
add("softplus", unary(), **fn_pair("softplus", TF.softplus))
add("softplus_beta_threshold", unary(("away", 1.0), beta=2.0, threshold=2.0),
    **fn_pair("softplus", TF.softplus))
add("softplus_large_inputs", unary("big"), gradgrad=False, **fn_pair("softplus", TF.softplus))
