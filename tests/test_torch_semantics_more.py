"""More of PyTorch's tensor semantics, each compared with torch itself (issue 11): copysign,
``view(dtype)``, ``F.one_hot``'s checks, dtype rules (mixed-width comparisons, Python ints that do not
fit an integer dtype, NumPy scalars, bool arithmetic, tril/triu on < 2 dims, out-of-range indices),
the in-place random fillers and ``GPT.generate`` with a ``tinygrad_edu.Generator``."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F

DTYPES = ["float16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64", "bool"]


def tg_dtype(name):
    return getattr(tg, name)


def torch_dtype(name):
    return getattr(torch, name)


def both(fn):
    """Run ``fn(lib)`` for torch and tinygrad_edu: (value or exception type) for each."""
    out = []
    for lib in (torch, tg):
        try:
            out.append(("ok", fn(lib)))
        except Exception as exc:  # noqa: BLE001  (the exception type is what is compared)
            out.append(("raises", exc))
    return out


def assert_same_outcome(fn, exact_dtype=True):
    """torch and tinygrad_edu either both return equal tensors (values and dtype) or both raise
    the same exception type."""
    (kt, vt), (kg, vg) = both(fn)
    assert kt == kg, f"torch {kt} {vt!r}, tinygrad_edu {kg} {vg!r}"
    if kt == "raises":
        assert type(vg) is type(vt) or isinstance(vg, type(vt)), \
            f"torch raises {type(vt).__name__}, we raise {type(vg).__name__}: {vg}"
        return vg
    expected = vt.numpy() if isinstance(vt, torch.Tensor) else np.asarray(vt)
    got = vg.numpy() if isinstance(vg, tg.Tensor) else np.asarray(vg)
    if exact_dtype:
        assert str(got.dtype) == str(expected.dtype).replace("torch.", "")
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    return vg


# =============================================================================================
# 1. copysign
# =============================================================================================
MAGNITUDES = [[1.5, -2.0, 0.0, -0.0, 3.0, float("inf")], [[-1.0, 2.0], [0.5, -0.25]]]
SIGNS = [[-1.0, 1.0, -1.0, 1.0, -0.0, -2.0], [[1.0, -0.0], [-3.0, 0.0]]]


@pytest.mark.parametrize("case", range(len(MAGNITUDES)))
@pytest.mark.parametrize("form", ["method", "function"])
def test_copysign_forward_and_gradients_match_torch(case, form):
    a_data, b_data = MAGNITUDES[case], SIGNS[case]
    results = []
    for lib in (torch, tg):
        a = lib.tensor(a_data, requires_grad=True)
        b = lib.tensor(b_data, requires_grad=True)
        y = a.copysign(b) if form == "method" else lib.copysign(a, b)
        (y * lib.tensor(np.arange(1.0, y.numel() + 1).reshape(y.shape).tolist())).sum().backward()
        results.append([y.detach().numpy(), a.grad.numpy(), b.grad.numpy()])
    for ours, ref in zip(results[1], results[0]):
        np.testing.assert_array_equal(ours, ref)
        np.testing.assert_array_equal(np.signbit(ours), np.signbit(ref))   # -0.0 kept


@pytest.mark.parametrize("other", [-1.5, 2.0, -0.0, 0.0, -3, 4])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32", "bool"])
def test_copysign_with_numbers_and_integer_dtypes(other, dtype):
    data = [1, 0, 1] if dtype == "bool" else [3, -2, 0]
    vg = assert_same_outcome(lambda lib: lib.tensor(data, dtype=getattr(lib, dtype)).copysign(other))
    assert vg.dtype in (tg.float32, tg.float64)


def test_copysign_broadcasts_like_torch():
    a = np.random.default_rng(0).normal(size=(3, 1)).tolist()
    b = np.random.default_rng(1).normal(size=(4,)).tolist()
    assert_same_outcome(lambda lib: lib.copysign(lib.tensor(a), lib.tensor(b)))


def test_copysign_is_documented_with_its_gradient():
    from tinygrad_edu.ops.rounding import Copysign
    assert "dL/da" in Copysign.__doc__ and "dL/db = 0" in Copysign.__doc__


# =============================================================================================
# 2. view(dtype)
# =============================================================================================
VIEW_SOURCES = {
    "f32_3x4": lambda lib: lib.arange(12, dtype=lib.float32).reshape(3, 4),
    "f64_2x2": lambda lib: lib.arange(4, dtype=lib.float64).reshape(2, 2) - 1.5,
    "i16_4": lambda lib: lib.tensor([1, -2, 300, -32768], dtype=lib.int16),
    "u8_8": lambda lib: lib.arange(8, dtype=lib.int64).to(lib.uint8),
    "bool_4": lambda lib: lib.tensor([True, False, True, True]),
    "f32_0d": lambda lib: lib.tensor(1.5),
    "f32_3x3": lambda lib: lib.ones(3, 3),
    "f32_T": lambda lib: lib.arange(12, dtype=lib.float32).reshape(3, 4).T,
    "f32_slice_odd": lambda lib: lib.arange(12, dtype=lib.float32).reshape(3, 4)[:, 1:3],
    "f32_slice_even": lambda lib: lib.arange(12, dtype=lib.float32).reshape(3, 4)[:, 0:2],
    "f32_empty_rows": lambda lib: lib.zeros(0, 4),
}
VIEW_TARGETS = ["float16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64", "bool"]


@pytest.mark.parametrize("target", VIEW_TARGETS)
@pytest.mark.parametrize("source", sorted(VIEW_SOURCES))
def test_view_dtype_reinterprets_bytes_like_torch(source, target):
    if target == "bool" and source not in ("u8_8", "bool_4"):
        pytest.skip("only 0/1 bytes are valid bools")

    def run(lib):
        return VIEW_SOURCES[source](lib).view(getattr(lib, target))
    (kt, vt), (kg, vg) = both(run)
    assert kt == kg, f"torch {kt} {vt!r}, ours {kg} {vg!r}"
    if kt == "raises":
        assert isinstance(vg, type(vt)), f"torch {type(vt).__name__}, ours {type(vg).__name__}: {vg}"
        assert target in str(vg) or "dtype" in str(vg)
        return
    assert vg.shape == tuple(vt.shape) and str(vg.dtype) == target
    expected = vt.numpy()
    got = vg.numpy()
    assert got.tobytes() == np.ascontiguousarray(expected).tobytes()  # bit for bit (nan payloads too)


def test_view_dtype_shares_memory_and_is_not_differentiable():
    for lib in (torch, tg):
        x = lib.ones(4, requires_grad=True)
        v = x.view(lib.int32)
        assert not v.requires_grad and v.grad_fn is None
        w = x.view(lib.float32)                # same dtype: still not part of the graph (torch too)
        assert not w.requires_grad
    written = []
    for lib in (torch, tg):
        x = lib.zeros(2)
        x.view(lib.int32)[0] = 1065353216       # write bits through the view: x itself changes
        written.append(x.tolist())
    assert written[1] == written[0]
    y = tg.zeros(2)
    v = y.view(tg.int32)
    y.add_(1)
    assert v._version == y._version            # one memory, one version counter


def test_view_dtype_keyword_and_shape_views_still_work():
    for lib in (torch, tg):
        x = lib.arange(6, dtype=lib.float32)
        assert tuple(x.view(dtype=lib.float16).shape) == (12,)
        assert tuple(x.view(2, 3).shape) == (2, 3) and tuple(x.view(-1, 2).shape) == (3, 2)


# =============================================================================================
# 3. F.one_hot
# =============================================================================================
ONE_HOT_CASES = [
    ([0, 2, 1], "int64", -1), ([[0, 3], [1, 1]], "int64", 5), ([], "int64", 3), ([], "int64", -1),
    ([1, 2], "int32", -1), ([1, 2], "int16", 3), ([1, 2], "uint8", 3), ([0.0, 1.0], "float32", 2),
    ([-1, 2], "int64", 3), ([1, 3], "int64", 3), ([0, 1], "int64", 0), (2, "int64", 4),
]


@pytest.mark.parametrize("data,dtype,num_classes", ONE_HOT_CASES)
def test_one_hot_values_and_errors_match_torch(data, dtype, num_classes):
    def run(lib):
        fn = TF.one_hot if lib is torch else F.one_hot
        return fn(lib.tensor(data, dtype=getattr(lib, dtype)), num_classes)
    err = assert_same_outcome(run)
    if isinstance(err, Exception):
        assert "one_hot" in str(err)


# =============================================================================================
# 4a. comparisons across dtypes compare in the promoted dtype
# =============================================================================================
COMPARE_PAIRS = [
    ("float16", "float32", False), ("float32", "float16", False), ("float16", "float32", True),
    ("float32", "float64", True), ("float16", "float64", False), ("int64", "float32", False),
    ("int32", "float16", False), ("int64", "float16", True), ("int8", "int16", False),
    ("uint8", "int8", False), ("bool", "float32", False), ("int64", "float64", True),
]
COMPARE_OPS = ["eq", "ne", "lt", "le", "gt", "ge"]


@pytest.mark.parametrize("op", COMPARE_OPS)
@pytest.mark.parametrize("left,right,right_0d", COMPARE_PAIRS)
def test_mixed_dtype_comparisons_match_torch(left, right, right_0d, op):
    rng = np.random.default_rng(0)
    base = np.concatenate([rng.normal(size=6), [0.1, 0.2, 1 / 3, 2048.0, 2049.0, 16777217.0, -3.0]])
    if "int" in left or left == "bool":
        a_data = np.rint(base).astype(np.int64).clip(-128, 127) if left in ("int8", "uint8") else \
            np.rint(base).astype(np.int64)
        a_data = (a_data % 2).astype(bool) if left == "bool" else a_data
        if left == "uint8":
            a_data = np.abs(a_data)
    else:
        a_data = base
    b_data = (a_data[3] if right_0d else a_data[::-1].copy())
    b_data = np.asarray(b_data, dtype=np.float64) + (0.0 if "float" in right else 0)

    def run(lib):
        a = lib.tensor(a_data.tolist(), dtype=getattr(lib, left))
        b = lib.tensor(np.asarray(b_data).tolist() if "float" in right else
                       np.rint(np.asarray(b_data)).astype(np.int64).clip(-128, 127).tolist(),
                       dtype=getattr(lib, right))
        return getattr(a, op)(b)
    assert_same_outcome(run)


@pytest.mark.parametrize("number", [0.1, 1 / 3, 2049, 16777217, 0.5])
@pytest.mark.parametrize("dtype", ["float16", "float32", "int64", "int32"])
def test_comparisons_with_python_numbers_match_torch(dtype, number):
    data = [0.1, 1 / 3, 2048.0, 2049.0, 16777216.0, 0.5]
    assert_same_outcome(lambda lib: lib.tensor(data).to(getattr(lib, dtype)) == number)
    assert_same_outcome(lambda lib: lib.tensor(data).to(getattr(lib, dtype)) < number)


# =============================================================================================
# 4b. Python ints that do not fit the tensor's integer dtype
# =============================================================================================
INT_DTYPES = ["int8", "uint8", "int16", "int32", "int64"]
BIG_INTS = [100, 127, 128, 255, 256, 1000, -1, -129, -1000, 100000, 2 ** 31, 2 ** 40, 2 ** 63 - 1]
ARITH = {"add": lambda x, n: x + n, "radd": lambda x, n: n + x, "sub": lambda x, n: x - n,
         "rsub": lambda x, n: n - x, "mul": lambda x, n: x * n, "floordiv": lambda x, n: x // n,
         "mod": lambda x, n: x % n, "and": lambda x, n: x & n, "add_": lambda x, n: x.clone().add_(n),
         "lt": lambda x, n: x < n, "eq": lambda x, n: x == n, "rpow": lambda x, n: n ** x,
         "pow_float": lambda x, n: x ** float(n) if abs(n) < 2 ** 31 else x * 0}


@pytest.mark.parametrize("op", sorted(ARITH))
@pytest.mark.parametrize("number", BIG_INTS)
@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_python_int_operands_follow_torch(dtype, number, op):
    """torch takes a Python int in arithmetic modulo 2**bits of the tensor's dtype (so
    ``int8 + 1000`` is ``int8 + (-24)``); NumPy 2 would raise OverflowError."""
    assert_same_outcome(lambda lib: ARITH[op](lib.tensor([1, 2, 5], dtype=getattr(lib, dtype)), number))


def test_int8_plus_small_int_still_works():
    out = assert_same_outcome(lambda lib: lib.tensor([1, -2], dtype=lib.int8) + 100)
    assert out.dtype == tg.int8


STORING = {
    "fill_": lambda lib, x, n: x.clone().fill_(n),
    "full": lambda lib, x, n: lib.full((2,), n, dtype=x.dtype),
    "masked_fill": lambda lib, x, n: x.masked_fill(x > 0, n),
    "tensor": lambda lib, x, n: lib.tensor([n], dtype=x.dtype),
    "pow": lambda lib, x, n: x ** n,
    "fill_float": lambda lib, x, n: x.clone().fill_(n + 0.5),
    "masked_fill_float": lambda lib, x, n: x.masked_fill(x > 0, float(n)),
    "setitem": lambda lib, x, n: x.clone().__setitem__(0, n),
}


@pytest.mark.parametrize("how", sorted(STORING))
@pytest.mark.parametrize("number", [100, 1000, 300, 100000, 2 ** 40])
@pytest.mark.parametrize("dtype", ["int8", "int16", "uint8", "int32"])
def test_storing_an_int_that_does_not_fit_raises_like_torch(dtype, number, how):
    """Where torch stores the number itself (fill_, full, masked_fill, tensor(), pow's exponent,
    x[i] = n) it raises RuntimeError instead of wrapping; the message names value and dtype."""
    def run(lib):
        return STORING[how](lib, lib.tensor([1, 2], dtype=getattr(lib, dtype)), number)
    (kt, vt), (kg, vg) = both(run)
    if kt == "ok" and vt is None:                 # __setitem__ returns None: compare nothing
        assert kg == "ok", vg
        return
    if how == "pow" and kt == "ok":
        assert kg == "ok" or isinstance(vg, RuntimeError)   # huge powers: overflow either way
        return
    assert kt == kg, f"torch {kt} {vt!r}, ours {kg} {vg!r}"
    if kt == "raises":
        assert isinstance(vg, RuntimeError) and type(vt) is RuntimeError
        assert str(number) in str(vg) and dtype in str(vg)


# =============================================================================================
# 4c. NumPy scalars keep their dtype
# =============================================================================================
NUMPY_SCALARS = [np.float64(1.5), np.float32(1.5), np.float16(1.5), np.int32(3), np.int64(3),
                 np.int16(3), np.int8(3), np.uint8(3)]
NUMPY_LISTS = [[np.float64(1.5), 2.0], [np.float32(1.5), 2.0], [np.int32(1), 2], [np.int32(1), 2.5],
               [np.float16(1), np.float32(2)], [np.int8(1), np.uint8(2)], [np.int32(1), np.float16(2)],
               [True, np.int8(2)], [[np.float64(1)], [2.0]]]


@pytest.mark.parametrize("value", NUMPY_SCALARS + NUMPY_LISTS, ids=repr)
def test_numpy_scalars_give_torchs_dtype(value):
    assert_same_outcome(lambda lib: lib.tensor(value))


@pytest.mark.parametrize("default", ["float32", "float64"])
def test_numpy_scalars_with_another_default_dtype(default):
    torch_old, tg_old = torch.get_default_dtype(), tg.get_default_dtype()
    torch.set_default_dtype(getattr(torch, default))
    tg.set_default_dtype(getattr(tg, default))
    try:
        for value in (np.float32(1.5), [np.float32(1.5), 2.0], 1.5, [np.int32(1), 2.5]):
            assert_same_outcome(lambda lib: lib.tensor(value))
    finally:
        torch.set_default_dtype(torch_old)
        tg.set_default_dtype(tg_old)


# =============================================================================================
# 4d. bool − bool and −bool
# =============================================================================================
BOOL_OPS = {"sub": lambda lib, a, b: a - b, "sub_method": lambda lib, a, b: a.sub(b),
            "neg": lambda lib, a, b: -a, "neg_method": lambda lib, a, b: a.neg(),
            "sub_python_bool": lambda lib, a, b: a - True,
            "rsub_number": lambda lib, a, b: 1 - a, "sub_float": lambda lib, a, b: a - 1.5,
            "float_minus_bool": lambda lib, a, b: b.float() - a,
            "sub_alpha": lambda lib, a, b: a.sub(b, alpha=2),
            "int_minus_python_bool": lambda lib, a, b: a.long() - True,
            "add": lambda lib, a, b: a + b, "xor": lambda lib, a, b: a ^ b,
            "invert": lambda lib, a, b: ~a, "sub_int": lambda lib, a, b: a - b.long()}


@pytest.mark.parametrize("op", sorted(BOOL_OPS))
def test_bool_arithmetic_matches_torch(op):
    err = assert_same_outcome(lambda lib: BOOL_OPS[op](lib, lib.tensor([True, False, True]),
                                                       lib.tensor([False, False, True])))
    if isinstance(err, Exception):
        assert "bool" in str(err)


# =============================================================================================
# 4e. tril / triu need 2 dims
# =============================================================================================
@pytest.mark.parametrize("shape", [(), (3,), (1,), (2, 3), (2, 3, 4), (0, 2)])
@pytest.mark.parametrize("fn", ["tril", "triu"])
@pytest.mark.parametrize("form", ["function", "method"])
def test_tril_triu_dims_match_torch(shape, fn, form):
    data = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) + 1

    def run(lib):
        x = lib.tensor(data.astype(np.float32))
        return getattr(x, fn)(1) if form == "method" else getattr(lib, fn)(x, -1)
    err = assert_same_outcome(run)
    if isinstance(err, Exception):
        assert fn in str(err) and str(tuple(shape)) in str(err)


# =============================================================================================
# 4f. out-of-range integer indices
# =============================================================================================
INDEXERS = {
    "int": lambda lib, x: x[5], "neg_int": lambda lib, x: x[-4], "last_ok": lambda lib, x: x[-3],
    "tensor": lambda lib, x: x[lib.tensor([5])], "list": lambda lib, x: x[[0, 5]],
    "tensor_neg": lambda lib, x: x[lib.tensor([0, -4])], "tensor_0d": lambda lib, x: x[lib.tensor(3)],
    "2d_second": lambda lib, x: x.reshape(1, 3)[0, 7], "2d_first": lambda lib, x: x.reshape(1, 3)[1],
    "2d_slice_then_int": lambda lib, x: x.reshape(1, 3)[:, 3],
    "ellipsis": lambda lib, x: x.reshape(1, 3)[..., 3],
    "in_range": lambda lib, x: x[lib.tensor([2, -3, 0])],
    "setitem": lambda lib, x: x.clone().__setitem__(3, 1.0),
    "setitem_tensor": lambda lib, x: x.clone().__setitem__(lib.tensor([0, 9]), 1.0),
}


@pytest.mark.parametrize("how", sorted(INDEXERS))
def test_out_of_range_indices_raise_index_error_like_torch(how):
    def run(lib):
        out = INDEXERS[how](lib, lib.tensor([1.0, 2.0, 3.0]))
        return out if out is not None else lib.zeros(0)
    err = assert_same_outcome(run)
    if isinstance(err, Exception):
        text = str(err)
        assert "out of bounds for dimension" in text and "with size" in text and "axis" not in text


# =============================================================================================
# 5. in-place random fillers
# =============================================================================================
FILLERS = {
    "normal_": (dict(mean=1.5, std=2.0), lambda a: (a.mean(), a.std()), (1.5, 2.0)),
    "uniform_": (dict(), lambda a: (a.mean(), a.var()), (0.5, 1 / 12)),
    "exponential_": (dict(lambd=2.5), lambda a: (a.mean(), a.std()), (0.4, 0.4)),
    "geometric_": (dict(p=0.25), lambda a: (a.mean(), a.var()), (4.0, 0.75 / 0.0625)),
    "log_normal_": (dict(mean=0.2, std=0.5), lambda a: (np.log(a).mean(), np.log(a).std()), (0.2, 0.5)),
    "cauchy_": (dict(median=1.0, sigma=0.5),      # no mean: median and half the interquartile range
                lambda a: (np.median(a), np.subtract(*np.percentile(a, [75, 25])) / 2), (1.0, 0.5)),
    "bernoulli_": (dict(p=0.3), lambda a: (a.mean(), a.var()), (0.3, 0.21)),
    "random_": (dict(), lambda a: (a.min(), a.max()), None),
}


def _call(name, t, kwargs, generator=None):
    if name == "uniform_":
        return t.uniform_(-2.0, 3.0, generator=generator) if kwargs.get("wide") else \
            t.uniform_(generator=generator)
    return getattr(t, name)(**kwargs, generator=generator)


@pytest.mark.parametrize("name", sorted(FILLERS))
def test_fillers_are_reproducible_with_a_seeded_generator(name):
    kwargs = FILLERS[name][0]
    a = _call(name, tg.zeros(1000), kwargs, tg.Generator().manual_seed(7)).numpy().copy()
    b = _call(name, tg.zeros(1000), kwargs, tg.Generator().manual_seed(7)).numpy().copy()
    c = _call(name, tg.zeros(1000), kwargs, tg.Generator().manual_seed(8)).numpy().copy()
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    tg.manual_seed(3)
    d = _call(name, tg.zeros(1000), kwargs).numpy().copy()
    tg.manual_seed(3)
    e = _call(name, tg.zeros(1000), kwargs).numpy().copy()
    np.testing.assert_array_equal(d, e)


@pytest.mark.parametrize("name", sorted(set(FILLERS) - {"random_"}))
def test_filler_moments_match_torch_on_100k_draws(name):
    """Our and torch's samples estimate the same statistics (the numbers differ: other streams)."""
    kwargs, stat, _ = FILLERS[name]
    ours = np.asarray(stat(_call(name, tg.zeros(100_000, dtype=tg.float64), kwargs,
                                 tg.Generator().manual_seed(0)).numpy()))
    torch.manual_seed(0)
    t = torch.zeros(100_000, dtype=torch.float64)
    theirs = np.asarray(stat(getattr(t, name)(**kwargs).numpy()))
    np.testing.assert_allclose(ours, theirs, rtol=0.05, atol=0.02)


