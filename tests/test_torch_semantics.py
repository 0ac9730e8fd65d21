"""Silent-wrong-number regressions checked against PyTorch: bitwise ops and their dtypes,
``flip(())``, and the GPT-2 config options the GPT does not compute."""
import operator

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from tinygrad_edu.models.gpt import GPTConfig

INT_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64"]


def _values(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -1000), min(info.max, 1000), size=shape).astype(dtype)


def _check(ours, ref):
    assert isinstance(ours, tg.Tensor)
    assert str(ours.array.dtype) == str(ref.dtype).replace("torch.", ""), (ours.array.dtype, ref.dtype)
    np.testing.assert_array_equal(ours.numpy(), ref.numpy())


BINARY = [("bitwise_and", operator.and_), ("bitwise_or", operator.or_), ("bitwise_xor", operator.xor)]


@pytest.mark.parametrize("name,op", BINARY)
@pytest.mark.parametrize("da", INT_DTYPES)
@pytest.mark.parametrize("db", INT_DTYPES)
@pytest.mark.parametrize("b_shape", [(3, 4), (4,), ()])
def test_bitwise_binary_matches_torch(name, op, da, db, b_shape):
    a, b = _values(da, (3, 4), 0), _values(db, b_shape, 1)
    ref = op(torch.from_numpy(a), torch.from_numpy(np.asarray(b)))
    _check(op(tg.tensor(a), tg.tensor(b)), ref)
    _check(getattr(tg, name)(tg.tensor(a), tg.tensor(b)), ref)
    _check(getattr(tg.tensor(a), name)(tg.tensor(b)), ref)


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("scalar", [0x1337, -5, 3, True, False])
def test_bitwise_with_python_scalars_and_reflected(dtype, scalar):
    a = _values(dtype, (5,), 2)
    for op in (operator.and_, operator.or_, operator.xor):
        _check(op(tg.tensor(a), scalar), op(torch.from_numpy(a), scalar))
        _check(op(scalar, tg.tensor(a)), op(scalar, torch.from_numpy(a)))


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_bitwise_not_matches_torch(dtype):
    a = _values(dtype, (7,), 3)
    _check(~tg.tensor(a), ~torch.from_numpy(a))
    _check(tg.bitwise_not(tg.tensor(a)), torch.bitwise_not(torch.from_numpy(a)))
    _check(tg.tensor(a).bitwise_not(), torch.from_numpy(a).bitwise_not())


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64"])
def test_shifts_match_torch(dtype):
    a = _values(dtype, (4, 6), 4)
    bits = np.dtype(dtype).itemsize * 8
    shifts = np.array([0, 1, 2, 5, bits - 1, bits], dtype=dtype if dtype != "int8" else "int8")
    ta, tb = torch.from_numpy(a), torch.from_numpy(shifts)
    _check(tg.tensor(a) << tg.tensor(shifts), ta << tb)
    _check(tg.tensor(a) >> tg.tensor(shifts), ta >> tb)
    _check(tg.bitwise_left_shift(tg.tensor(a), 3), torch.bitwise_left_shift(ta, 3))
    _check(tg.tensor(a).bitwise_right_shift(2), ta.bitwise_right_shift(2))
    _check(1 << tg.tensor(shifts[:-1]), 1 << tb[:-1])
    _check(1000 >> tg.tensor(shifts[:-1]), 1000 >> tb[:-1])


def test_bitwise_on_floats_raises_like_torch():
    with pytest.raises(NotImplementedError):
        torch.tensor([1.0]) & 1
    with pytest.raises(NotImplementedError, match="bitwise_and"):
        tg.tensor([1.0]) & 1
    with pytest.raises(NotImplementedError, match="bitwise_not"):
        ~tg.tensor([1.0])


def test_bitwise_empty_and_broadcast():
    a = np.zeros((0, 3), dtype=np.int32)
    _check(tg.tensor(a) & tg.tensor(np.array([1, 2, 3], dtype=np.int32)),
           torch.from_numpy(a) & torch.tensor([1, 2, 3], dtype=torch.int32))


# ---- flip(()) is the identity ------------------------------------------------------------------
def test_flip_empty_dims_is_identity():
    x = np.arange(6.0).reshape(2, 3)
    ref = torch.tensor(x).flip(())
    t = tg.tensor(x, requires_grad=True)
    for y in (t.flip(()), tg.flip(t, ()), t.flip([])):
        np.testing.assert_array_equal(y.detach().numpy(), ref.numpy())
    g = np.arange(6.0).reshape(2, 3) + 1
    t.flip(()).backward(tg.tensor(g))
    np.testing.assert_array_equal(t.grad.numpy(), g)
    np.testing.assert_array_equal(t.flip(1).detach().numpy(), torch.tensor(x).flip(1).numpy())


