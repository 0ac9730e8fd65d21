"""Function forms (tg.add, tg.logical_and, ...) and the composed ops lerp, logaddexp, isclose, against torch."""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from tinygrad_edu.autograd import gradcheck

A = np.array([[-2.0, 0.0, 1.5], [3.0, -0.5, 40.0]])
B = np.array([[1.0, 0.0, -1.5], [3.0, 2.0, -40.0]])


@pytest.mark.parametrize("name", ["add", "sub", "mul", "pow", "logaddexp"])
def test_binary_function_forms_match_torch(name):
    a, b = (np.abs(A) + 0.5, B) if name == "pow" else (A, B)
    ours = getattr(tg, name)(tg.tensor(a, dtype=tg.float32), tg.tensor(b, dtype=tg.float32))
    theirs = getattr(torch, name)(torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_add_sub_alpha_and_python_number_first():
    x = tg.tensor(A)
    assert np.allclose(tg.add(x, 2.0, alpha=3).numpy(), torch.add(torch.tensor(A), 2.0, alpha=3).numpy())
    assert np.allclose(tg.sub(1.0, x).numpy(), (1.0 - A))


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
def test_logical_ops_return_bool_for_any_dtype(name):
    a = np.array([0, 1, 2, -3, 0]); b = np.array([0, 0, 5, 1, 7])
    ours = getattr(tg, name)(tg.tensor(a), tg.tensor(b))
    theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
    assert ours.dtype == np.bool_ and ours.tolist() == theirs.tolist()
    assert getattr(tg.tensor(a), name)(tg.tensor(b)).tolist() == theirs.tolist()


def test_logical_not_and_predicates():
    a = np.array([0.0, 1.0, np.nan, np.inf, -np.inf])
    assert tg.logical_not(tg.tensor(a)).tolist() == torch.logical_not(torch.tensor(a)).tolist()
    for name in ("isnan", "isinf", "isfinite"):
        assert getattr(tg, name)(tg.tensor(a)).tolist() == getattr(torch, name)(torch.tensor(a)).tolist()


def test_isclose_allclose_match_torch_with_inf_and_nan():
    a = np.array([1.0, 1.0 + 1e-6, np.inf, -np.inf, np.nan, 0.0, np.inf])
    b = np.array([1.0, 1.0, np.inf, np.inf, np.nan, 1e-9, 1e300])
    for equal_nan in (False, True):
        ours = tg.isclose(tg.tensor(a), tg.tensor(b), equal_nan=equal_nan)
        theirs = torch.isclose(torch.tensor(a), torch.tensor(b), equal_nan=equal_nan)
        assert ours.tolist() == theirs.tolist()
    assert tg.allclose(tg.tensor(A), tg.tensor(A + 1e-9)) and not tg.allclose(tg.tensor(A), tg.tensor(B))


def test_lerp_and_logaddexp_gradients():
    start = tg.tensor(A, requires_grad=True)
    end = tg.tensor(B, requires_grad=True)
    weight = tg.tensor(np.full_like(A, 0.3), requires_grad=True)
    assert gradcheck(lambda s, e, w: tg.lerp(s, e, w), (start, end, weight))
    assert gradcheck(lambda s, e: tg.logaddexp(s, e), (tg.tensor(A * 0.1, requires_grad=True), end))
    ts, te = torch.tensor(A, requires_grad=True), torch.tensor(B, requires_grad=True)
    torch.logaddexp(ts, te).sum().backward()
    s2, e2 = tg.tensor(A, requires_grad=True), tg.tensor(B, requires_grad=True)
    tg.logaddexp(s2, e2).sum().backward()
    np.testing.assert_allclose(s2.grad.numpy(), ts.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(start.lerp(end, 0.25).detach().numpy(),
                               torch.tensor(A).lerp(torch.tensor(B), 0.25).numpy())


def test_type_casts_and_int_alias():
    x = tg.tensor([1.5, -2.5])
    assert x.type(tg.int).dtype == np.int32 and tg.int == tg.int32
    assert x.type(tg.long).tolist() == torch.tensor([1.5, -2.5]).type(torch.long).tolist()
    assert x.type() == "tinygrad_edu.float32"


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparison_function_forms_match_torch(name):
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], np.float32)
    b = np.array([2.0, 2.0, 2.0], np.float32)
    ours = getattr(tg, name)(tg.tensor(a), tg.tensor(b)).numpy()
    ref = getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_array_equal(ours, ref)
    np.testing.assert_array_equal(getattr(tg, name)(tg.tensor(a), 2.0).numpy(),
                                  getattr(torch, name)(torch.tensor(a), 2.0).numpy())


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_t_matches_torch(shape):
    a = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    x = tg.tensor(a, requires_grad=True)
    r = torch.tensor(a, requires_grad=True)
    y, yr = x.t(), r.t()
    np.testing.assert_array_equal(y.detach().numpy(), yr.detach().numpy())
    (y * tg.tensor(np.asarray(yr.detach().numpy()))).sum().backward()
    (yr * yr.detach()).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), r.grad.numpy())


def test_t_refuses_3d_as_torch():
    with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions"):
        tg.zeros(2, 2, 2).t()
    with pytest.raises(RuntimeError):
        torch.zeros(2, 2, 2).t()
