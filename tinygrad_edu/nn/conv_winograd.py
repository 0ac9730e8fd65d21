"""3×3 convolutions with Winograd's minimal filtering F(2×2, 3×3): the same numbers, 2.25× fewer multiplies.

Why
---
im2col (``conv_im2col.py``) spends 9·C multiply-adds on every output pixel of every filter.  Winograd's
algorithm (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016) computes a 2×2 block
of outputs of a 3×3 filter from a 4×4 block of inputs with 16 multiplies instead of 36:

    Y = Aᵀ [ (G w Gᵀ) ⊙ (Bᵀ d B) ] A          d: a 4×4 input tile, w: the 3×3 filter, Y: 2×2 outputs

with the constant matrices

         ⎡1  0 −1  0⎤         ⎡ 1    0    0 ⎤
    Bᵀ = ⎢0  1  1  0⎥    G =  ⎢1/2  1/2  1/2⎥    Aᵀ = ⎡1  1  1  0⎤
         ⎢0 −1  1  0⎥         ⎢1/2 −1/2  1/2⎥         ⎣0  1 −1 −1⎦
         ⎣0  1  0 −1⎦         ⎣ 0    0    1 ⎦

(check one entry by hand: Y[0, 0] expands to Σ_ij w[i, j]·d[i, j], the 3×3 correlation).  Tiles start
every 2 pixels, so neighbouring input tiles overlap by 2.  The identity is exact in real arithmetic: the
result equals the direct convolution up to float rounding (measured: relative error ~5e-7 in float32,
~1e-16 in float64 — the constants are 0, ±1 and ±1/2).

Summed over the input channels, the elementwise product ⊙ becomes 16 matrix products: write every
transformed input tile as a column, V[ξ] = (Bᵀ d B)[ξ] for the 16 positions ξ of the 4×4 tile, shape
(C, T) with T = N · tiles; every transformed filter as U[ξ] = (G w Gᵀ)[ξ], shape (O, C).  Then

    M[ξ] = U[ξ] @ V[ξ]         (O, C) @ (C, T) → (O, T), for ξ = 0 … 15
    y    = Aᵀ M A              per tile: the 2×2 outputs (cropped where the output size is odd)

16 products with inner dimension C do 16·2·O·C·T flops where im2col does 2·O·9C·4T: 2.25× fewer.

The gradients are the adjoints of the same four linear steps (g = dL/dy)
-----------------------------------------------------------------------
    dM[ξ]  = (A g_tile Aᵀ)[ξ]                  the output transform's adjoint (2×2 → 4×4, zero beyond
                                                the output's edge)
    dU[ξ]  = dM[ξ] @ V[ξ]ᵀ                      (O, T) @ (T, C)
    dL/dw  = Gᵀ dU G                            per (o, c): 4×4 → 3×3, the filter transform's adjoint
    dV[ξ]  = U[ξ]ᵀ @ dM[ξ]                      (C, O) @ (O, T)
    dL/dx  = Σ_tiles B dV_tile Bᵀ               each 4×4 tile added back where it was read (tiles
                                                overlap, so the adds accumulate), the padding cropped

Since the forward is exactly the convolution (as a linear map), these are exactly its gradients; the
three products (forward, input gradient, weight gradient) all run 2.25× fewer flops than im2col's.

When it is used (``winograd_applies``)
------------------------------------
3×3 kernels, stride 1, dilation 1, no groups, float32 or float64 NumPy arrays, at least
``MIN_CHANNELS`` input and output channels (with 3 input channels the products are too thin for BLAS),
outputs of at least ``MIN_PLANE`` × ``MIN_PLANE`` (a 3×3 output is computed as 4×4: 1.8× the work),
and only while the compiled tier of the ``conv2d_winograd`` kernel is on: with ``use_kernels(False)``
every convolution runs im2col, the plain reference.  ``set_conv_algorithm('im2col' | 'winograd' |
'auto')`` overrides the choice (tests and the tutorial use it to run both).

Non-finite inputs: a single Inf in a tile turns Inf − Inf into NaN in outputs the direct convolution
leaves finite or infinite, so the transforms also report whether what they read was finite; if not, the
convolution is redone by im2col, which has PyTorch's NaN and Inf behaviour.

The transforms here are the readable NumPy reference of the ``conv2d_winograd`` kernel (a namespace of
four transforms); the compiled tier is ``kernels/conv2d_winograd.py``.  There is no GPU tier: on CuPy
arrays the convolution runs im2col, whose one large GEMM is what cuBLAS runs best.

Tests: tests/test_conv_winograd.py, tests/op_registry/conv.py
"""
import threading
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..backend import array_module, blas_threads, intra_op_threads, kernel, register_kernel

