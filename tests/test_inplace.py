"""In-place ops and the version counter, checked against PyTorch.

Three rules:
* under ``no_grad()`` an in-place op writes into the tensor's memory and bumps its ``_version``
  (this is how a hand-written SGD step updates weights);
* a leaf that requires grad may not be changed in place while the graph is being recorded;
* a value saved for backward that was changed in place since makes backward raise, naming the op.
Recorded in-place ops on non-leaf tensors give the same values and gradients as PyTorch.
"""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg


def assert_close(ours, theirs, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------------
# Under no_grad: real in-place writes, versions go up
# ---------------------------------------------------------------------------------------------
def test_hand_written_sgd_step_updates_the_weight_in_place():
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (w * w).sum().backward()
    same_object, same_memory = w, w.array
    with tg.no_grad():
        w -= 0.1 * w.grad
    assert w is same_object and w.array is same_memory
    assert w.is_leaf and w.requires_grad and w._version == 1
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 1.6, 2.4], rtol=1e-6)


INPLACE_UPDATES = [
    ("iadd", lambda t: t.__iadd__(2.0), lambda a: a + 2.0),
    ("isub", lambda t: t.__isub__(tg.tensor([1.0, 2.0, 3.0])), lambda a: a - [1.0, 2.0, 3.0]),
    ("imul", lambda t: t.__imul__(3.0), lambda a: a * 3.0),
    ("itruediv", lambda t: t.__itruediv__(4.0), lambda a: a / 4.0),
    ("add_alpha", lambda t: t.add_(tg.ones(3), alpha=0.5), lambda a: a + 0.5),
    ("sub_", lambda t: t.sub_(1.0), lambda a: a - 1.0),
    ("mul_", lambda t: t.mul_(tg.tensor([1.0, -1.0, 2.0])), lambda a: a * [1.0, -1.0, 2.0]),
    ("div_", lambda t: t.div_(2.0), lambda a: a / 2.0),
    ("zero_", lambda t: t.zero_(), lambda a: a * 0.0),
    ("fill_", lambda t: t.fill_(7.0), lambda a: np.full_like(a, 7.0)),
    ("clamp_", lambda t: t.clamp_(-0.5, 1.5), lambda a: np.clip(a, -0.5, 1.5)),
    ("copy_", lambda t: t.copy_(tg.tensor([9.0, 8.0, 7.0])), lambda a: np.array([9.0, 8.0, 7.0])),
    ("copy_broadcast", lambda t: t.copy_(tg.tensor(4.0)), lambda a: np.full_like(a, 4.0)),
    ("setitem_int", lambda t: t.__setitem__(1, 5.0), lambda a: np.where(np.arange(3) == 1, 5.0, a)),
    ("setitem_slice", lambda t: t.__setitem__(slice(0, 2), tg.tensor([0.0, 0.0])),
     lambda a: np.concatenate([[0.0, 0.0], a[2:]])),
    ("setitem_mask", lambda t: t.__setitem__(t > 1.0, 0.0), lambda a: np.where(a > 1.0, 0.0, a)),
]


@pytest.mark.parametrize("name,update,expected", INPLACE_UPDATES, ids=[u[0] for u in INPLACE_UPDATES])
def test_inplace_updates_under_no_grad_write_memory_and_bump_the_version(name, update, expected):
    w = tg.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    before = w.detach().numpy().copy()
    memory, version = w.array, w._version
    with tg.no_grad():
        returned = update(w)
    assert returned is w or returned is None
    assert w.array is memory, "an in-place op under no_grad must write into the existing memory"
    assert w._version == version + 1
    assert w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.detach().numpy(), expected(before).astype(np.float32), rtol=1e-6)


def test_inplace_ops_chain_and_count_every_write():
    t = tg.zeros(2)
    t.add_(1).mul_(3).sub_(1).div_(2)
    assert t._version == 4
    np.testing.assert_allclose(t.numpy(), [1.0, 1.0])


