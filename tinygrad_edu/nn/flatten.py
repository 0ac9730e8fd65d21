"""``nn.Flatten``: merge the dims ``start_dim``..``end_dim`` into one (by default all but the batch
dim), the usual step from a convolutional feature map (N, C, H, W) to a Linear layer's (N, C·H·W).
A reshape: its gradient is g reshaped back.
"""
from .module import Module

__all__ = ["Flatten"]


class Flatten(Module):
    """Flatten dims ``start_dim``..``end_dim`` into one (by default all but the batch dim)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):  # noqa: A002
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
