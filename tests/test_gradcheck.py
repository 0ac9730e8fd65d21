"""The public gradient checkers: ``tinygrad_edu.autograd.gradcheck`` / ``gradgradcheck``."""
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import Function, GradcheckError, gradcheck, gradgradcheck


def leaf(shape, seed=0, dtype=tg.float64):
    rng = np.random.default_rng(seed)
    return tg.tensor(rng.uniform(0.5, 1.5, shape), dtype=dtype, requires_grad=True)


# ---- correct ops pass -------------------------------------------------------------------------
@pytest.mark.parametrize("fn,shapes", [
    (lambda x: x.exp().sum(dim=1), [(3, 4)]),
    (lambda a, b: a @ b, [(2, 3), (3, 4)]),
    (lambda a, b: a * b + a / b, [(2, 3), (3,)]),
    (lambda x: x.softmax(dim=-1), [(2, 3)]),
    (lambda x: x.split(2, dim=1), [(2, 5)]),            # a tuple of outputs
    (lambda x: x.max(dim=1), [(3, 4)]),                 # (values, int64 indices): indices ignored
    (lambda x: x.sum(), [()]),                           # 0-d input and output
])
def test_gradcheck_passes_on_correct_ops(fn, shapes):
    inputs = [leaf(s, seed=i) for i, s in enumerate(shapes)]
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_gradcheck_accepts_a_single_tensor_and_passes_non_tensor_args_through():
    x = leaf((2, 3))
    assert gradcheck(lambda t: t.exp(), x)
    assert gradcheck(lambda t, k: t.sum(dim=k), (x, 1))


def test_inputs_without_requires_grad_are_not_perturbed():
    x, c = leaf((2, 2)), tg.tensor(np.ones((2, 2)), dtype=tg.float64)
    assert gradcheck(lambda a, b: a * b, (x, c))


def test_an_output_independent_of_an_input_has_a_zero_block():
    a, b = leaf((2,)), leaf((3,), seed=1)
    assert gradcheck(lambda x, y: (x * 2.0, y.exp()), (a, b))


def test_inputs_are_restored_bit_for_bit():
    x = leaf((3, 3))
    before = x.detach().numpy().copy()
    gradcheck(lambda t: (t * t).sum(), x)
    assert np.array_equal(x.detach().numpy(), before)


def test_works_on_a_non_writeable_input_array():
    data = np.linspace(0.5, 1.5, 6)
    data.flags.writeable = False
    x = tg.from_numpy(data).requires_grad_()
    assert gradcheck(lambda t: t.sin(), x)
    assert x.array is data


# ---- a wrong backward is caught, and the report says where ---------------------------------------
class WrongMul(Function):
    """y = a * b, with a backward that is wrong in one entry of b's gradient only."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        bump = np.zeros(a.shape)
        bump[1, 2] = 1.0                     # the bug: entry (1, 2) of dL/db is off by g[1, 2]
        return g * b, g * a + g * tg.tensor(bump)


def test_wrong_backward_is_caught_with_input_entry_and_output():
    a, b = leaf((2, 3)), leaf((2, 3), seed=1)
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongMul.apply, (a, b))
    text = str(info.value)
    assert "input 1" in text and "input index 1" in text
    assert "entry index (1, 2)" in text
    assert "output index 0" in text
    expected_numeric = float(a.detach().numpy()[1, 2])
    assert f"numeric {expected_numeric!r}"[:16] in text          # d(a*b)/db = a
    assert "analytic" in text and "max abs difference" in text.lower()


def test_gradcheck_error_is_a_runtime_error():
    assert issubclass(GradcheckError, RuntimeError)


def test_raise_exception_false_returns_false():
    a, b = leaf((2, 3)), leaf((2, 3), seed=1)
    assert gradcheck(WrongMul.apply, (a, b), raise_exception=False) is False
    assert gradcheck(lambda x, y: x * y, (a, b), raise_exception=False) is True


def test_wrong_output_index_is_named():
    class WrongSecondOutput(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, g):
            return g * 3.0  # should be 2

    x = leaf((2,))
    with pytest.raises(GradcheckError, match="output index 1"):
        gradcheck(lambda t: (t.exp(), WrongSecondOutput.apply(t)), x)


# ---- gradgradcheck catches a backward that is right once but not differentiable ---------------------
class ExpWithConstantBackward(Function):
    """The first derivative is right, but backward uses a raw array (e^x as a constant), so the
    recorded backward graph has lost x: second derivatives come out wrong."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.exp(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * tg.tensor(np.exp(x.array))


def test_gradgradcheck_catches_a_non_differentiable_backward():
    x = leaf((3,))
    assert gradcheck(ExpWithConstantBackward.apply, x)
    with pytest.raises(GradcheckError):
        gradgradcheck(ExpWithConstantBackward.apply, x)
    assert gradgradcheck(ExpWithConstantBackward.apply, x, raise_exception=False) is False


def test_gradgradcheck_with_given_grad_outputs():
    x = leaf((2, 3))
    v = tg.tensor(np.full((2,), 0.5), dtype=tg.float64, requires_grad=True)
    assert gradgradcheck(lambda t: (t ** 3).sum(dim=1), x, grad_outputs=v)
    with pytest.raises(ValueError, match="grad_outputs"):
        gradgradcheck(lambda t: (t ** 3).sum(dim=1), x, grad_outputs=(v, v))


# ---- precision and misuse ---------------------------------------------------------------------------
def test_non_float64_inputs_warn():
    x = leaf((3,), dtype=tg.float32)
    with pytest.warns(UserWarning, match="input 0 has dtype float32, not float64"):
        gradcheck(lambda t: t * 2.0, x, eps=1e-2, atol=1e-2, rtol=1e-2)
    with pytest.warns(UserWarning, match="float64"):
        gradgradcheck(lambda t: t * t, x, eps=1e-2, atol=1e-1, rtol=1e-1)


def test_float64_inputs_do_not_warn():
    x = leaf((3,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gradcheck(lambda t: t * 2.0, x)


def test_no_input_requiring_grad_is_an_error():
    with pytest.raises(ValueError, match="requires grad"):
        gradcheck(lambda t: t * 2.0, tg.tensor([1.0], dtype=tg.float64))


def test_fn_must_return_tensors():
    with pytest.raises(TypeError, match="Tensor"):
        gradcheck(lambda t: 3.0, leaf((2,)))


def test_float32_finite_differences_are_too_noisy_which_is_why_we_use_float64():
    """The docstring's claim, measured: a correct op fails a tight check in float32."""
    x = leaf((4,), dtype=tg.float32)
    with pytest.warns(UserWarning):
        assert gradcheck(lambda t: t.exp() * 100.0, x, eps=1e-3, atol=1e-5, rtol=1e-5,
                         raise_exception=False) is False
    assert gradcheck(lambda t: t.exp() * 100.0, leaf((4,)), eps=1e-6, atol=1e-5, rtol=1e-5)
