"""The bilinear layer: ``F.bilinear`` and ``nn.Bilinear``.

A bilinear form couples two inputs: for x1 (..., in1) and x2 (..., in2) and a weight W of shape
(out, in1, in2), output k is

    y_k = x1ᵀ W_k x2 + b_k = Σᵢⱼ x1ᵢ W_kij x2ⱼ + b_k

It is linear in x1 for fixed x2 and linear in x2 for fixed x1 (hence "bi"), and can express
multiplicative interactions that a Linear layer on concat(x1, x2) cannot.  Gradients (G = dL/dy):

    dL/dx1ᵢ  = Σ_k G_k Σⱼ W_kij x2ⱼ        dL/dx2ⱼ = Σ_k G_k Σᵢ x1ᵢ W_kij
    dL/dW_kij = Σ_batch G_k x1ᵢ x2ⱼ         dL/db_k = Σ_batch G_k

Here it is one ``einsum``, whose autograd produces exactly these contractions.
"""
import math

from .. import creation
from ..ops.einsum import einsum
from ..tensor import Tensor
from . import init
from .module import Module, Parameter

__all__ = ["bilinear", "Bilinear"]


def bilinear(input1, input2, weight, bias=None):
    """y = x1ᵀ W x2 + b for every leading index: input1 (..., in1), input2 (..., in2) with the same
    leading dims, weight (out, in1, in2), bias (out,) -> (..., out).  See the module docstring."""
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"bilinear: {name} must be a Tensor, got {type(t).__name__}")
    if weight.ndim != 3:
        raise ValueError(f"bilinear: weight must be 3-D (out_features, in1_features, in2_features), "
                         f"got shape {tuple(weight.shape)}")
    if input1.ndim == 0 or input1.ndim != input2.ndim or input1.shape[:-1] != input2.shape[:-1]:
        raise ValueError(f"bilinear: input1 {tuple(input1.shape)} and input2 {tuple(input2.shape)} "
                         "must have at least 1 dim and the same leading dims")
    if input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise ValueError(f"bilinear: input1 {tuple(input1.shape)} and input2 {tuple(input2.shape)} do "
                         f"not fit weight {tuple(weight.shape)}: their last dims must be "
                         f"{weight.shape[1]} and {weight.shape[2]}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"bilinear: bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}")
    y = einsum("...i,kij,...j->...k", input1, weight, input2)
    return y if bias is None else y + bias


class Bilinear(Module):
    """y = x1ᵀ W x2 + b with W of shape (out_features, in1_features, in2_features).

    PyTorch's initialisation: W and b ~ U(-1/√in1, 1/√in1)."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = Parameter(creation.empty(out_features, in1_features, in2_features, dtype=dtype,
                                               device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.in1_features <= 0:
            raise ValueError(f"Bilinear: in1_features must be > 0, but got (in1_features="
                             f"{self.in1_features})")
        bound = 1 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
