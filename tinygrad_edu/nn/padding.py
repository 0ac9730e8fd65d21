"""F.pad with all of PyTorch's modes: 'constant' (also negative widths, which crop), 'reflect',
'replicate' and 'circular'.

``pad = (left, right, top, bottom, …)`` pads the last dim first, then the one before, ….

constant  … v v | x0 x1 … x(n−1) | v v …      a negative width removes entries instead
reflect   … x2 x1 | x0 x1 … x(n−1) | x(n−2) …   (the edge is not repeated; width < n)
replicate … x0 x0 | x0 x1 … x(n−1) | x(n−1) …
circular  … x(n−1) | x0 x1 … x(n−1) | x0 x1 …   (width ≤ n)

The non-constant modes are a *gather*: y = x[idx] along each padded dim, with an index array
idx of source positions (``_mode_index``).  Its gradient is the matching scatter-add,
dL/dx[j] = Σ_{i: idx[i] = j} g[i] — an edge entry copied three times gets three gradients
added.  That comes for free from Tensor indexing, whose backward is exactly this scatter-add
(and is itself written in Tensor ops, so double backward works).  Constant padding is the Pad
Function of ``ops/shape.py`` (dL/dx = g with the border sliced off); a crop is a slice
(dL/dx = g placed back inside zeros)."""
from ..ops.shape import pad as _constant_pad
from .conv_layers import _mode_index

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input, pad, mode="constant", value=None):  # noqa: A002
    """Pad (or, in constant mode with negative widths, crop) the last ``len(pad) // 2`` dims of
    ``input``, as ``torch.nn.functional.pad``.  See the module docstring for the math and the
    gradients."""
    if mode not in _MODES:
        raise NotImplementedError(f"pad: mode {mode!r} is not supported; expected one of {list(_MODES)}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: the padding {pad} must have an even length of at most 2×{input.ndim} "
                         f"for a tensor of shape {tuple(input.shape)}")
    dims = len(pad) // 2
    if mode == "constant":
        crop = [slice(None)] * input.ndim
        for i in range(dims):
            lo, hi = pad[2 * i], pad[2 * i + 1]
            d = input.ndim - 1 - i
            if input.shape[d] + lo + hi < 0:
                raise ValueError(f"pad: padding {pad} crops dim {d} of shape {tuple(input.shape)} "
                                 "below size 0")
            crop[d] = slice(max(-lo, 0), input.shape[d] - max(-hi, 0))
        x = input[tuple(crop)] if any(p < 0 for p in pad) else input
        return _constant_pad(x, tuple(max(p, 0) for p in pad), value=0.0 if value is None else value)
    if value is not None and value != 0:
        raise ValueError(f"pad: padding mode {mode!r} doesn't take in a value argument (got {value})")
    if not dims:
        return input
    if input.ndim - dims not in (1, 2):
        raise NotImplementedError(f"pad: mode {mode!r} pads 1 to 3 trailing dims of a batched or "
                                  f"unbatched input; got padding {pad} for shape {tuple(input.shape)}")
    x = input
    for i in range(dims):
        lo, hi = pad[2 * i], pad[2 * i + 1]
        d = input.ndim - 1 - i
        size = x.shape[d]
        if mode == "reflect" and (lo >= size or hi >= size):
            raise RuntimeError(f"pad: padding ({lo}, {hi}) should be less than the input size {size} "
                               f"of dim {d} for mode 'reflect' (shape {tuple(input.shape)})")
        if mode == "circular" and (lo > size or hi > size):
            raise RuntimeError(f"pad: padding ({lo}, {hi}) can be at most the input size {size} of "
                               f"dim {d} for mode 'circular' (shape {tuple(input.shape)})")
        if mode == "replicate" and size == 0 and (lo or hi):
            raise RuntimeError(f"pad: mode 'replicate' can't pad an empty dim {d} "
                               f"(shape {tuple(input.shape)})")
        if lo < 0 or hi < 0:
            x = x[(slice(None),) * d + (slice(max(-lo, 0), size - max(-hi, 0)),)]
            lo, hi, size = max(lo, 0), max(hi, 0), x.shape[d]
        if lo or hi:
            x = x[(slice(None),) * d + (_mode_index(size, lo, hi, mode),)]
    return x
