"""Lab 5, hidden checks (``lab grade`` only): edge shapes (one channel, one pixel, a batch of one image,
layer norm over the whole sample), several training steps of running statistics, properties of the
output, and finite differences of ``sum(out * grad_out)`` for both backwards."""
import numpy as np

from tinygrad_edu.labs.checks import expect_close
from tinygrad_edu.labs.testing import lab_test

from ..public_tests import (bn_cache, channel_axes, check_batchnorm_backward, check_batchnorm_eval,
                            check_batchnorm_forward, check_layernorm_backward, check_layernorm_forward,
                            draw_input, draw_ln_case, ln_cache, torch_running_stats, unpack)

BN_EDGES = ((2, 1), (7, 3), (2, 1, 5), (2, 3, 1, 1), (1, 2, 3, 4), (3, 4, 2, 5))
EPS = 1e-5


def normalise(x, axes, gamma, beta, eps=EPS):
    """The forward both layers share, in the tests' own words (``gamma``/``beta`` already broadcastable)."""
    centred = x - x.mean(axis=axes, keepdims=True)
    return gamma * centred / np.sqrt((centred ** 2).mean(axis=axes, keepdims=True) + eps) + beta


def finite_differences(f, value, h=1e-6):
    """Central differences of the scalar ``f()`` with respect to every entry of ``value`` (in place)."""
    grad = np.zeros_like(value)
    for index in np.ndindex(value.shape):
        saved = value[index]
        value[index] = saved + h
        up = f()
        value[index] = saved - h
        down = f()
        value[index] = saved
        grad[index] = (up - down) / (2 * h)
    return grad


