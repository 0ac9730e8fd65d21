"""The Tensor's public surface: constructors, dtypes, attributes and conversions, as PyTorch's."""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg


# ---------------------------------------------------------------------------------------------
# tensor(data): dtype rules
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [
    1.5, [1.0, 2.0], [[1, 2], [3, 4]], [1, 2.5], True, [True, False], 7, [[0.5], [1]], [],
])
def test_tensor_infers_the_same_dtype_and_values_as_torch(data):
    ours, theirs = tg.tensor(data), torch.tensor(data)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.int64, np.uint8,
                                   np.bool_])
def test_tensor_from_a_numpy_array_keeps_its_dtype_and_copies(dtype):
    array = np.arange(6).reshape(2, 3).astype(dtype)
    t = tg.tensor(array)
    assert t.dtype == array.dtype and t.shape == (2, 3)
    array[0, 0] = 1
    assert t.numpy()[0, 0] == 0, "tensor() copies its data"


@pytest.mark.parametrize("dtype,expected", [
    (tg.float64, np.float64), (tg.float32, np.float32), (tg.int64, np.int64), (tg.bool, np.bool_),
    (np.float16, np.float16), ("float64", np.float64), (float, np.float32), (int, np.int64),
])
def test_dtype_argument_is_honoured(dtype, expected):
    assert tg.tensor([1, 0, 2], dtype=dtype).dtype == np.dtype(expected)
    assert tg.zeros(2, dtype=dtype).dtype == np.dtype(expected)


def test_dtypes_are_numpy_dtypes_with_pytorch_names():
    assert tg.float32 is np.dtype("float32") and tg.float is tg.float32
    assert tg.float64 == tg.double == np.float64
    assert tg.int64 == tg.long and tg.bool == np.bool_
    assert tg.get_default_dtype() == tg.float32


def test_unknown_dtype_raises():
    with pytest.raises(TypeError, match="unknown dtype"):
        tg.tensor([1.0], dtype="float128x")


def test_from_numpy_and_as_tensor_share_memory():
    array = np.zeros(3, np.float32)
    shared, also_shared = tg.from_numpy(array), tg.as_tensor(array)
    array[1] = 5.0
    assert shared.numpy()[1] == 5.0 and also_shared.numpy()[1] == 5.0


def test_tensor_of_tensors_and_of_a_tensor():
    assert tg.tensor([tg.tensor(1.0), tg.tensor(2.0)]).tolist() == [1.0, 2.0]
    source = tg.tensor([1.0, 2.0])
    copy = tg.tensor(source)
    source.add_(1)
    assert copy.tolist() == [1.0, 2.0]


def test_tensor_of_an_unsupported_element_raises():
    with pytest.raises(TypeError, match="can't convert an element of type str"):
        tg.tensor([1.0, "two"])


# ---------------------------------------------------------------------------------------------
# Attributes
# ---------------------------------------------------------------------------------------------
def test_attributes_of_a_leaf_and_of_a_result():
    t = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert t.shape == (2, 3 - 1) and t.ndim == 2 and t.dim() == 2 and t.numel() == 4
    assert t.size() == (2, 2) and t.size(1) == 2 and len(t) == 2
    assert t.dtype == tg.float32
    assert t.device == "cpu" and t.device.type == "cpu" and not t.is_cuda
    assert t.requires_grad and t.is_leaf and t.grad is None and t.grad_fn is None
    y = (t * 2).sum()
    assert not y.is_leaf and y.requires_grad and y.grad_fn.name() == "SumBackward"
    y.backward()
    assert t.grad.shape == t.shape and t.grad.dtype == t.dtype and not t.grad.requires_grad


def test_numpy_item_tolist():
    t = tg.tensor([[1.5, 2.0], [3.0, 4.0]])
    assert isinstance(t.numpy(), np.ndarray) and t.numpy().dtype == np.float32
    assert t.tolist() == [[1.5, 2.0], [3.0, 4.0]]
    assert t[0, 0].item() == 1.5 and isinstance(t[0, 0].item(), float)
    assert tg.tensor([7]).item() == 7 and isinstance(tg.tensor(7).item(), int)
    assert float(tg.tensor(2.5)) == 2.5 and int(tg.tensor(3)) == 3


def test_item_of_several_elements_raises():
    with pytest.raises(RuntimeError, match="2 elements"):
        tg.tensor([1.0, 2.0]).item()


def test_numpy_of_a_tensor_that_requires_grad_raises_like_torch():
    t = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        t.numpy()
    assert t.detach().numpy().tolist() == [1.0]


def test_detach_shares_memory_and_leaves_the_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    assert d.grad_fn is None and not d.requires_grad and d.is_leaf
    assert d.array is y.array


