"""The CNN benchmark rows that time one kernel alone: ``conv`` (``F.conv2d``) and ``maxpool``
(``F.max_pool2d``), forward + backward, on random float32 inputs drawn from ``SEED``.

Each row has a third column, ``numpy``: the same computation written by hand with no autograd,
in the layout that suits NumPy and BLAS best (``numpy_conv3x3_step``: im2col + batched GEMMs,
the input gradient as a convolution of the output gradient with the flipped weights; for the
pool, the four strided views of every 2×2 window): the floor an engine built on NumPy can reach.

``benchmarks/bench_cnn.py`` is the command line that runs them (and re-exports every name here).
"""
import numpy as np

from .cnn_train_rows import SEED
from .floors import floor_builder, memory_floor_builder
from .harness import Row, Workload


# ---------------------------------------------------------------------------------------------
# conv: F.conv2d forward + backward alone
# ---------------------------------------------------------------------------------------------
def numpy_conv3x3_step(x, w, b, g):
    """A 3×3, stride 1, padding 1 convolution's forward and three gradients, by hand, with no
    autograd: the floor for a NumPy engine (measured the fastest of the layouts tried).

        cols  (N, C·9, H·W) = the 3×3 patches of the padded input (one strided copy)
        y[n]  = W2 (O, C·9) @ cols[n] + b                  (a batched GEMM, one per image)
        dW2   = Σ_n g[n] (O, H·W) @ cols[n]ᵀ              db = Σ g over n, h, w
        dx[n] = W2' (C, O·9) @ cols(g)[n]   with W2' the weights flipped in space and with
                in/out channels swapped: at stride 1 the transposed convolution is a
                convolution, so dx is an im2col gather + a GEMM with a long inner dimension
                (O·9) instead of a GEMM with inner dimension O followed by a col2im scatter-add.
    """
    n, c, h, wd = x.shape
    o = w.shape[0]

    def cols_of(a):  # (N, ch, H, W) -> (N, ch·9, H·W), padding 1
        ch = a.shape[1]
        ap = np.zeros((n, ch, h + 2, wd + 2), dtype=a.dtype)
        ap[:, :, 1:-1, 1:-1] = a
        sn, sc, sh, sw = ap.strides
        view = np.lib.stride_tricks.as_strided(ap, (n, ch, 3, 3, h, wd), (sn, sc, sh, sw, sh, sw))
        return view.reshape(n, ch * 9, h * wd)

    cols = cols_of(x)
    y = (w.reshape(o, -1) @ cols).reshape(n, o, h, wd)
    y += b.reshape(1, -1, 1, 1)
    g3 = g.reshape(n, o, h * wd)
    dw = (g3 @ cols.transpose(0, 2, 1)).sum(0).reshape(w.shape)
    db = g3.sum(axis=(0, 2))
    w_flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)).reshape(c, -1)
    dx = (w_flipped @ cols_of(g)).reshape(n, c, h, wd)
    return y, dx, dw, db


