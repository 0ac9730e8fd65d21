"""Registry entries: ``copysign`` (ops/rounding.py).

copysign(a, b) = |a| with b's sign: smooth in a away from a = 0 (the kink of |a|) and flat in b away
from b = 0 (where the sign flips), so both inputs are drawn away from zero ("kink" domain)."""
import torch

import tinygrad_edu as tg

from .spec import OpSpec, binary, same, unary

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="semantics_more", **kw))


add("copysign", binary("kink", "kink"), **same(lambda a, b: a.copysign(b)))
add("copysign_fn", binary("kink", "kink"),
    ours=lambda a, b: tg.copysign(a, b), ref=lambda a, b: torch.copysign(a, b))
add("copysign_scalar_neg", unary("kink"), **same(lambda a: a.copysign(-1.5)))
add("copysign_scalar_pos", unary("kink"), **same(lambda a: a.copysign(2.0)))
