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
# # Tutorial 01 — Autograd from scratch
#
# Training a network means asking, for every weight, *how would the loss change if I nudged
# this weight?* — the gradient.  Reverse-mode automatic differentiation ("backprop") answers that
# for every weight at once, in about the cost of one more forward pass.
#
# We build it twice:
#
# 1. a scalar `Value` class, written here in ~60 lines, that knows `+`, `*` and `tanh` and
#    applies the chain rule over the **computational graph** in **topological order**;
# 2. then the real `tinygrad_edu.Tensor`, which does the same thing for whole arrays, with
#    PyTorch's names: `requires_grad`, `grad_fn`, `backward()`, `no_grad()`, `create_graph=True`.
#
# Every cell prints what it shows and `assert`s the numbers, so this file is also a test.
# Run it as a script (`python tutorials/01_autograd_from_scratch.py`) or as a notebook.

# %%
import math
import os
from pathlib import Path

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu.viz import draw_graph

QUICK = os.environ.get("TUTORIAL_QUICK") == "1"  # CI sets this: smaller sizes, same lessons
try:
    HERE = Path(__file__).resolve().parent
except NameError:  # inside a notebook the working directory is the notebook's folder
    HERE = Path.cwd()
OUTPUT = HERE / "output"
OUTPUT.mkdir(exist_ok=True)


from tinygrad_edu.viz import show  # noqa: E402  (prints where a picture is; shows it inline in Jupyter)


# %% [markdown]
# ## 1. A number that remembers where it came from
#
# A `Value` holds a number (`data`), and after `backward()` the derivative of the final result
# with respect to it (`grad`).  Each operation creates a new `Value` that records its inputs
# (`_parents`) and a small function `_backward` that knows the **local** derivative of that one
# operation:
#
# | op | forward | local rule (`out.grad` is dL/d(out)) |
# |----|---------|---------------------------------------|
# | `a + b` | a + b | dL/da += out.grad,  dL/db += out.grad |
# | `a * b` | a · b | dL/da += b · out.grad,  dL/db += a · out.grad |
# | `tanh(a)` | t = tanh a | dL/da += (1 − t²) · out.grad |
#
# The **chain rule** glues the local rules together: dL/da = dL/d(out) · d(out)/da.
#
# Notice the `+=`.  We will see in section 3 why it must not be `=`.

# %%
class Value:
    """A scalar in a computational graph (the micrograd idea)."""

    def __init__(self, data, parents=(), op=""):
        self.data = float(data)
        self.grad = 0.0
        self._parents = parents
        self._op = op
        self._backward = lambda: None

    def _receive(self, gradient):
        """Add one path's contribution to dL/d(self)."""
        self.grad += gradient

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self._receive(out.grad)
            other._receive(out.grad)
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self._receive(other.data * out.grad)
            other._receive(self.data * out.grad)
        out._backward = _backward
        return out

    __radd__ = __add__
    __rmul__ = __mul__

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self._receive((1.0 - t * t) * out.grad)
        out._backward = _backward
        return out

    def backward(self):
        """dself/d(every value it was computed from), by the chain rule in reverse topological order."""
        order = topological_order(self)
        self.grad = 1.0                      # d(self)/d(self)
        for v in reversed(order):            # outputs before inputs
            v._backward()

    def __repr__(self):
        return f"Value(data={self.data:.4f}, grad={self.grad:.4f})"


def topological_order(root):
    """Every value that `root` depends on, each listed *after* all of its parents.

    A depth-first search with an explicit stack (not recursion: Python stops recursing after
    ~1000 levels, and real graphs are deeper).  A node is appended once all its parents are.
    """
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        v, parents_done = stack.pop()
        if parents_done:
            order.append(v)
            continue
        if id(v) in seen:
            continue
        seen.add(id(v))
        stack.append((v, True))               # come back to v after its parents
        for p in v._parents:
            if id(p) not in seen:
                stack.append((p, False))
    return order


# %% [markdown]
# ## 2. A neuron, by hand and by the chain rule
#
# `out = tanh(w1·x1 + w2·x2 + b)`: the computational graph is
# `x1, w1 → * ─┐`, `x2, w2 → * ─┤ + → + b → tanh → out`.
# Its topological order lists the inputs first and `out` last; `backward` walks it in reverse.

# %%
x1, x2 = Value(2.0), Value(0.0)
w1, w2 = Value(-3.0), Value(1.0)
b = Value(6.8813735870195432)
n = x1 * w1 + x2 * w2 + b
out = n.tanh()
out.backward()

print("topological order:", [v._op or "leaf" for v in topological_order(out)])
print("out =", out)
for name, v in [("x1", x1), ("w1", w1), ("x2", x2), ("w2", w2), ("b", b)]:
    print(f"d out / d {name} = {v.grad:+.4f}")