def test_inplace_write_is_seen_by_a_view_and_by_numpy():
    t = tg.tensor([1.0, 2.0, 3.0, 4.0])
    view = t[1:3]
    array = t.numpy()
    t.mul_(10)
    np.testing.assert_allclose(view.numpy(), [20.0, 30.0])
    np.testing.assert_allclose(array, [10.0, 20.0, 30.0, 40.0])


def test_inplace_result_is_cast_to_the_tensor_dtype():
    t = tg.tensor([1, 2, 3])
    t.mul_(2)
    assert t.dtype == tg.int64
    with pytest.raises(RuntimeError, match="can't be cast"):
        t.mul_(0.5)  # float result into an int tensor, as PyTorch refuses


def test_inplace_that_would_broadcast_the_tensor_raises():
    t = tg.zeros(3)
    with pytest.raises(RuntimeError, match=r"add_.*\(2, 3\).*\(3,\)"):
        t.add_(tg.ones(2, 3))


def test_copy_from_a_wrong_shape_raises():
    with pytest.raises(RuntimeError, match="copy_"):
        tg.zeros(3).copy_(tg.ones(2))


def test_setitem_wrong_shape_raises_naming_the_shapes():
    with pytest.raises(ValueError, match=r"setitem.*\(3,\)"):
        tg.zeros(3)[0:2] = tg.ones(3)


def test_inplace_into_an_expanded_read_only_view_raises():
    t = tg.ones(1).expand(3)
    with pytest.raises(RuntimeError, match="read-only"):
        t.add_(1)


# ---------------------------------------------------------------------------------------------
# Leaves that require grad
# ---------------------------------------------------------------------------------------------
LEAF_UPDATES = {
    "add_": lambda w: w.add_(1.0),
    "sub_": lambda w: w.sub_(1.0),
    "mul_": lambda w: w.mul_(2.0),
    "div_": lambda w: w.div_(2.0),
    "zero_": lambda w: w.zero_(),
    "fill_": lambda w: w.fill_(1.0),
    "clamp_": lambda w: w.clamp_(0.0, 1.0),
    "copy_": lambda w: w.copy_(tg.ones(3)),
    "setitem": lambda w: w.__setitem__(0, 1.0),
    "iadd": lambda w: w.__iadd__(1.0),
    "imul": lambda w: w.__imul__(2.0),
}


@pytest.mark.parametrize("name", sorted(LEAF_UPDATES))
def test_inplace_on_a_leaf_that_requires_grad_raises_outside_no_grad(name):
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        LEAF_UPDATES[name](w)
    np.testing.assert_allclose(w.detach().numpy(), [1.0, 2.0, 3.0])
    assert w._version == 0
    wt = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        wt.copy_(torch.ones(3)) if name == "copy_" else LEAF_UPDATES[name](wt)  # torch refuses too


# ---------------------------------------------------------------------------------------------
# The version counter catches values changed after they were saved
# ---------------------------------------------------------------------------------------------
def test_modifying_a_saved_input_then_backward_raises_naming_the_op():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    a = x * 2
    b = a * a                       # Mul saves a
    with tg.no_grad():
        a.add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*Mul.*version 1.*version 0"):
        b.sum().backward()


def test_modifying_a_saved_output_then_backward_raises_naming_the_op():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()                     # Exp saves its output
    with tg.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*Exp"):
        y.sum().backward()


def test_modifying_a_saved_leaf_weight_before_backward_raises():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with tg.no_grad():
        w.sub_(0.1)                 # an optimizer step taken too early
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*Mul"):
        loss.backward()


def test_modifying_a_saved_constant_raises():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    c = tg.tensor([3.0, 4.0])
    out = (w * c).sum()
    c.add_(1)                       # c requires no grad: the write is allowed, but Mul saved c
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*Mul"):
        out.backward()


