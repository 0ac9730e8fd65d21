"""Registry entries for ``tinygrad_edu/ops/unary_math.py``: exp, log, log1p, sqrt, rsqrt, sin, cos, erf,
abs (function and ``abs(x)``) and sign."""
from .cases import fn_pair
from .spec import OpSpec, same, unary

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="unary_math", **kw))


# ---- exponentials, logs, roots, trigonometry ------------------------------------------------
add("exp", unary(), **fn_pair("exp"))
add("exp_method", unary(), **same(lambda x: x.exp()))
add("log", unary("positive"), **fn_pair("log"))
add("log1p", unary("log1p"), **fn_pair("log1p"))
add("sqrt", unary("positive"), **fn_pair("sqrt"))
add("rsqrt", unary("positive"), **fn_pair("rsqrt"))
add("sin", unary(), **fn_pair("sin"))
add("cos", unary(), **fn_pair("cos"))
add("erf", unary(), **fn_pair("erf"))                  # the ``erf`` kernel's own op (GELU has its own kernel)
add("erf_method", unary(), **same(lambda x: x.erf()))

# ---- abs, sign ----------------------------------------------------------------------------------
add("abs", unary("kink"), **fn_pair("abs"))
add("abs_operator", unary("kink"), **same(lambda x: abs(x)))
add("sign", unary("kink"), **fn_pair("sign"))
