"""The ``adam_step`` kernel: one Adam / AdamW update of one parameter in a single pass.

For each entry (g the gradient, θ the parameter, t the step; see ``tinygrad_edu/optim/adam.py``)::

    g ← -g                                   if maximize
    g ← g + λθ   (Adam)  or  θ ← θ(1 - γλ)   (AdamW, decoupled)
    m ← m + (1-β₁)(g - m)                    (PyTorch's lerp; from the other end when 1-β₁ ≥ 0.5)
    v ← β₂v + (1-β₂)g²;   v̂ ← max(v̂, v) if amsgrad
    θ ← θ + (-γ/(1-β₁ᵗ)) · m / (√v / √(1-β₂ᵗ) + ε)

There is no gradient to derive: an optimizer step is not differentiated.

The reference runs that as about twelve NumPy passes, half of them allocating a temporary of the
parameter's size; for BERT's 22.7 M parameters every pass streams ~90 MB through memory.  The numba loop
reads θ, g, m, v once and writes θ, m, v once, keeping every intermediate in registers (and SIMD lanes).
Each scalar (1-β₁, γλ, the bias corrections …) is computed in Python double exactly as the reference
computes it and then rounded to the parameter's dtype, as NumPy does with a Python float against a
float32 array; the operations then run in the reference's order on float32 values without fast-math,
so results are bit-for-bit the reference's (the tests check equality).

Measured on the op (AdamW, float32, 1 thread, one tensor; reference → numba):

=============  =================  =====
entries        time               gain
=============  =================  =====
1 024          0.015 → 0.010 ms   1.5×
16 384         0.031 → 0.013 ms   2.3×
65 536         0.15 → 0.039 ms    3.9×
1 048 576      6.4 → 0.58 ms      11×
22 700 000     314 → 42 ms        7.5×   (BERT's whole model as one tensor)
=============  =================  =====

The whole ``AdamW.step()`` of BERT fine-tuning (MiniLM size, 22.7 M parameters in 105 tensors) went
from 144 ms to 26 ms (5.5×); at GPT's size (0.8 M parameters) it is a few ms either way.

Below ``MIN_SIZE`` entries both take a few microseconds of call overhead, so tiny tensors keep the
reference.  A first version branched on the options inside the loop and used numba's default
``error_model="python"`` (a zero check before every division): LLVM then could not vectorise it and it
was *slower* than NumPy up to ~256 K entries; selects and ``error_model="numpy"`` fixed both.

The CuPy tier is one ``cupy.ElementwiseKernel`` with the same body.
"""
import importlib.util

import numba
import numpy as np

from tinygrad_edu.backend import register_kernel
from tinygrad_edu.optim.adam import _adam_step_reference

_COMPILED = (np.dtype(np.float32), np.dtype(np.float64))
MIN_SIZE = 1024   # entries; below it the two are about as fast (measured, see the docstring)


# ----------------------------------------------------------------------------- numba (CPU)
@numba.njit(cache=True, error_model="numpy")  # numpy: x/0 gives inf/NaN, no Python check
def _adam_loop(param, grad, m, v, vmax, maximize, l2, decoupled, weight_decay, shrink, lerp_near,
               lerp_weight, lerp_far_weight, beta2, one_minus_beta2, bias_correction2_sqrt, eps,
               neg_step_size):
    """The update over flat arrays (``vmax`` None without amsgrad); scalars in the arrays' dtype.
    The options are selects (``a if flag else b``), not branches, so LLVM vectorises the loop."""
    for i in range(param.shape[0]):
        g = grad[i]
        g = -g if maximize else g
        p = param[i]
        p = p * shrink if decoupled else p
        g = g + weight_decay * p if l2 else g
        mi = m[i]
        mi = mi + lerp_weight * (g - mi) if lerp_near else g - (g - mi) * lerp_far_weight
        vi = v[i] * beta2
        vi = vi + one_minus_beta2 * g * g
        m[i] = mi
        v[i] = vi
        if vmax is not None:
            top = vmax[i]
            top = vi if vi > top or vi != vi else top    # np.maximum: NaN wins
            vmax[i] = top
            vi = top
        denom = np.sqrt(vi) / bias_correction2_sqrt
        denom = denom + eps
        param[i] = p + neg_step_size * mi / denom


def _flat_views(*arrays):
    """1-d views of C-contiguous arrays of one dtype and shape, or None when they are not that."""
    first = arrays[0]
    for a in arrays:
        if a is None:
            continue
        if not isinstance(a, np.ndarray) or a.dtype != first.dtype or a.shape != first.shape \
                or not a.flags.c_contiguous:
            return None
    return [None if a is None else a.reshape(-1) for a in arrays]


