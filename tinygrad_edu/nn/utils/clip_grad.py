"""Gradient clipping: keep one bad batch from throwing the parameters far away.

``clip_grad_norm_`` treats all gradients together as one long vector G = (g₁, g₂, …) and
rescales it when its norm exceeds ``max_norm``:

    ‖G‖ₚ = (Σᵢ ‖gᵢ‖ₚᵖ)^(1/p)          the norm of the per-tensor norms (p = ``norm_type``)
    ‖G‖∞ = maxᵢ ‖gᵢ‖∞ = max |entry|
    c    = min(1, max_norm / (‖G‖ + 10⁻⁶))
    gᵢ   ← c · gᵢ                      for every gradient, in place

so the *direction* of the update is kept and only its length is capped (Pascanu, Mikolov &
Bengio, 2013).  The 10⁻⁶ keeps the division finite when every gradient is zero.

``clip_grad_value_`` instead clamps each entry to [-clip_value, clip_value], which changes the
direction too.

Both work on the raw arrays of ``p.grad`` (nothing is recorded for autograd) and bump each
gradient's version counter, like any in-place change.  They follow PyTorch's arithmetic: the
per-tensor norms, then the norm of those, in the gradients' dtype; the scale is multiplied in
even when it is 1.  ``foreach`` (which picks PyTorch's batched kernels) is accepted and ignored:
there is one implementation here.
"""
import types
import warnings

import numpy as np

from ...backend import array_module, device_of, to_device
from ...tensor import Tensor


def _as_list(parameters, op):
    """A Tensor or an iterable of Tensors as a list; warns on an empty generator as PyTorch."""
    if isinstance(parameters, Tensor):
        return [parameters]
    is_generator = isinstance(parameters, types.GeneratorType)
    try:
        parameters = list(parameters)
    except TypeError:
        raise TypeError(f"{op}: parameters must be a Tensor or an iterable of Tensors, got "
                        f"{type(parameters).__name__}") from None
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameters must be Tensors, but item {i} is a "
                            f"{type(p).__name__}")
    if is_generator and not parameters:
        warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.",
                      stacklevel=3)
    return parameters


def _vector_norm(array, norm_type, op):
    """‖x‖ₚ of all entries of ``array``, in its dtype (a 0-d array)."""
    xp = array_module(array)
    magnitude = xp.abs(array)
    if norm_type == np.inf or norm_type == -np.inf:
        if array.size == 0:
            raise RuntimeError(f"{op}: cannot compute the {norm_type} norm of an empty gradient "
                               f"(shape {tuple(array.shape)}): max/min of nothing is undefined")
        return magnitude.max() if norm_type > 0 else magnitude.min()
    if norm_type == 0:
        return xp.asarray(xp.count_nonzero(array), dtype=array.dtype)
    if norm_type == 1:
        return magnitude.sum()
    if norm_type == 2:
        return xp.sqrt((magnitude * magnitude).sum())
    return (magnitude ** norm_type).sum() ** (1.0 / norm_type)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """‖(t₁, t₂, …)‖ₚ: the ``norm_type`` norm of all ``tensors`` seen as one vector, computed as
    the norm of their individual norms.  Returns a 0-d Tensor (0 when there are none)."""
    tensors = _as_list(tensors, "get_total_norm")
    norm_type = float(norm_type)
    if not tensors:
        return Tensor._wrap(np.asarray(0.0, dtype=np.float32))
    arrays = [t.array for t in tensors]
    first_device = device_of(arrays[0])
    dtype = np.result_type(*[a.dtype for a in arrays])
    norms = [to_device(_vector_norm(a, norm_type, "get_total_norm"), first_device).astype(dtype)
             for a in arrays]
    xp = array_module(norms[0])
    total = _vector_norm(xp.stack(norms), norm_type, "get_total_norm")
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                           "is non-finite, so it cannot be clipped. To disable this error and "
                           "scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    return Tensor._wrap(total)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale every ``p.grad`` in place by min(1, max_norm / (total_norm + 1e-6))."""
    parameters = _as_list(parameters, "clip_grads_with_norm_")
    max_norm = float(max_norm)
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    total = total_norm.array if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    clip_coef = max_norm / (total + 1e-6)
    xp = array_module(clip_coef)
    clip_coef_clamped = xp.minimum(clip_coef, 1.0)
    for g in grads:
        g.array *= to_device(clip_coef_clamped, device_of(g.array)).astype(g.array.dtype)
        g._version_box[0] += 1


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Rescale the gradients of ``parameters`` (a Tensor or an iterable of them) in place so
    that their total ``norm_type`` norm is at most ``max_norm``; return the total norm *before*
    clipping as a 0-d Tensor (worth logging: spikes show instability).  ``norm_type`` may be
    ``float('inf')`` (the largest |entry|).  ``error_if_nonfinite=True`` raises a RuntimeError
    when the norm is inf or NaN instead of scaling by it."""
    parameters = _as_list(parameters, "clip_grad_norm_")
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Deprecated alias of ``clip_grad_norm_`` (kept, as in PyTorch, with a FutureWarning)."""
    warnings.warn("`nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every entry of every ``p.grad`` to [-clip_value, clip_value], in place."""
    parameters = _as_list(parameters, "clip_grad_value_")
    clip_value = float(clip_value)
    for p in parameters:
        if p.grad is None:
            continue
        g = p.grad.array
        array_module(g).clip(g, -clip_value, clip_value, out=g)
        p.grad._version_box[0] += 1
