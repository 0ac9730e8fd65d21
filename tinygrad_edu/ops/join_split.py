"""Joining and cutting along dims: cat, stack, split, chunk, and pad and repeat.

cat glues tensors end to end along a dim (stack: along a new dim); split and chunk cut one into
slices; pad glues a constant border on (a cat with constants); repeat tiles copies of x (a cat of
x with itself).  Each output entry is a copy of one input entry, so the gradient goes back to it:

* cat / stack:    dL/dxₖ = the slice of g where xₖ went
* split / chunk:  each piece is a slice of x: its gradient lands back where it was cut from
* pad:            dL/dx = g with the padding sliced off
* repeat (tile):  dL/dx = g summed over the copies

Re-exported by ``shape.py`` (``ops.shape.cat`` works).

Tests: tests/op_registry/join_split.py
"""
import numpy as np

from ..autograd.function import Function
from ..backend import array_module
from .checks import normalize_dim


class Cat(Function):
    """y = the inputs joined along ``dim``.   dL/dxₖ = g[..., start_k:end_k, ...]."""

    @staticmethod
    def forward(ctx, *xs, dim=0):
        ctx.dim = dim
        ctx.bounds = np.cumsum([0] + [x.shape[dim] for x in xs])
        return array_module(xs[0]).concatenate(xs, axis=dim)

    @staticmethod
    def backward(ctx, g):
        grads = []
        lead = (slice(None),) * ctx.dim
        for k, need in enumerate(ctx.needs_input_grad):
            start, end = int(ctx.bounds[k]), int(ctx.bounds[k + 1])
            grads.append(g[lead + (slice(start, end),)] if need else None)
        return tuple(grads)


class Pad(Function):
    """y = x with constant padding.   dL/dx = g with the padding sliced off."""

    @staticmethod
    def forward(ctx, x, widths=None, value=0.0):
        ctx.inner = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return array_module(x).pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.inner]


class Repeat(Function):
    """y = x tiled ``reps`` times along each dim.   dL/dx = g summed over the tiles."""

    @staticmethod
    def forward(ctx, x, reps=None):
        ctx.in_shape, ctx.reps = x.shape, reps
        return array_module(x).tile(x, reps)

    @staticmethod
    def backward(ctx, g):
        in_shape = ctx.in_shape
        lead = g.ndim - len(in_shape)
        g = g.sum(tuple(range(lead))) if lead else g
        split = []
        for r, s in zip(ctx.reps[lead:], in_shape):  # each dim of g is r copies of s entries
            split += [r, s]
        return g.reshape(*split).sum(tuple(range(0, 2 * len(in_shape), 2)))


# ---------------------------------------------------------------------------------------------
# The functional API
# ---------------------------------------------------------------------------------------------
def cat(tensors, dim=0):
    """Join tensors along an existing dim (PyTorch's ``torch.cat``)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    ref = tensors[0]
    d = normalize_dim("cat", dim, ref.ndim)
    for t in tensors[1:]:
        if t.ndim != ref.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, ref.shape)) if i != d):
            raise ValueError(f"cat: expected all tensors to have the same shape except in dim {dim}; "
                             f"got {tuple(ref.shape)} and {tuple(t.shape)}")
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        common = np.result_type(*dtypes)
        tensors = [t.to(common) for t in tensors]
    if len(tensors) == 1:
        return tensors[0]
    return Cat.apply(*tensors, dim=d)


concat = concatenate = cat


def stack(tensors, dim=0):
    """Join tensors along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: expected all tensors to have the same shape, got {sorted(shapes)}")
    d = normalize_dim("stack", dim, tensors[0].ndim + 1)
    return cat([unsqueeze(t, d) for t in tensors], dim=d)


def split(x, split_size_or_sections, dim=0):
    """Cut ``x`` along ``dim`` into pieces of ``split_size`` (the last may be smaller) or of the
    listed sizes.  Each piece is a slice: its gradient lands back where it came from."""
    d = normalize_dim("split", dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0:
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) or [0]  # empty: 1 piece
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} sum to {sum(sizes)}, but dim {dim} has size {n}")
    lead = (slice(None),) * d
    pieces, start = [], 0
    for s in sizes:
        pieces.append(x[lead + (slice(start, start + s),)])
        start += s
    return tuple(pieces)


def chunk(x, chunks, dim=0):
    d = normalize_dim("chunk", dim, x.ndim)
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    if x.shape[d] == 0:  # PyTorch: ``chunks`` empty pieces
        return split(x, [0] * chunks, d)
    return split(x, -(-x.shape[d] // chunks), d)


def pad(x, pad, mode="constant", value=0.0):
    """Pad the last dims: ``pad = (left, right)`` for the last dim, then ``(top, bottom)`` for the
    one before, … as ``torch.nn.functional.pad``."""
    if mode != "constant":
        raise NotImplementedError(f"pad: mode {mode!r} is not supported; only 'constant'")
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: the padding {pad} must have an even length of at most 2×{x.ndim} "
                         f"for a tensor of shape {tuple(x.shape)}")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding {pad} is not supported")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return Pad.apply(x, widths=tuple(widths), value=value)


def repeat(x, *sizes):
    reps = _sizes(sizes)
    if len(reps) < x.ndim:
        raise ValueError(f"repeat: the number of repeats {len(reps)} can't be smaller than the "
                         f"number of dims {x.ndim} (shape {tuple(x.shape)})")
    return Repeat.apply(x, reps=tuple(reps))


from .shape import _sizes, unsqueeze  # noqa: E402
