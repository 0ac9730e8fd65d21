"""``Tensor.register_post_accumulate_grad_hook``, compared with PyTorch on the same graphs.

Each test runs the same code with ``lib`` = torch and ``lib`` = tinygrad_edu, records every hook
call (which hook, which tensor, the ``.grad`` it saw) and compares the two records.
"""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg

LIBS = {"torch": torch, "tg": tg}


def arr(t):
    return np.array(t.detach().numpy())   # a copy: torch accumulates into .grad in place


def run_mlp(lib, backwards=1, remove_after_first=False):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.normal(size=(4, 3)))
    w1 = lib.tensor(rng.normal(size=(3, 5)), requires_grad=True)
    w2 = lib.tensor(rng.normal(size=(5, 2)), requires_grad=True)
    record = []
    handles = []
    for name, w in (("w1", w1), ("w2", w2)):
        handles.append(w.register_hook(lambda g, name=name: record.append(("tensor", name, arr(g)))))
        handles.append(w.register_post_accumulate_grad_hook(
            lambda t, name=name: record.append(("post", name, arr(t.grad)))))
    for i in range(backwards):
        h = (x @ w1).relu()
        loss = ((h @ w2) ** 2).sum() + (h * h).sum()   # h has two consumers
        loss.backward()
        if remove_after_first and i == 0:
            for handle in handles:
                handle.remove()
    return record, arr(w1.grad), arr(w2.grad)


def same(a, b):
    assert [r[:2] for r in a] == [r[:2] for r in b]
    for ra, rb in zip(a, b):
        np.testing.assert_allclose(ra[2], rb[2], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backwards", [1, 2])
def test_order_once_per_backward_and_grad_inside_hook(backwards):
    ref, tg_ = run_mlp(torch, backwards), run_mlp(tg, backwards)
    same(ref[0], tg_[0])
    assert len(tg_[0]) == 4 * backwards          # tensor hook then post hook, per leaf, per pass
    for kind, name, g in tg_[0][-4:]:
        if kind == "post":                       # the post hook sees the accumulated .grad
            np.testing.assert_allclose(g, tg_[1] if name == "w1" else tg_[2])
    np.testing.assert_allclose(ref[1], tg_[1], rtol=1e-12)


def test_removal():
    ref, tg_ = run_mlp(torch, 2, remove_after_first=True), run_mlp(tg, 2, remove_after_first=True)
    same(ref[0], tg_[0])
    assert len(tg_[0]) == 4


@pytest.mark.parametrize("lib", ["torch", "tg"])
def test_leaf_used_many_times_is_hooked_once_with_the_total(lib):
    L = LIBS[lib]
    w = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append(arr(t.grad).copy()))
    (w * w + w.exp() + w.sum()).sum().backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], arr(w.grad))


@pytest.mark.parametrize("lib", ["torch", "tg"])
def test_root_leaf_and_backward_inputs(lib):
    L = LIBS[lib]
    w = L.tensor([1.0, 2.0], requires_grad=True)
    v = L.tensor([3.0, 4.0], requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append("w"))
    v.register_post_accumulate_grad_hook(lambda t: seen.append("v"))
    (w * v).sum().backward(inputs=[w])
    assert seen == ["w"]


def test_autograd_grad_does_not_run_it_like_torch():
    for L, grad in ((torch, torch.autograd.grad), (tg, tg.autograd.grad)):
        w = L.tensor([1.0, 2.0], requires_grad=True)
        seen = []
        w.register_post_accumulate_grad_hook(lambda t: seen.append(1))
        grad((w * w).sum(), w)
        assert seen == []


def test_errors():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        tg.tensor([1.0]).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(TypeError):
        w.register_post_accumulate_grad_hook(3)
    with pytest.raises(RuntimeError):   # torch agrees on the non-leaf case
        (torch.tensor([1.0], requires_grad=True) * 2).register_post_accumulate_grad_hook(lambda t: None)
