"""Registry entries for ``tinygrad_edu/ops/trig.py``: tan and the inverse trig functions (with their
numpy-style aliases), atan2, the hyperbolic family and its inverses, exp2, expm1, log2, log10,
square and reciprocal.  Inputs are scaled into each function's domain inside the call."""
import torch

import tinygrad_edu as tg

from .spec import OpSpec, binary, same, unary

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="trig", **kw))


# ---- trig, hyperbolic and their inverses ------------------------------------------------------
add("tan", unary(), **same(lambda a: (a * 0.7).tan()))
add("asin", unary(), **same(lambda a: (a * 0.45).asin()))
add("acos", unary(), **same(lambda a: (a * 0.45).acos()))
add("atan", unary(), **same(lambda a: a.atan()))
add("arcsin_alias", unary(), ours=lambda a: tg.arcsin(a * 0.45), ref=lambda a: torch.arcsin(a * 0.45))
add("arctan_fn", unary(), ours=lambda a: tg.arctan(a), ref=lambda a: torch.arctan(a))
add("atan2", binary("nonzero", "nonzero"), **same(lambda a, b: a.atan2(b)))
add("atan2_fn", binary("real", "nonzero"), ours=lambda a, b: tg.atan2(a, b),
    ref=lambda a, b: torch.atan2(a, b))
add("sinh", unary(), **same(lambda a: a.sinh()))
add("cosh", unary(), **same(lambda a: a.cosh()))
add("asinh", unary(), **same(lambda a: a.asinh()))
add("acosh", unary("positive"), **same(lambda a: (a + 0.6).acosh()))
add("atanh", unary(), **same(lambda a: (a * 0.45).atanh()))
add("arccosh_fn", unary("positive"), ours=lambda a: tg.arccosh(a + 0.6), ref=lambda a: torch.arccosh(a + 0.6))
add("exp2", unary(), **same(lambda a: a.exp2()))
add("expm1", unary(), **same(lambda a: a.expm1()))
add("log2", unary("positive"), **same(lambda a: a.log2()))
add("log10", unary("positive"), **same(lambda a: a.log10()))
add("square", unary(), **same(lambda a: a.square()))
add("square_fn", unary(), ours=lambda a: tg.square(a), ref=lambda a: torch.square(a))
add("reciprocal", unary("nonzero"), **same(lambda a: a.reciprocal()))
add("expm1_fn", unary(), ours=lambda a: tg.expm1(a), ref=lambda a: torch.expm1(a))
