"""Lab 5, public checks: ``python -m tinygrad_edu lab check 5 DIR``.

Every expected value comes from PyTorch in float64 (``F.batch_norm`` with its running buffers,
``F.layer_norm``, and autograd for the gradients), on shapes drawn at grading time.  Each task is
checked alone: the backward tests build the cache ``(xhat, gamma, sigma)`` themselves, so a mistake in
a forward never costs points in its backward."""
import numpy as np
import torch
import torch.nn.functional as TF

from tinygrad_edu.labs.checks import LabFailure, expect_close, expect_shape, expect_true
from tinygrad_edu.labs.testing import lab_test

TIGHT = dict(rtol=1e-9, atol=1e-10)


# ----------------------------------------------------------------------------- helpers
def draw_bn_shape(rng, ndim, n=None):
    """A batch-norm input shape (N, C, ...) with ``ndim`` axes: N 2-5 (or ``n``), C 2-5, spatial 1-5."""
    n = int(rng.integers(2, 6)) if n is None else n
    return (n, int(rng.integers(2, 6))) + tuple(int(v) for v in rng.integers(1, 6, size=ndim - 2))


def draw_input(rng, shape):
    """Values with a channel-dependent offset and scale, so that wrong axes give wrong statistics."""
    offset = rng.uniform(-3, 3, size=shape[1:])
    scale = rng.uniform(0.5, 3, size=shape[1:])
    return offset + scale * rng.standard_normal(shape)


def reduced_axes_text(ndim):
    return {2: "N", 3: "N and L"}.get(ndim, "N, H and W")


def channel_axes(ndim):
    return (0,) + tuple(range(2, ndim))


def bn_cache(x, gamma, eps):
    """A correct batch-norm cache (xhat, gamma, sigma), sigma of shape (1, C, 1, ...)."""
    axes = channel_axes(x.ndim)
    sigma = np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    return (x - x.mean(axis=axes, keepdims=True)) / sigma, gamma, sigma


def ln_cache(x, gamma, eps):
    """A correct layer-norm cache over the last gamma.ndim axes."""
    axes = tuple(range(x.ndim - gamma.ndim, x.ndim))
    sigma = np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    return (x - x.mean(axis=axes, keepdims=True)) / sigma, gamma, sigma


def torch_batchnorm(x, gamma, beta, eps, grad_out=None):
    """F.batch_norm in training mode: the output, or with ``grad_out`` the gradients (dx, dgamma, dbeta)."""
    tx, tg, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, gamma, beta))
    out = TF.batch_norm(tx, None, None, tg, tb, training=True, eps=eps)
    if grad_out is None:
        return out.detach().numpy()
    out.backward(torch.tensor(grad_out, dtype=torch.float64))
    return tx.grad.numpy(), tg.grad.numpy(), tb.grad.numpy()


def torch_layernorm(x, normalized_shape, gamma, beta, eps, grad_out=None):
    tx, tg, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, gamma, beta))
    out = TF.layer_norm(tx, tuple(np.shape(gamma)), tg, tb, eps=eps)
    if grad_out is None:
        return out.detach().numpy()
    out.backward(torch.tensor(grad_out, dtype=torch.float64))
    return tx.grad.numpy(), tg.grad.numpy(), tb.grad.numpy()


def torch_running_stats(x, running_mean, running_var, momentum):
    """The running buffers after one F.batch_norm training step."""
    rm, rv = torch.tensor(running_mean), torch.tensor(running_var)
    TF.batch_norm(torch.tensor(x), rm, rv, training=True, momentum=momentum)
    return rm.numpy(), rv.numpy()


def unpack(what, got, count, names):
    expect_true(what, isinstance(got, tuple) and len(got) == count, f"should return a tuple {names}")
    return got


