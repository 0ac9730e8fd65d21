"""Dropout: ``F.dropout`` / ``nn.Dropout``, zeroing random entries while training.

Tests: tests/op_registry/dropout.py, tests/test_nn_functional.py
"""
from ..backend import array_module, kernel, register_kernel
from ..ops.inplace import apply_inplace
from ..random import uniform_like
from ..tensor import Tensor
from .module import Module

__all__ = ["dropout", "Dropout"]


def dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Inverted dropout: zero each entry with probability ``p`` and scale the survivors by
    1/(1-p), so the expected value of every entry is unchanged and evaluation needs no rescaling.

        y = x · m / (1 - p),   m ~ Bernoulli(1 - p) drawn once per entry
        dL/dx = g · m / (1 - p)          (the same mask: a constant of the graph)

    With ``training=False`` (or p = 0) it is the identity.  The mask comes from the library's
    generator (``tinygrad_edu.manual_seed`` makes it reproducible): one uniform draw per entry, made
    where the input lives (``random.uniform_like``: on a GPU, on the GPU), turned into the scaled
    mask by the ``dropout`` kernel (on CuPy arrays, its xp-generic reference).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    xp = array_module(input.array)
    if p == 1.0:
        scaled_mask = xp.zeros(input.shape, dtype=input.dtype)
    else:
        uniform = uniform_like(input.shape, xp)          # drawn on the GPU for GPU arrays
        scaled_mask = kernel("dropout", xp)(uniform, p, input.dtype)
    mask = Tensor._wrap(scaled_mask)
    if inplace:
        return apply_inplace(input, "dropout_", lambda a: a * mask)
    return input * mask


def _dropout_mask_reference(uniform, p, dtype):
    """The scaled keep mask [u ≥ p] / (1 - p) in ``dtype``, from uniform draws u in [0, 1) — the
    NumPy reference of the ``dropout`` kernel."""
    return array_module(uniform).asarray((uniform >= p) * (1.0 / (1.0 - p)), dtype=dtype)


register_kernel("dropout", "numpy", _dropout_mask_reference)


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
class Dropout(Module):
    """Inverted dropout with probability ``p`` while training; the identity in ``eval()`` mode."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):  # noqa: A002
        return dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
