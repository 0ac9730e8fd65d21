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
# # Tutorial 02 — Gradient checking
#
# A backward formula is code someone wrote by hand, and hand-written derivatives are wrong
# surprisingly often: a missing factor, a swapped input, a sign.  The network still trains —
# just badly — so the bug hides.  The cure is to compare the formula with something that
# cannot be wrong in the same way: the **definition** of the derivative, evaluated with
# forward passes only.
#
# 1. finite differences: forward vs central, and the V-shaped error curve;
# 2. why float64;
# 3. relative error: how to compare two gradients;
# 4. writing a custom `Function` and proving it with `tinygrad_edu.autograd.gradcheck`;
# 5. catching a deliberately wrong backward;
# 6. second derivatives with `gradgradcheck`.

# %%
import math
import os
import warnings
from pathlib import Path

import matplotlib
if "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_edu as tg
from tinygrad_edu.autograd import Function, GradcheckError, gradcheck, gradgradcheck

QUICK = os.environ.get("TUTORIAL_QUICK") == "1"  # CI sets this: smaller sizes, same lessons
try:
    HERE = Path(__file__).resolve().parent
except NameError:  # inside a notebook the working directory is the notebook's folder
    HERE = Path.cwd()
OUTPUT = HERE / "output"
OUTPUT.mkdir(exist_ok=True)


from tinygrad_edu.viz import show  # noqa: E402  (prints where a picture is; shows it inline in Jupyter)


# %% [markdown]
# ## 1. Finite differences
#
# The derivative is the limit of a difference quotient.  Stop before the limit and you get an
# approximation:
#
# * **forward**:  f'(x) ≈ (f(x+ε) − f(x)) / ε.  Taylor: f(x+ε) = f(x) + εf'(x) + ε²f''(x)/2 + …,
#   so the error is ≈ ε·f''(x)/2 — *first order* in ε.
# * **central**:  f'(x) ≈ (f(x+ε) − f(x−ε)) / 2ε.  The ε² terms cancel; the error is
#   ≈ ε²·f'''(x)/6 — *second order*.
#
# That is the **truncation** error, and it shrinks with ε.  But a computer stores f(x+ε) and
# f(x) rounded to ~16 significant digits (float64); their difference loses the digits they
# share, and dividing by ε magnifies that **round-off** error ≈ (machine epsilon · |f|) / ε, which
# *grows* as ε shrinks.  The total error is a V on a log-log plot: truncation on the right,
# round-off on the left.

# %%
def forward_difference(f, x, eps):
    return (f(x + eps) - f(x)) / eps


def central_difference(f, x, eps):
    return (f(x + eps) - f(x - eps)) / (2 * eps)


x0 = 1.0
exact = math.cos(x0)                      # d/dx sin x = cos x
epsilons = np.logspace(-15, -1, 29 if QUICK else 57)
errors = {}
for dtype in (np.float64, np.float32):
    def f(x, dtype=dtype):
        return np.sin(dtype(x))
    errors[("forward", dtype)] = [abs(float(forward_difference(f, dtype(x0), dtype(e))) - exact)
                                  for e in epsilons]
    errors[("central", dtype)] = [abs(float(central_difference(f, dtype(x0), dtype(e))) - exact)
                                  for e in epsilons]

fig, ax = plt.subplots(figsize=(7, 4.5))
styles = {("forward", np.float64): "C0-", ("central", np.float64): "C1-",
          ("forward", np.float32): "C0:", ("central", np.float32): "C1:"}
for key, errs in errors.items():
    kind, dtype = key
    ax.loglog(epsilons, np.maximum(errs, 1e-17), styles[key], marker=".",
              label=f"{kind} difference, {np.dtype(dtype).name}")
ax.set_xlabel("step ε")
ax.set_ylabel("|finite difference − exact derivative|")
ax.set_title("d/dx sin(x) at x = 1: truncation error (right) vs round-off error (left)")
ax.grid(True, which="major", alpha=0.3)
ax.legend(fontsize=8)
fig.savefig(OUTPUT / "02_finite_difference_error.png", dpi=110, bbox_inches="tight")
plt.close(fig)
show(OUTPUT / "02_finite_difference_error.png")

# %% [markdown]
# What the plot shows, checked in numbers:

# %%
def error_at(kind, dtype, eps):
    return errors[(kind, dtype)][int(np.argmin(abs(np.log10(epsilons) - math.log10(eps))))]


best = {key: (min(errs), epsilons[int(np.argmin(errs))]) for key, errs in errors.items()}
for (kind, dtype), (err, eps) in best.items():
    print(f"{kind:8s} {np.dtype(dtype).name}: smallest error {err:.1e} at ε = {eps:.0e}")