B_T = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64)
A_T = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)
# U[ξ] for ξ = 4a + b is Σ_ij G[a, i] w[i, j] G[b, j]: the 16×9 matrix kron(G, G) applied to w's 9 taps
FILTER_TRANSFORM = np.kron(G, G)

MIN_CHANNELS = 16   # below this (the RGB stem, 3 channels) im2col's longer products run faster
MIN_PLANE = 4       # below 4×4 outputs the 2×2 tiles waste too much (a 3×3 plane computes 4×4)

_ALGORITHMS = ("auto", "im2col", "winograd")
_algorithm = "auto"

WinogradTiles = namedtuple("WinogradTiles", "array tiles_hw")
WinogradTiles.__doc__ = """The transformed input tiles V (16, C, T) of a convolution and the tile grid
(th, tw), kept by the forward for the weight gradient (as im2col keeps its columns)."""


def set_conv_algorithm(name):
    """Choose how 3×3 convolutions are computed: 'auto' (Winograd where it applies, the default),
    'im2col' (always) or 'winograd' (wherever the shapes allow, even with kernels off, through the
    NumPy reference transforms).  Returns the previous choice."""
    global _algorithm
    if name not in _ALGORITHMS:
        raise ValueError(f"set_conv_algorithm: expected one of {', '.join(_ALGORITHMS)}, got {name!r}")
    previous, _algorithm = _algorithm, name
    return previous


def tile_grid(out_hw):
    """How many 2×2 output tiles cover an OH × OW output: (⌈OH/2⌉, ⌈OW/2⌉)."""
    return (out_hw[0] + 1) // 2, (out_hw[1] + 1) // 2


def winograd_applies(a, w_shape, geom, in_channels, out_channels):
    """True when the convolution of ``geom`` on arrays like ``a`` should run Winograd (see the module
    docstring for the rules)."""
    if _algorithm == "im2col":
        return False
    if (geom.kernel != (3, 3) or geom.stride != (1, 1) or geom.dilation != (1, 1) or geom.groups != 1
            or array_module(a) is not np or a.dtype not in (np.float32, np.float64)
            or min(geom.out_hw) < 1 or a.shape[0] == 0):
        return False
    if _algorithm == "winograd":
        return True
    return (min(in_channels, out_channels) >= MIN_CHANNELS and min(geom.out_hw) >= MIN_PLANE
            and kernel("conv2d_winograd", np) is not WinogradReference)


# ---------------------------------------------------------------------------------------------
# The filter transform and its adjoint (small: O·C filters), in NumPy for every tier
# ---------------------------------------------------------------------------------------------
def filter_transform(w):
    """U (16, O, C) = G w Gᵀ for every filter: one (16, 9) @ (9, O·C) product."""
    out_ch, in_ch = w.shape[:2]
    u = FILTER_TRANSFORM.astype(w.dtype) @ w.reshape(out_ch * in_ch, 9).T
    return u.reshape(16, out_ch, in_ch)


def filter_transform_adjoint(du, weight_shape):
    """dL/dw (O, C, 3, 3) = Gᵀ dU G for every filter: the adjoint of ``filter_transform``."""
    dw = FILTER_TRANSFORM.T.astype(du.dtype) @ du.reshape(16, -1)      # (9, O·C)
    return np.ascontiguousarray(dw.T).reshape(weight_shape)


# ---------------------------------------------------------------------------------------------
# The four tile transforms, in NumPy: the reference of the ``conv2d_winograd`` kernel
# ---------------------------------------------------------------------------------------------
def _tile_view(a, tiles_hw, size, step):
    """A strided view (N, C, th, tw, size, size) of ``a`` (N, C, ≥ …): tile (ti, tj) starts at row
    step·ti, column step·tj.  No copy."""
    s_n, s_c, s_h, s_w = a.strides
    return np.lib.stride_tricks.as_strided(a, a.shape[:2] + tuple(tiles_hw) + (size, size),
                                           (s_n, s_c, step * s_h, step * s_w, s_h, s_w), writeable=False)


