"""nn.Module, Parameter, the layers and nn.init, checked against torch.nn: registration, names and
order of state_dict keys, repr, load_state_dict (and its errors), hooks, modes, init statistics."""
import copy
import math
import pickle

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
import tinygrad_edu.nn.init as init

torch.set_num_threads(1)  # torch's thread pool crawls on a busy 2-core machine


# ---------------------------------------------------------------------------------------------
# the same model, written against both libraries
# ---------------------------------------------------------------------------------------------
def make_block(lib):
    class Block(lib.Module):
        def __init__(self):
            super().__init__()
            self.encoder = lib.Sequential(lib.Linear(4, 8), lib.ReLU(), lib.Linear(8, 8, bias=False))
            self.heads = lib.ModuleList([lib.Linear(8, 3), lib.Linear(8, 3)])
            self.scale = lib.Parameter(lib_ones(lib, 3))
            self.register_buffer("running", lib_ones(lib, 3) * 2)
            self.register_buffer("scratch", lib_ones(lib, 2), persistent=False)
            self.act = lib.Tanh()
            self.not_registered = lib_ones(lib, 5)  # a plain tensor attribute

        def forward(self, x):
            h = self.act(self.encoder(x))
            return (self.heads[0](h) + self.heads[1](h)) * self.scale + self.running
    return Block()


def lib_ones(lib, n):
    return tg.ones(n) if lib is nn else torch.ones(n)


def load_from_torch(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


# ---------------------------------------------------------------------------------------------
# Parameter
# ---------------------------------------------------------------------------------------------
def test_parameter_is_a_leaf_tensor_sharing_memory():
    t = tg.randn(3, 2)
    p = nn.Parameter(t)
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf
    p.data[0, 0] = 42.0
    assert t.numpy()[0, 0] == 42.0
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    with pytest.raises(RuntimeError, match="Parameter: only tensors of floating point dtype"):
        nn.Parameter(tg.tensor([1, 2]))
    (p * 2).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.full((3, 2), 2.0))
    assert type(p * 2) is tg.Tensor  # results of ops are plain tensors


# ---------------------------------------------------------------------------------------------
# registration and naming
# ---------------------------------------------------------------------------------------------
def test_names_and_order_match_torch():
    ours, theirs = make_block(nn), make_block(torch.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert len(list(ours.modules())) == len(list(theirs.modules()))
    assert len(list(ours.children())) == 3
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert "not_registered" not in ours.state_dict() and "scratch" not in ours.state_dict()
    assert len(list(ours.buffers())) == 2
    assert [n for n, _ in ours.named_parameters(recurse=False)] == ["scale"]


def test_load_from_torch_gives_torch_outputs_and_gradients():
    torch.manual_seed(0)
    ours, theirs = make_block(nn), make_block(torch.nn)
    load_from_torch(ours, theirs)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    out, ref = ours(tg.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    ref.sum().backward()
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


def test_shared_parameters_are_listed_once_but_saved_under_every_name():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 3)
            self.b = nn.Linear(3, 3)
            self.b.weight = self.a.weight
    model = Tied()
    assert len(list(model.parameters())) == 3
    assert list(model.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]


def test_assignment_rules():
    model = nn.Linear(2, 3)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        model.weight = tg.randn(3, 2)
    model.weight = nn.Parameter(tg.zeros(3, 2))
    assert np.all(model.weight.detach().numpy() == 0)
    model.extra = nn.ReLU()
    assert "extra" in dict(model.named_children())
    model.extra = nn.Parameter(tg.ones(1))  # changing kind moves the name to the other registry
    assert "extra" not in dict(model.named_children()) and "extra" in dict(model.named_parameters())
    del model.extra
    assert "extra" not in dict(model.named_parameters())
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'missing'"):
        model.missing

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(tg.ones(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    with pytest.raises(KeyError, match=r"buffer name can.{0,2}t contain"):
        model.register_buffer("a.b", tg.ones(1))
    with pytest.raises(TypeError, match="cannot assign 'list' as buffer"):
        m = nn.Module()
        m.register_buffer("buf", tg.ones(1))
        m.buf = [1]


def test_train_eval_zero_grad_apply_and_requires_grad():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Sequential(nn.Dropout(0.1)))
    assert model.training
    model.eval()
    assert not any(m.training for m in model.modules())
    x = tg.randn(4, 2)
    np.testing.assert_array_equal(model(x).detach().numpy(), model[0](x).detach().numpy())  # dropout off
    model.train()
    assert all(m.training for m in model.modules())
    model(x).sum().backward()
    assert model[0].weight.grad is not None
    model.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(model[0].weight.grad.numpy(), np.zeros((2, 2)))
    model.zero_grad()
    assert model[0].weight.grad is None
    visited = []
    model.apply(lambda m: visited.append(type(m).__name__))
    torch_visited = []
    torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5),
                        torch.nn.Sequential(torch.nn.Dropout(0.1))).apply(
        lambda m: torch_visited.append(type(m).__name__))
    assert visited == torch_visited
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    with pytest.raises(ValueError, match="training mode is expected to be a bool"):
        model.train("yes")