@pytest.mark.parametrize("args", [(), (10,), (-3, 4), (0, 2), (250,)])
@pytest.mark.parametrize("dtype", ["float32", "float16", "float64", "int8", "uint8", "int16", "int64",
                                   "bool"])
def test_random_ranges_match_torch(dtype, args):
    def run(lib):
        t = lib.zeros(100_000, dtype=getattr(lib, dtype))
        if lib is torch:
            torch.manual_seed(0)
            t.random_(*args)
        else:
            t.random_(*args, generator=tg.Generator().manual_seed(0))
        return t
    (kt, vt), (kg, vg) = both(run)
    assert kt == kg, f"torch {kt} {vt!r}, ours {kg} {vg!r}"
    if kt == "raises":
        assert isinstance(vg, type(vt))
        return
    assert str(vg.dtype) == dtype
    lo_t, hi_t = vt.double().min().item(), vt.double().max().item()
    lo_g, hi_g = vg.double().min().item(), vg.double().max().item()
    span = hi_t - lo_t
    assert lo_g >= lo_t - 0.001 * span - 1e-9 and hi_g <= hi_t + 0.001 * span + 1e-9   # same range
    assert lo_g <= lo_t + 0.01 * span + 1 and hi_g >= hi_t - 0.01 * span - 1
    assert vg.double().mean().item() == pytest.approx(vt.double().mean().item(), rel=0.02, abs=0.02)