def check_finite_differences(what, got, x, gamma, beta, grad_out, axes, shape):
    """``got = (dx, dgamma, dbeta)`` against central differences of ``sum(out * grad_out)``."""
    got = unpack(what, got, 3, "(dx, dgamma, dbeta)")

    def loss():
        return float(np.sum(normalise(x, axes, gamma.reshape(shape), beta.reshape(shape)) * grad_out))
    for index, (name, value) in enumerate((("dx", x), ("dgamma", gamma), ("dbeta", beta))):
        expect_close(f"{what}: {name} against finite differences of sum(out * grad_out)", got[index],
                     finite_differences(loss, value), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- batchnorm_forward
@lab_test("batchnorm_forward", points=2)
def test_batchnorm_forward_edge_shapes(student, ctx):
    for shape in BN_EDGES:
        check_batchnorm_forward(student, ctx.rng, shape)


@lab_test("batchnorm_forward", points=1)
def test_batchnorm_forward_standardises_each_channel(student, ctx):
    shape = (4, 3, 3, 2)
    x = 10 + 5 * draw_input(ctx.rng, shape)
    out, _ = unpack("batchnorm_forward", student.batchnorm_forward(x, np.ones(3), np.zeros(3), 1e-12), 2,
                    "(out, cache)")
    axes = channel_axes(4)
    expect_close("batchnorm_forward with gamma = 1, beta = 0: the mean of each output channel (zero)",
                 np.asarray(out).mean(axis=axes), np.zeros(3), rtol=0, atol=1e-9)
    expect_close("batchnorm_forward with gamma = 1, beta = 0, eps ~ 0: the biased variance of each output "
                 "channel (one)", np.asarray(out).var(axis=axes), np.ones(3), rtol=0, atol=1e-8)


# ----------------------------------------------------------------------------- running_stats
@lab_test("running_stats", points=2)
def test_running_stats_over_several_steps(student, ctx):
    for shape in ((5, 3), (2, 3, 4, 2), (1, 2, 3, 3)):
        running_mean, running_var = np.zeros(shape[1]), np.ones(shape[1])
        want_mean, want_var = running_mean.copy(), running_var.copy()
        for step in range(3):
            x = draw_input(ctx.rng, shape)
            where = f"update_running_stats(x of shape {shape}, momentum=0.3) at step {step + 1} from (0, 1)"
            running_mean, running_var = unpack(where, student.update_running_stats(running_mean, running_var,
                                                                                   x, 0.3),
                                               2, "(running_mean, running_var)")
            want_mean, want_var = torch_running_stats(x, want_mean, want_var, 0.3)
            expect_close(f"{where}: running_mean", running_mean, want_mean, rtol=1e-9, atol=1e-10)
            expect_close(f"{where}: running_var", running_var, want_var, rtol=1e-9, atol=1e-10)


@lab_test("running_stats", points=1)
def test_batchnorm_eval_edge_shapes(student, ctx):
    for shape in BN_EDGES:
        check_batchnorm_eval(student, ctx.rng, shape, eps=float(ctx.rng.choice([1e-5, 0.3])))


# ----------------------------------------------------------------------------- batchnorm_backward
@lab_test("batchnorm_backward", points=1)
def test_batchnorm_backward_edge_shapes(student, ctx):
    for shape in BN_EDGES:
        check_batchnorm_backward(student, ctx.rng, shape)


@lab_test("batchnorm_backward", points=2)
def test_batchnorm_backward_finite_differences(student, ctx):
    for shape in ((3, 2), (2, 3, 2, 2)):
        x = draw_input(ctx.rng, shape)
        gamma, beta = ctx.rng.uniform(0.5, 2, shape[1]), ctx.rng.standard_normal(shape[1])
        grad_out = ctx.rng.standard_normal(shape)
        got = student.batchnorm_backward(grad_out, bn_cache(x, gamma, EPS))
        broadcast = (1, -1) + (1,) * (len(shape) - 2)
        check_finite_differences(f"batchnorm_backward(x of shape {shape})", got, x, gamma, beta, grad_out,
                                 channel_axes(len(shape)), broadcast)


# ----------------------------------------------------------------------------- layer norm
@lab_test("layernorm_forward", points=2)
def test_layernorm_forward_edge_cases(student, ctx):
    for lead, norm in ((0, 1), (0, 2), (3, 1), (1, 3)):
        check_layernorm_forward(student, *draw_ln_case(ctx.rng, lead, norm),
                                note=" (statistics over the last len(normalized_shape) axes; with no "
                                     "leading axis that is the whole input)")
    check_layernorm_forward(student, *draw_ln_case(ctx.rng, 2, 1), as_int=True)


@lab_test("layernorm_forward", points=1)
def test_layernorm_forward_standardises_each_sample(student, ctx):
    x = 10 + 5 * ctx.rng.standard_normal((3, 4, 6))
    got = student.layernorm_forward(x, (4, 6), np.ones((4, 6)), np.zeros((4, 6)), 1e-12)
    out, _ = unpack("layernorm_forward", got, 2, "(out, cache)")
    expect_close("layernorm_forward with gamma = 1, beta = 0: the mean of each output sample (zero)",
                 np.asarray(out).mean(axis=(1, 2)), np.zeros(3), rtol=0, atol=1e-9)
    expect_close("layernorm_forward with gamma = 1, beta = 0, eps ~ 0: the biased variance of each output "
                 "sample (one)", np.asarray(out).var(axis=(1, 2)), np.ones(3), rtol=0, atol=1e-8)


@lab_test("layernorm_backward", points=1)
def test_layernorm_backward_edge_cases(student, ctx):
    for lead, norm in ((0, 1), (0, 2), (3, 1)):
        check_layernorm_backward(student, ctx.rng, *draw_ln_case(ctx.rng, lead, norm))


@lab_test("layernorm_backward", points=2)
def test_layernorm_backward_finite_differences(student, ctx):
    for lead, norm in ((1, 1), (1, 2)):
        x, normalized, gamma, beta = draw_ln_case(ctx.rng, lead, norm)
        grad_out = ctx.rng.standard_normal(x.shape)
        got = student.layernorm_backward(grad_out, ln_cache(x, gamma, EPS))
        axes = tuple(range(lead, x.ndim))
        check_finite_differences(f"layernorm_backward(x of shape {x.shape}, normalized_shape={normalized})",
                                 got, x, gamma, beta, grad_out, axes, normalized)
