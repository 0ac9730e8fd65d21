"""Registry entries for ``tinygrad_edu/ops/selection.py``: ``tg.where`` (tensor and number
branches), ``index_select`` (repeated indices: the backward adds them up) and ``masked_select``
with a broadcasting mask."""
import torch

import tinygrad_edu as tg

from .cases import fixed, where_cases
from .spec import OpSpec

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="selection", **kw))


add("where", where_cases, ours=lambda c, a, b: tg.where(c, a, b),
    ref=lambda c, a, b: torch.where(c, a, b))
add("where_scalar_other", where_cases, ours=lambda c, a, b: tg.where(c, a, 0.5) * b,
    ref=lambda c, a, b: torch.where(c, a, 0.5) * b)
add("index_select", fixed((3, 4)), edge_modes=(),
    ours=lambda x: x.index_select(1, tg.tensor([3, 0, 3])),
    ref=lambda x: x.index_select(1, torch.tensor([3, 0, 3])))
add("masked_select_broadcast", fixed((3, 4)), edge_modes=(),
    ours=lambda x: x.masked_select(tg.tensor([True, False, True, True])),
    ref=lambda x: x.masked_select(torch.tensor([True, False, True, True])))