# check against the derivative written out by hand: d tanh(n)/dn = 1 - tanh(n)², dn/dw1 = x1, ...
local = 1.0 - math.tanh(n.data) ** 2
assert abs(out.data - math.tanh(-6.0 + 0.0 + 6.8813735870195432)) < 1e-12
assert abs(w1.grad - local * x1.data) < 1e-12
assert abs(x1.grad - local * w1.data) < 1e-12
assert abs(w2.grad - local * x2.data) < 1e-12 and abs(b.grad - local) < 1e-12
order = topological_order(out)
assert order[-1] is out and all(order.index(p) < order.index(v) for v in order for p in v._parents)

# %% [markdown]
# ## 3. The diamond: why gradients accumulate
#
# When one value feeds two places, a change in it changes the output along **both** paths, so
# its gradient is the **sum** of both paths' contributions.  Take `a` used twice:
#
# `c = a * b + a`  ⇒  dc/da = b + 1  (b through the product, 1 through the sum).
#
# The graph has a diamond shape: `a` fans out to `*` and `+`, and the paths meet again in `+`.

# %%
a, b = Value(2.0), Value(-3.0)
c = a * b + a
c.backward()
print(f"c = {c.data}, dc/da = {a.grad}, dc/db = {b.grad}")
assert a.grad == b.data + 1.0 == -2.0
assert b.grad == a.data == 2.0


# %% [markdown]
# If `_receive` *assigned* instead of adding, the path handled last would overwrite the other
# one.  Here is that bug, isolated:

# %%
class ForgetfulValue(Value):
    """The classic autograd bug: `grad = ...` instead of `grad += ...`."""

    def _receive(self, gradient):
        self.grad = gradient


a, b = ForgetfulValue(2.0), ForgetfulValue(-3.0)
c = a * b + a
c.backward()
print(f"with '=' instead of '+=': dc/da = {a.grad} (should be -2.0)")
assert a.grad != -2.0

# %% [markdown]
# The same rule explains why **`.grad` accumulates across `backward()` calls** in PyTorch and in
# tinygrad_edu: the engine always adds into `.grad`, so a training loop must reset it (to zero
# or `None`) before each step.
#
# ## 4. Depth is not a problem (no recursion)
#
# A chain of many operations is just a long graph; the explicit stack handles it.

# %%
depth = 2_000 if QUICK else 20_000
start = Value(1.0)
y = start
for _ in range(depth):
    y = y + 0.5
y.backward()
print(f"chain of {depth} additions: y = {y.data}, dy/dstart = {start.grad}")
assert start.grad == 1.0 and y.data == 1.0 + 0.5 * depth

# %% [markdown]
# ## 5. The same neuron with `tinygrad_edu.Tensor`
#
# A `Tensor` is a whole array with the same idea inside: every op records a node
# (its `grad_fn`), and `backward()` walks the graph in reverse topological order.  Leaves you
# create with `requires_grad=True` receive `.grad`; intermediate results don't keep it (unless
# you ask with `retain_grad()`), exactly as in PyTorch.

# %%
x = tg.tensor([2.0, 0.0], dtype=tg.float64)
w = tg.tensor([-3.0, 1.0], dtype=tg.float64, requires_grad=True)
bias = tg.tensor(6.8813735870195432, dtype=tg.float64, requires_grad=True)
pre = (x * w).sum() + bias
out_t = pre.tanh()
out_t.backward()
print("out  =", out_t)
print("w.grad =", w.grad, " bias.grad =", bias.grad)
print("pre.grad =", pre.grad, "(not a leaf: not kept)")

assert abs(out_t.item() - out.data) < 1e-12
assert abs(w.grad.tolist()[0] - w1.grad) < 1e-12 and abs(w.grad.tolist()[1] - w2.grad) < 1e-12
assert abs(bias.grad.item() - local) < 1e-12
assert pre.grad is None and w.is_leaf and not out_t.is_leaf

# %% [markdown]
# ### `.data` and `.array`: two views of the same numbers
#
# Our `Value` above kept its number in `.data`.  A real `Tensor` has two names for its memory:
#
# * `t.array` is the raw NumPy (or CuPy) array the engine computes with.  Every op's `forward`
#   receives these arrays; you only need it to read the engine's code or to hand numbers to NumPy.
# * `t.data` is PyTorch's `.data`: a **Tensor** over the same memory, cut from the graph.  Its
#   methods are tensor methods (`w.data.max(0)` returns values *and* indices, as in PyTorch), and an
#   in-place op on it changes `w` itself without autograd noticing: that is how old PyTorch code
#   wrote optimizer steps (`w.data.add_(w.grad, alpha=-lr)`).  Today's code writes the same step
#   under `torch.no_grad()`, which keeps the version checks that catch a mistake.