@pytest.mark.parametrize("call", [
    "x.normal_(0, -1)", "x.uniform_(2, 1)", "x.exponential_(0)", "x.exponential_(-1)",
    "x.geometric_(0)", "x.geometric_(1)", "x.log_normal_(0, 0)", "x.cauchy_(0, 0)",
    "x.random_(5, 3)", "i8.random_(0, 200)", "i8.random_(-200, 0)", "i64.normal_()",
    "i64.uniform_()", "i64.exponential_()", "i64.log_normal_()", "i64.cauchy_()", "i64.geometric_(0.5)",
    "leaf.normal_()", "leaf.uniform_()", "leaf.random_(3)",
])
def test_filler_errors_match_torch(call):
    def run(lib):
        x, i8, i64 = lib.zeros(3), lib.zeros(3, dtype=lib.int8), lib.zeros(3, dtype=lib.int64)
        leaf = lib.zeros(3, requires_grad=True)   # noqa: F841
        out = eval(call)
        return out.detach()
    (kt, vt), (kg, vg) = both(run)
    assert kt == kg, f"{call}: torch {kt} {vt!r}, ours {kg} {vg!r}"
    if kt == "raises":
        assert isinstance(vg, type(vt)), f"{call}: torch {type(vt).__name__}, ours {type(vg).__name__}"
        assert call.split(".")[1].split("(")[0] in str(vg)


