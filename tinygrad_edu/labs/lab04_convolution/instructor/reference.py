"""Lab 4 — convolution by im2col, and max pooling, in plain NumPy.

Shapes follow PyTorch: images are ``(N, C, H, W)``, a convolution weight is ``(C_out, C_in, kh, kw)``,
its bias ``(C_out,)``.  ``kernel_size`` is a pair ``(kh, kw)``; ``stride`` and ``padding`` are one
int used on both axes.  The output size along one axis is

    out = (size + 2 * padding - k) // stride + 1

**im2col** turns a convolution into one matrix product.  Output pixel ``(n, oh, ow)`` sees the window
``xp[n, :, oh*s : oh*s + kh, ow*s : ow*s + kw]`` of the zero-padded input ``xp``; flattened in
``(c, i, j)`` order, that window is one row of ``cols`` (``N*OH*OW`` rows, ``C*kh*kw`` columns, rows
in ``(n, oh, ow)`` order).  The same ``(c, i, j)`` order flattens a filter, so

    out[(n, oh, ow), o] = cols[(n, oh, ow), :] @ w.reshape(C_out, -1)[o, :] + b[o]

**Backward.**  With ``g = grad_out`` laid out like the product, ``g[(n, oh, ow), o]``, and
``W = w.reshape(C_out, -1)``:

    dW = g.T @ cols          db[o] = sum over n, oh, ow of grad_out[n, o, oh, ow]
    dcols = g @ W            dx = col2im(dcols)

``col2im`` is the adjoint (transpose) of ``im2col``: every entry of a column came from one pixel, so
its gradient is *added* back to that pixel.  A pixel covered by several windows (stride < kernel)
receives the sum of all of them; the padding's gradient is dropped.

**Max pooling** (no padding) keeps each window's maximum and remembers where it was:
``argmax = i * kw + j`` of the first maximum (ties go to the first, as ``np.argmax`` and PyTorch).
Its backward sends each output's gradient to that one element only, adding where windows overlap.

Your tasks (see handout.md).  Run the public checks with ``python -m tinygrad_edu lab check 4 .``.
"""
import numpy as np


def im2col(x, kernel_size, stride=1, padding=0):
    """``x`` (N, C, H, W) -> ``(cols, (OH, OW))`` with ``cols`` of shape (N*OH*OW, C*kh*kw):
    row ``(n, oh, ow)`` is the window of output pixel ``(oh, ow)`` of image ``n``, in ``(c, i, j)`` order.
    Pad with zeros by ``padding`` on all four sides first."""
    kh, kw = kernel_size
    n, c, h, w = x.shape
    # BEGIN SOLUTION im2col
    out_h = (h + 2 * padding - kh) // stride + 1
    out_w = (w + 2 * padding - kw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.empty((n, c, kh, kw, out_h, out_w), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            windows[:, :, i, j] = xp[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride]
    cols = windows.transpose(0, 4, 5, 1, 2, 3).reshape(n * out_h * out_w, c * kh * kw)
    return cols, (out_h, out_w)
    # END SOLUTION


def conv2d_forward(x, w, b, stride=1, padding=0):
    """conv2d of ``x`` (N, C_in, H, W) with ``w`` (C_out, C_in, kh, kw) and ``b`` (C_out,) or None:
    call ``im2col`` once, then ONE matrix product; return (N, C_out, OH, OW)."""
    n = x.shape[0]
    c_out, _, kh, kw = w.shape
    # BEGIN SOLUTION conv_forward
    cols, (out_h, out_w) = im2col(x, (kh, kw), stride, padding)
    out = cols @ w.reshape(c_out, -1).T
    if b is not None:
        out = out + b
    return out.reshape(n, out_h, out_w, c_out).transpose(0, 3, 1, 2)
    # END SOLUTION


def col2im(cols, x_shape, kernel_size, stride=1, padding=0):
    """The adjoint of ``im2col``: ``cols`` (N*OH*OW, C*kh*kw) -> an array of ``x_shape`` (N, C, H, W)
    where every entry of ``cols`` is ADDED to the input pixel it was copied from (a pixel in several
    windows gets the sum); entries that came from the zero padding are dropped."""
    kh, kw = kernel_size
    n, c, h, w = x_shape
    # BEGIN SOLUTION col2im
    out_h = (h + 2 * padding - kh) // stride + 1
    out_w = (w + 2 * padding - kw) // stride + 1
    windows = cols.reshape(n, out_h, out_w, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    xp = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride] += windows[:, :, i, j]
    return xp[:, :, padding:padding + h, padding:padding + w]
    # END SOLUTION


def conv2d_backward(grad_out, x, w, stride=1, padding=0):
    """Gradients of ``conv2d_forward(x, w, b, stride, padding)`` given ``grad_out`` (N, C_out, OH, OW):
    return ``(dx, dw, db)`` shaped like ``x``, ``w`` and ``(C_out,)``.  Use ``im2col`` and ``col2im``."""
    c_out, _, kh, kw = w.shape
    # BEGIN SOLUTION conv_backward
    g = grad_out.transpose(0, 2, 3, 1).reshape(-1, c_out)
    cols, _ = im2col(x, (kh, kw), stride, padding)
    dw = (g.T @ cols).reshape(w.shape)
    db = grad_out.sum(axis=(0, 2, 3))
    dcols = g @ w.reshape(c_out, -1)
    dx = col2im(dcols, x.shape, (kh, kw), stride, padding)
    return dx, dw, db
    # END SOLUTION


def maxpool2d_forward(x, kernel_size, stride):
    """Max pooling of ``x`` (N, C, H, W) over ``kernel_size = (kh, kw)`` windows, no padding:
    return ``(out, argmax)``, both (N, C, OH, OW), ``argmax`` integer: ``i * kw + j`` of the FIRST
    maximum inside its window (row i, column j of the window)."""
    kh, kw = kernel_size
    n, c, h, w = x.shape
    # BEGIN SOLUTION maxpool_forward
    out_h = (h - kh) // stride + 1
    out_w = (w - kw) // stride + 1
    windows = np.empty((n, c, out_h, out_w, kh * kw), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            windows[..., i * kw + j] = x[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride]
    argmax = windows.argmax(axis=-1)
    out = np.take_along_axis(windows, argmax[..., None], axis=-1)[..., 0]
    return out, argmax
    # END SOLUTION


def maxpool2d_backward(grad_out, argmax, x_shape, kernel_size, stride):
    """The gradient of ``maxpool2d_forward`` with respect to its input (shape ``x_shape``): output
    ``(n, c, oh, ow)``'s gradient goes to the one input element its ``argmax`` names; elements in
    several windows receive the sum."""
    kh, kw = kernel_size
    out_h, out_w = grad_out.shape[2:]
    # BEGIN SOLUTION maxpool_backward
    dx = np.zeros(x_shape, dtype=grad_out.dtype)
    for i in range(kh):
        for j in range(kw):
            chosen = argmax == i * kw + j
            dx[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride] += grad_out * chosen
    return dx
    # END SOLUTION
