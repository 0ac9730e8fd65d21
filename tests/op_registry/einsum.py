"""Registry entries for ``tinygrad_edu/ops/einsum.py``: ``tg.einsum`` with explicit and implicit
outputs, ``...``, traces and diagonals, outer products, a letter summed within one operand, and
three operands."""
import numpy as np
import torch
from hypothesis import strategies as st

import tinygrad_edu as tg

from .spec import Case, OpSpec, seeds, values

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="einsum", **kw))


def fixed_n(*shape_list):
    def cases(mode):
        @st.composite
        def build(draw):
            rng = np.random.default_rng(draw(seeds()))
            return Case(tuple(values(rng, s) for s in shape_list), {})
        return build()
    return cases


for _name, _eq, _shapes in [
        ("matmul", "ij,jk->ik", [(2, 3), (3, 4)]), ("batched_implicit", "bij,bjk", [(2, 2, 3), (2, 3, 2)]),
        ("ellipsis", "...ij,...jk->...ik", [(2, 2, 3), (2, 3, 2)]), ("trace", "ii", [(3, 3)]),
        ("diagonal", "iij->ji", [(2, 2, 3)]), ("outer", "i,j->ij", [(3,), (2,)]),
        ("sum_only_operand_letter", "ij,k->i", [(2, 3), (4,)]), ("three_operands", "ab,bc,cd->ad",
                                                                  [(2, 3), (3, 2), (2, 2)])]:
    add(f"einsum_{_name}", fixed_n(*_shapes), edge_modes=(),
        ours=lambda *xs, _eq=_eq: tg.einsum(_eq, *xs), ref=lambda *xs, _eq=_eq: torch.einsum(_eq, *xs))