def conv_row(batch=32, channels=32, out_channels=None, size=32):
    out_channels = channels if out_channels is None else out_channels
    rng = np.random.default_rng(SEED)
    x0 = rng.standard_normal((batch, channels, size, size), dtype=np.float32)
    bound = 1.0 / np.sqrt(channels * 9)
    w0 = rng.uniform(-bound, bound, (out_channels, channels, 3, 3)).astype(np.float32)
    b0 = rng.uniform(-bound, bound, out_channels).astype(np.float32)
    g0 = rng.standard_normal((batch, out_channels, size, size), dtype=np.float32)

    def build_tinygrad():
        import tinygrad_edu as tg
        from tinygrad_edu.nn import functional as F
        x, w, b = (tg.tensor(a.copy(), requires_grad=True) for a in (x0, w0, b0))
        g = tg.tensor(g0.copy())
        out = {}

        def step():
            x.grad = w.grad = b.grad = None
            y = F.conv2d(x, w, b, padding=1)
            y.backward(g)
            out["y"] = y

        return Workload(step, lambda: {"y": out["y"].detach().numpy(), "x.grad": x.grad.numpy(),
                                       "w.grad": w.grad.numpy(), "b.grad": b.grad.numpy()})

    def build_torch():
        import torch
        import torch.nn.functional as F
        x, w, b = (torch.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        g = torch.tensor(g0)
        out = {}

        def step():
            x.grad = w.grad = b.grad = None
            y = F.conv2d(x, w, b, padding=1)
            y.backward(g)
            out["y"] = y

        return Workload(step, lambda: {"y": out["y"].detach().numpy(), "x.grad": x.grad.numpy(),
                                       "w.grad": w.grad.numpy(), "b.grad": b.grad.numpy()})

    def build_numpy():
        out = {}

        def step():
            out["y"], out["x.grad"], out["w.grad"], out["b.grad"] = numpy_conv3x3_step(x0, w0, b0, g0)

        return Workload(step, lambda: dict(out))

    return Row(f"conv2d 3x3 {channels}->{out_channels}, pad 1, batch {batch}, {size}x{size}, fwd+bwd",
               {"torch": build_torch, "tinygrad_edu": build_tinygrad, "numpy": build_numpy,
                "floor": floor_builder(build_tinygrad)},
               rtol=1e-3, atol=1e-5 * np.sqrt(batch * size * size), target=2.0,
               note="y = F.conv2d(x, w, b, padding=1); y.backward(G): dx, dw, db; float32. "
                    "numpy: im2col + batched GEMMs, dx as a convolution of G with the flipped weights")


# ---------------------------------------------------------------------------------------------
# maxpool: F.max_pool2d(x, 2) forward + backward
# ---------------------------------------------------------------------------------------------
def maxpool_row(batch=32, channels=32, size=32):
    rng = np.random.default_rng(SEED)
    x0 = rng.standard_normal((batch, channels, size, size), dtype=np.float32)
    g0 = rng.standard_normal((batch, channels, size // 2, size // 2), dtype=np.float32)

    def build_tinygrad():
        import tinygrad_edu as tg
        from tinygrad_edu.nn import functional as F
        x, g = tg.tensor(x0.copy(), requires_grad=True), tg.tensor(g0.copy())
        out = {}

        def step():
            x.grad = None
            y = F.max_pool2d(x, 2)
            y.backward(g)
            out["y"] = y

        return Workload(step, lambda: {"y": out["y"].detach().numpy(), "x.grad": x.grad.numpy()})

    def build_torch():
        import torch
        import torch.nn.functional as F
        x, g = torch.tensor(x0, requires_grad=True), torch.tensor(g0)
        out = {}

        def step():
            x.grad = None
            y = F.max_pool2d(x, 2)
            y.backward(g)
            out["y"] = y

        return Workload(step, lambda: {"y": out["y"].detach().numpy(), "x.grad": x.grad.numpy()})

    def build_numpy():
        out = {}

        def step():  # offset (i, j) of every 2x2 window is the strided view x[..., i::2, j::2]
            y = x0[:, :, 0::2, 0::2].copy()
            arg = np.zeros(y.shape, dtype=np.uint8)          # which offset won (first max wins)
            for k, (i, j) in enumerate(((0, 1), (1, 0), (1, 1)), start=1):
                v = x0[:, :, i::2, j::2]
                take = v > y
                np.copyto(y, v, where=take)
                arg[take] = k
            dx = np.zeros_like(x0)
            for k, (i, j) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
                np.multiply(g0, arg == k, out=dx[:, :, i::2, j::2])
            out["y"], out["x.grad"] = y, dx

        return Workload(step, lambda: dict(out))

    return Row(f"max_pool2d 2x2 on ({batch}, {channels}, {size}, {size}), fwd+bwd",
               {"torch": build_torch, "tinygrad_edu": build_tinygrad, "numpy": build_numpy,
                # no products: the floor is the traffic, read x and write y, read g and write dx
                "floor": memory_floor_builder([x0.size, x0.size // 4, x0.size // 4, x0.size])},
               rtol=1e-6, atol=0.0, target=1.0,
               note="y = F.max_pool2d(x, 2); y.backward(G); float32; "
                                         "floor: streaming copies of the bytes read and written")