def check_cache(what, cache, x, gamma, eps, expected_cache, note):
    cache = unpack(f"{what}: the cache", cache, 3, "(xhat, gamma, sigma)")
    xhat, cached_gamma, sigma = expected_cache
    expect_close(f"{what}: sigma in the cache (sqrt(var + eps), the reduced axes kept as size 1){note}",
                 cache[2], sigma, **TIGHT)
    expect_close(f"{what}: xhat in the cache ((x - mean) / sigma){note}", cache[0], xhat, **TIGHT)
    expect_close(f"{what}: gamma in the cache", cache[1], cached_gamma, rtol=0, atol=0)


def check_batchnorm_forward(student, rng, shape, eps=1e-5, note=""):
    x, gamma, beta = draw_input(rng, shape), rng.uniform(0.5, 2, shape[1]), rng.standard_normal(shape[1])
    what = f"batchnorm_forward(x of shape {shape}, eps={eps})"
    try:
        got = student.batchnorm_forward(x, gamma, beta, eps)
    except (IndexError, ValueError) as exc:
        raise LabFailure(f"{what} raised {type(exc).__name__}: {exc}{note}") from None
    got = unpack(what, got, 2, "(out, cache)")
    expect_close(f"{what}: out{note}", got[0], torch_batchnorm(x, gamma, beta, eps), **TIGHT)
    check_cache(what, got[1], x, gamma, eps, bn_cache(x, gamma, eps), note)


# ----------------------------------------------------------------------------- batchnorm_forward
@lab_test("batchnorm_forward", points=3)
def test_batchnorm_forward_2d(student, ctx):
    for _ in range(3):
        check_batchnorm_forward(student, ctx.rng, draw_bn_shape(ctx.rng, 2))


@lab_test("batchnorm_forward", points=3)
def test_batchnorm_forward_images(student, ctx):
    for ndim in (4, 3, 4):
        shape = draw_bn_shape(ctx.rng, ndim)
        check_batchnorm_forward(student, ctx.rng, shape,
                                note=f" (one mean and one variance per channel, over the axes "
                                     f"{reduced_axes_text(ndim)} together)")


@lab_test("batchnorm_forward", points=2)
def test_batchnorm_forward_biased_variance(student, ctx):
    for shape in ((2, 3), (3, 2, 1, 1)):
        check_batchnorm_forward(student, ctx.rng, shape,
                                note=" (normalise with the BIASED batch variance: the mean of "
                                     "(x - mean)^2, divided by n, not n - 1)")


@lab_test("batchnorm_forward", points=2)
def test_batchnorm_forward_eps_inside_the_sqrt(student, ctx):
    for eps in (0.5, 2.0):
        check_batchnorm_forward(student, ctx.rng, draw_bn_shape(ctx.rng, 4), eps=eps,
                                note=" (eps goes INSIDE the square root: sigma = sqrt(var + eps))")


# ----------------------------------------------------------------------------- running_stats
def check_running_stats(student, rng, shape, momentum, note=""):
    x = draw_input(rng, shape)
    running_mean, running_var = rng.standard_normal(shape[1]), rng.uniform(0.5, 2, shape[1])
    what = f"update_running_stats(x of shape {shape}, momentum={momentum})"
    got = unpack(what, student.update_running_stats(running_mean.copy(), running_var.copy(), x, momentum),
                 2, "(running_mean, running_var)")
    want_mean, want_var = torch_running_stats(x, running_mean, running_var, momentum)
    expect_close(f"{what}: the new running_mean (1 - momentum) * running_mean + momentum * batch mean"
                 f"{note}", got[0], want_mean, **TIGHT)
    expect_close(f"{what}: the new running_var{note}", got[1], want_var, **TIGHT)


def check_batchnorm_eval(student, rng, shape, eps=1e-5, note=""):
    x = draw_input(rng, shape)
    gamma, beta = rng.uniform(0.5, 2, shape[1]), rng.standard_normal(shape[1])
    running_mean, running_var = rng.standard_normal(shape[1]), rng.uniform(0.2, 3, shape[1])
    what = f"batchnorm_eval(x of shape {shape}, eps={eps})"
    got = student.batchnorm_eval(x, gamma, beta, running_mean.copy(), running_var.copy(), eps)
    want = TF.batch_norm(torch.tensor(x), torch.tensor(running_mean), torch.tensor(running_var),
                         torch.tensor(gamma), torch.tensor(beta), training=False, eps=eps).numpy()
    expect_close(f"{what}: out (evaluation mode normalises with the RUNNING mean and variance, not the "
                 f"batch's){note}", got, want, **TIGHT)