def test_data_is_a_detached_tensor_sharing_memory_like_torch():
    import torch
    w = tg.tensor([[1.0, 5.0], [4.0, 2.0]], requires_grad=True)
    tw = torch.tensor([[1.0, 5.0], [4.0, 2.0]], requires_grad=True)
    d = w.data
    assert isinstance(d, tg.Tensor) and not d.requires_grad and d.grad_fn is None
    assert d.array is w.array                                   # the same memory
    values, indices = w.data.max(1)                             # tensor semantics, not NumPy's
    tvalues, tindices = tw.data.max(1)
    assert values.tolist() == tvalues.tolist() and indices.tolist() == tindices.tolist()
    assert abs(w.data.std().item() - tw.data.std().item()) < 1e-6   # unbiased, as torch
    w.data.add_(1.0)                                            # changes the parameter itself
    tw.data.add_(1.0)
    assert w.tolist() == tw.tolist() and w.requires_grad
    assert w._version == 0                                      # autograd does not see .data writes
    w.data = tg.tensor([7.0, 8.0, 9.0])                         # assignment swaps the memory
    assert w.shape == (3,) and w.tolist() == [7.0, 8.0, 9.0] and w.requires_grad
    with pytest.raises(TypeError, match="Tensor.data"):
        w.data = [1.0]


def test_requires_grad_():
    t = tg.tensor([1.0, 2.0])
    assert t.requires_grad_() is t and t.requires_grad
    assert not t.requires_grad_(False).requires_grad
    y = tg.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [6.0, 12.0])


def test_to_cpu_and_dtype_conversion():
    t = tg.tensor([1.0, 2.0], requires_grad=True)
    assert t.to("cpu") is t and t.cpu() is t and t.to(tg.device("cpu")) is t
    d = t.to(tg.float64)
    assert d.dtype == tg.float64 and d.grad_fn is not None
    assert t.to("cpu", tg.float64).dtype == tg.float64
    assert t.to(dtype=tg.float16).dtype == tg.float16
    assert t.to(tg.tensor([1])).dtype == tg.int64
    assert t.double().dtype == tg.float64 and t.long().dtype == tg.int64 and t.bool().dtype == tg.bool
    d.sum().backward()
    assert t.grad.dtype == tg.float32, "the gradient comes back in the input's dtype"


def test_transpose_property():
    a = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(tg.tensor(a).T.numpy(), a.T)
    np.testing.assert_array_equal(tg.tensor(a[0]).T.numpy(), a[0].T)
    np.testing.assert_array_equal(tg.tensor(a).mT.numpy(), np.swapaxes(a, -1, -2))


def test_repr_shows_values_dtype_device_and_grad_fn():
    assert repr(tg.tensor([1.0, 2.5])) == "tensor([1. , 2.5])"
    assert repr(tg.tensor([1, 2])) == "tensor([1, 2])"
    assert "dtype=float64" in repr(tg.tensor([1.0], dtype=tg.float64))
    assert "requires_grad=True" in repr(tg.tensor([1.0], requires_grad=True))
    r = repr(tg.tensor([1.0, 2.0], requires_grad=True) * 2)
    assert r.startswith("tensor([2., 4.]") and "grad_fn=<MulBackward>" in r
    assert "device" not in r  # cpu is the default, as PyTorch leaves it out
    big = repr(tg.zeros(10_000))
    assert "..." in big and len(big) < 200


def test_array_interop():
    t = tg.tensor([[1.0, 2.0]], requires_grad=True)
    array = np.asarray(t)
    assert isinstance(array, np.ndarray) and array.tolist() == [[1.0, 2.0]]
    assert np.array(t, dtype=np.float64).dtype == np.float64
    # a NumPy array on the left defers to the tensor (__array_priority__): the result is a Tensor
    result = np.array([10.0, 20.0], np.float32) + tg.tensor([1.0, 2.0])
    assert isinstance(result, tg.Tensor) and result.tolist() == [11.0, 22.0]


def test_numpy_scalars_act_like_python_numbers():
    # np.sqrt(...) returns a NumPy float64 scalar; as in torch it must not promote float32 tensors
    t = tg.ones(3)
    assert (t * np.sqrt(2.0)).dtype == tg.float32
    assert (np.float64(2.0) * t).dtype == tg.float32
    assert (tg.arange(3) * np.int64(2)).dtype == tg.int64
    assert (tg.arange(3) * np.float64(0.5)).dtype == tg.float32


