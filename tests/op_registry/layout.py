"""Registry entries for ``tinygrad_edu/ops/layout.py``: roll, diagonal, diag, ``Tensor.unfold``
and repeat_interleave (a number of repeats, or a tensor of them)."""
import torch

import tinygrad_edu as tg

from .cases import fixed
from .spec import OpSpec, same, unary

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="layout", **kw))


add("roll_dims", fixed((3, 4, 2)), edge_modes=("empty",),
    **same(lambda x: x.roll((1, -5), (0, -2))))
add("roll_flat", unary(), **same(lambda x: x.roll(3)))
add("diagonal", fixed((3, 4, 2)), edge_modes=("empty",), **same(lambda x: x.diagonal(1, 0, 1)))
add("diagonal_negative_offset", fixed((4, 2, 3)), edge_modes=("empty",),
    **same(lambda x: x.diagonal(-1, -1, 0)))
add("diag_vector", fixed((3,)), edge_modes=("empty",), **same(lambda x: x.diag(-2)))
add("diag_matrix", fixed((3, 4)), edge_modes=("empty",), **same(lambda x: x.diag(1)))
add("tensor_unfold", fixed((7, 2)), edge_modes=(), **same(lambda x: x.unfold(0, 3, 2)))
add("tensor_unfold_overlapping", fixed((2, 6)), edge_modes=("empty",), **same(lambda x: x.unfold(-1, 4, 1)))
add("repeat_interleave_flat", unary(), **same(lambda x: x.repeat_interleave(2)))
add("repeat_interleave_tensor", fixed((3, 2)), edge_modes=(),
    ours=lambda x: x.repeat_interleave(tg.tensor([2, 0, 1]), dim=0),
    ref=lambda x: x.repeat_interleave(torch.tensor([2, 0, 1]), dim=0))