@lab_test("running_stats", points=3)
def test_running_stats_match_torch(student, ctx):
    for ndim in (2, 4, 3):
        momentum = float(np.round(ctx.rng.uniform(0.05, 0.3), 3))
        check_running_stats(student, ctx.rng, draw_bn_shape(ctx.rng, ndim), momentum)


@lab_test("running_stats", points=2)
def test_running_var_is_unbiased(student, ctx):
    for shape in ((2, 3), (2, 2, 1, 2)):
        check_running_stats(student, ctx.rng, shape, 0.25,
                            note=" (the running variance takes the UNBIASED batch variance: divide by "
                                 "n - 1, as PyTorch does)")


@lab_test("running_stats", points=2)
def test_running_stats_momentum_weighs_the_batch(student, ctx):
    for momentum in (0.1, 0.8):
        check_running_stats(student, ctx.rng, draw_bn_shape(ctx.rng, 2), momentum,
                            note=" (momentum weighs the NEW batch statistic: "
                                 "r = (1 - momentum) * r + momentum * stat)")


@lab_test("running_stats", points=3)
def test_batchnorm_eval_uses_the_running_statistics(student, ctx):
    for ndim, eps in ((2, 1e-5), (4, 1e-5), (3, 0.5)):
        check_batchnorm_eval(student, ctx.rng, draw_bn_shape(ctx.rng, ndim), eps)


# ----------------------------------------------------------------------------- batchnorm_backward
def check_batchnorm_backward(student, rng, shape, eps=1e-5, note=""):
    x, gamma, beta = draw_input(rng, shape), rng.uniform(0.5, 2, shape[1]), rng.standard_normal(shape[1])
    grad_out = rng.standard_normal(shape)
    dx, dgamma, dbeta = torch_batchnorm(x, gamma, beta, eps, grad_out)
    what = f"batchnorm_backward(x of shape {shape})"
    try:
        got = student.batchnorm_backward(grad_out, bn_cache(x, gamma, eps))
    except (IndexError, ValueError) as exc:
        raise LabFailure(f"{what} raised {type(exc).__name__}: {exc}{note}") from None
    unpack(what, got, 3, "(dx, dgamma, dbeta)")
    over = reduced_axes_text(len(shape))
    expect_close(f"{what}: dbeta (the sum of grad_out over {over}){note}", got[2], dbeta, **TIGHT)
    expect_close(f"{what}: dgamma (the sum of grad_out * xhat over {over}){note}", got[1], dgamma, **TIGHT)
    expect_close(f"{what}: dx (n g - sum g - xhat sum(g xhat), over n sigma, g = gamma * grad_out)"
                 f"{note}", got[0], dx, **TIGHT)


@lab_test("batchnorm_backward", points=3)
def test_batchnorm_backward_2d(student, ctx):
    for _ in range(3):
        check_batchnorm_backward(student, ctx.rng, draw_bn_shape(ctx.rng, 2))


@lab_test("batchnorm_backward", points=3)
def test_batchnorm_backward_images(student, ctx):
    for ndim in (4, 3, 4):
        check_batchnorm_backward(student, ctx.rng, draw_bn_shape(ctx.rng, ndim),
                                 note=" (every sum runs over all the axes but the channel axis 1)")


