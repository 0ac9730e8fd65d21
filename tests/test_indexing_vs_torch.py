"""Random index expressions (ints, slices, None, ..., lists, int / bool / 0-d tensors) compared
with PyTorch: the values, the gradient (repeated indices accumulate) and ``__setitem__``."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import tinygrad_edu as tg


@st.composite
def shape_and_index(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    items, dim, used_ellipsis = [], 0, False
    while dim < len(shape) and draw(st.booleans()) or not items:
        if dim >= len(shape):
            items.append(None)
            break
        n = shape[dim]
        kind = draw(st.sampled_from(["int", "slice", "none", "list", "tensor", "mask", "zerod", "ellipsis"]))
        if kind == "int":
            items.append(("int", draw(st.integers(-n, n - 1))))
        elif kind == "slice":
            start = draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
            stop = draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
            items.append(("slice", slice(start, stop, draw(st.one_of(st.none(), st.integers(1, 3))))))
        elif kind == "none":
            items.append(("none", None))
            continue
        elif kind in ("list", "tensor"):
            k = draw(st.integers(1, 3))
            items.append((kind, draw(st.lists(st.integers(-n, n - 1), min_size=k, max_size=k))))
        elif kind == "mask":
            items.append(("mask", draw(st.lists(st.booleans(), min_size=n, max_size=n))))
        elif kind == "zerod":
            items.append(("zerod", draw(st.integers(-n, n - 1))))
        elif kind == "ellipsis" and not used_ellipsis:
            used_ellipsis = True
            items.append(("ellipsis", Ellipsis))
            dim = len(shape)
            continue
        else:
            continue
        dim += 1
    return shape, items


def _build(items, lib):
    mk = torch.tensor if lib is torch else tg.tensor
    out = []
    for kind, v in items:
        if kind in ("int", "slice", "none", "ellipsis"):
            out.append(v)
        elif kind == "list":
            out.append(list(v))
        elif kind in ("tensor", "zerod"):
            out.append(mk(np.array(v, dtype=np.int64)))
        elif kind == "mask":
            out.append(mk(np.array(v, dtype=bool)))
    return tuple(out)


def _torch_result(x, items):
    try:
        return torch.tensor(x)[_build(items, torch)], None
    except (IndexError, RuntimeError) as exc:
        return None, exc


@settings(max_examples=40, deadline=None)
@given(shape_and_index(), st.integers(0, 2**31 - 1))
def test_getitem_grad_setitem_match_torch(case, seed):
    shape, items = case
    x = np.random.default_rng(seed).standard_normal(shape)
    ref, err = _torch_result(x, items)
    if err is not None:  # e.g. advanced indices that don't broadcast: both must refuse
        with pytest.raises((IndexError, ValueError, RuntimeError)):
            tg.tensor(x)[_build(items, tg)]
        return
    t = torch.tensor(x, requires_grad=True)
    o = tg.tensor(x, requires_grad=True)
    r, y = t[_build(items, torch)], o[_build(items, tg)]
    assert tuple(y.shape) == tuple(r.shape), (items, tuple(y.shape), tuple(r.shape))
    np.testing.assert_array_equal(y.detach().numpy(), r.detach().numpy())
    w = np.random.default_rng(seed + 1).standard_normal(tuple(r.shape))
    (r * torch.tensor(w)).sum().backward()
    (y * tg.tensor(w)).sum().backward()
    np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)
    if any(k in ("list", "tensor", "mask", "zerod") for k, _ in items) and \
            len(np.unique(_targets(shape, items))) != r.numel():
        return  # repeated targets: which write wins is unspecified in both libraries
    a, b = torch.tensor(x), tg.tensor(x)
    a[_build(items, torch)] = torch.tensor(w)
    b[_build(items, tg)] = tg.tensor(w)
    np.testing.assert_array_equal(b.numpy(), a.numpy())


def _targets(shape, items):
    """The flat positions the index names (via torch), to find repeated targets."""
    return torch.arange(int(np.prod(shape))).reshape(shape)[_build(items, torch)].numpy()


def test_int_then_advanced_order_like_torch():
    x = np.arange(60.0).reshape(3, 4, 5)
    idx = [0, 2, 2]
    assert tuple(tg.tensor(x)[1, :, idx].shape) == tuple(torch.tensor(x)[1, :, idx].shape) == (4, 3)
    np.testing.assert_array_equal(tg.tensor(x)[1, :, idx].numpy(), torch.tensor(x)[1, :, idx].numpy())
    o = tg.tensor(x, requires_grad=True)
    o[1, :, idx].sum().backward()
    assert o.grad.numpy()[1, :, 2].tolist() == [2.0] * 4  # repeated index accumulates


def test_out_of_range_raises_index_error():
    with pytest.raises(IndexError):
        tg.tensor(np.zeros((2, 3)))[2]
    with pytest.raises(IndexError):
        tg.tensor(np.zeros((2, 3)))[0, [3]]


def test_zero_dim_tensor_index_is_a_select_like_torch():
    x = np.arange(60.0).reshape(3, 4, 5)
    for build in (lambda mk: (mk(1), slice(None), [0, 1]), lambda mk: ([0, 1], slice(None), mk(1))):
        r = torch.tensor(x)[build(torch.tensor)]
        y = tg.tensor(x)[build(tg.tensor)]
        assert tuple(y.shape) == tuple(r.shape)
        np.testing.assert_array_equal(y.numpy(), r.numpy())
