# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Tutorial 09 — Compiled kernels: when a loop in machine code beats NumPy, and when it does not
#
# Every op in tinygrad_edu is first written in plain NumPy: a few array expressions you can read and
# check.  A few hot ops also have a *compiled* version in `kernels/` — a numba loop for the CPU, a CUDA
# kernel through CuPy for the GPU — and the engine picks it through one dispatch point,
# `backend.kernel(name, xp)`.  This lesson takes one op and writes it three ways:
#
# 1. **NumPy**: a chain of whole-array operations (each one a full pass over memory);
# 2. **numba**: one loop that reads each input once and writes the output once;
# 3. **CuPy**: the same loop body as a CUDA `ElementwiseKernel` (one GPU thread per element).
#
# Then it asks *why* the fast version is fast, with two measurements: the **SIMD rule** (a compiled
# loop around `exp` can be *slower* than NumPy) and a **roofline** of this machine (how many
# floating-point operations per second it can do, and how many bytes per second it can move), against
# which every kernel is placed.  No timing is asserted: times depend on the machine; what the lesson
# checks are the results.

# %%
import os
import time
from pathlib import Path

import matplotlib
if "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numba
import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import backend
from tinygrad_edu.nn import functional as F

QUICK = os.environ.get("TUTORIAL_QUICK") == "1"  # CI sets this: smaller arrays, same lessons
try:
    HERE = Path(__file__).resolve().parent
except NameError:  # inside a notebook the working directory is the notebook's folder
    HERE = Path.cwd()
OUTPUT = HERE / "output"
OUTPUT.mkdir(exist_ok=True)
from tinygrad_edu.viz import show  # noqa: E402

START = time.perf_counter()
N = 200_000 if QUICK else 4_000_000          # elements of the test arrays
REPEAT = 3 if QUICK else 15


def best_time(fn, repeat=REPEAT):
    """The fastest of ``repeat`` calls, in seconds (the minimum is the least disturbed by other work)."""
    fn()                                      # warm up (and compile, for numba)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


# %% [markdown]
# ## 1. The op: the backward of the tanh-GELU
#
# GPT's activation is GELU in its tanh form:
#
#     u = √(2/π) · (x + 0.044715 x³),   t = tanh(u),   y = ½ x (1 + t)
#
# Its derivative, by the product and chain rules (tanh' = 1 − t²):
#
#     dy/dx = ½ (1 + t) + ½ x (1 − t²) · √(2/π) · (1 + 3 · 0.044715 x²)
#
# and the backward multiplies it by the incoming gradient g.  If the forward **keeps t**, the backward
# needs no transcendental function at all: just arithmetic on x, t and g.

# %%
C = np.float32(np.sqrt(2.0 / np.pi))
A = np.float32(0.044715)
rng = np.random.default_rng(0)
x = rng.standard_normal(N).astype(np.float32)
g = rng.standard_normal(N).astype(np.float32)
t = np.tanh(C * (x + A * x * x * x))          # kept from the forward


def gelu_tanh_backward_numpy(x, t, g):
    """Way 1, NumPy: each operator below is one pass over N floats (and one temporary array)."""
    inner = C * (1 + 3 * A * x * x)
    return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner)


# %% [markdown]
# ## 2. The same formula as one compiled loop (numba)
#
# `@numba.njit` compiles the Python function to machine code the first time it is called with given
# argument types.  Inside, a plain `for` loop over the elements is as fast as C: each element is read
# once, the arithmetic happens in registers, the result is written once.  The NumPy chain above makes
# about 14 passes and 10 temporary arrays; this makes one.  Two details matter: the constants are float32
# (a float64 constant would turn the whole loop into float64 arithmetic), and the loop has no branch, so
# the compiler can process 16 float32 at a time with AVX-512 instructions (SIMD: single instruction,
# multiple data).

# %%
@numba.njit(cache=True)
def gelu_tanh_backward_numba(x, t, g):
    out = np.empty_like(x)
    half, one, three = np.float32(0.5), np.float32(1.0), np.float32(3.0)
    for i in range(x.size):
        xi, ti = x[i], t[i]
        inner = C * (one + three * A * xi * xi)
        out[i] = g[i] * (half * (one + ti) + half * xi * (one - ti * ti) * inner)
    return out


reference = gelu_tanh_backward_numpy(x, t, g)
fast = gelu_tanh_backward_numba(x, t, g)
max_err = float(np.abs(fast - reference).max())
print(f"numba vs NumPy: max |difference| = {max_err:.2e} (float32 rounding: ~{np.finfo(np.float32).eps:.1e})")
assert max_err <= 1e-5 and fast.dtype == np.float32