# ---- GPT-2 configs the GPT does not compute ----------------------------------------------------
BASE = dict(n_layer=1, n_head=2, n_embd=8, n_positions=16, vocab_size=11, activation_function="gelu_new")


@pytest.mark.parametrize("bad", [dict(scale_attn_weights=False),
                                 dict(scale_attn_by_inverse_layer_idx=True),
                                 dict(reorder_and_upcast_attn=True),
                                 dict(activation_function="relu"),
                                 dict(activation_function="gelu")])
def test_gpt_from_hf_config_rejects_what_it_does_not_compute(bad):
    name = next(iter(bad))
    with pytest.raises(ValueError, match=name):
        GPTConfig.from_hf_config({**BASE, **bad})

    class Cfg:
        pass

    cfg = Cfg()
    for k, v in {**BASE, **bad}.items():
        setattr(cfg, k, v)
    with pytest.raises(ValueError, match=name):
        GPTConfig.from_hf_config(cfg)
    with pytest.raises(ValueError, match=name):
        tg.models.gpt.GPT.from_hf_state_dict({}, cfg)


def test_gpt_from_hf_config_accepts_gpt2_defaults():
    cfg = GPTConfig.from_hf_config({**BASE, "scale_attn_weights": True,
                                    "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False,
                                    "activation_function": "gelu_pytorch_tanh"})
    assert (cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.block_size, cfg.vocab_size) == (1, 2, 8, 16, 11)


# ---- pow: values and both gradients on a grid of corner cases -----------------------------------
BASES = [-2.0, -0.0, 0.0, 0.5, 2.0, float("inf"), -float("inf"), float("nan")]
EXPONENTS = [0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, -0.5, float("inf"), float("nan")]


def _grads(lib, base, exp, base_tensor, exp_tensor):
    mk = torch.tensor if lib is torch else tg.tensor
    a = mk(np.array(base), requires_grad=True) if base_tensor else base
    b = mk(np.array(exp), requires_grad=True) if exp_tensor else exp
    y = a ** b
    y.sum().backward()
    out = [y.detach().numpy()]
    out.append(a.grad.numpy() if base_tensor else None)
    out.append(b.grad.numpy() if exp_tensor else None)
    return out


@pytest.mark.parametrize("kind", ["tensor**tensor", "tensor**scalar", "scalar**tensor"])
def test_pow_corner_values_and_gradients_match_torch(kind):
    base_t, exp_t = kind.split("**")[0] == "tensor", kind.split("**")[1] == "tensor"
    for base in BASES:
        for exp in EXPONENTS:
            if not base_t and (np.isnan(base) or np.isinf(base)):
                continue
            ref = _grads(torch, base, exp, base_t, exp_t)
            ours = _grads(tg, base, exp, base_t, exp_t)
            for r, o in zip(ref, ours):
                if r is not None:
                    _assert_same_corner_value(o, r, f"{kind}: {base} ** {exp}")


def _assert_same_corner_value(ours, ref, what):
    """Equal where it matters for the corner cases: NaN where torch has NaN, the same ±inf, zero, and
    finite values within 2 ulp.  (torch's own float64 pow differs from a correctly rounded one by an
    ulp, depending on which SIMD path its build takes: 0.5 ** 0.5 is ...475 here, ...476 exactly.)"""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert np.isnan(ours) == np.isnan(ref), f"{what}: {ours} vs torch {ref}"
    if np.isnan(ref):
        return
    if np.isinf(ref) or ref == 0:
        # (the sign of a zero is not compared: torch's -0.0 ** 0.5 is -0 on one host, +0 on another)
        assert ours == ref, f"{what}: {ours} vs torch {ref}"
    else:
        assert abs(ours - ref) <= 2 * np.spacing(abs(ref)), f"{what}: {ours!r} vs torch {ref!r}"


def test_pow_grid_broadcast_float64():
    a = np.array(BASES)[:, None]
    b = np.array(EXPONENTS)[None, :]
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    oa, ob = tg.tensor(a, requires_grad=True), tg.tensor(b, requires_grad=True)
    (ta ** tb).sum().backward()
    (oa ** ob).sum().backward()
    np.testing.assert_allclose((oa ** ob).detach().numpy(), (ta ** tb).detach().numpy(),
                               rtol=1e-13, atol=0)  # libm vs torch pow: 1 ulp apart
    np.testing.assert_allclose(oa.grad.numpy(), ta.grad.numpy(), rtol=1e-13, atol=0)
    np.testing.assert_allclose(ob.grad.numpy(), tb.grad.numpy(), rtol=1e-13, atol=0)


