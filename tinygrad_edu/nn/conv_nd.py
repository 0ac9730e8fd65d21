"""1-D convolution, as a 2-D convolution on a height-1 image.

conv1d(x, w)[n, o, p] = b[o] + Σ_c Σ_j w[o, c, j] · xpad[n, c', p·s + j·d]

is exactly conv2d on x.unsqueeze(2) (shape (N, C, 1, L)) with the weight w.unsqueeze(2)
(shape (O, C/G, 1, k)), a kernel of height 1, stride/dilation 1 and no padding along the
height.  So the im2col machinery and every gradient of ``conv.py`` carry over unchanged:
dL/dx is the transposed convolution of g with w, dL/dw the correlation of x with g,
dL/db = Σ g over batch and length — each then squeezed back through the (differentiable)
reshape."""
from ..tensor import Tensor
from .conv import ConvError, conv2d

__all__ = ["conv1d"]


def _single(op, name, value):
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ConvError(f"{op}: {name} must be an int or a tuple of 1 int, got {value!r}")
        return value[0]
    return value


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """1-D convolution, as ``torch.nn.functional.conv1d``: input (N, C, L) or (C, L), weight
    (O, C/groups, k), bias (O,) -> (N, O, L_out), L_out = ⌊(L + 2p − d·(k − 1) − 1) / s⌋ + 1.
    ``padding``: an int, 'valid' or 'same'.  Computed as conv2d on a height-1 image."""
    op = "conv1d"
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{op}: input and weight must be Tensors")
    if weight.ndim != 3:
        raise ConvError(f"{op}: weight must be 3-D (out_channels, in_channels/groups, k), "
                        f"got shape {tuple(weight.shape)}")
    if input.ndim not in (2, 3):
        raise ConvError(f"{op}: expected a 2-D (unbatched) or 3-D (batched) input of shape "
                        f"(N, C, L), got shape {tuple(input.shape)}")
    pad = _single(op, "padding", padding)
    pad2 = pad if isinstance(pad, str) else (0, pad)
    out = conv2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, _single(op, "stride", stride)),
                 pad2, (1, _single(op, "dilation", dilation)), groups)
    return out.squeeze(-2)