# %%
v = w.detach().clone().requires_grad_()            # a copy of w to play with
v.grad = w.grad.clone()
v_before = v.array.copy()
v.data.add_(v.grad, alpha=-0.1)                     # an SGD step, PyTorch's old way
assert isinstance(v.data, tg.Tensor) and not v.data.requires_grad
assert np.allclose(v.array, v_before - 0.1 * v.grad.array)   # v itself moved
print("v after one step through .data:", v)

# %% [markdown]
# ### The `grad_fn` chain
#
# `out_t.grad_fn` is the node of the last op; its `parents` are the nodes (or leaves) of its
# inputs.  Walking them back prints the graph that `backward()` traversed.

# %%
node, chain = out_t.grad_fn, []
while node is not None:
    chain.append(node.name())
    node = next((p for p in node.parents if isinstance(p, tg.autograd.Function)), None)
print(" <- ".join(chain))
assert chain == ["TanhBackward", "AddBackward", "SumBackward", "MulBackward"]

# %% [markdown]
# ### Drawing the graph
#
# `draw_graph` returns the graph as DOT text (Graphviz's language) and, given a path, renders it:
# with Graphviz's `dot` when installed, otherwise with matplotlib.  Blue boxes are leaves, grey
# boxes are ops (named like PyTorch's `grad_fn`s), green is the output.  Here is the diamond
# `a = 2x; loss = Σ exp(a)·sin(a)`: `a` feeds two branches, and its gradient is their sum.

# %%
xd = tg.tensor([0.5, 1.0, 1.5], dtype=tg.float64, requires_grad=True)
ad = xd * 2
loss_d = (ad.exp() * ad.sin()).sum()
dot = draw_graph(loss_d, OUTPUT / "01_diamond_graph.png", names={xd: "x", ad: "a", loss_d: "loss"})
print(dot)
show(OUTPUT / "01_diamond_graph.png")
assert dot.count(" -> n") == 7 and "ExpBackward" in dot and "SinBackward" in dot

loss_d.backward()
av = ad.detach().numpy()
expected = 2 * (tg.tensor(av).exp() * (tg.tensor(av).sin() + tg.tensor(av).cos()))  # both paths
print("x.grad =", xd.grad)
assert xd.grad.allclose(expected, rtol=1e-12)

# %% [markdown]
# ## 6. `no_grad`: computing without recording
#
# Evaluation and hand-written optimizer steps don't need a graph.  Inside `with tg.no_grad():`
# ops record nothing: no `grad_fn`, no saved values, no memory held.

# %%
with tg.no_grad():
    evaluated = ((x * w).sum() + bias).tanh()
print("under no_grad:", evaluated, "grad_fn =", evaluated.grad_fn)
assert evaluated.grad_fn is None and not evaluated.requires_grad
assert evaluated.item() == out_t.item()  # same number, no graph

# one step of gradient descent on the neuron's weights, the way optimizers do it
with tg.no_grad():
    w -= 0.1 * w.grad
    bias -= 0.1 * bias.grad
w.grad = bias.grad = None
new_out = ((x * w).sum() + bias).tanh()
print(f"after one step: out went from {out_t.item():.4f} to {new_out.item():.4f}")
assert new_out.item() < out_t.item()  # we stepped against the gradient of out

# %% [markdown]
# ## 7. A second derivative: differentiate the backward pass
#
# The backward formulas of tinygrad_edu are written with Tensor ops.  With
# `create_graph=True` the backward pass is itself recorded, so the gradient is a function we can
# differentiate again.  For y = tanh(x):  dy/dx = 1 − tanh²x and d²y/dx² = −2 tanh x (1 − tanh²x).

# %%
xs = tg.tensor([-1.0, 0.0, 0.5, 2.0], dtype=tg.float64, requires_grad=True)
dy, = tg.autograd.grad(xs.tanh().sum(), xs, create_graph=True)
d2y, = tg.autograd.grad(dy.sum(), xs)
t = xs.detach().tanh()
print("dy/dx   =", dy.detach())
print("d2y/dx2 =", d2y)
assert dy.detach().allclose(1 - t * t, rtol=1e-12)
assert d2y.allclose(-2 * t * (1 - t * t), rtol=1e-12, atol=1e-15)

# %% [markdown]
# ## What to remember
#
# * A forward pass records a graph; `backward()` visits it in reverse topological order and
#   applies each op's local derivative (the chain rule).
# * Gradients from different paths **add up** (the diamond) — and `.grad` accumulates across
#   calls, so reset it every training step.
# * `no_grad()` turns recording off; `create_graph=True` records the backward pass itself, which
#   gives higher derivatives.
#
# Next: [02_gradient_checking.py](02_gradient_checking.py) — how to *prove* a backward formula
# is right.

# %%
print("tutorial 01 finished")
