"""Lab 5 — batch norm and layer norm, forward and backward, in plain NumPy.

Both layers standardise numbers, then scale and shift them with learned parameters ``gamma``, ``beta``:

    xhat = (x - mean) / sigma,     sigma = sqrt(var + eps),     out = gamma * xhat + beta

They differ in *which* numbers share a mean and a variance.

**Batch norm** (``torch.nn.functional.batch_norm``) works per channel: ``x`` is ``(N, C)``,
``(N, C, L)`` or ``(N, C, H, W)``, channel ``c`` is everything with index ``c`` on axis 1, and its
statistics are taken over every other axis (N, then L, or H and W).  ``gamma`` and ``beta`` are
``(C,)``.  In training mode the batch's own statistics normalise, with the **biased** variance
(the mean of ``(x - mean)**2``, divided by the count ``n`` of values per channel).

Alongside, the layer keeps **running statistics** for evaluation, updated at every training step
with ``momentum`` as PyTorch does:

    running_mean = (1 - momentum) * running_mean + momentum * batch_mean
    running_var  = (1 - momentum) * running_var  + momentum * batch_var_unbiased   (divide by n - 1)

In evaluation mode the running statistics replace the batch's: the output no longer depends on the
other samples of the batch.

**Layer norm** (``torch.nn.functional.layer_norm``) works per sample: the statistics are taken over the
last ``len(normalized_shape)`` axes of ``x`` (whose sizes are ``normalized_shape``), separately for
every index of the leading axes; ``gamma`` and ``beta`` have the shape ``normalized_shape``.

**The cache.**  Both forwards return ``(out, cache)`` with ``cache = (xhat, gamma, sigma)``: ``xhat``
shaped like ``x``, ``gamma`` as given, and ``sigma`` with the reduced axes kept as size 1 (``keepdims``),
so that it broadcasts against ``x``: ``(1, C)`` or ``(1, C, 1, 1)`` for batch norm, ``(N, 1)`` or
``(N, T, 1)`` for layer norm.

**Backward.**  With ``g = gamma * grad_out`` (gamma broadcast like in the forward), ``n`` the number of
values sharing one mean and one sigma, and every sum over those ``n`` values:

    dbeta  = sum of grad_out              over the axes that gamma is shared across
    dgamma = sum of grad_out * xhat       over the same axes
    dx     = (n * g - sum(g) - xhat * sum(g * xhat)) / (n * sigma)

``dx`` has three terms because every input reaches the output three ways: directly, through the mean,
and through the variance.  For batch norm the sums of dx and of dgamma/dbeta run over the same axes
(N, H, W); for layer norm dx sums over the normalised (last) axes while dgamma and dbeta sum over the
leading ones.

Your tasks (see handout.md).  Run the public checks with ``python -m tinygrad_edu lab check 5 .``.
"""
import numpy as np


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Batch norm in training mode of ``x`` (N, C, ...) with ``gamma``, ``beta`` of shape (C,): the batch
    mean and the BIASED batch variance of each channel (over every axis but 1), ``sigma = sqrt(var +
    eps)``.  Return ``(out, (xhat, gamma, sigma))``, ``sigma`` of shape (1, C, 1, ...)."""
    # BEGIN SOLUTION batchnorm_forward
    axes = (0,) + tuple(range(2, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    sigma = np.sqrt(var + eps)
    xhat = (x - mean) / sigma
    out = gamma.reshape(sigma.shape) * xhat + beta.reshape(sigma.shape)
    return out, (xhat, gamma, sigma)
    # END SOLUTION


def update_running_stats(running_mean, running_var, x, momentum=0.1):
    """The running statistics after one training step on ``x`` (N, C, ...): return the new pair
    ``(running_mean, running_var)``, each (C,), where the new variance uses the UNBIASED batch variance
    (divide by n - 1, n the number of values per channel)."""
    # BEGIN SOLUTION running_stats
    axes = (0,) + tuple(range(2, x.ndim))
    batch_mean = x.mean(axis=axes)
    batch_var = x.var(axis=axes, ddof=1)
    new_mean = (1 - momentum) * running_mean + momentum * batch_mean
    new_var = (1 - momentum) * running_var + momentum * batch_var
    return new_mean, new_var
    # END SOLUTION


def batchnorm_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """Batch norm in evaluation mode: ``x`` (N, C, ...) normalised per channel with the running
    statistics (each (C,)) instead of the batch's."""
    # BEGIN SOLUTION running_stats
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    sigma = np.sqrt(running_var.reshape(shape) + eps)
    xhat = (x - running_mean.reshape(shape)) / sigma
    return gamma.reshape(shape) * xhat + beta.reshape(shape)
    # END SOLUTION


def batchnorm_backward(grad_out, cache):
    """Gradients of ``batchnorm_forward`` given ``grad_out`` (shaped like x) and its ``cache = (xhat,
    gamma, sigma)``: return ``(dx, dgamma, dbeta)`` shaped like x, (C,) and (C,)."""
    xhat, gamma, sigma = cache
    # BEGIN SOLUTION batchnorm_backward
    axes = (0,) + tuple(range(2, xhat.ndim))
    n = xhat.size / xhat.shape[1]
    dbeta = grad_out.sum(axis=axes)
    dgamma = (grad_out * xhat).sum(axis=axes)
    g = gamma.reshape(sigma.shape) * grad_out
    total = g.sum(axis=axes, keepdims=True)
    projection = (g * xhat).sum(axis=axes, keepdims=True)
    dx = (n * g - total - xhat * projection) / (n * sigma)
    return dx, dgamma, dbeta
    # END SOLUTION


def layernorm_forward(x, normalized_shape, gamma, beta, eps=1e-5):
    """Layer norm of ``x`` over its last ``len(normalized_shape)`` axes (``normalized_shape``: a tuple,
    or an int for one axis), with ``gamma``, ``beta`` of shape ``normalized_shape``: return
    ``(out, (xhat, gamma, sigma))``, ``sigma`` with the normalised axes kept as size 1."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    # BEGIN SOLUTION layernorm_forward
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    sigma = np.sqrt(var + eps)
    xhat = (x - mean) / sigma
    return gamma * xhat + beta, (xhat, gamma, sigma)
    # END SOLUTION


def layernorm_backward(grad_out, cache):
    """Gradients of ``layernorm_forward`` given ``grad_out`` (shaped like x) and its ``cache = (xhat,
    gamma, sigma)``: return ``(dx, dgamma, dbeta)`` shaped like x, gamma and gamma.  The normalised
    axes are the last ``gamma.ndim`` axes."""
    xhat, gamma, sigma = cache
    # BEGIN SOLUTION layernorm_backward
    lead = tuple(range(xhat.ndim - gamma.ndim))
    axes = tuple(range(xhat.ndim - gamma.ndim, xhat.ndim))
    m = gamma.size
    dbeta = grad_out.sum(axis=lead)
    dgamma = (grad_out * xhat).sum(axis=lead)
    g = gamma * grad_out
    total = g.sum(axis=axes, keepdims=True)
    projection = (g * xhat).sum(axis=axes, keepdims=True)
    dx = (m * g - total - xhat * projection) / (m * sigma)
    return dx, dgamma, dbeta
    # END SOLUTION
