"""F.unfold (im2col) and F.fold (col2im), in PyTorch's layout.

unfold: x (N, C, H, W) -> cols (N, C·kh·kw, L), L = OH·OW the number of kernel positions.
Column l holds the patch seen at output position l, ordered (channel, kernel row, kernel col):

    cols[n, (c·kh + i)·kw + j, p·OW + q] = xpad[n, c, p·sh + i·dh, q·sw + j·dw]

It is conv.py's ``im2col`` (one copy of a strided view).  Every output entry is a copy of one
input entry, so the gradient adds each column entry back into the pixel it came from:
dL/dx = fold(g) — col2im, a scatter-add (overlapping patches accumulate).

fold is the adjoint: cols (N, C·kh·kw, L) -> (N, C, H, W) with output_size = (H, W), summing
every column entry into its pixel (overlaps add up).  Its gradient is dL/dcols = unfold(g).
The two Functions are each other's backward, so double backward works.

Tests: tests/op_registry/fold.py"""
from ..autograd.function import Function
from ..tensor import Tensor
from .conv import col2im, im2col
from .conv_args import ConvError, _pair, conv_geometry
from .module import Module

__all__ = ["unfold", "fold", "UnfoldFunction", "FoldFunction", "Unfold", "Fold"]


class UnfoldFunction(Function):
    """cols = im2col(x).   dL/dx = col2im(g) (= FoldFunction)."""

    @staticmethod
    def forward(ctx, x, geom=None):
        ctx.geom, ctx.channels = geom, x.shape[1]
        cols = im2col(x, geom)                          # (N, 1, K, L)
        return cols.reshape(cols.shape[0], cols.shape[2], cols.shape[3])

    @staticmethod
    def backward(ctx, g):
        return FoldFunction.apply(g, geom=ctx.geom, channels=ctx.channels)


class FoldFunction(Function):
    """y = col2im(cols).   dL/dcols = im2col(g) (= UnfoldFunction)."""

    @staticmethod
    def forward(ctx, cols, geom=None, channels=None):
        ctx.geom = geom
        return col2im(cols[:, None], geom, channels)

    @staticmethod
    def backward(ctx, g):
        return UnfoldFunction.apply(g, geom=ctx.geom)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """Sliding local blocks, as ``torch.nn.functional.unfold``: (N, C, H, W) or (C, H, W) ->
    (N, C·kh·kw, L) or (C·kh·kw, L).  See the module docstring."""
    op = "unfold"
    if not isinstance(input, Tensor) or input.ndim not in (3, 4):
        raise ConvError(f"{op}: expected a 3-D or 4-D input tensor, got shape "
                        f"{tuple(getattr(input, 'shape', ()))}")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    kernel = _pair(op, "kernel_size", kernel_size, 1)
    geom = conv_geometry(op, tuple(x.shape[2:]), kernel, stride, _pair(op, "padding", padding, 0),
                         dilation, 1)
    out = UnfoldFunction.apply(x, geom=geom)
    return out.squeeze(0) if unbatched else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """Combine sliding local blocks, as ``torch.nn.functional.fold``: (N, C·kh·kw, L) or
    (C·kh·kw, L) -> (N, C, H, W) or (C, H, W) with (H, W) = output_size; overlaps add up."""
    op = "fold"
    if not isinstance(input, Tensor) or input.ndim not in (2, 3):
        raise ConvError(f"{op}: expected a 2-D or 3-D input tensor, got shape "
                        f"{tuple(getattr(input, 'shape', ()))}")
    unbatched = input.ndim == 2
    x = input.unsqueeze(0) if unbatched else input
    kernel = _pair(op, "kernel_size", kernel_size, 1)
    size = _pair(op, "output_size", output_size, 1)
    geom = conv_geometry(op, size, kernel, stride, _pair(op, "padding", padding, 0), dilation, 1)
    k = kernel[0] * kernel[1]
    blocks = geom.out_hw[0] * geom.out_hw[1]
    if x.shape[1] % k or x.shape[2] != blocks:
        raise ConvError(f"{op}: expected input of shape (N, C·{k}, {blocks}) for output_size {size}, "
                        f"kernel_size {kernel}, got {tuple(input.shape)}")
    out = FoldFunction.apply(x, geom=geom, channels=x.shape[1] // k)
    return out.squeeze(0) if unbatched else out


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
class Unfold(Module):
    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input):  # noqa: A002
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, " \
               f"stride={self.stride}"


class Fold(Module):
    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input):  # noqa: A002
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return f"output_size={self.output_size}, kernel_size={self.kernel_size}, " \
               f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}"
