"""Gradient checking: is a backward formula right?  Compare it with finite differences.

A backward pass computes derivatives *analytically*, from formulas someone wrote down (and may
have got wrong).  The definition of a derivative gives an independent way to get the same numbers
from nothing but forward passes:

    ∂f/∂xᵢ ≈ (f(x + ε·eᵢ) − f(x − ε·eᵢ)) / 2ε          (eᵢ: the i-th unit vector)

``gradcheck`` builds the whole Jacobian ∂(every output entry)/∂(every input entry) both ways and
compares them, entry by entry, for **every** index of every input that requires grad (checking a
few sampled entries misses the bug that only touches, say, the last column).

Why *central* differences?  The one-sided quotient (f(x+ε) − f(x))/ε has error ≈ ε·f''/2: it is
only first-order accurate.  In the central one the even terms of the Taylor series cancel, leaving
an error ≈ ε²·f'''/6.  With ε = 1e-6 that is ~1e-12 instead of ~1e-6.

Why *float64*?  Subtracting two nearly equal numbers loses digits: f(x+ε) and f(x−ε) agree in all
but their last few digits, and dividing by 2ε magnifies the rounding error of f (≈ machine
epsilon × |f|) by 1/ε.  In float64 (epsilon ≈ 1.1e-16) that is ~1e-10 at ε = 1e-6; in float32
(epsilon ≈ 6e-8) it would be ~0.06 — larger than most gradients.  So check in float64.

What does the tolerance mean?  Two numbers a (analytic) and n (numeric) pass when

    |a − n| ≤ atol + rtol · |n|

the test ``numpy.allclose`` uses.  ``rtol · |n|`` is a *relative* error budget: a gradient of
1000 may be off by 1 (0.1 %) and one of 0.001 by 1e-6 — the error that matters is the error
compared with the size of the number.  ``atol`` is the floor for gradients that should be 0,
where any relative budget would be zero too.

    import tinygrad_edu as tg
    from tinygrad_edu.autograd import gradcheck
    x = tg.randn(3, 4, dtype=tg.float64, requires_grad=True)
    gradcheck(lambda t: (t * t).sum(dim=1), (x,))          # True, or GradcheckError saying where
"""
import warnings

import numpy as np

from . import grad_mode
from ..backend import array_module, to_device
from .engine import grad as _grad


class GradcheckError(RuntimeError):
    """The analytic and numeric Jacobians differ (the message says where and by how much)."""


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------
def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _to_float64_numpy(t):
    """A NumPy float64 *copy* of a tensor's values (copied: the output may be a view of an input
    we are about to perturb)."""
    return np.array(to_device(t.array, "cpu"), dtype=np.float64, copy=True)


def _is_float(t):
    return isinstance(t, Tensor) and t.array.dtype.kind in "fc"


def _differentiable_inputs(inputs):
    """Indices (into ``inputs``) of the tensors gradcheck perturbs: those that require grad."""
    return [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]


def _warn_if_not_float64(inputs, who):
    for i in _differentiable_inputs(inputs):
        if inputs[i].array.dtype != np.float64:
            warnings.warn(
                f"{who}: input {i} has dtype {inputs[i].array.dtype}, not float64. Finite differences "
                "in low precision are dominated by rounding error (see the module docstring); "
                "the check may fail for a correct backward. Use dtype=float64 inputs.",
                UserWarning, stacklevel=3)


def _outputs_of(fn, inputs):
    outputs = _as_tuple(fn(*inputs))
    for k, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor or a tuple of Tensors; output {k} is "
                            f"a {type(out).__name__}")
    return outputs


# ---------------------------------------------------------------------------------------------
# The two Jacobians
# ---------------------------------------------------------------------------------------------
def numerical_jacobian(fn, inputs, eps=1e-6):
    """J[k][i]: a (numel of output k, numel of input i) array of central differences.

    Each entry of each input that requires grad is nudged by ±eps in place (and restored exactly),
    and ``fn`` is run again: 2 forward passes per input entry.
    """
    inputs = _as_tuple(inputs)
    wrt = _differentiable_inputs(inputs)
    base = [_to_float64_numpy(o) for o in _outputs_of(fn, inputs)]
    jac = [[None] * len(inputs) for _ in base]
    for i in wrt:
        x = inputs[i]
        original_array = x.array
        work = original_array.copy()  # always writable and owned, whatever the caller passed
        x.array = work
        columns = [np.zeros((b.size, work.size)) for b in base]
        try:
            for col, idx in enumerate(np.ndindex(*work.shape)):
                kept = work[idx].copy()
                work[idx] = kept + eps
                plus = [_to_float64_numpy(o) for o in _outputs_of(fn, inputs)]
                work[idx] = kept - eps
                minus = [_to_float64_numpy(o) for o in _outputs_of(fn, inputs)]
                work[idx] = kept  # restore bit for bit
                for k, (p, m) in enumerate(zip(plus, minus)):
                    columns[k][:, col] = ((p - m) / (2.0 * eps)).reshape(-1)
        finally:
            x.array = original_array
        for k in range(len(base)):
            jac[k][i] = columns[k]
    return jac


