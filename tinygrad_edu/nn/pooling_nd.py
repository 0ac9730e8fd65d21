"""1-D pooling: max_pool1d and avg_pool1d, as the 2-D pools of ``pooling.py`` on a height-1 image.

A window of size k (stride s, padding p, dilation d) sliding along the length of (N, C, L) is a
(1, k) window sliding over (N, C, 1, L).  So the math and gradients are those of pooling.py:
max pooling routes each g to the arg-max of its window (dL/dx = scatter-add of g at the
indices), average pooling spreads g[o]/divisor evenly over its window.  Indices returned by
max_pool1d are positions along L (the flat index h·L + w with h = 0)."""
from .pooling import PoolError, avg_pool2d, max_pool2d

__all__ = ["max_pool1d", "avg_pool1d"]


def _one(op, name, value):
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise PoolError(f"{op}: {name} must be an int or a tuple of 1 int, got {value!r}")
        return value[0]
    return value


def _check(op, input):  # noqa: A002
    if input.ndim not in (2, 3):
        raise PoolError(f"{op}: expected a 2-D (unbatched) or 3-D (batched) input of shape (N, C, L), "
                        f"got shape {tuple(input.shape)}")


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """Max pooling over (N, C, L) or (C, L), as ``torch.nn.functional.max_pool1d``."""
    op = "max_pool1d"
    _check(op, input)
    k = _one(op, "kernel_size", kernel_size)
    s = k if stride is None or stride == () or stride == [] else _one(op, "stride", stride)
    out = max_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _one(op, "padding", padding)),
                     (1, _one(op, "dilation", dilation)), ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True):
    """Average pooling over (N, C, L) or (C, L), as ``torch.nn.functional.avg_pool1d``."""
    op = "avg_pool1d"
    _check(op, input)
    k = _one(op, "kernel_size", kernel_size)
    s = k if stride is None or stride == () or stride == [] else _one(op, "stride", stride)
    return avg_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _one(op, "padding", padding)),
                      ceil_mode, count_include_pad).squeeze(-2)