# ----------------------------------------------------------------------------- layer norm
def draw_ln_case(rng, lead_ndim, norm_ndim):
    """A layer-norm input: ``lead_ndim`` leading axes, ``norm_ndim`` normalised ones, sizes 2-5."""
    shape = tuple(int(v) for v in rng.integers(2, 6, size=lead_ndim + norm_ndim))
    normalized = shape[lead_ndim:]
    x = rng.uniform(-3, 3, size=shape[:lead_ndim] + (1,) * norm_ndim) + \
        rng.uniform(0.5, 3, size=shape[:lead_ndim] + (1,) * norm_ndim) * rng.standard_normal(shape)
    return x, normalized, rng.uniform(0.5, 2, normalized), rng.standard_normal(normalized)


def check_layernorm_forward(student, x, normalized, gamma, beta, eps=1e-5, as_int=False, note=""):
    given = normalized[0] if as_int else normalized
    what = f"layernorm_forward(x of shape {x.shape}, normalized_shape={given!r}, eps={eps})"
    got = unpack(what, student.layernorm_forward(x, given, gamma, beta, eps), 2, "(out, cache)")
    expect_close(f"{what}: out{note}", got[0], torch_layernorm(x, normalized, gamma, beta, eps), **TIGHT)
    check_cache(what, got[1], x, gamma, eps, ln_cache(x, gamma, eps), note)


LN_NOTE = " (statistics per sample, over the last len(normalized_shape) axes together)"


@lab_test("layernorm_forward", points=3)
def test_layernorm_forward_last_axis(student, ctx):
    for lead in (1, 2):
        check_layernorm_forward(student, *draw_ln_case(ctx.rng, lead, 1), note=LN_NOTE)
    check_layernorm_forward(student, *draw_ln_case(ctx.rng, 1, 1), as_int=True,
                            note=" (an int normalized_shape means the last axis)")


@lab_test("layernorm_forward", points=3)
def test_layernorm_forward_several_axes(student, ctx):
    for lead, norm in ((1, 2), (2, 2), (1, 3)):
        check_layernorm_forward(student, *draw_ln_case(ctx.rng, lead, norm), note=LN_NOTE)


@lab_test("layernorm_forward", points=1)
def test_layernorm_forward_eps(student, ctx):
    check_layernorm_forward(student, *draw_ln_case(ctx.rng, 2, 1), eps=0.5,
                            note=" (eps goes INSIDE the square root: sigma = sqrt(var + eps))")


def check_layernorm_backward(student, rng, x, normalized, gamma, beta, eps=1e-5, note=""):
    grad_out = rng.standard_normal(x.shape)
    dx, dgamma, dbeta = torch_layernorm(x, normalized, gamma, beta, eps, grad_out)
    what = f"layernorm_backward(x of shape {x.shape}, normalized_shape={normalized})"
    try:
        got = student.layernorm_backward(grad_out, ln_cache(x, gamma, eps))
    except (IndexError, ValueError) as exc:
        raise LabFailure(f"{what} raised {type(exc).__name__}: {exc}{note}") from None
    unpack(what, got, 3, "(dx, dgamma, dbeta)")
    expect_shape(f"{what}: dbeta (summed over the leading axes, shaped like gamma)", got[2], gamma.shape)
    expect_close(f"{what}: dbeta (the sum of grad_out over the leading axes){note}", got[2], dbeta, **TIGHT)
    expect_close(f"{what}: dgamma (the sum of grad_out * xhat over the leading axes){note}", got[1],
                 dgamma, **TIGHT)
    expect_close(f"{what}: dx (M g - sum g - xhat sum(g xhat), over M sigma, the sums and M over the "
                 f"normalised axes){note}", got[0], dx, **TIGHT)


@lab_test("layernorm_backward", points=3)
def test_layernorm_backward_last_axis(student, ctx):
    for lead in (1, 2, 1):
        check_layernorm_backward(student, ctx.rng, *draw_ln_case(ctx.rng, lead, 1))


@lab_test("layernorm_backward", points=3)
def test_layernorm_backward_several_axes(student, ctx):
    for lead, norm in ((1, 2), (2, 2), (1, 3)):
        check_layernorm_backward(student, ctx.rng, *draw_ln_case(ctx.rng, lead, norm))