def test_to_casts_in_place_keeping_parameter_identity():
    model = nn.Linear(3, 2)
    weight = model.weight
    model(tg.randn(1, 3)).sum().backward()
    model.to(tg.float64)
    assert model.weight is weight and weight.dtype == np.float64 and weight.grad.dtype == np.float64
    assert model(tg.randn(2, 3, dtype=tg.float64)).dtype == np.float64
    model.float()
    assert weight.dtype == np.float32
    model.to("cpu")
    with pytest.raises(TypeError, match="only floating point dtypes"):
        model.to(tg.int64)
    if not tg.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not usable"):
            model.to("cuda")


def test_deepcopy_and_pickle_give_independent_models():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    clone = copy.deepcopy(model)
    clone[0].weight.data[...] = 0
    assert not np.all(model[0].weight.detach().numpy() == 0)
    assert isinstance(clone[0].weight, nn.Parameter)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored[0].weight.detach().numpy(), model[0].weight.detach().numpy())
    assert isinstance(restored[0].weight, nn.Parameter) and restored[0].weight.requires_grad


# ---------------------------------------------------------------------------------------------
# state_dict / load_state_dict
# ---------------------------------------------------------------------------------------------
def test_state_dict_values_are_detached_tensors_sharing_memory():
    model = nn.Linear(2, 3)
    sd = model.state_dict()
    assert all(isinstance(v, tg.Tensor) and not v.requires_grad for v in sd.values())
    model.weight.data[0, 0] = 7.0
    assert sd["weight"].numpy()[0, 0] == 7.0
    assert model.state_dict(keep_vars=True)["weight"] is model.weight


def test_load_state_dict_round_trip_bumps_versions_and_accepts_torch_tensors():
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    version = b.weight._version
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    assert b.weight._version == version + 1
    reference = torch.nn.Linear(3, 2)
    b.load_state_dict(reference.state_dict())  # torch tensors are read through numpy
    np.testing.assert_array_equal(b.bias.detach().numpy(), reference.bias.detach().numpy())


def test_load_state_dict_errors_list_every_problem_and_copy_nothing():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    before = model[0].weight.detach().numpy().copy()
    bad = {"0.weight": np.zeros((3, 2)), "0.bias": np.zeros(4), "2.weight": np.zeros((1, 3)),
           "extra.weight": np.zeros(1)}
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(bad)
    message = str(info.value)
    assert message.startswith("Error(s) in loading state_dict for Sequential:")
    assert 'Missing key(s) in state_dict: "2.bias".' in message
    assert 'Unexpected key(s) in state_dict: "extra.weight".' in message
    assert ("size mismatch for 0.bias: copying a param with shape (4,) from checkpoint, the shape in "
            "current model is (3,).") in message
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), before)
    with pytest.raises(RuntimeError, match="size mismatch for 0.bias"):
        model.load_state_dict(bad, strict=False)  # shapes are checked even when not strict
    del bad["0.bias"]
    result = model.load_state_dict(bad, strict=False)
    assert result.missing_keys == ["0.bias", "2.bias"] and result.unexpected_keys == ["extra.weight"]
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), np.zeros((3, 2)))


# ---------------------------------------------------------------------------------------------
# hooks and calling
# ---------------------------------------------------------------------------------------------
def test_forward_hooks_can_observe_and_replace_and_be_removed():
    model = nn.Linear(2, 2)
    seen = []
    handle = model.register_forward_hook(lambda m, args, out: seen.append((m, args[0].shape, out.shape)))
    double = model.register_forward_hook(lambda m, args, out: out * 2)
    x = tg.randn(3, 2)
    plain = F.linear(x, model.weight, model.bias).detach().numpy()
    np.testing.assert_allclose(model(x).detach().numpy(), 2 * plain, rtol=1e-6)
    assert seen == [(model, (3, 2), (3, 2))]
    handle.remove()
    double.remove()
    np.testing.assert_allclose(model(x).detach().numpy(), plain, rtol=1e-6)
    assert len(seen) == 1
    pre = model.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    np.testing.assert_allclose(model(x).detach().numpy(), np.broadcast_to(model.bias.detach().numpy(),
                                                                          (3, 2)), rtol=1e-6)
    pre.remove()
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(x)