def test_modifying_through_detach_is_caught_because_detach_shares_the_version():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.detach().zero_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_modifying_a_value_nobody_saved_is_fine():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    a = x * 2
    b = a + 1                       # Add saves nothing
    with tg.no_grad():
        a.zero_()
    b.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_inplace_after_backward_is_fine():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    with tg.no_grad():
        w.sub_(0.5 * w.grad)
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0 + 0.0, 4.0 + 0.0])


def test_modifying_a_saved_tensor_through_a_view_raises():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = x * x
    with tg.no_grad():
        x[0:2].zero_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()


# ---------------------------------------------------------------------------------------------
# Recorded in-place ops on non-leaf tensors: torch's values and gradients
# ---------------------------------------------------------------------------------------------
def _run_chain(lib):
    x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
    z = lib.tensor(0.5, requires_grad=True)
    y = x * 2
    y.add_(1)
    y.mul_(x)
    y.sub_(z, alpha=2)
    y.div_(z)
    y.clamp_(-5.0, 20.0)
    y[1] = z * z
    y.masked_fill_(y > 19, 0.0)
    (y * y.exp()).sum().backward()
    return y, x.grad, z.grad


def test_recorded_inplace_chain_on_a_non_leaf_matches_torch():
    for ours, theirs in zip(_run_chain(tg), _run_chain(torch)):
        assert_close(ours, theirs)
    y, _, _ = _run_chain(tg)
    assert not y.is_leaf and y.requires_grad


def test_setitem_with_a_value_that_requires_grad_matches_torch():
    def run(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        z = lib.tensor(5.0, requires_grad=True)
        y = x * 1
        y[0] = z * 3
        (y * y).sum().backward()
        return y, x.grad, z.grad
    for ours, theirs in zip(run(tg), run(torch)):
        assert_close(ours, theirs)


def test_writing_a_graph_value_into_a_constant_buffer_records_it():
    def run(lib):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        copied = lib.zeros(3)
        copied.copy_(x * 3)
        sliced = lib.zeros(4)
        sliced[1:] = x.exp()
        filled = lib.ones(3)
        filled.fill_(x[0])
        summed = lib.zeros(3)
        summed += x
        loss = (copied * copied).sum() + sliced.sum() + (filled * x).sum() + (summed * summed).sum()
        loss.backward()
        return copied, sliced, filled, summed, x.grad
    ours, theirs = run(tg), run(torch)
    for a, b in zip(ours, theirs):
        assert_close(a, b)
    assert all(t.requires_grad and not t.is_leaf for t in ours[:4])


def test_recorded_inplace_keeps_earlier_saved_values_valid():
    # By design (ops/inplace.py) a recorded in-place op computes out of place and moves the tensor
    # to its new graph position, so the value Sin saved stays intact and backward gives the
    # out-of-place answer.  (torch raises "modified by an inplace operation" here instead.)
    def run(lib, inplace):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        a = x * 2
        b = a.sin()             # Sin saves a
        if inplace:
            a.mul_(3)
        else:
            a = a * 3
        (b + a).sum().backward()
        return a, b, x.grad
    for ours, theirs in zip(run(tg, inplace=True), run(torch, inplace=False)):
        assert_close(ours, theirs)


def test_recorded_inplace_on_a_view_raises_instead_of_diverging_from_torch():
    # torch rewrites the base's history (CopySlices); we compute recorded in-place ops out of place,
    # which would leave the base unchanged, so we refuse with a clear error instead
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = x * 1
    with pytest.raises(RuntimeError, match="in-place change of a view"):
        a[0:2].mul_(10)
    with pytest.raises(RuntimeError, match="in-place change of a view"):
        a.reshape(3, 1)[0] = tg.tensor([5.0], requires_grad=True)
    np.testing.assert_array_equal(a.detach().numpy(), [1.0, 2.0, 3.0])


def test_reshape_and_transpose_share_the_version_counter():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = x * x  # Mul saves x itself
    with tg.no_grad():
        x.T.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()