def test_int_tensor_to_negative_int_power_raises_like_torch():
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        torch.tensor([2, 3]) ** -1
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        tg.tensor([2, 3]) ** -1
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        tg.tensor([2, 3]) ** tg.tensor([1, -1])
    _check(tg.tensor([2, 3]) ** 2, torch.tensor([2, 3]) ** 2)
    _check(2 ** tg.tensor([0, 3]), 2 ** torch.tensor([0, 3]))


# ---- reductions: half precision accumulates in float32, float32 var/std in float64 -------------
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_half_sum_mean_accumulate_like_torch(dim):
    x = np.ones((100, 1000), np.float16)
    for name in ("sum", "mean"):
        ref = getattr(torch.tensor(x), name)() if dim is None else getattr(torch.tensor(x), name)(dim)
        ours = getattr(tg.tensor(x), name)() if dim is None else getattr(tg.tensor(x), name)(dim)
        _check(ours, ref)
    r = np.random.default_rng(0).random((64, 300)).astype(np.float16)
    np.testing.assert_allclose(tg.tensor(r).mean(1).numpy().astype(np.float64),
                               torch.tensor(r).mean(1).numpy().astype(np.float64), rtol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_var_std_do_not_overflow_like_torch(dtype):
    scale = 1e20 if dtype == np.float32 else 3e2
    v = (np.array([1.0, -1.0, 1.0, -1.0, 0.5, 2.0]) * scale).astype(dtype).reshape(2, 3)
    for name in ("std", "var"):
        for dim in (None, 0, 1):
            ref = getattr(torch.tensor(v), name)() if dim is None else getattr(torch.tensor(v), name)(dim)
            ours = getattr(tg.tensor(v), name)() if dim is None else getattr(tg.tensor(v), name)(dim)
            assert str(ours.array.dtype) == str(ref.dtype).replace("torch.", "")
            np.testing.assert_allclose(ours.numpy().astype(np.float64), ref.numpy().astype(np.float64),
                                       rtol=1e-3 if dtype == np.float16 else 1e-6)


def test_std_gradient_float32_matches_torch():
    x = np.random.default_rng(1).standard_normal((3, 5)).astype(np.float32)
    t, r = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    t.std(1).sum().backward()
    r.std(1).sum().backward()
    assert t.grad.array.dtype == np.float32
    np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), rtol=1e-5, atol=1e-6)


# ---- dtype promotion: one rule (dtypes.result_type), checked against torch.result_type ---------
ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def _operand(lib, dtype, zero_dim):
    arr = np.ones(() if zero_dim else (2,), dtype)
    return torch.from_numpy(arr) if lib is torch else tg.tensor(arr)


@pytest.mark.parametrize("da", ALL_DTYPES)
@pytest.mark.parametrize("dims", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_result_type_grid_matches_torch(da, dims):
    za, zb = dims
    for db in ALL_DTYPES:
        ta, tb = _operand(torch, da, za), _operand(torch, db, zb)
        oa, ob = _operand(tg, da, za), _operand(tg, db, zb)
        want = str(torch.result_type(ta, tb)).replace("torch.", "")
        assert str(tg.dtypes.result_type(oa, ob)) == want, (da, za, db, zb)
        for op in (operator.add, operator.mul):
            assert str(op(oa, ob).array.dtype) == str(op(ta, tb).dtype).replace("torch.", "")
        if "bool" not in (da, db):
            assert str((oa - ob).array.dtype) == str((ta - tb).dtype).replace("torch.", "")
        got = tg.where(tg.tensor(True), oa, ob).array.dtype
        assert str(got) == str(torch.where(torch.tensor(True), ta, tb).dtype).replace("torch.", "")
        assert (oa < ob).array.dtype == np.bool_
        for scalar in (True, 3, 2.5):
            want = str(torch.result_type(ta, scalar)).replace("torch.", "")
            assert str(tg.dtypes.result_type(oa, scalar)) == want, (da, za, scalar)
            assert str((oa + scalar).array.dtype) == want
            assert str((scalar * oa).array.dtype) == want


def test_zero_dim_float64_does_not_widen_float32():
    x = tg.tensor(np.ones(3, np.float32))
    assert (x * tg.tensor(2.0, dtype=tg.float64)).array.dtype == np.float32
    assert (tg.tensor([1, 2]) + tg.tensor(0.5, dtype=tg.float64)).array.dtype == np.float64  # as torch
    assert (tg.tensor([1, 2]) + 0.5).array.dtype == np.float32