# ---------------------------------------------------------------------------------------------
# layers and containers
# ---------------------------------------------------------------------------------------------
def test_repr_matches_torch():
    def build(lib):
        return lib.Sequential(
            lib.Flatten(), lib.Linear(4, 8), lib.ReLU(), lib.GELU(), lib.Dropout(0.25),
            lib.Sequential(lib.Linear(8, 8, bias=False), lib.Tanh()),
            lib.ModuleList([lib.Linear(8, 8) for _ in range(3)] + [lib.Sigmoid()]),
            lib.Identity(), lib.LeakyReLU(0.2), lib.SiLU(), lib.Embedding(10, 3, padding_idx=0),
            lib.Softmax(dim=1), lib.ReLU(inplace=True))
    assert repr(build(nn)) == repr(build(torch.nn))
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList())


def test_sequential_and_module_list_behave_like_lists():
    layers = [nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and seq[0] is layers[0] and seq[-1] is layers[2]
    assert list(seq) == layers
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub.state_dict()) == ["2.weight", "2.bias"]
    with pytest.raises(IndexError, match="Sequential: index 3 is out of range for 3 modules"):
        seq[3]
    x = tg.randn(4, 2)
    np.testing.assert_allclose(seq(x).detach().numpy(),
                               layers[2](layers[1](layers[0](x))).detach().numpy())
    seq.append(nn.Sigmoid())
    assert len(seq) == 4
    from collections import OrderedDict
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"]

    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.Linear(1, 2))
    ml.extend([nn.Linear(1, 3)])
    ml.insert(0, nn.Linear(1, 4))
    assert [m.out_features for m in ml] == [4, 1, 2, 3]
    del ml[1]
    assert [m.out_features for m in ml] == [4, 2, 3]
    assert list(ml.state_dict())[:2] == ["0.weight", "0.bias"]
    assert [m.out_features for m in ml[1:]] == [2, 3]
    ml += [nn.Linear(1, 5)]
    assert len(ml) == 4 and ml[-1].out_features == 5


def test_linear_default_init_follows_torch():
    tg.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert w.dtype == np.float32 and np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound  # U(-a, a) has std a/√3
    assert abs(w.mean()) < 0.01 * bound
    tg.manual_seed(0)
    np.testing.assert_array_equal(nn.Linear(400, 300).weight.detach().numpy(), w)  # reproducible
    assert nn.Linear(3, 2, bias=False).bias is None
    assert nn.Linear(3, 2, dtype=tg.float64).weight.dtype == np.float64


def test_init_functions_fill_in_place_with_the_right_statistics():
    t = tg.empty(500, 200)
    version = t._version
    init.uniform_(t, -2.0, 3.0)
    assert t._version == version + 1
    assert t.numpy().min() >= -2.0 and t.numpy().max() <= 3.0 and abs(t.numpy().mean() - 0.5) < 0.05
    init.normal_(t, 1.0, 0.5)
    assert abs(t.numpy().mean() - 1.0) < 0.01 and abs(t.numpy().std() - 0.5) < 0.01
    init.zeros_(t)
    assert np.all(t.numpy() == 0)
    init.ones_(t)
    assert np.all(t.numpy() == 1)
    init.kaiming_uniform_(t, nonlinearity="relu")
    bound = math.sqrt(2.0) * math.sqrt(3.0 / 200)
    assert np.abs(t.numpy()).max() <= bound and np.abs(t.numpy()).max() > 0.98 * bound
    init.xavier_uniform_(t, gain=init.calculate_gain("tanh"))
    bound = 5.0 / 3 * math.sqrt(6.0 / 700)
    assert np.abs(t.numpy()).max() <= bound and np.abs(t.numpy()).max() > 0.98 * bound
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(
        torch.nn.init.calculate_gain("leaky_relu", math.sqrt(5)))
    p = nn.Parameter(tg.zeros(3, 4))
    init.normal_(p, generator=np.random.default_rng(7))
    assert p.grad_fn is None and p.requires_grad  # no graph recorded, still a leaf
    q = nn.Parameter(tg.zeros(3, 4))
    init.normal_(q, generator=np.random.default_rng(7))
    np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    with pytest.raises(ValueError, match=r"fan in and fan out can not be computed .* \(shape \(5,\)\)"):
        init.xavier_uniform_(tg.zeros(5))


def test_loss_modules_match_functional():
    x, y = tg.randn(4, 3), tg.tensor([0, 2, 1, 1])
    w = tg.tensor([1.0, 2.0, 0.5])
    np.testing.assert_allclose(nn.CrossEntropyLoss(weight=w, label_smoothing=0.1)(x, y).numpy(),
                               F.cross_entropy(x, y, weight=w, label_smoothing=0.1).numpy())
    assert "weight" in nn.CrossEntropyLoss(weight=w).state_dict()
    np.testing.assert_allclose(nn.MSELoss(reduction="sum")(x, x * 2).numpy(),
                               F.mse_loss(x, x * 2, reduction="sum").numpy())
