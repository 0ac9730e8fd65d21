"""Lab 2 — the backward of tensor ops, in plain NumPy.

Reverse-mode autograd never builds a Jacobian.  For ``out = f(x)`` and a scalar loss ``L`` it needs only
the **vector-Jacobian product**: given ``grad = dL/d out`` (shaped like ``out``) return ``dL/dx`` (shaped
like ``x``),

    dL/dx[i] = sum over j of grad[j] * d out[j] / d x[i].

Every function here takes the upstream ``grad`` and the forward inputs and returns the input gradients,
**each with exactly its input's shape**.

**Broadcasting.**  NumPy and PyTorch line shapes up from the right; a missing axis or an axis of size 1
is repeated to match the other operand, so ``(3, 1) + (4,)`` is ``(3, 4)``.  An input element repeated
``k`` times feeds ``k`` outputs, and the chain rule adds the ``k`` gradients: the backward of a
broadcast is a **sum** over the repeated axes (``sum_to``).  Every broadcasting op calls it once per
input.

**Reductions.**  ``out = x.sum(dim)``: each ``x`` element feeds one output with derivative 1, so
``dx`` is ``grad`` copied back along the reduced axes; ``mean`` divides that by the number of elements
averaged.  ``out = x.amax(dim)``: only the maxima move the output; with ties PyTorch's ``amax`` splits
the gradient equally among the tied maxima.

**Matmul.**  ``out = a @ b`` with ``a`` (m, k), ``b`` (k, n): ``da = grad @ b^T`` and
``db = a^T @ grad``.  A 1-D operand is a matrix of one row (``a``) or one column (``b``) whose extra
axis is dropped from the output; batch axes broadcast like any elementwise op.

Your tasks (see handout.md).  Run the public checks with ``python -m tinygrad_edu lab check 2 .``.
"""
import numpy as np


# -------------------------------------------------------------------- task sum_to
def sum_to(grad, shape):
    """The gradient ``grad`` of a broadcast result, summed back to ``shape`` (the input's shape).

    ``shape`` is broadcastable to ``grad.shape``: it may have fewer axes (missing leading axes) and axes
    of size 1 where ``grad`` has more.  Sum the extra leading axes away, then sum every axis where
    ``shape`` has size 1 keeping it as size 1 (``keepdims=True``).  The result has shape ``shape``."""
    # BEGIN SOLUTION sum_to
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra)))
    repeated = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
    return grad.sum(axis=repeated, keepdims=True)
    # END SOLUTION


# -------------------------------------------------------------------- task elementwise
def add_backward(grad, a, b):
    """out = a + b (broadcast):  d out/d a = 1,  d out/d b = 1.  Return ``(da, db)``."""
    # BEGIN SOLUTION elementwise
    return sum_to(grad, a.shape), sum_to(grad, b.shape)
    # END SOLUTION


def sub_backward(grad, a, b):
    """out = a - b (broadcast):  d out/d a = 1,  d out/d b = -1.  Return ``(da, db)``."""
    # BEGIN SOLUTION elementwise
    return sum_to(grad, a.shape), sum_to(-grad, b.shape)
    # END SOLUTION


def mul_backward(grad, a, b):
    """out = a * b (broadcast):  d out/d a = b,  d out/d b = a.  Return ``(da, db)``."""
    # BEGIN SOLUTION elementwise
    return sum_to(grad * b, a.shape), sum_to(grad * a, b.shape)
    # END SOLUTION


def div_backward(grad, a, b):
    """out = a / b (broadcast):  d out/d a = 1 / b,  d out/d b = -a / b^2.  Return ``(da, db)``."""
    # BEGIN SOLUTION elementwise
    da = grad / b
    db = -grad * a / b ** 2
    return sum_to(da, a.shape), sum_to(db, b.shape)
    # END SOLUTION


def pow_backward(grad, a, exponent):
    """out = a ** k for a plain number k:  d out/d a = k a^(k-1).  Return ``da``."""
    # BEGIN SOLUTION elementwise
    return grad * exponent * a ** (exponent - 1)
    # END SOLUTION


# -------------------------------------------------------------------- task sum_mean
def reduced_axes(dim, ndim):
    """The axes a reduction over ``dim`` removes from an array of ``ndim`` axes, as a tuple:
    ``None`` means every axis, an int one axis, a tuple those axes.  Negative axes count from the end
    (-1 is the last) and may stay negative: NumPy's functions accept them."""
    # BEGIN SOLUTION sum_mean
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        return (dim,)
    return tuple(dim)
    # END SOLUTION


def sum_backward(grad, x_shape, dim=None, keepdim=False):
    """out = x.sum(dim, keepdim):  d out/d x = 1 for every element summed.  ``dx`` is ``grad`` copied
    along the reduced axes: without ``keepdim`` those axes are gone from ``grad``, so put them back as
    size 1 first (``np.expand_dims``), then broadcast to ``x_shape``.  Return a writable array."""
    # BEGIN SOLUTION sum_mean
    axes = reduced_axes(dim, len(x_shape))
    if not keepdim:
        grad = np.expand_dims(grad, axes)
    return np.broadcast_to(grad, x_shape).copy()
    # END SOLUTION


def mean_backward(grad, x_shape, dim=None, keepdim=False):
    """out = x.mean(dim, keepdim) = x.sum(dim) / count, count = the number of elements averaged into
    one output (the product of the reduced axes' sizes):  dx = sum's dx / count."""
    # BEGIN SOLUTION sum_mean
    count = 1
    for axis in reduced_axes(dim, len(x_shape)):
        count *= x_shape[axis]
    return sum_backward(grad, x_shape, dim, keepdim) / count
    # END SOLUTION


# -------------------------------------------------------------------- task max
def amax_backward(grad, x, dim, keepdim=False):
    """out = x.amax(dim, keepdim) along one axis ``dim`` (an int, maybe negative).

    Only the maximum of each slice moves the output.  Where several elements tie for the maximum the
    gradient is split equally among them (as ``torch.amax`` does): each of ``t`` tied maxima gets
    ``grad / t``; every other element gets 0."""
    # BEGIN SOLUTION max
    if not keepdim:
        grad = np.expand_dims(grad, dim)
    winners = x == x.max(axis=dim, keepdims=True)
    return grad * winners / winners.sum(axis=dim, keepdims=True)
    # END SOLUTION


# -------------------------------------------------------------------- task matmul
def matmul_backward(grad, a, b):
    """out = a @ b (``np.matmul`` rules).  Return ``(da, db)`` shaped like ``a`` and ``b``.

    For matrices: da = grad @ b^T, db = a^T @ grad, where ^T swaps the LAST two axes only.
    A 1-D ``a`` (k,) is the matrix (1, k) and a 1-D ``b`` (k,) the matrix (k, 1); the output lost that
    axis, so put it back into ``grad`` too.  Batch axes (all but the last two) broadcast: the batched
    products give gradients of the broadcast shape, which ``sum_to`` reduces to each input's shape."""
    # BEGIN SOLUTION matmul
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    if b.ndim == 1:
        grad = np.expand_dims(grad, -1)
    if a.ndim == 1:
        grad = np.expand_dims(grad, -2)
    da = grad @ np.swapaxes(b2, -1, -2)
    db = np.swapaxes(a2, -1, -2) @ grad
    return sum_to(da, a2.shape).reshape(a.shape), sum_to(db, b2.shape).reshape(b.shape)
    # END SOLUTION
