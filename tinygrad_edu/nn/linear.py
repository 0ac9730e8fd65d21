"""Linear maps: ``F.linear`` / ``nn.Linear`` (y = x Wᵀ + b), ``nn.Identity``, and the bilinear
form ``F.bilinear`` / ``nn.Bilinear``.

``linear`` is one fused ``Function`` (``LinearFunction``, its gradients in its docstring) because it
sits on the hot path of every MLP step.

A bilinear form couples two inputs: for x1 (..., in1) and x2 (..., in2) and a weight W of shape
(out, in1, in2), output k is

    y_k = x1ᵀ W_k x2 + b_k = Σᵢⱼ x1ᵢ W_kij x2ⱼ + b_k

It is linear in x1 for fixed x2 and linear in x2 for fixed x1 (hence "bi"), and can express
multiplicative interactions that a Linear layer on concat(x1, x2) cannot.  Gradients (G = dL/dy):

    dL/dx1ᵢ  = Σ_k G_k Σⱼ W_kij x2ⱼ        dL/dx2ⱼ = Σ_k G_k Σᵢ x1ᵢ W_kij
    dL/dW_kij = Σ_batch G_k x1ᵢ x2ⱼ         dL/db_k = Σ_batch G_k

Here it is one ``einsum``, whose autograd produces exactly these contractions.

The modules have PyTorch's constructor arguments, initialisation, parameter names and ``repr``.

Tests: tests/op_registry/linear.py, tests/test_activation_loss.py
"""
import math

from .. import creation
from ..autograd import grad_mode
from ..autograd.function import Function
from ..backend import array_module
from ..ops.einsum import einsum
from ..tensor import Tensor
from . import init
from .module import Module, Parameter

__all__ = ["linear", "bilinear", "LinearFunction", "Linear", "Identity", "Bilinear"]


# ---------------------------------------------------------------------------------------------
# linear: y = x Wᵀ + b, one fused node
# ---------------------------------------------------------------------------------------------
class LinearFunction(Function):
    """y = x Wᵀ + b for x of shape (..., in), W of shape (out, in), b of shape (out,).

    Write X for x flattened to a matrix (n rows of length ``in``) and G for dL/dy flattened the
    same way (n rows of length ``out``).  Then

        dL/dx = G W                 (n, out) @ (out, in) -> (n, in), reshaped back to x's shape
        dL/dW = Gᵀ X                (out, n) @ (n, in)   -> (out, in)
        dL/db = Σ_rows G            the gradient summed over every leading dim

    Fusing the three ops (matmul, transpose, add) into one node saves two graph nodes and two
    temporaries per layer; dL/dW comes out of one BLAS call as a fresh array the engine can keep
    as ``W.grad`` without copying.

    Every product is done on the flattened matrices X and G, never on the (batch, seq, in) arrays:
    NumPy's ``matmul`` on a 3-D operand calls BLAS once per leading index (16 GEMMs of 64 rows for
    a 16 × 64-token batch), which measured 1.35–1.6× slower than one GEMM of 1024 rows here.
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        y = _as_matrix(x) @ weight.T
        if bias is not None:
            y += bias  # in place: y is a fresh array
        ctx.save_for_backward(x, weight)
        return y if x.ndim == 2 else y.reshape(x.shape[:-1] + (weight.shape[0],))

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        if not grad_mode.state.enabled:   # the usual case: no graph of the backward is recorded
            grads = _linear_grads(g.array, x.array, weight.array, ctx.needs_input_grad)
            return tuple(None if a is None else Tensor._wrap(a) for a in grads)
        # create_graph: the same products in Tensor ops, so they are recorded (second derivatives)
        return _linear_grads(g, x, weight, ctx.needs_input_grad)


def _linear_grads(g, x, weight, needs):
    """(dL/dx, dL/dW, dL/db), None where not needed: the formulas of ``LinearFunction``, each one
    product on the flattened matrices (or one reduction for db).

    The operands are either raw arrays (the usual backward: no graph to record, so no Function
    call, wrapping or checks per product, reshape, transpose and bias sum; at GPT's size that was
    about 1.5 ms of a 40 ms training step) or Tensors (``create_graph=True``: the same formulas,
    recorded for second derivatives)."""
    need_x, need_w, need_b = needs
    g2 = _as_matrix(g)
    grad_x = grad_w = grad_b = None
    if need_x:
        grad_x = g2 @ weight
        if x.ndim != 2:
            grad_x = grad_x.reshape(x.shape)
    if need_w:
        grad_w = g2.T @ _as_matrix(x)
    if need_b and isinstance(g2, Tensor):
        grad_b = g2.sum(0)
    elif need_b:
        # Σ_rows G as the matrix-vector product 1ᵀ G: BLAS streams G once, about twice as fast as
        # NumPy's column sum (which adds the rows one at a time into an accumulator row)
        grad_b = array_module(g2).ones(g2.shape[0], dtype=g2.dtype) @ g2
    return grad_x, grad_w, grad_b


def _as_matrix(a):
    """``a`` (an array or a Tensor of shape (..., features)) as a (rows, features) matrix: a view
    where the layout allows; a 1-D ``a`` becomes one row."""
    if a.ndim == 2:
        return a
    return a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


def linear(input, weight, bias=None):  # noqa: A002  (PyTorch's argument name)
    """y = input @ weightᵀ + bias: an affine map applied to the last dim of ``input``.

    Shapes: input (..., in_features), weight (out_features, in_features), bias (out_features,)
    -> (..., out_features).  Gradients: see ``LinearFunction``.
    """
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError(f"linear: weight must be a 2-D tensor (out_features, in_features), got "
                         f"shape {tuple(getattr(weight, 'shape', ()))}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {tuple(input.shape)} does not fit weight of shape "
                         f"{tuple(weight.shape)}: the input's last dim must be in_features="
                         f"{weight.shape[1]}")
    if input.dtype != weight.dtype:
        raise TypeError(f"linear: input dtype {input.dtype} and weight dtype {weight.dtype} differ; "
                        "convert one of them (e.g. input.to(weight.dtype))")
    if bias is not None and tuple(bias.shape) not in ((weight.shape[0],), ()):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},) to match weight "
                         f"{tuple(weight.shape)}, got {tuple(bias.shape)}")
    return LinearFunction.apply(input, weight, bias)


# ---------------------------------------------------------------------------------------------
# bilinear: y_k = x1ᵀ W_k x2 + b_k
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
class Linear(Module):
    """y = x Wᵀ + b with W of shape (out_features, in_features).

    PyTorch's default initialisation: W ~ U(-1/√in, 1/√in) (``kaiming_uniform_`` with a = √5)
    and b ~ U(-1/√in, 1/√in)."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(creation.empty(out_features, in_features, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):  # noqa: A002
        return linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, " \
               f"bias={self.bias is not None}"


class Identity(Module):
    """y = x (accepts and ignores any constructor arguments, as PyTorch's)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):  # noqa: A002
        return input


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