# truncation side: the forward error falls 10× per decade of ε, the central one 100×
fwd_slope = error_at("forward", np.float64, 1e-2) / error_at("forward", np.float64, 1e-3)
ctr_slope = error_at("central", np.float64, 1e-2) / error_at("central", np.float64, 1e-3)
print(f"error ratio per decade of ε: forward {fwd_slope:.1f} (first order), "
      f"central {ctr_slope:.1f} (second order)")
assert 8 < fwd_slope < 12 and 80 < ctr_slope < 120
# the forward error at ε = 1e-6 is the predicted ε·|f''|/2 = ε·sin(1)/2
assert abs(error_at("forward", np.float64, 1e-6) - 1e-6 * math.sin(1) / 2) < 1e-7
# the bottom of the V: central differences reach ~1e-10 or better in float64, forward only ~1e-8
assert best[("central", np.float64)][0] < 1e-9 < best[("forward", np.float64)][0] < 1e-7
# round-off side: at ε = 1e-14 both are far worse than at their best
assert error_at("central", np.float64, 1e-14) > 1e-4

# %% [markdown]
# ## 2. Why float64
#
# The dotted curves are the same experiment in float32, whose machine epsilon is ~6·10⁻⁸
# instead of ~1.1·10⁻¹⁶.  The round-off branch moves up by eight orders of magnitude: the best
# float32 error is a million times worse and needs a large ε, and at the ε = 1e-6 we use in
# float64 the float32 quotient is off by percents — as large as many gradients we want to check.
# So gradient checks run in **float64** (a trained model can then run in float32).

# %%
print(f"best central error: float64 {best[('central', np.float64)][0]:.1e}, "
      f"float32 {best[('central', np.float32)][0]:.1e}")
print(f"central error at ε = 1e-6: float64 {error_at('central', np.float64, 1e-6):.1e}, "
      f"float32 {error_at('central', np.float32, 1e-6):.1e}")
assert best[("central", np.float32)][0] > 1e4 * best[("central", np.float64)][0]
assert error_at("central", np.float32, 1e-6) > 1e-3 > 1e-9 > error_at("central", np.float64, 1e-6)

# %% [markdown]
# ## 3. Relative error
#
# Is an error of 10⁻⁶ small?  For a gradient of size 1000, yes; for a gradient of size 10⁻⁷,
# it is ten times the gradient.  Compare errors **relative** to the size of the numbers:
#
#     relative error = |a − n| / max(|a|, |n|)
#
# `gradcheck` uses the form NumPy's `allclose` uses, with a floor for entries that are 0:
#
#     |analytic − numeric| ≤ atol + rtol · |numeric|      (defaults: atol = 1e-5, rtol = 1e-3)

# %%
def relative_error(a, n):
    return abs(a - n) / max(abs(a), abs(n), 1e-300)


for analytic, numeric in [(1000.0, 1000.001), (1e-7, 1.1e-6)]:
    print(f"analytic {analytic:g}, numeric {numeric:g}: absolute error {abs(analytic - numeric):.1e}, "
          f"relative error {relative_error(analytic, numeric):.1e}")
assert relative_error(1000.0, 1000.001) < 1e-5          # tiny, although |a - n| = 1e-3
assert relative_error(1e-7, 1.1e-6) > 0.9               # huge, although |a - n| = 1e-6

# %% [markdown]
# ## 4. A custom op, checked
#
# `SmoothAbs` is a differentiable stand-in for |x| (used in robust losses):
#
#     y = √(x² + δ²) − δ,     dy/dx = x / √(x² + δ²) = x / (y + δ)
#
# A tinygrad_edu op is a `Function` with two static methods, exactly like
# `torch.autograd.Function`: `forward(ctx, x)` computes on raw NumPy arrays and saves what the
# backward needs; `backward(ctx, grad)` receives dL/dy as a Tensor and returns dL/dx **written
# in Tensor ops** — which is what makes second derivatives work later.

# %%
class SmoothAbs(Function):
    """y = √(x² + δ²) − δ.   dL/dx = g · x / (y + δ)."""

    @staticmethod
    def forward(ctx, x, delta=0.1):
        y = np.sqrt(x * x + delta * delta) - delta
        ctx.save_for_backward(x, y)
        ctx.delta = delta
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return grad * x / (y + ctx.delta)


shape = (2, 3) if QUICK else (4, 5)
tg.manual_seed(0)
x = tg.randn(*shape, dtype=tg.float64, requires_grad=True)
y = SmoothAbs.apply(x, delta=0.1)
print("x =", x.detach())
print("SmoothAbs(x) =", y.detach())
assert np.allclose(y.detach().numpy(), np.sqrt(x.detach().numpy() ** 2 + 0.01) - 0.1)