class WinogradReference:
    """The tile transforms written with whole-array NumPy operations (slow, obviously right).  Each one
    writes into ``out`` (allocated by the caller, in the layout the products want); the two that read
    what the caller was handed (x and g) return whether it was finite."""

    @staticmethod
    def input(x, pads, tiles_hw, out):
        """out (16, C, N·th·tw) = Bᵀ d B for every 4×4 tile d of the zero-padded input."""
        n, c, h, w = x.shape
        th, tw = tiles_hw
        xpad = np.zeros((n, c, 2 * th + 2, 2 * tw + 2), dtype=x.dtype)
        xpad[:, :, pads[0]:pads[0] + h, pads[2]:pads[2] + w] = x
        b_t = B_T.astype(x.dtype)
        with np.errstate(invalid="ignore"):   # Inf − Inf: reported below, and the caller moves on
            v = b_t @ _tile_view(xpad, tiles_hw, 4, 2) @ b_t.T             # (N, C, th, tw, 4, 4)
        out[...] = v.transpose(4, 5, 1, 0, 2, 3).reshape(16, c, n * th * tw)
        return bool(np.isfinite(x).all())

    @staticmethod
    def output(m, out_hw, out):
        """out (N, O, OH, OW) from the products m (16, O, N·th·tw): Aᵀ m A for every tile, cropped."""
        th, tw = tile_grid(out_hw)
        n, out_ch = out.shape[:2]
        a_t = A_T.astype(m.dtype)
        tiles = m.reshape(4, 4, out_ch, n, th, tw).transpose(3, 2, 4, 5, 0, 1)
        y = a_t @ tiles @ a_t.T                                            # (N, O, th, tw, 2, 2)
        y = y.transpose(0, 1, 2, 4, 3, 5).reshape(n, out_ch, 2 * th, 2 * tw)
        out[...] = y[:, :, :out_hw[0], :out_hw[1]]

    @staticmethod
    def output_adjoint(g, out):
        """out (16, O, N·th·tw) = A g_tile Aᵀ for every 2×2 tile of g (zeros beyond its edge)."""
        n, out_ch, oh, ow = g.shape
        th, tw = tile_grid((oh, ow))
        gpad = np.zeros((n, out_ch, 2 * th, 2 * tw), dtype=g.dtype)
        gpad[:, :, :oh, :ow] = g
        a = A_T.T.astype(g.dtype)
        with np.errstate(invalid="ignore"):
            dm = a @ _tile_view(gpad, (th, tw), 2, 2) @ a.T                 # (N, O, th, tw, 4, 4)
        out[...] = dm.transpose(4, 5, 1, 0, 2, 3).reshape(16, out_ch, n * th * tw)
        return bool(np.isfinite(g).all())

    @staticmethod
    def input_adjoint(dv, pads, tiles_hw, out):
        """out (N, C, H, W) = Σ_tiles B dV_tile Bᵀ, each tile added back where it was read, the padding
        cropped."""
        n, channels, h, w = out.shape
        th, tw = tiles_hw
        b = B_T.T.astype(dv.dtype)
        tiles = dv.reshape(4, 4, channels, n, th, tw).transpose(3, 2, 4, 5, 0, 1)
        dd = b @ tiles @ b.T                                               # (N, C, th, tw, 4, 4)
        dxpad = np.zeros((n, channels, 2 * th + 2, 2 * tw + 2), dtype=dv.dtype)
        for i in range(4):
            for j in range(4):
                dxpad[:, :, i:i + 2 * th:2, j:j + 2 * tw:2] += dd[..., i, j]
        out[...] = dxpad[:, :, pads[0]:pads[0] + h, pads[2]:pads[2] + w]


register_kernel("conv2d_winograd", "numpy", WinogradReference)


# ---------------------------------------------------------------------------------------------
# The three products: forward, input gradient, weight gradient
# ---------------------------------------------------------------------------------------------
def plane_buffer(rows, cols, dtype, slot=None):
    """An uninitialised (16, rows, cols) array whose 16 planes are 64 bytes further apart than they
    would be packed: the transforms read or write all 16 planes at once, and planes a power of two
    apart (a 32×32 batch of 32 gives 1 MiB) would all fall into the same cache sets.

    With ``slot`` ('products' or 'grad_tiles') the array is this thread's reusable workspace for that
    slot, for the buffers used once and dropped within one call (the products M and dV, g's tiles
    dM).  A fresh 16 MiB array costs about 2 ms of page faults on every touch of new memory here (4096
    pages), as much as the transform that fills it; the workspace keeps the largest one alive."""
    stride = rows * cols + 64 // np.dtype(dtype).itemsize
    if slot is None:
        flat = np.empty((16, stride), dtype=dtype)
    else:
        flat = getattr(_workspace, slot, None)
        if flat is None or flat.dtype != dtype or flat.size < 16 * stride:
            flat = np.empty(16 * stride, dtype=dtype)
            setattr(_workspace, slot, flat)
        flat = flat[:16 * stride].reshape(16, stride)
    return flat[:, :rows * cols].reshape(16, rows, cols)


