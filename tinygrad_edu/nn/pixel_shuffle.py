"""Pixel shuffle: ``F.pixel_shuffle`` / ``nn.PixelShuffle`` trade channels for resolution,
(*, C·r², H, W) -> (*, C, H·r, W·r), and ``pixel_unshuffle`` / ``nn.PixelUnshuffle`` undo it.

A pure reshape / permute: its gradient is g moved back by the inverse permutation.

Tests: tests/op_registry/pixel_shuffle.py, tests/test_conv_family.py
"""
from .module import Module

__all__ = ["pixel_shuffle", "pixel_unshuffle", "PixelShuffle", "PixelUnshuffle"]


def pixel_shuffle(input, upscale_factor):  # noqa: A002
    """(*, C·r², H, W) -> (*, C, H·r, W·r): y[c, h·r + i, w·r + j] = x[c·r² + i·r + j, h, w].
    Only a reshape and a permute, so dL/dx is g moved back by the inverse permutation."""
    r = int(upscale_factor)
    *lead, c, h, w = input.shape
    if input.ndim < 3 or r < 1 or c % (r * r):
        raise ValueError(f"pixel_shuffle: expected input (*, C·r², H, W) with C divisible by "
                         f"upscale_factor²={r * r}, got shape {tuple(input.shape)}")
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    k = len(lead)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):  # noqa: A002
    """The inverse of pixel_shuffle: (*, C, H·r, W·r) -> (*, C·r², H, W)."""
    r = int(downscale_factor)
    *lead, c, h, w = input.shape
    if input.ndim < 3 or r < 1 or h % r or w % r:
        raise ValueError(f"pixel_unshuffle: expected input (*, C, H, W) with H and W divisible by "
                         f"downscale_factor={r}, got shape {tuple(input.shape)}")
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    k = len(lead)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
class PixelShuffle(Module):
    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):  # noqa: A002
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):  # noqa: A002
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"
