"""The CuPy code path, proven on the CPU: every op spec, three models' train steps and checkpoints on
the fake 'cuda' device of ``fake_cupy`` (NumPy inside, CuPy's refusals outside), against the CPU.

An op that calls ``np.*`` on a device array, mixes a host array into a device op, uses a NumPy-only
function or attribute, or returns a result on the wrong device fails here, before any GPU sees it.
The fast "cupy" kernel tiers are hidden on the fake device (they are real CUDA), so every op runs its
xp-generic reference; ``test_gpu_*.py`` checks the tiers on a real GPU.
"""
import numpy as np
import pytest
from hypothesis import Phase, given, settings, strategies as st

import tinygrad_edu as tg
from tinygrad_edu import nn

import fake_cupy
from checkpoint_roundtrip import assert_same_outputs, assert_state_loaded, saved_checkpoint, tiny_model
from device_parity import compare_devices
from op_registry import ALL_SPECS


# ---------------------------------------------------------------------------------------------
# The fake itself refuses what CuPy refuses
# ---------------------------------------------------------------------------------------------
def test_fake_arrays_refuse_numpy(fake_gpu):
    x = tg.ones(3, device="cuda").array
    assert type(x) is fake_cupy.ndarray
    for bad in (lambda: np.exp(x), lambda: np.asarray(x), lambda: np.where(x > 0, x, 0),
                lambda: x + np.ones(3), lambda: fake_gpu.maximum(x, np.ones(3))):
        with pytest.raises(TypeError):
            bad()
    with pytest.raises(AttributeError):
        fake_gpu.frompyfunc         # NumPy has it, CuPy does not
    with pytest.raises(AttributeError):
        x.flags.writeable
    assert type(x.sum()) is fake_cupy.ndarray and x.sum().ndim == 0   # 0-d arrays, not scalars
    assert x.reshape(3, 1).base is x and x[1:].base is x
    np.testing.assert_array_equal(fake_gpu.asnumpy(fake_gpu.exp(x)), np.exp(np.ones(3, np.float32)))


def test_the_ndarray_constructor_takes_a_shape_as_cupys_does(fake_gpu):
    """cupy.ndarray(shape) makes an uninitialised array and reads an array argument as a shape: an
    op that 'converts' with it (interpolate did, and failed on the first real GPU) fails here too."""
    a = fake_gpu.ndarray((2, 3), dtype=np.float32)
    assert type(a) is fake_gpu.ndarray and a.shape == (2, 3) and a.dtype == np.float32
    assert fake_gpu.ndarray(4).shape == (4,)
    with pytest.raises(TypeError, match="takes a shape"):
        fake_gpu.ndarray(np.array([0.5, 0.25], dtype=np.float32))


def test_installed_is_undone():
    before = tg.backend.cuda_is_available()
    with fake_cupy.installed():
        assert tg.backend.cuda_is_available()
    assert tg.backend.cuda_is_available() == before


# ---------------------------------------------------------------------------------------------
# Every op spec: the device run equals the CPU run
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ALL_SPECS, ids=[s.name for s in ALL_SPECS])
@settings(max_examples=1)
@given(data=st.data())
def test_op_on_fake_device(spec, data):
    with fake_cupy.installed():
        compare_devices(spec, data.draw(spec.cases("any"), label="case"))


@pytest.mark.parametrize("mode", ["smallest", "empty"])
def test_edge_shapes_on_fake_device(mode):
    """0-d / size-1 and size-0 inputs of every spec (one loop, so the suite stays fast)."""
    failures = []
    for spec in ALL_SPECS:
        if mode not in spec.edge_modes:
            continue

        @settings(max_examples=1, phases=[Phase.generate])
        @given(data=st.data())
        def one(data):
            compare_devices(spec, data.draw(spec.cases(mode), label="case"))
        try:
            with fake_cupy.installed():
                one()
        except Exception as exc:  # noqa: BLE001  (collect them all, report together)
            failures.append(f"{spec.name}: {str(exc).splitlines()[0][:200]}")
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------------------------------------
# Devices: tensors, creation ops, modules, optimizers
# ---------------------------------------------------------------------------------------------
def test_tensor_moves(fake_gpu):
    _tensor_moves()


def _tensor_moves():
    x = tg.arange(6).reshape(2, 3)
    for moved in (x.to("cuda"), x.cuda(), x.to(device="cuda:0"), x.to(tg.zeros(1, device="cuda"))):
        assert moved.device == "cuda:0" and moved.is_cuda
        np.testing.assert_array_equal(moved.cpu().numpy(), x.numpy())
    assert x.cuda().to("cpu").device == "cpu"
    g = tg.ones(2, requires_grad=True)
    (g.cuda() * 3).sum().backward()     # the copy is differentiable: the gradient comes back to the CPU
    assert g.grad.device == "cpu"
    np.testing.assert_array_equal(g.grad.numpy(), [3, 3])