def test_bool_len_iter_index():
    assert bool(tg.tensor([1.0])) and not bool(tg.tensor(0.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(tg.tensor([1.0, 2.0]))
    assert [r.tolist() for r in tg.tensor([[1, 2], [3, 4]])] == [[1, 2], [3, 4]]
    assert [10, 20, 30][tg.tensor(1)] == 20
    with pytest.raises(TypeError, match="0-d"):
        len(tg.tensor(1.0))


# ---------------------------------------------------------------------------------------------
# Devices
# ---------------------------------------------------------------------------------------------
@pytest.mark.skipif(tg.cuda.is_available(), reason="this machine has a usable GPU: the error path "
                    "cannot happen here (test_cuda_tensor_round_trip covers it)")
@pytest.mark.parametrize("make", [
    lambda: tg.tensor([1.0], device="cuda"),
    lambda: tg.zeros(2, device="cuda"),
    lambda: tg.randn(2, device="cuda"),
    lambda: tg.tensor([1.0]).to("cuda"),
    lambda: tg.tensor([1.0]).cuda(),
])
def test_cuda_without_a_gpu_raises_a_clear_error(make):
    with pytest.raises(RuntimeError, match=r"device='cuda' requested but CUDA is not usable: \S+"):
        make()


@pytest.mark.gpu
@pytest.mark.skipif(not tg.cuda.is_available(), reason="needs a GPU (CuPy and a CUDA device)")
def test_cuda_tensor_round_trip():
    x = tg.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    assert x.device == "cuda:0" and x.is_cuda
    (x * x).sum().backward()
    assert x.grad.device == "cuda:0"
    np.testing.assert_allclose(x.grad.cpu().numpy(), [2.0, 4.0])
    back = x.detach().cpu()
    assert back.device == "cpu" and back.tolist() == [1.0, 2.0]


def test_unknown_device_raises():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        tg.zeros(2, device="tpu")


# ---------------------------------------------------------------------------------------------
# Creation functions
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,args,kwargs", [
    ("arange", (5,), {}),
    ("arange", (2, 8, 2), {}),
    ("arange", (0.0, 1.0, 0.25), {}),
    ("arange", (1, 2.5, 0.5), {}),
    ("linspace", (0, 1, 5), {}),
    ("linspace", (-2.0, 2.0, 3), {}),
    ("eye", (3,), {}),
    ("eye", (2, 4), {}),
    ("full", ((2, 3), 7), {}),
    ("full", ((2,), 1.5), {}),
    ("full", ((2,), True), {}),
    ("zeros", (2, 3), {}),
    ("ones", ((2, 3),), {}),
    ("zeros", (2,), {"dtype": "int64"}),
])
def test_creation_functions_match_torch(name, args, kwargs):
    ours = getattr(tg, name)(*args, **kwargs)
    theirs = getattr(torch, name)(*args, **{k: getattr(torch, v) for k, v in kwargs.items()})
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_like_functions_take_shape_and_dtype_from_their_argument():
    ref = tg.tensor([[1, 2, 3]], dtype=tg.int32)
    for t, value in ((tg.zeros_like(ref), 0), (tg.ones_like(ref), 1), (tg.full_like(ref, 4), 4)):
        assert t.shape == (1, 3) and t.dtype == tg.int32
        assert (t.numpy() == value).all()
    assert tg.zeros_like(ref, dtype=tg.float64).dtype == tg.float64
    assert tg.ones_like(tg.zeros(2), requires_grad=True).requires_grad
    assert tg.randn_like(tg.zeros(2, 5)).shape == (2, 5)


def test_random_functions_shapes_dtypes_and_ranges():
    tg.manual_seed(0)
    r, n = tg.rand(1000), tg.randn(3, 4, dtype=tg.float64)
    assert r.dtype == tg.float32 and 0.0 <= r.numpy().min() and r.numpy().max() < 1.0
    assert n.shape == (3, 4) and n.dtype == tg.float64
    k = tg.randint(2, 5, (1000,))
    assert k.dtype == tg.int64 and set(np.unique(k.numpy())) == {2, 3, 4}
    assert tg.randint(3, (4,)).numpy().max() < 3
    perm = tg.randperm(10).numpy()
    assert sorted(perm.tolist()) == list(range(10))


def test_manual_seed_makes_random_numbers_reproducible():
    def draw():
        return np.concatenate([tg.randn(5).numpy(), tg.rand(3).numpy(),
                               tg.randint(0, 100, (4,)).numpy().astype(np.float32)])
    tg.manual_seed(1234)
    first = draw()
    tg.manual_seed(1234)
    second = draw()
    tg.manual_seed(4321)
    other = draw()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_invalid_sizes_raise():
    with pytest.raises(ValueError, match="invalid size"):
        tg.zeros(-1)
    with pytest.raises(ValueError, match="invalid size"):
        tg.ones(2.5)


def test_set_num_threads_limits_numpy_blas():
    from threadpoolctl import threadpool_info
    before = tg.get_num_threads()
    try:
        tg.set_num_threads(1)
        blas = [lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"]
        assert blas and all(n == 1 for n in blas) and tg.get_num_threads() == 1
    finally:
        tg.set_num_threads(before)
    with pytest.raises(ValueError, match="set_num_threads: expected a positive int"):
        tg.set_num_threads(0)
