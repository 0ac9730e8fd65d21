"""Tensor hooks and module backward hooks, compared with PyTorch on the same model and data.

Each test runs the same code twice (``lib`` is torch or tinygrad_edu), records every hook call
(which hook, and the tensors it saw), and compares the two records: the same calls in the same
order, the same tensors, and the same gradients afterwards.
"""
import warnings

import numpy as np
import pytest
import torch

import tinygrad_edu as tg

LIBS = {"torch": torch, "tg": tg}


def arr(t):
    return None if t is None else np.asarray(t.detach().numpy() if hasattr(t, "detach") else t)


def same_records(a, b, atol=1e-5):
    assert len(a) == len(b), (a, b)
    for ra, rb in zip(a, b):
        assert ra[0] == rb[0], (ra[0], rb[0])
        for x, y in zip(ra[1:], rb[1:]):
            if x is None or y is None:
                assert x is None and y is None, (ra[0], x, y)
            else:
                np.testing.assert_allclose(x, y, rtol=1e-5, atol=atol, err_msg=str(ra[0]))


def mlp(lib, seed=0):
    """Linear-Tanh-Linear with weights from a fixed NumPy seed (the same in both libraries)."""
    rng = np.random.default_rng(seed)
    m = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))
    with lib.no_grad():
        for p in m.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    return m


def inputs(lib, requires_grad=True, seed=1):
    x = np.random.default_rng(seed).standard_normal((5, 3)).astype(np.float32)
    return lib.tensor(x, requires_grad=requires_grad)


# ---- Tensor.register_hook ---------------------------------------------------------------------
def _tensor_hook_run(lib):
    rec = []
    a = lib.tensor(np.array([1.0, -2.0, 3.0], dtype=np.float32), requires_grad=True)
    b = a * 2
    b.retain_grad()
    b.register_hook(lambda g: rec.append(("b1", arr(g))) or g * 10)   # replaces the gradient
    b.register_hook(lambda g: rec.append(("b2", arr(g))))             # sees the replaced one
    a.register_hook(lambda g: rec.append(("a", arr(g))) or g + 1)
    loss = (b * b).sum() + (b * a).sum()      # b has two consumers, a has three uses
    loss.backward()
    rec.append(("a.grad", arr(a.grad)))
    rec.append(("b.grad", arr(b.grad)))
    return rec


def test_tensor_hooks_replace_gradient_leaf_and_non_leaf():
    same_records(_tensor_hook_run(torch), _tensor_hook_run(tg))


def test_leaf_hook_runs_once_on_summed_gradient():
    for lib in LIBS.values():
        calls = []
        a = lib.ones(3, requires_grad=True)
        a.register_hook(lambda g: calls.append(arr(g)))
        (a * 2 + a * 3).sum().backward()
        assert len(calls) == 1
        np.testing.assert_allclose(calls[0], [5, 5, 5])


def test_hook_handle_remove_and_context_manager():
    for lib in LIBS.values():
        a = lib.ones(3, requires_grad=True)
        h = a.register_hook(lambda g: g * 3)
        h.remove()
        (a * 2).sum().backward()
        np.testing.assert_allclose(arr(a.grad), [2, 2, 2])
        with a.register_hook(lambda g: g * 0):
            pass
        a.grad = None
        (a * 2).sum().backward()
        np.testing.assert_allclose(arr(a.grad), [2, 2, 2])


def test_autograd_grad_sees_hooked_gradient_of_input():
    out = {}
    for name, lib in LIBS.items():
        a = lib.tensor(np.array([1.0, 2.0, -1.0], dtype=np.float32), requires_grad=True)
        b = a * 2
        b.register_hook(lambda g: g * 10)
        a.register_hook(lambda g: g * 3)
        gb, = lib.autograd.grad((b * b).sum(), b, retain_graph=True)
        ga, = lib.autograd.grad((b * b).sum(), a)
        out[name] = (arr(gb), arr(ga))
    for x, y in zip(out["torch"], out["tg"]):
        np.testing.assert_allclose(x, y, rtol=1e-6)


def test_hook_on_tensor_without_grad_and_wrong_shape_raise():
    for lib in LIBS.values():
        with pytest.raises(RuntimeError, match="doesn't require"):
            lib.ones(3).register_hook(lambda g: g)
        a = lib.ones(3, requires_grad=True)
        a.register_hook(lambda g: lib.zeros(4))
        with pytest.raises(RuntimeError, match="changed the size"):
            (a * a).sum().backward()


def test_hooks_with_create_graph_stay_differentiable():
    out = {}
    for name, lib in LIBS.items():
        x = lib.tensor(np.array([0.5, -1.5], dtype=np.float32), requires_grad=True)
        y = x ** 3
        y.register_hook(lambda g: g * 2)
        g, = lib.autograd.grad(y.sum(), x, create_graph=True)
        gg, = lib.autograd.grad(g.sum(), x)
        out[name] = (arr(g), arr(gg))
    for x, y in zip(out["torch"], out["tg"]):
        np.testing.assert_allclose(x, y, rtol=1e-6)