CREATORS = [
    lambda d: tg.zeros(2, 3, device=d), lambda d: tg.ones(2, device=d), lambda d: tg.empty(2, device=d),
    lambda d: tg.full((2,), 1.5, device=d), lambda d: tg.arange(4, device=d),
    lambda d: tg.linspace(0, 1, 5, device=d), lambda d: tg.eye(3, device=d),
    lambda d: tg.tensor([1.0, 2.0], device=d), lambda d: tg.as_tensor(np.ones(2), device=d),
    lambda d: tg.rand(2, device=d), lambda d: tg.randn(2, device=d),
    lambda d: tg.randint(0, 5, (3,), device=d),
    lambda d: tg.randperm(4, device=d), lambda d: tg.zeros_like(tg.zeros(2, device=d)),
    lambda d: tg.ones_like(tg.zeros(2), device=d), lambda d: tg.full_like(tg.zeros(2), 2.0, device=d),
    lambda d: tg.rand_like(tg.zeros(2), device=d), lambda d: tg.randn_like(tg.zeros(2, device=d)),
    lambda d: tg.empty_like(tg.zeros(2, device=d)),
]


@pytest.mark.parametrize("make", CREATORS, ids=range(len(CREATORS)))
def test_creation_ops_take_device(fake_gpu, make):
    tg.manual_seed(3)
    cpu = make("cpu")
    tg.manual_seed(3)
    dev = make("cuda")
    assert cpu.device == "cpu" and dev.device == "cuda:0"
    assert dev.dtype == cpu.dtype and dev.shape == cpu.shape
    if "empty" not in str(make):
        np.testing.assert_array_equal(dev.cpu().numpy(), cpu.numpy())


def test_tensor_from_a_list_of_device_tensors(fake_gpu):
    parts = [tg.tensor(1.0, device="cuda"), tg.tensor(2.0, device="cuda")]
    assert tg.tensor(parts).device == "cpu" and tg.tensor(parts).tolist() == [1.0, 2.0]
    assert tg.tensor(parts, device="cuda").device == "cuda:0"


def test_init_functions_keep_the_device(fake_gpu):
    from tinygrad_edu.nn import init
    for name in ("uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "xavier_normal_",
                 "kaiming_uniform_", "kaiming_normal_", "zeros_", "ones_", "eye_"):
        w = tg.zeros(4, 6, device="cuda")
        getattr(init, name)(w)
        assert type(w.array) is fake_cupy.ndarray, name


def test_random_ops_on_device(fake_gpu):
    p = tg.full((4, 3), 0.5, device="cuda")
    assert tg.bernoulli(p).device == "cuda:0"
    assert tg.multinomial(tg.ones(2, 5, device="cuda"), 3).device == "cuda:0"
    assert tg.nn.functional.dropout(tg.ones(4, 4, device="cuda"), 0.5).device == "cuda:0"
    x = tg.zeros(3, 3, device="cuda")
    for fill in (lambda: x.uniform_(), lambda: x.normal_(), lambda: x.bernoulli_(0.3)):
        assert fill() is x and x.device == "cuda:0"


def test_module_moves_in_place_and_optimizer_follows(fake_gpu):
    _module_moves()


def _module_moves():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    params = list(model.parameters())
    opt = tg.optim.AdamW(model.parameters(), lr=1e-2)
    assert model.cuda() is model and all(p is q for p, q in zip(params, model.parameters()))
    assert all(p.device == "cuda:0" for p in model.parameters())
    assert all(b.device == "cuda:0" for b in model.buffers())
    model(tg.randn(5, 3, device="cuda")).sum().backward()
    opt.step()
    _assert_state_on_device(opt, "cuda:0")
    model.cpu()
    assert all(p.device == "cpu" and p.grad.device == "cpu" for p in model.parameters())


def _assert_state_on_device(opt, device):
    arrays = [v for state in opt.state.values() for v in state.values() if hasattr(v, "shape")]
    assert arrays, "the optimizer keeps no state arrays"
    assert all(tg.backend.device_of(a) == device for a in arrays)


# ---------------------------------------------------------------------------------------------
# Train steps and checkpoints across devices
# ---------------------------------------------------------------------------------------------
def _tiny_tasks():
    from benchmarks import bench_gpu
    return [bench_gpu.TASKS[key](smoke=True) for key in ("vgg", "airbench", "gpt", "bert")]


@pytest.mark.parametrize("index", range(4), ids=["vgg", "airbench", "gpt", "bert"])
def test_train_step_on_fake_device_equals_cpu(index):
    """Two steps; the CPU runs its references too (the fake device has no fast tier), so the two runs
    do the same arithmetic and must agree to the last bit or nearly."""
    _train_steps_agree(index)