_workspace = threading.local()


def release_workspace():
    """Free this thread's workspace buffers (they are made again when next needed)."""
    _workspace.__dict__.clear()


CHUNK_BYTES = 1 << 20        # a chunk's tiles and products together: about half the L2 cache
MIN_COLUMNS_PER_CHANNEL = 8  # but each product at least 8·max(C, O) columns wide


def _image_chunks(n, tiles_per_image, channels, out_channels, itemsize):
    """[(first, stop)] ranges of images, each transformed, multiplied and transformed back while its
    tiles and products, (16, C + O, tiles) together, are still in the cache: about ``CHUNK_BYTES``
    (the whole batch's tiles are 4× the input and would come back from memory).  A chunk is never so
    small that its products get narrow: BLAS packs each (O, C) matrix once per call, which only pays
    for itself over enough columns (measured: with 192 channels at 7×7, chunks of 80 columns made
    the weight gradient 1.6× slower than one product over the batch)."""
    per_image = 16 * (channels + out_channels) * tiles_per_image * itemsize
    fewest = -(-MIN_COLUMNS_PER_CHANNEL * max(channels, out_channels) // tiles_per_image)
    step = max(1, CHUNK_BYTES // per_image, fewest)
    return [(first, min(n, first + step)) for first in range(0, n, step)]


# The widest layer whose chunks run on threads of their own after tg.set_num_threads(k > 1), as the
# harmonic mean 2·C·O/(C + O) of its input and output channels.  Measured on a 2-core Xeon, batch 32:
# at 48 → 48 channels (32×32 planes) chunk threads took a forward+backward from 43 to 24 ms while
# OpenBLAS's two threads gave nothing (its products of 48-row matrices are too small to split); at
# 64 → 64 the two were even (57 vs 58 ms) and at 192 → 192 chunk threads lost badly (88 vs 58 ms):
# wide products split well across BLAS threads, and two 1-thread products side by side then fight
# over the memory bus.
MAX_WIDTH_FOR_CHUNK_THREADS = 48


def _each_chunk(work, n, tiles_per_image, channels, out_channels, itemsize):
    """[work(first, stop) for every chunk of images]: in this thread, or, after
    ``tg.set_num_threads(k)`` with k > 1 on a narrow layer (``MAX_WIDTH_FOR_CHUNK_THREADS``), on k
    threads at once.  Each thread then runs whole chunks — its transforms (numba, without the GIL)
    and its products (BLAS held to one thread meanwhile) — in its own workspace: k small products
    side by side instead of one small product split k ways, whose threads mostly wait for each
    other.  The chunks and the order their results come back in are the same either way, so the
    numbers are too (the weight gradient's parts are summed in chunk order)."""
    chunks = _image_chunks(n, tiles_per_image, channels, out_channels, itemsize)
    workers = min(intra_op_threads(), len(chunks))
    narrow = 2 * channels * out_channels <= MAX_WIDTH_FOR_CHUNK_THREADS * (channels + out_channels)
    if workers <= 1 or not narrow:
        return [work(first, stop) for first, stop in chunks]
    with blas_threads(1):
        return list(_thread_pool(workers).map(lambda chunk: work(*chunk), chunks))


_pools = {}


def _thread_pool(workers):
    """A pool of ``workers`` threads, made once and kept."""
    if workers not in _pools:
        _pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="tinygrad_edu-winograd")
    return _pools[workers]


def winograd_forward(x, w, geom):
    """y = conv(x, w) by F(2×2, 3×3), a chunk of images at a time; returns (y, WinogradTiles) or None
    when x or w is not finite."""
    if not np.isfinite(w).all():
        return None
    transforms = kernel("conv2d_winograd", np)
    (n, channels), out_ch = x.shape[:2], w.shape[0]
    tiles_hw = tile_grid(geom.out_hw)
    per_image = tiles_hw[0] * tiles_hw[1]
    u = filter_transform(w)                                             # (16, O, C)
    v = plane_buffer(channels, n * per_image, x.dtype)                  # kept for dL/dw
    y = np.empty((n, out_ch) + tuple(geom.out_hw), dtype=x.dtype)

    def work(first, stop):
        v_chunk = v[:, :, first * per_image:stop * per_image]
        if not transforms.input(x[first:stop], geom.pads, tiles_hw, v_chunk):
            return False                                                # Inf or NaN: im2col's rules
        m = plane_buffer(out_ch, v_chunk.shape[2], x.dtype, slot="products")
        np.matmul(u, v_chunk, out=m)
        transforms.output(m, geom.out_hw, y[first:stop])
        return True
    if not all(_each_chunk(work, n, per_image, channels, out_ch, x.dtype.itemsize)):
        return None
    return y, WinogradTiles(v, tiles_hw)


def _grad_tiles(transforms, g, first, stop, per_image):
    """dM = A g Aᵀ for images [first, stop) in the 'grad_tiles' workspace; None if g is not finite."""
    dm = plane_buffer(g.shape[1], (stop - first) * per_image, g.dtype, slot="grad_tiles")
    return dm if transforms.output_adjoint(g[first:stop], dm) else None


def winograd_input_grad(g, w, geom, channels):
    """dL/dx by the adjoint steps: dM = A g Aᵀ, dV = Uᵀ dM, then B dV Bᵀ added back per tile, a chunk
    of images at a time; None when g or w is not finite."""
    if not np.isfinite(w).all():
        return None
    transforms = kernel("conv2d_winograd", np)
    n, out_ch = g.shape[:2]
    tiles_hw = tile_grid(geom.out_hw)
    per_image = tiles_hw[0] * tiles_hw[1]
    u_t = filter_transform(w).transpose(0, 2, 1)                        # (16, C, O)
    dx = np.empty((n, channels) + tuple(geom.in_hw), dtype=g.dtype)

    def work(first, stop):
        dm = _grad_tiles(transforms, g, first, stop, per_image)
        if dm is None:
            return False
        dv = plane_buffer(channels, dm.shape[2], g.dtype, slot="products")
        np.matmul(u_t, dm, out=dv)
        transforms.input_adjoint(dv, geom.pads, tiles_hw, dx[first:stop])
        return True
    return dx if all(_each_chunk(work, n, per_image, channels, out_ch, g.dtype.itemsize)) else None


def winograd_weight_grad(x, g, geom, weight_shape, tiles=None):
    """dL/dw = Gᵀ (Σ_chunks dM Vᵀ) G, with V from the forward's ``tiles`` or transformed again from x;
    None when x or g is not finite."""
    transforms = kernel("conv2d_winograd", np)
    n, (out_ch, channels) = x.shape[0], weight_shape[:2]
    tiles_hw = tile_grid(geom.out_hw)
    per_image = tiles_hw[0] * tiles_hw[1]

    def work(first, stop):
        dm = _grad_tiles(transforms, g, first, stop, per_image)
        if dm is None:
            return None
        if tiles is not None:
            v = tiles.array[:, :, first * per_image:stop * per_image]
        else:
            v = plane_buffer(channels, dm.shape[2], x.dtype, slot="products")
            if not transforms.input(x[first:stop], geom.pads, tiles_hw, v):
                return None
        return np.matmul(dm, v.transpose(0, 2, 1))                      # this chunk's part of dU
    parts = _each_chunk(work, n, per_image, channels, out_ch, g.dtype.itemsize)
    if any(part is None for part in parts):
        return None
    return filter_transform_adjoint(sum(parts), weight_shape)


def winograd_gradients(g, w, geom, channels, tiles):
    """dL/dx and dL/dw together, in one pass over g's tiles (each chunk's dM is transformed once and
    used by both products, where the two gradients computed apart transform g twice): the training
    step's backward, when no graph of the backward is recorded.  None when g or w is not finite."""
    if not np.isfinite(w).all():
        return None
    transforms = kernel("conv2d_winograd", np)
    n, out_ch = g.shape[:2]
    tiles_hw = tiles.tiles_hw
    per_image = tiles_hw[0] * tiles_hw[1]
    u_t = filter_transform(w).transpose(0, 2, 1)                        # (16, C, O)
    dx = np.empty((n, channels) + tuple(geom.in_hw), dtype=g.dtype)

    def work(first, stop):
        dm = _grad_tiles(transforms, g, first, stop, per_image)
        if dm is None:
            return None
        du = np.matmul(dm, tiles.array[:, :, first * per_image:stop * per_image].transpose(0, 2, 1))
        dv = plane_buffer(channels, dm.shape[2], g.dtype, slot="products")
        np.matmul(u_t, dm, out=dv)
        transforms.input_adjoint(dv, geom.pads, tiles_hw, dx[first:stop])
        return du
    parts = _each_chunk(work, n, per_image, channels, out_ch, g.dtype.itemsize)
    if any(part is None for part in parts):
        return None
    return dx, filter_transform_adjoint(sum(parts), w.shape)