@pytest.mark.parametrize("name", sorted(FILLERS))
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_fillers_keep_dtype_and_work_under_no_grad_on_a_parameter(name, dtype):
    p = tg.nn.Parameter(tg.zeros(64, 3, dtype=getattr(tg, dtype)))
    kwargs = FILLERS[name][0]
    with tg.no_grad():
        out = _call(name, p, kwargs)
    assert out is p and p.dtype == getattr(tg, dtype) and p.shape == (64, 3)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    values = p.detach().numpy().astype(np.float64)
    assert np.isfinite(values).all() or name in ("cauchy_", "random_")
    assert len(np.unique(p.detach().numpy())) > 1


def test_fill_and_uniform_keywords_spelled_as_torch():
    t = tg.zeros(1000).uniform_(**{"from": 2.0, "to": 3.0})
    assert 2.0 <= t.min().item() and t.max().item() < 3.0
    r = tg.zeros(1000, dtype=tg.int64).random_(**{"from": 5, "to": 8})
    assert set(np.unique(r.numpy()).tolist()) == set(torch.zeros(1000, dtype=torch.int64)
                                                      .random_(**{"from": 5, "to": 8}).unique().tolist())
    assert_same_outcome(lambda lib: lib.zeros(3).fill_(2.5))


def test_fillers_on_a_non_leaf_record_a_zero_gradient():
    grads = []
    for lib in (torch, tg):
        x = lib.ones(4, requires_grad=True)
        y = x * 2
        y.normal_()
        (y * 3).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[1], grads[0])


# =============================================================================================
# 6. GPT.generate with a tinygrad_edu.Generator
# =============================================================================================
def test_gpt_generate_accepts_our_generator_and_is_reproducible():
    from tinygrad_edu.models.gpt import GPT, GPTConfig
    tg.manual_seed(0)
    model = GPT(GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, vocab_size=11))
    prompt = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64)
    a = model.generate(prompt, 10, generator=tg.Generator().manual_seed(0)).numpy()
    b = model.generate(prompt, 10, generator=tg.Generator().manual_seed(0)).numpy()
    c = model.generate(prompt, 10, generator=tg.Generator().manual_seed(1)).numpy()
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    g = tg.Generator().manual_seed(5)           # the same stream as its NumPy generator
    d = model.generate(prompt, 10, generator=g).numpy()
    e = model.generate(prompt, 10, generator=np.random.default_rng(5)).numpy()
    np.testing.assert_array_equal(d, e)
    with pytest.raises(TypeError, match="Generator"):
        model.generate(prompt, 2, generator="seed")
