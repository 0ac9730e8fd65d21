"""The array code of pooling: padding, the strided slices of the windows, and max pooling's NumPy
reference kernels (``max_pool2d_forward``: the maxima and the winning taps; ``max_pool2d_backward``: the
scatter of g to the winners).  The math and the tie rules are in ``pooling.py``'s docstring; the fast
tiers are ``kernels/max_pool2d_forward.py`` and ``kernels/max_pool2d_backward.py``.

Tests: tests/test_kernels_cnn.py, tests/op_registry/pooling.py
"""
import numpy as np

from ..backend import array_module, register_kernel


def _padded(x, pads, value):
    top, bottom, left, right = pads
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    out = array_module(x).full((n, c, h + top + bottom, w + left + right), value, dtype=x.dtype)
    out[:, :, top:top + h, left:left + w] = x
    return out


def _window_offset(xpad, geom, i, j):
    """Offset (i, j) of every window at once: a strided slice of shape (N, C, OH, OW)."""
    (sh, sw), (dh, dw), (oh, ow) = geom.stride, geom.dilation, geom.out_hw
    return xpad[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]


def _first_taps(out_size, stride, pad, dilation, xp):
    """For each window, the first kernel tap that is not in the top/left padding."""
    start = xp.arange(out_size) * stride - pad
    return xp.where(start < 0, (-start + dilation - 1) // dilation, 0)


def _max_pool_forward(x, geom):
    """The window maxima and, for each, which kernel tap i·kw + j won (a small int array).

    As PyTorch: the running maximum starts at −∞ pointing at the window's first in-image tap,
    and a tap replaces it when strictly greater (so the first maximum wins) or NaN.  A loop
    over the kh·kw taps; each step compares all windows at once."""
    xp = array_module(x)
    (kh, kw), (sh, sw), (dh, dw) = geom.kernel, geom.stride, geom.dilation
    oh, ow = geom.out_hw
    top, left = geom.pads[0], geom.pads[2]
    xpad = _padded(x, geom.pads, -np.inf)
    tap_dtype = np.int8 if kh * kw < 128 else np.int32
    if top == 0 and left == 0:   # tap (0, 0) is always in the image: start from it
        best = _window_offset(xpad, geom, 0, 0).copy()
        arg = xp.zeros(best.shape, dtype=tap_dtype)
    else:
        best = xp.full(x.shape[:2] + (oh, ow), -np.inf, dtype=x.dtype)
        first = _first_taps(oh, sh, top, dh, xp)[:, None] * kw + _first_taps(ow, sw, left, dw, xp)
        arg = xp.broadcast_to(first.astype(tap_dtype), best.shape).copy()
    take = xp.empty(best.shape, dtype=bool)
    has_nan = x.size > 0 and bool(xp.isnan(x.max()))   # max() is NaN iff some entry is
    for i in range(kh):
        for j in range(kw):
            if i == j == 0 and top == 0 and left == 0:
                continue
            v = _window_offset(xpad, geom, i, j)
            xp.greater(v, best, out=take)
            if has_nan:
                take |= xp.isnan(v)
            xp.copyto(best, v, where=take)
            xp.copyto(arg, i * kw + j, where=take)
    return best, arg


def _plane_indices(arg, geom):
    """PyTorch's ``return_indices``: the flat index row·W + col of each window's maximum in its
    (H, W) input plane."""
    xp = array_module(arg)
    kw, (sh, sw), (dh, dw), (oh, ow) = geom.kernel[1], geom.stride, geom.dilation, geom.out_hw
    arg = arg.astype(np.int64)
    rows = (xp.arange(oh) * sh)[:, None] + (arg // kw) * dh - geom.pads[0]
    cols = (xp.arange(ow) * sw)[None, :] + (arg % kw) * dw - geom.pads[2]
    return rows * geom.in_hw[1] + cols


def _padded_flat_indices(arg, geom, batch_shape):
    """Where each window's maximum sits in the flattened *padded* input (N, C, Hp, Wp):
    plane offset + window origin + the winning tap's offset (a lookup in a kh·kw table)."""
    xp = array_module(arg)
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = geom.kernel, geom.stride, geom.dilation, geom.out_hw
    hp = geom.in_hw[0] + geom.pads[0] + geom.pads[1]
    wp = geom.in_hw[1] + geom.pads[2] + geom.pads[3]
    taps = xp.asarray([i * dh * wp + j * dw for i in range(kh) for j in range(kw)], dtype=np.int64)
    origin = (xp.arange(oh, dtype=np.int64) * sh * wp)[:, None] + xp.arange(ow) * sw
    planes = xp.arange(batch_shape[0] * batch_shape[1], dtype=np.int64) * (hp * wp)
    flat = taps[arg]
    flat += origin
    flat += planes.reshape(batch_shape[0], batch_shape[1], 1, 1)
    return flat, (batch_shape[0], batch_shape[1], hp, wp)


def _no_overlap(geom):
    """True when no two windows share an input entry (stride ≥ the effective kernel)."""
    (kh, kw), (sh, sw), (dh, dw) = geom.kernel, geom.stride, geom.dilation
    return sh >= dh * (kh - 1) + 1 and sw >= dw * (kw - 1) + 1


def _cropped(xpad, geom):
    top, bottom, left, right = geom.pads
    h, w = geom.in_hw
    return xpad[:, :, top:top + h, left:left + w] if top or bottom or left or right else xpad


def _max_pool_backward(g, arg, geom):
    """dL/dx (N, C, H, W): g scattered to each window's argmax (added where windows overlap), in the
    padded input's coordinates, then the padding cropped."""
    flat, padded_shape = _padded_flat_indices(arg, geom, g.shape[:2])
    return _cropped(_scatter_add_flat(g, flat, padded_shape, _no_overlap(geom)), geom)


def _scatter_add_flat(g, index, shape, unique):
    """zeros(shape) with [index[k]] += g.flat[k]: an assignment when no index repeats, else
    ``bincount`` (which adds in float64)."""
    xp = array_module(g)
    size = int(np.prod(shape))
    if unique:
        out = xp.zeros(size, dtype=g.dtype)
        out[index.reshape(-1)] = g.reshape(-1)
    else:
        out = xp.bincount(index.reshape(-1), weights=g.reshape(-1), minlength=size)
        out = out.astype(g.dtype, copy=False)
    return out.reshape(shape)


# The reference tiers; the fast ones are kernels/max_pool2d_forward.py and max_pool2d_backward.py.
register_kernel("max_pool2d_forward", "numpy", _max_pool_forward)
register_kernel("max_pool2d_backward", "numpy", _max_pool_backward)