# ---- module backward hooks --------------------------------------------------------------------
def _module_hook_run(lib, x_requires_grad, replace):
    rec = []
    m = mlp(lib)
    for i, layer in enumerate(m):
        def pre(mod, grad_output, i=i):
            rec.append((f"pre{i}",) + tuple(arr(g) for g in grad_output))
            if replace and i == 2:
                return (grad_output[0] * 0.5,)

        def full(mod, grad_input, grad_output, i=i):
            rec.append((f"full{i}",) + tuple(arr(g) for g in grad_input + grad_output))
            if replace and i == 1:
                return (grad_input[0] * 3,)
        layer.register_full_backward_pre_hook(pre)
        layer.register_full_backward_hook(full)
    x = inputs(lib, x_requires_grad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no inputs require gradients" (both libraries warn)
        m(x).pow(2).sum().backward()
    rec.append(("x.grad", arr(x.grad)))
    for n, p in m.named_parameters():
        rec.append((n, arr(p.grad)))
    return rec


@pytest.mark.parametrize("x_requires_grad", [True, False])
@pytest.mark.parametrize("replace", [False, True])
def test_module_backward_hooks_match_torch(x_requires_grad, replace):
    same_records(_module_hook_run(torch, x_requires_grad, replace),
                 _module_hook_run(tg, x_requires_grad, replace))


def test_module_hook_sequence_with_tensor_hooks():
    """Call order (module hooks and a hook on the output) is the same as PyTorch's; parameter hooks
    are compared as a set (the order of weight vs bias inside one layer is an engine detail)."""
    seqs, params = {}, {}
    for name, lib in LIBS.items():
        log, plog = [], {}
        m = mlp(lib)
        for i, layer in enumerate(m):
            layer.register_full_backward_pre_hook(lambda mod, go, i=i: log.append(f"pre{i}"))
            layer.register_full_backward_hook(lambda mod, gi, go, i=i: log.append(f"full{i}"))
        for n, p in m.named_parameters():
            p.register_hook(lambda g, n=n: plog.update({n: arr(g)}))
        y = m(inputs(lib))
        y.register_hook(lambda g: log.append("y"))
        y.sum().backward()
        seqs[name], params[name] = log, plog
    assert seqs["torch"] == seqs["tg"] == ["y", "pre2", "full2", "pre1", "full1", "pre0", "full0"]
    assert params["torch"].keys() == params["tg"].keys()
    for n in params["torch"]:
        np.testing.assert_allclose(params["torch"][n], params["tg"][n], rtol=1e-5, atol=1e-6)


def _multi_input_run(lib, y_requires_grad):
    rec = []

    class Mul(lib.nn.Module):
        def forward(self, x, k, y):
            return x * y * k

    m = Mul()
    m.register_full_backward_hook(lambda mod, gi, go: rec.append(("full",) + tuple(arr(g) for g in gi + go)))
    x = lib.ones(2, requires_grad=True)
    y = lib.tensor(np.array([2.0, 4.0], dtype=np.float32), requires_grad=y_requires_grad)
    m(x, 3.0, y).sum().backward()
    return rec


@pytest.mark.parametrize("y_requires_grad", [True, False])
def test_multi_input_module_hook_grad_input_layout(y_requires_grad):
    """grad_input has one entry per positional argument: None for a non-tensor, zeros for a tensor
    that does not require grad (PyTorch's layout)."""
    same_records(_multi_input_run(torch, y_requires_grad), _multi_input_run(tg, y_requires_grad))


def test_module_hook_wrong_number_of_grads_raises_and_handle_removes():
    for lib in LIBS.values():
        lin = lib.nn.Linear(3, 2)
        h = lin.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
        x = lib.ones(2, 3, requires_grad=True)
        with pytest.raises(RuntimeError, match="invalid number of grad_input"):
            lin(x).sum().backward()
        h.remove()
        x.grad = None
        lin(x).sum().backward()
        assert x.grad is not None


def test_forward_and_backward_hooks_together():
    """Forward hooks see the un-wrapped output; a forward hook's replacement output is the one
    whose gradient the backward hooks report."""
    out = {}
    for name, lib in LIBS.items():
        rec = []
        lin = mlp(lib)[0]
        lin.register_forward_hook(lambda m, args, o: o * 2)
        lin.register_full_backward_hook(lambda m, gi, go: rec.append((arr(gi[0]), arr(go[0]))))
        x = inputs(lib)
        lin(x).pow(2).sum().backward()
        out[name] = rec[0] + (arr(x.grad),)
    for a, b in zip(out["torch"], out["tg"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _two_output_run(lib):
    rec = []

    class Split(lib.nn.Module):
        def forward(self, x):
            return x * 2, x * 3

    m = Split()
    m.register_full_backward_pre_hook(lambda mod, go: rec.append(("pre",) + tuple(arr(g) for g in go)))
    m.register_full_backward_hook(lambda mod, gi, go: rec.append(("full",) + tuple(arr(g) for g in gi + go)))
    x = lib.tensor(np.array([1.0, -1.0], dtype=np.float32), requires_grad=True)
    a, b = m(x)
    (a * a + b).sum().backward()
    rec.append(("x.grad", arr(x.grad)))
    return rec


def test_module_with_two_outputs():
    same_records(_two_output_run(torch), _two_output_run(tg))


def test_gradient_kept_by_a_hook_is_not_the_grad_tensor():
    for lib in LIBS.values():
        kept = []
        a = lib.ones(3, requires_grad=True)
        a.register_hook(lambda g: kept.append(g))
        (a * 2).sum().backward()
        a.grad.mul_(0)
        np.testing.assert_allclose(arr(kept[0]), [2, 2, 2])