def analytical_jacobian(fn, inputs):
    """J[k][i] from the backward pass: row r of J[k] is the vector-Jacobian product of a one-hot
    ``grad_outputs`` (1 at entry r of output k) — exactly what ``autograd.grad`` computes.
    Also returns the outputs' shapes (to name an output entry in an error message)."""
    inputs = _as_tuple(inputs)
    wrt = _differentiable_inputs(inputs)
    with grad_mode.enable_grad():
        outputs = _outputs_of(fn, inputs)
    jac = [[None] * len(inputs) for _ in outputs]
    for k, out in enumerate(outputs):
        n_out = int(out.array.size)
        rows = {i: np.zeros((n_out, inputs[i].array.size)) for i in wrt}
        if out.requires_grad and _is_float(out) and wrt:
            xp = array_module(out.array)
            for r in range(n_out):
                onehot = xp.zeros(out.array.size, dtype=out.array.dtype)
                onehot[r] = 1
                seed = Tensor._wrap(onehot.reshape(out.array.shape))
                grads = _grad(out, [inputs[i] for i in wrt], grad_outputs=seed,
                              retain_graph=True, allow_unused=True)
                for i, g in zip(wrt, grads):
                    if g is None:
                        continue  # the output does not depend on this input: a zero row
                    if tuple(g.shape) != tuple(inputs[i].shape):
                        raise GradcheckError(
                            f"gradcheck: the gradient for input {i} has shape {tuple(g.shape)}, "
                            f"expected the input's shape {tuple(inputs[i].shape)}")
                    rows[i][r] = _to_float64_numpy(g).reshape(-1)
        for i in wrt:
            jac[k][i] = rows[i]
    return jac, [tuple(o.shape) for o in outputs]


# ---------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------
def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Check ``fn``'s backward against central finite differences, over every entry of every input
    that requires grad.

    ``fn(*inputs)`` returns a Tensor or a tuple of Tensors; ``inputs`` is a Tensor or a tuple
    (non-tensor items are passed through untouched).  Inputs should be float64 (a warning says so
    otherwise).  Returns True; on a mismatch raises ``GradcheckError`` naming the input, the entry,
    the output, the analytic and numeric values and the largest difference — or returns False
    when ``raise_exception=False``.
    """
    inputs = _as_tuple(inputs)
    _warn_if_not_float64(inputs, "gradcheck")
    wrt = _differentiable_inputs(inputs)
    if not wrt:
        raise ValueError("gradcheck: no input requires grad; pass tensors with requires_grad=True")
    analytic, out_shapes = analytical_jacobian(fn, inputs)
    numeric = numerical_jacobian(fn, inputs, eps)
    for k in range(len(analytic)):
        for i in wrt:
            a, n = analytic[k][i], numeric[k][i]
            bad = ~(np.abs(a - n) <= atol + rtol * np.abs(n))   # also catches NaN
            if not bad.any():
                continue
            r, c = np.argwhere(bad)[0]
            entry = tuple(int(v) for v in np.unravel_index(c, inputs[i].shape))
            out_entry = tuple(int(v) for v in np.unravel_index(r, out_shapes[k]))
            diff = np.abs(a - n)
            worst = float(np.nanmax(diff)) if not np.isnan(diff).all() else float("nan")
            message = (
                f"gradcheck: Jacobian mismatch for output {k} with respect to input {i}: "
                f"d(output {k}{list(out_entry)})/d(input {i}{list(entry)}) is analytic "
                f"{float(a[r, c])!r} vs numeric {float(n[r, c])!r} (input index {i}, entry index "
                f"{entry}, output index {k}). Max abs difference over this Jacobian block: "
                f"{worst!r}; {int(bad.sum())} of {bad.size} entries are outside "
                f"atol={atol} + rtol={rtol}·|numeric|.\n"
                f"analytic Jacobian (rows: output entries, columns: input entries):\n{a}\n"
                f"numeric Jacobian:\n{n}")
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True):
    """Check *second* derivatives: gradcheck applied to the backward pass itself.

    The vector-Jacobian product v ↦ vᵀ·∂f/∂x (what backward computes, with ``create_graph=True``
    so it is recorded) is a function of the inputs *and* of v (``grad_outputs``).  Its own
    derivatives are second derivatives of f (and the Jacobian itself, for v); gradcheck compares
    them with finite differences of the backward pass.  ``grad_outputs`` default to random float64
    tensors (a fixed seed: reproducible) that require grad.
    """
    inputs = _as_tuple(inputs)
    _warn_if_not_float64(inputs, "gradgradcheck")
    wrt = _differentiable_inputs(inputs)
    if not wrt:
        raise ValueError("gradgradcheck: no input requires grad; pass tensors with requires_grad=True")
    with grad_mode.enable_grad():
        outputs = _outputs_of(fn, inputs)
    diff_out = [k for k, o in enumerate(outputs) if o.requires_grad and _is_float(o)]
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = []
        for k in diff_out:
            o = outputs[k]
            v = rng.standard_normal(o.shape).astype(o.array.dtype)
            grad_outputs.append(_leaf(to_device(v, o.device)))
    else:
        grad_outputs = list(_as_tuple(grad_outputs))
        if len(grad_outputs) != len(diff_out):
            raise ValueError(f"gradgradcheck: got {len(grad_outputs)} grad_outputs for "
                             f"{len(diff_out)} differentiable outputs")
    n_in = len(inputs)

    def vjp(*args):
        xs, vs = args[:n_in], args[n_in:]
        outs = _outputs_of(fn, xs)
        grads = _grad([outs[k] for k in diff_out], [xs[i] for i in wrt], grad_outputs=list(vs),
                      create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(vjp, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)


def _leaf(array):
    t = Tensor._wrap(array)
    t.requires_grad = True
    return t


from ..tensor import Tensor  # noqa: E402
