"""Matrix multiplication.

For C = A @ B with A of shape (..., n, k) and B of shape (..., k, m):

    dL/dA = dL/dC @ Bᵀ        (..., n, m) @ (..., m, k) -> (..., n, k)
    dL/dB = Aᵀ @ dL/dC        (..., k, n) @ (..., n, m) -> (..., k, m)

Leading (batch) dims broadcast as in NumPy; the engine sums each gradient back over the batch
dims its input did not have.  1-D operands are made 2-D first (a row vector on the left, a column
on the right) and the extra dim is removed after, exactly as ``torch.matmul`` does.  The product
itself is one call into BLAS: never write this loop in Python.

Tests: tests/op_registry/matmul.py
"""
from ..autograd.function import Function


class Matmul(Function):
    """C = A @ B for inputs with at least 2 dims (see the module docstring for the gradients)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        ga = g @ b.transpose(-1, -2) if need_a else None
        gb = a.transpose(-1, -2) @ g if need_b else None
        return ga, gb


def matmul(a, b):
    """``a @ b`` with PyTorch's rules for 1-D, 2-D and batched operands."""
    if not isinstance(a, Tensor):
        a = tensor(a, dtype=b.dtype)
    if not isinstance(b, Tensor):
        b = tensor(b, dtype=a.dtype)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least 1 dim, got shapes {tuple(a.shape)} "
                         f"and {tuple(b.shape)}")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} are not aligned: "
                         f"{k_a} != {k_b}")
    if a.dtype != b.dtype:
        raise TypeError(f"matmul: expected both inputs to have the same dtype, got {a.dtype} and "
                        f"{b.dtype}")
    if a.ndim >= 2 and b.ndim >= 2:
        return Matmul.apply(a, b)
    a2 = a.unsqueeze(0) if a.ndim == 1 else a
    b2 = b.unsqueeze(-1) if b.ndim == 1 else b
    out = Matmul.apply(a2, b2)
    if b.ndim == 1:
        out = out.squeeze(-1)
    if a.ndim == 1:
        out = out.squeeze(-1 if b.ndim == 1 else -2)  # 1-D @ 1-D: (1,) after the squeeze above
    return out


from ..tensor import Tensor  # noqa: E402
from ..creation import tensor  # noqa: E402
