"""Registry entries: rounding and integer-style division (div modes, //, fmod, %, trunc, floor, ceil,
round, frac) and the trig/hyperbolic family with exp2/expm1/log2/log10 (ops/rounding.py, ops/trig.py).

Remainders and frac jump where a/b (or x) is a whole number: gradcheck keeps away from those points.
The rounded ops have zero gradient (torch's convention); their backward parity is still checked."""
import numpy as np
import torch

import tinygrad_edu as tg

from .spec import OpSpec, binary, same, unary

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="math_extra", **kw))


def _away_from_jumps(case):
    """True when a/b (or x alone) is at least 1e-3 from a whole number."""
    q = case.arrays[0] / case.arrays[1] if len(case.arrays) == 2 else case.arrays[0]
    return bool(np.all(np.abs(q - np.round(q)) > 1e-3))


# ---- division with rounding, fmod, remainder ------------------------------------------------
add("div_trunc", binary("real", "nonzero"), gradcheck=False,
    **same(lambda a, b: a.div(b, rounding_mode="trunc")))
add("div_floor", binary("real", "nonzero"), gradcheck=False,
    **same(lambda a, b: a.div(b, rounding_mode="floor")))
add("div_fn_floor", binary("real", "nonzero"), gradcheck=False,
    ours=lambda a, b: tg.div(a, b, rounding_mode="floor"),
    ref=lambda a, b: torch.div(a, b, rounding_mode="floor"))
add("div_none_mode", binary("real", "nonzero"), **same(lambda a, b: a.div(b, rounding_mode=None)))
add("floordiv_operator", binary("real", "nonzero"), has_grad=False, **same(lambda a, b: a // b))
add("floordiv_scalar", unary(), has_grad=False, **same(lambda a: a // 0.7))
add("rfloordiv_scalar", unary("nonzero"), has_grad=False, **same(lambda a: 3.0 // a))
add("fmod", binary("real", "nonzero"), smooth_at=_away_from_jumps, **same(lambda a, b: a.fmod(b)))
add("fmod_scalar", unary(), smooth_at=lambda c: _away_from_jumps(type(c)((c.arrays[0] / -0.7,))),
    **same(lambda a: a.fmod(-0.7)))
add("remainder", binary("real", "nonzero"), smooth_at=_away_from_jumps, **same(lambda a, b: a.remainder(b)))
add("mod_operator", binary("real", "nonzero"), smooth_at=_away_from_jumps, **same(lambda a, b: a % b))
add("mod_scalar", unary(), smooth_at=lambda c: _away_from_jumps(type(c)((c.arrays[0] / 0.7,))),
    **same(lambda a: a % 0.7))
# torch has no derivative for number % tensor; ours (-floor(a/b)) is gradchecked in test_math_extra.py
add("rmod_scalar", unary("nonzero"), has_grad=False,
    **same(lambda a: 2.5 % a))
add("fmod_fn", binary("real", "nonzero"), smooth_at=_away_from_jumps,
    ours=lambda a, b: tg.fmod(a, b), ref=lambda a, b: torch.fmod(a, b))
add("remainder_fn", binary("real", "nonzero"), smooth_at=_away_from_jumps,
    ours=lambda a, b: tg.remainder(a, b), ref=lambda a, b: torch.remainder(a, b))

# ---- rounding of one tensor -------------------------------------------------------------------
add("trunc", unary(), gradcheck=False, **same(lambda a: a.trunc()))
add("floor", unary(), gradcheck=False, **same(lambda a: a.floor()))
add("ceil", unary(), gradcheck=False, **same(lambda a: a.ceil()))
add("round", unary(), gradcheck=False, **same(lambda a: a.round()))
add("round_decimals_2", unary(), gradcheck=False, **same(lambda a: a.round(decimals=2)))
add("round_decimals_neg", unary(), gradcheck=False, **same(lambda a: (a * 100).round(decimals=-1)))
add("frac", unary(), smooth_at=_away_from_jumps, **same(lambda a: a.frac()))
add("frac_fn", unary(), smooth_at=_away_from_jumps, ours=lambda a: tg.frac(a), ref=lambda a: torch.frac(a))

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