t_numpy = best_time(lambda: gelu_tanh_backward_numpy(x, t, g))
t_numba = best_time(lambda: gelu_tanh_backward_numba(x, t, g))
print(f"N = {N:,}: NumPy {t_numpy * 1e3:.2f} ms, numba {t_numba * 1e3:.2f} ms "
      f"({t_numpy / t_numba:.1f}x)")

# %% [markdown]
# The engine's own GELU does the same (its backward keeps t from the forward when the fast tier is on).
# The dispatch point lets us compare its two tiers directly: `use_kernels(False)` switches every op back
# to its NumPy reference.

# %%
xt = tg.tensor(x[:1000].copy(), requires_grad=True)
grads = {}
for tier in (True, False):
    previous = backend.use_kernels(tier)
    try:
        xt.grad = None
        F.gelu(xt, approximate="tanh").backward(tg.tensor(g[:1000].copy()))
        grads[tier] = xt.grad.numpy().copy()
    finally:
        backend.use_kernels(previous)
np.testing.assert_allclose(grads[True], grads[False], rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(grads[True], reference[:1000], rtol=1e-4, atol=1e-5)
print("engine gradient, kernels on = kernels off = the formula above")
print("kernels registered:", sorted({name for name, _ in backend.registered_kernels()}))

# %% [markdown]
# ## 3. The same loop body on a GPU (CuPy)
#
# On a GPU the loop disappears: the body runs once per element, each in its own thread, thousands at a
# time.  CuPy's `ElementwiseKernel` takes exactly that body in CUDA C and handles the indexing,
# broadcasting and launch.  (This cell runs the kernel where CuPy finds a GPU, and otherwise only shows
# it.  The engine's own CUDA sources live beside their numba tiers, as `kernels/<name>.cu`, and the test
# suite compiles every one of them to GPU assembly (PTX) with NVRTC even on machines without a GPU.)

# %%
CUDA_BODY = """
    float inner = 0.7978845608f * (1.0f + 3.0f * 0.044715f * x * x);
    out = g * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * inner);
"""
print("CUDA body of the ElementwiseKernel:" + CUDA_BODY)
if backend.cuda_is_available():
    import cupy
    kernel = cupy.ElementwiseKernel("float32 x, float32 t, float32 g", "float32 out", CUDA_BODY,
                                    "gelu_tanh_backward_tutorial")
    on_gpu = cupy.asnumpy(kernel(cupy.asarray(x), cupy.asarray(t), cupy.asarray(g)))
    np.testing.assert_allclose(on_gpu, reference, rtol=1e-5, atol=1e-6)
    print("CuPy result = NumPy result")
else:
    print("no usable GPU here: the CuPy way is shown, not run")

# %% [markdown]
# ## 4. The SIMD rule: a compiled loop around `exp` can lose to NumPy
#
# Compiling a loop is not automatically a win.  NumPy's float32 `exp`, `tanh` and friends are written
# with SIMD instructions: 16 values per instruction on this CPU.  numba, on this machine, turns `np.exp`
# inside a loop into a call of the C library's *scalar* `expf` for every element (there is no vector
# math library for it to use).  So a loop that fuses an `exp` into other arithmetic can be slower than
# NumPy doing the `exp` alone.  We measure it, and then count the vector registers (`zmm` = 512 bits,
# `ymm` = 256) in the machine code numba generated: the arithmetic loop is full of them, the `exp` loop
# has almost none (it calls `expf` once per element instead).

# %%
@numba.njit(cache=True)
def exp_in_a_loop(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = np.exp(x[i])
    return out


@numba.njit(cache=True)
def scale_shift_in_a_loop(x):          # pure arithmetic: vectorises
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = x[i] * np.float32(1.5) + np.float32(0.25)
    return out


np.testing.assert_allclose(exp_in_a_loop(x), np.exp(x), rtol=1e-6)
timings = {"np.exp (NumPy's SIMD ufunc)": best_time(lambda: np.exp(x)),
           "np.exp inside a numba loop": best_time(lambda: exp_in_a_loop(x)),
           "x*1.5+0.25, NumPy (2 passes)": best_time(lambda: x * np.float32(1.5) + np.float32(0.25)),
           "x*1.5+0.25, numba loop (1 pass)": best_time(lambda: scale_shift_in_a_loop(x))}
for what, seconds in timings.items():
    print(f"  {what:34s} {seconds * 1e3:7.2f} ms")


def vector_registers(fn):
    """How many 512-bit and 256-bit register mentions the compiled code of ``fn`` has."""
    asm = next(iter(fn.inspect_asm().values()))
    return asm.count("%zmm"), asm.count("%ymm")


for fn in (exp_in_a_loop, scale_shift_in_a_loop):
    zmm, ymm = vector_registers(fn)
    print(f"  {fn.__name__}: {zmm} zmm and {ymm} ymm register uses in its machine code")

# %% [markdown]
# What decides the kernels in `kernels/`: do the arithmetic passes in numba, and leave the one
# transcendental pass to NumPy (in place, so it costs no new array) — or replace the transcendental with
# a polynomial or rational approximation that the compiler *can* vectorise (the exact GELU's erf is done
# that way, accurate to a few float32 rounding steps).

# %% [markdown]
# ## 5. A roofline of this machine
#
# Two numbers bound any kernel: the peak arithmetic rate (FLOP/s; we take a large float32 matrix
# product, the best case) and the memory bandwidth (bytes/s; a large copy).  A kernel with *arithmetic
# intensity* I = FLOPs / bytes moved cannot run faster than min(peak, I × bandwidth).  Elementwise ops
# sit far left (I well below 1): memory decides, so what counts is the number of passes — which is
# exactly what fusing into one loop cuts.  A big GEMM sits far right: arithmetic decides, and no
# framework can beat the BLAS.

# %%
n_mm = 512 if QUICK else 1024
a_mm = rng.standard_normal((n_mm, n_mm)).astype(np.float32)
peak = 2 * n_mm ** 3 / best_time(lambda: a_mm @ a_mm)
src, dst = np.ones(N * 2, np.float32), np.empty(N * 2, np.float32)
bandwidth = 2 * src.nbytes / best_time(lambda: np.copyto(dst, src))   # read + write
print(f"peak (float32 GEMM {n_mm}³, {tg.get_num_threads()} thread(s)): {peak / 1e9:.0f} GFLOP/s; "
      f"bandwidth (copy): {bandwidth / 1e9:.1f} GB/s; ridge point I = {peak / bandwidth:.1f} FLOP/byte")

# the GELU backward: ~15 FLOPs per element; the fused loop moves 3 reads + 1 write of 4 bytes
points = {"GELU bwd, numba (1 pass)": (15 / 16, 15 * N / t_numba),
          "GELU bwd, NumPy (~14 passes)": (15 / (14 * 12), 15 * N / t_numpy),   # 2 reads + 1 write each
          f"GEMM {n_mm}³": (2 * n_mm ** 3 / (3 * 4 * n_mm ** 2), peak)}
for name, (intensity, rate) in points.items():
    bound = min(peak, intensity * bandwidth)
    print(f"  {name:30s} I = {intensity:6.2f} FLOP/B   {rate / 1e9:7.1f} GFLOP/s   "
          f"roof {bound / 1e9:7.1f} GFLOP/s ({rate / bound:.0%} of it)")
    assert rate <= 1.6 * bound, f"{name} above its roof: the measurement is wrong"

I = np.logspace(-2, 3, 200)
fig, ax = plt.subplots(figsize=(6.5, 4))
ax.loglog(I, np.minimum(peak, I * bandwidth) / 1e9, "k-", label="roofline of this machine")
for name, (intensity, rate) in points.items():
    ax.loglog(intensity, rate / 1e9, "o", label=name)
ax.set_xlabel("arithmetic intensity (FLOP per byte moved)")
ax.set_ylabel("GFLOP/s")
ax.set_title("Where the kernels sit")
ax.legend(fontsize=8)
fig.savefig(OUTPUT / "09_roofline.png", dpi=110, bbox_inches="tight")
plt.close(fig)
show(OUTPUT / "09_roofline.png")

# %% [markdown]
# ## 6. Against the floor
#
# The benchmarks (`benchmarks/`) report every training step twice: as a ratio to PyTorch in the same
# run, and as a ratio to its **floor** — the same matrix products alone, with no framework around them
# (`benchmarks/floors.py` records them from one step's graph).  The first number changes with the CPU
# (PyTorch's BLAS is faster on some, slower on others); the second says how much the engine adds to
# work that no engine can avoid.  The same idea for the op above: its floor is the time to move its
# bytes once.

# %%
floor = 4 * 4 * N / bandwidth
print(f"GELU backward, N = {N:,}: floor (4 arrays once at {bandwidth / 1e9:.1f} GB/s) {floor * 1e3:.2f} ms; "
      f"numba {t_numba / floor:.1f}x the floor, NumPy {t_numpy / floor:.1f}x")

# %% [markdown]
# ## 7. Below the floor: a different algorithm
#
# The floor is "the same matrix products alone" — for a convolution, im2col's products.  No engine can
# run *those* faster than the BLAS does; but a different algorithm can need fewer of them.  Winograd's
# minimal filtering F(2, 3) computes two outputs of a 3-tap filter w from four inputs d with 4
# multiplies where the direct formula y0 = d0 w0 + d1 w1 + d2 w2, y1 = d1 w0 + d2 w1 + d3 w2 needs 6:
#
#     m1 = (d0 − d2) w0     m2 = (d1 + d2)(w0 + w1 + w2)/2     m3 = (d2 − d1)(w0 − w1 + w2)/2
#     m4 = (d1 − d3) w2     y0 = m1 + m2 + m3                  y1 = m2 − m3 − m4
#
# The filter sums are computed once per filter, the input sums once per tile, so in a network they cost
# almost nothing next to the multiplies.  Nested in 2-D, F(2×2, 3×3) makes 2×2 outputs with 16
# multiplies instead of 36: 2.25× fewer.  Check the 1-D identity by hand first:

# %%
d, w3 = rng.standard_normal(4), rng.standard_normal(3)
m1, m4 = (d[0] - d[2]) * w3[0], (d[1] - d[3]) * w3[2]
m2 = (d[1] + d[2]) * (w3[0] + w3[1] + w3[2]) / 2
m3 = (d[2] - d[1]) * (w3[0] - w3[1] + w3[2]) / 2
direct = np.array([d[0:3] @ w3, d[1:4] @ w3])
print(f"direct {direct}, Winograd {np.array([m1 + m2 + m3, m2 - m3 - m4])}")
assert np.allclose([m1 + m2 + m3, m2 - m3 - m4], direct)

# %% [markdown]
# In the engine (`tinygrad_edu/nn/conv_winograd.py`, compiled tier `kernels/conv2d_winograd.py`) the
# 16 multiplies of every tile, summed over the input channels, become 16 matrix products of inner
# dimension C, where im2col runs one of inner dimension 9C.  The same layer both ways
# (`set_conv_algorithm` chooses; `'auto'`, the default, picks Winograd for 3×3, stride-1 layers of 16
# channels or more), forward and backward, against im2col's matrix products alone:

# %%
from tinygrad_edu.nn.conv_winograd import set_conv_algorithm  # noqa: E402

batch, chans, size = (8, 32, 16) if QUICK else (32, 32, 32)
x_np = rng.standard_normal((batch, chans, size, size)).astype(np.float32)
w_np = (rng.standard_normal((chans, chans, 3, 3)) / 17).astype(np.float32)
g_np = rng.standard_normal((batch, chans, size, size)).astype(np.float32)
results, times = {}, {}
for algorithm in ("im2col", "winograd"):
    set_conv_algorithm(algorithm)
    x_t, w_t = tg.tensor(x_np, requires_grad=True), tg.tensor(w_np, requires_grad=True)

    def conv_step():
        x_t.grad = w_t.grad = None
        y_t = F.conv2d(x_t, w_t, padding=1)
        y_t.backward(tg.tensor(g_np))
        return y_t
    y_t = conv_step()
    results[algorithm] = (y_t.detach().numpy(), x_t.grad.numpy(), w_t.grad.numpy())
    times[algorithm] = best_time(conv_step)
set_conv_algorithm("auto")
for name, a, b in zip(("y", "dL/dx", "dL/dw"), *results.values()):
    print(f"{name:6s} largest difference Winograd − im2col: {np.abs(a - b).max():.1e} "
          f"(|max| {np.abs(b).max():.1f})")
    assert np.abs(a - b).max() <= 1e-5 * np.abs(b).max()     # float32 rounding, relative to the scale

cols = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(
    np.pad(x_np, ((0, 0), (0, 0), (1, 1), (1, 1))), (3, 3), axis=(2, 3)).transpose(1, 4, 5, 0, 2, 3)
    .reshape(chans * 9, -1))
w2, g2 = w_np.reshape(chans, -1), np.ascontiguousarray(g_np.transpose(1, 0, 2, 3).reshape(chans, -1))
products = best_time(lambda: (w2 @ cols, g2 @ cols.T, w2.T @ g2))     # im2col's three products alone
print(f"conv {chans}->{chans} 3x3 at {size}x{size}, batch {batch}, forward + backward: im2col "
      f"{times['im2col'] * 1e3:.1f} ms, Winograd {times['winograd'] * 1e3:.1f} ms; im2col's three "
      f"matrix products alone {products * 1e3:.1f} ms "
      f"(Winograd / that floor: {times['winograd'] / products:.2f})")

print(f"tutorial 09 finished in {time.perf_counter() - START:.1f} s")