def adam_step_numba(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, step, lr, beta1, beta2, eps,
                    weight_decay, decoupled, maximize):
    """``_adam_step_reference`` in one numba pass, for float32/float64 C-contiguous arrays of at least
    ``MIN_SIZE`` entries; anything else goes to the reference."""
    flat = None
    if param.dtype in _COMPILED and param.size >= MIN_SIZE and param.flags.writeable:
        flat = _flat_views(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq)
    if flat is None:
        return _adam_step_reference(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step=step, lr=lr,
                                    beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                                    decoupled=decoupled, maximize=maximize)
    decay = weight_decay != 0
    _adam_loop(*flat, bool(maximize), decay and not decoupled, decay and bool(decoupled), *_scalars(
        param.dtype.type, step, lr, beta1, beta2, eps, weight_decay))


def _scalars(kind, step, lr, beta1, beta2, eps, weight_decay):
    """The loop's scalars, computed in Python double as the reference computes them, then rounded to
    the arrays' dtype (what NumPy does to a Python float meeting a float32 array)."""
    lerp_weight = 1 - beta1
    bias_correction1 = 1 - beta1 ** step
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    return (kind(weight_decay), kind(1 - lr * weight_decay), abs(lerp_weight) < 0.5, kind(lerp_weight),
            kind(1 - lerp_weight), kind(beta2), kind(1 - beta2), kind(bias_correction2_sqrt), kind(eps),
            kind(-(lr / bias_correction1)))


# ----------------------------------------------------------------------------- CuPy (GPU)
def _cupy_body(amsgrad):
    """The loop body of ``_adam_loop`` in CUDA C (``vmax`` exists only with amsgrad)."""
    return """
    T gi = maximize ? -g : g;
    T pi = decoupled ? p * shrink : p;
    gi = l2 ? gi + weight_decay * pi : gi;
    T mi = lerp_near ? m + lerp_weight * (gi - m) : gi - (gi - m) * lerp_far_weight;
    T vi = v * beta2;
    vi = vi + one_minus_beta2 * gi * gi;
    m = mi;
    v = vi;
""" + ("""
    if (vi > vmax || vi != vi) vmax = vi;
    vi = vmax;
""" if amsgrad else "") + """
    T denom = sqrt(vi) / bias_correction2_sqrt;
    denom = denom + eps;
    p = pi + neg_step_size * mi / denom;
"""


_CUPY_KERNELS = {}  # amsgrad -> cupy.ElementwiseKernel


def _cupy_kernel(amsgrad):
    import cupy
    if amsgrad not in _CUPY_KERNELS:
        _CUPY_KERNELS[amsgrad] = cupy.ElementwiseKernel(
            "T g, bool maximize, bool l2, bool decoupled, T weight_decay, T shrink, bool lerp_near, "
            "T lerp_weight, T lerp_far_weight, T beta2, T one_minus_beta2, T bias_correction2_sqrt, T eps, "
            "T neg_step_size",
            "T p, T m, T v" + (", T vmax" if amsgrad else ""), _cupy_body(amsgrad),
            f"tinygrad_edu_adam_step{'_amsgrad' if amsgrad else ''}")
    return _CUPY_KERNELS[amsgrad]


def adam_step_cupy(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, step, lr, beta1, beta2, eps,
                   weight_decay, decoupled, maximize):
    """The same update as one elementwise CUDA kernel (float32/float64; else the reference)."""
    others = [a for a in (grad, exp_avg, exp_avg_sq, max_exp_avg_sq) if a is not None]
    if param.dtype not in _COMPILED or any(a.dtype != param.dtype or a.shape != param.shape for a in others):
        return _adam_step_reference(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step=step, lr=lr,
                                    beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                                    decoupled=decoupled, maximize=maximize)
    amsgrad = max_exp_avg_sq is not None
    outputs = (param, exp_avg, exp_avg_sq) + ((max_exp_avg_sq,) if amsgrad else ())
    decay = weight_decay != 0
    _cupy_kernel(amsgrad)(grad, bool(maximize), decay and not decoupled, decay and bool(decoupled),
                          *_scalars(param.dtype.type, step, lr, beta1, beta2, eps, weight_decay), *outputs)


register_kernel("adam_step", "numpy", adam_step_numba, tier="fast")
if importlib.util.find_spec("cupy") is not None:
    register_kernel("adam_step", "cupy", _adam_step_reference, tier="reference")
    register_kernel("adam_step", "cupy", adam_step_cupy, tier="fast")
