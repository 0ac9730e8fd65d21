"""Registry entries for ``tinygrad_edu/ops/rounding.py``: division with rounding modes (div modes, //),
fmod, remainder and %, trunc, floor, ceil, round (decimals too), frac, and copysign.

Remainders and frac jump where a/b (or x) is a whole number: gradcheck keeps away from those points.
The rounded ops have zero gradient (torch's convention); their backward parity is still checked.
copysign(a, b) = |a| with b's sign: smooth in a away from a = 0 (the kink of |a|) and flat in b away
from b = 0 (where the sign flips), so both inputs are drawn away from zero ("kink" domain)."""
import numpy as np
import torch

import tinygrad_edu as tg

from .spec import OpSpec, binary, same, unary

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="rounding", **kw))


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


# ---- copysign ----------------------------------------------------------------------------------
add("copysign", binary("kink", "kink"), **same(lambda a, b: a.copysign(b)))
add("copysign_fn", binary("kink", "kink"),
    ours=lambda a, b: tg.copysign(a, b), ref=lambda a, b: torch.copysign(a, b))
add("copysign_scalar_neg", unary("kink"), **same(lambda a: a.copysign(-1.5)))
add("copysign_scalar_pos", unary("kink"), **same(lambda a: a.copysign(2.0)))