def _train_steps_agree(index):
    from benchmarks.bench_gpu import compare_outputs, ours_step
    task = _tiny_tasks()[index]
    step, outputs, _ = ours_step(task, "cpu")
    previous = tg.backend.use_kernels(False)
    try:
        step()
        step()
    finally:
        tg.backend.use_kernels(previous)
    with fake_cupy.installed():
        dev_step, dev_outputs, model = ours_step(task, "cuda")
        dev_step()
        dev_step()
        assert all(p.device == "cuda:0" for p in model.parameters())
        bad, worst = compare_outputs(outputs(), dev_outputs(), rtol=1e-5, atol=1e-6)
    assert not bad, f"{task.name}: {bad[:5]} differ (max |diff| {worst})"


def test_map_location_forms(fake_gpu, tmp_path):
    path = tmp_path / "sd.safetensors"
    tg.save({"w": tg.ones(2)}, path)
    for where, device in ((None, "cpu"), ("cpu", "cpu"), ("cuda", "cuda:0"), (tg.device("cuda", 0), "cuda:0"),
                          ({"cpu": "cuda"}, "cuda:0"), ({"cuda:0": "cpu"}, "cpu")):
        assert tg.load(path, map_location=where)["w"].device == device, where
    with pytest.raises(TypeError, match="map_location"):
        tg.load(path, map_location=lambda storage, location: storage)


def test_checkpoint_across_devices(fake_gpu, tmp_path):
    _checkpoint_across_devices(tmp_path)


def _checkpoint_across_devices(tmp_path):
    model, path = saved_checkpoint(tmp_path, tg.optim.Adam)
    on_cpu = tg.load(path)
    on_gpu = tg.load(path, map_location="cuda")
    mapped = tg.load(path, map_location={"cpu": "cuda:0"})
    assert_state_loaded(model, on_cpu["model"], "cpu")
    assert all(on_gpu["model"][name].device == "cuda:0" and mapped["model"][name].device == "cuda:0"
               for name in model.state_dict())
    cpu_model = tiny_model()
    cpu_model.load_state_dict(on_gpu["model"])         # device tensors into a CPU model
    gpu_model = tiny_model().cuda()
    gpu_model.load_state_dict(on_cpu["model"])         # host tensors into a device model
    assert all(p.device == "cuda:0" for p in gpu_model.parameters())
    assert_same_outputs(gpu_model, cpu_model, rtol=1e-6)
    for saved in (on_gpu["optimizer"], on_cpu["optimizer"]):   # state saved anywhere lands on the params
        opt2 = tg.optim.Adam(gpu_model.parameters(), lr=0.1)
        opt2.load_state_dict(saved)
        _assert_state_on_device(opt2, "cuda:0")
        gpu_model(tg.randn(6, 3, device="cuda")).sum().backward()
        opt2.step()
        _assert_state_on_device(opt2, "cuda:0")
    assert all(p.device == "cuda:0" for p in gpu_model.parameters())
    sd = tg.load_state_dict_from_safetensors(path, map_location="cuda")
    assert all(t.device == "cuda:0" for t in sd.values())


# ---------------------------------------------------------------------------------------------
# Layers the op registry does not list: recurrent and transformer modules, forward and backward
# ---------------------------------------------------------------------------------------------
LAYERS = {
    "LSTM": (lambda: nn.LSTM(4, 5, num_layers=2, batch_first=True), (2, 3, 4), 1),
    "GRU": (lambda: nn.GRU(4, 5, bidirectional=True), (3, 2, 4), 1),
    "LSTMCell": (lambda: nn.LSTMCell(4, 5), (2, 4), 1),
    "TransformerEncoderLayer": (lambda: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
                                (2, 5, 8), 1),
    "Transformer": (lambda: nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, batch_first=True), (2, 5, 8), 2),
}


def _layer_matches(name):
    make, shape, n_inputs = LAYERS[name]
    results = []
    for device in ("cpu", "cuda"):
        tg.manual_seed(0)
        layer = make().to(device)
        x = tg.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32), device=device,
                      requires_grad=True)
        y = layer(*([x] * n_inputs))
        y = y[0] if isinstance(y, tuple) else y
        assert y.device == device or device == "cuda" and y.device == "cuda:0"
        y.sum().backward()
        results.append([y.detach().cpu().numpy(), x.grad.cpu().numpy()] +
                       [p.grad.cpu().numpy() for p in layer.parameters()])
    for cpu, dev in zip(*results):
        np.testing.assert_allclose(dev, cpu, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", LAYERS)
def test_layer_on_fake_device(fake_gpu, name):
    _layer_matches(name)