ok = gradcheck(lambda t: SmoothAbs.apply(t, delta=0.1), (x,), eps=1e-6, atol=1e-5, rtol=1e-3)
print("gradcheck(SmoothAbs):", ok)
assert ok is True

# %% [markdown]
# `gradcheck` built the **whole Jacobian** twice — once from `backward` (one vector-Jacobian
# product per output entry) and once by central differences (two forward passes per input
# entry) — and compared every entry.  Checking all entries matters: a bug in one column passes
# a check that samples a few.
#
# ## 5. A wrong backward, caught
#
# `Hypot(a, b) = √(a² + b²)` has dL/da = g·a/y and dL/db = g·b/y.  The version below has the
# most common bug there is: a copy-paste that returns `a/y` for *both* inputs.  On some inputs it
# even gives the right answer (wherever a = b), so a quick look at one number can miss it.

# %%
class WrongHypot(Function):
    """y = √(a² + b²).   Correct: dL/da = g·a/y, dL/db = g·b/y.  This one gets dL/db wrong."""

    @staticmethod
    def forward(ctx, a, b):
        y = np.sqrt(a * a + b * b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, b, y = ctx.saved_tensors
        return grad * a / y, grad * a / y          # BUG: the second should be grad * b / y


a = tg.tensor([3.0, 1.0, -2.0], dtype=tg.float64, requires_grad=True)
b = tg.tensor([4.0, 1.0, 0.5], dtype=tg.float64, requires_grad=True)
try:
    gradcheck(WrongHypot.apply, (a, b))
    raise AssertionError("gradcheck should have caught the wrong backward")
except GradcheckError as error:
    message = str(error)
print(message.splitlines()[0])
assert "input 1" in message and "input 0" not in message.splitlines()[0]

# the entry it names is the first one where a != b; entry 1 (a = b = 1) happens to be right
assert "entry index (0,)" in message
assert gradcheck(WrongHypot.apply, (a, b), raise_exception=False) is False


# %% [markdown]
# Fixed, it passes:

# %%
class Hypot(Function):
    """y = √(a² + b²).   dL/da = g·a/y,  dL/db = g·b/y."""

    @staticmethod
    def forward(ctx, a, b):
        y = np.sqrt(a * a + b * b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, b, y = ctx.saved_tensors
        return grad * a / y, grad * b / y


assert gradcheck(Hypot.apply, (a, b))
print("gradcheck(Hypot):", True)

# %% [markdown]
# ### The same check in float32 fails for the wrong reason
#
# Section 2 predicted it: in float32 the finite differences themselves are noise at ε = 1e-6.
# `gradcheck` warns, and the comparison fails although the backward is correct.

# %%
a32 = tg.tensor([3.0, 1.0, -2.0], requires_grad=True)
b32 = tg.tensor([4.0, 1.0, 0.5], requires_grad=True)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    result32 = gradcheck(Hypot.apply, (a32, b32), raise_exception=False)
print("gradcheck(Hypot) in float32:", result32, "| warning:", caught[0].message if caught else None)
assert result32 is False and caught

# %% [markdown]
# ## 6. Second derivatives: `gradgradcheck`
#
# Because `SmoothAbs.backward` is written in Tensor ops, `create_graph=True` records it and it
# can be differentiated again: d²y/dx² = δ² / (x² + δ²)^{3/2}.  `gradgradcheck` applies
# gradcheck to the backward pass itself.

# %%
assert gradgradcheck(lambda t: SmoothAbs.apply(t, delta=0.1), (x,))
print("gradgradcheck(SmoothAbs):", True)

g, = tg.autograd.grad(SmoothAbs.apply(x, delta=0.1).sum(), x, create_graph=True)
g2, = tg.autograd.grad(g.sum(), x)
xv = x.detach().numpy()
assert np.allclose(g2.numpy(), 0.01 / (xv ** 2 + 0.01) ** 1.5)
assert gradgradcheck(Hypot.apply, (a, b))

# %% [markdown]
# ## What to remember
#
# * Check gradients with **central** differences in **float64**, at ε ≈ 1e-6: the bottom of the
#   V between truncation and round-off error.
# * Compare with a **relative** tolerance (plus a small absolute floor for zeros).
# * Check **every** entry of every input: `gradcheck(fn, inputs)` does, and its error names the
#   input and the entry that differ.  `gradgradcheck` does the same for second derivatives.

# %%
print("tutorial 02 finished")
