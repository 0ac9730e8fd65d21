"""The backward engine's semantics, checked against PyTorch.

Each test states one rule of reverse-mode autograd as PyTorch defines it (where gradients go, when
they accumulate, what is freed, what raises) and checks that tinygrad_edu follows it, computing
the same numbers as torch on the same graph.
"""
import gc
import weakref

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from tinygrad_edu.autograd import Function, once_differentiable


def pair(values, dtype=np.float32):
    """The same leaf (requires grad) in tinygrad_edu and in torch."""
    array = np.asarray(values, dtype=dtype)
    return tg.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def assert_close(ours, theirs, rtol=1e-5, atol=1e-6):
    ours = ours.detach().numpy() if isinstance(ours, tg.Tensor) else np.asarray(ours)
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------------
# Where gradients go
# ---------------------------------------------------------------------------------------------
def test_gradients_accumulate_into_leaves_across_backward_calls():
    x, xt = pair([1.0, -2.0, 3.0])
    for _ in range(3):
        (x * x).sum().backward()
        (xt * xt).sum().backward()
        assert_close(x.grad, xt.grad)
    np.testing.assert_allclose(x.grad.numpy(), 3 * 2 * np.array([1.0, -2.0, 3.0]))


def test_only_leaves_keep_grad_unless_retain_grad():
    x, xt = pair([0.5, 1.5])
    hidden, hidden_t = x * 3, xt * 3
    kept, kept_t = hidden.exp(), hidden_t.exp()
    kept.retain_grad()
    kept_t.retain_grad()
    kept.sum().backward()
    kept_t.sum().backward()
    assert x.is_leaf and not hidden.is_leaf and not kept.is_leaf
    assert hidden.grad is None
    assert kept.retains_grad and not hidden.retains_grad
    assert_close(kept.grad, kept_t.grad)
    assert_close(x.grad, xt.grad)


def test_retain_grad_on_a_leaf_is_a_no_op_and_on_a_constant_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert x.retain_grad() is x
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        tg.tensor([1.0]).retain_grad()


def test_diamond_graph_sums_the_gradients_of_both_paths():
    # x feeds a, a feeds both b and c, b and c meet again in the loss: dL/da = dL/db·db/da + dL/dc·dc/da
    x, xt = pair([0.3, -0.7, 1.1])
    a, at = x * 2, xt * 2
    loss = (a.exp() * a.sin()).sum()
    loss_t = (at.exp() * at.sin()).sum()
    loss.backward()
    loss_t.backward()
    assert_close(x.grad, xt.grad)


def test_a_tensor_used_twice_by_one_op_gets_both_contributions():
    x, xt = pair([2.0, -1.0])
    (x * x + x).sum().backward()
    (xt * xt + xt).sum().backward()
    assert_close(x.grad, xt.grad)
    np.testing.assert_allclose(x.grad.numpy(), [5.0, -1.0])


def test_broadcast_inputs_get_gradients_of_their_own_shape():
    a, at = pair(np.arange(6.0).reshape(2, 3))
    b, bt = pair([[1.0], [2.0]])
    c, ct = pair(0.5)
    ((a * b + c) ** 2).sum().backward()
    ((at * bt + ct) ** 2).sum().backward()
    for ours, theirs in ((a, at), (b, bt), (c, ct)):
        assert ours.grad.shape == tuple(theirs.grad.shape)
        assert_close(ours.grad, theirs.grad)


def test_leaf_grad_is_not_aliased_with_the_seed_or_other_leaves():
    # the same gradient array reaches both leaves; changing one .grad must not change the other
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor([3.0, 4.0], requires_grad=True)
    seed = tg.ones(2)
    (x + y).backward(seed)
    with tg.no_grad():
        x.grad.mul_(10)
    np.testing.assert_allclose(y.grad.numpy(), [1.0, 1.0])
    np.testing.assert_allclose(seed.numpy(), [1.0, 1.0])


# ---------------------------------------------------------------------------------------------
# backward(): arguments and errors
# ---------------------------------------------------------------------------------------------
def test_retain_graph_allows_a_second_backward():
    x, xt = pair([0.2, 0.4])
    y, yt = (x.tanh() * x).sum(), (xt.tanh() * xt).sum()
    y.backward(retain_graph=True)
    y.backward()
    yt.backward(retain_graph=True)
    yt.backward()
    assert_close(x.grad, xt.grad)


def test_second_backward_through_a_freed_graph_raises_mentioning_retain_graph():
    x = tg.tensor([0.2, 0.4], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_second_grad_through_a_freed_graph_raises_too():
    x = tg.tensor([0.2, 0.4], requires_grad=True)
    y = (x.sin() * 3).sum()
    tg.autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="retain_graph"):
        tg.autograd.grad(y, x)


def test_backward_on_a_non_scalar_needs_a_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()


def test_backward_with_gradient_is_a_vector_jacobian_product():
    x, xt = pair([[1.0, 2.0], [3.0, 4.0]])
    v = np.array([[0.5, -1.0], [2.0, 0.25]], dtype=np.float32)
    (x * x.sin()).backward(gradient=tg.tensor(v))
    (xt * xt.sin()).backward(gradient=torch.tensor(v))
    assert_close(x.grad, xt.grad)


def test_backward_gradient_of_the_wrong_shape_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(3,\)"):
        (x * 2).backward(tg.ones(3))


def test_backward_on_a_tensor_without_grad_fn_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.tensor([1.0, 2.0]).sum().backward()


def test_backward_on_a_single_element_non_scalar_is_allowed():
    x, xt = pair([3.0])
    (x * x).backward()
    (xt * xt).backward()
    assert_close(x.grad, xt.grad)


def test_backward_with_inputs_only_fills_those_grads():
    x, xt = pair([1.0, 2.0])
    w, wt = pair([3.0, 4.0])
    (x * w).sum().backward(inputs=[w])
    (xt * wt).sum().backward(inputs=[wt])
    assert x.grad is None and xt.grad is None
    assert_close(w.grad, wt.grad)


def test_autograd_backward_of_several_roots_sums_them():
    x, xt = pair([1.0, 2.0])
    tg.autograd.backward([(x * x).sum(), (x * 3).sum()])
    torch.autograd.backward([(xt * xt).sum(), (xt * 3).sum()])
    assert_close(x.grad, xt.grad)


@pytest.mark.parametrize("make", [
    lambda: tg.tensor([1, 2], requires_grad=True),
    lambda: tg.tensor([True, False], requires_grad=True),
    lambda: tg.zeros(2, dtype=tg.int64, requires_grad=True),
    lambda: tg.arange(3, requires_grad=True),
    lambda: tg.tensor([1, 2]).requires_grad_(),
])
def test_requires_grad_on_an_integer_tensor_raises(make):
    with pytest.raises(RuntimeError, match="floating point"):
        make()


# ---------------------------------------------------------------------------------------------
# Grad mode
# ---------------------------------------------------------------------------------------------
def test_no_grad_records_nothing():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = (x * 2).exp()
    assert tg.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad and y.is_leaf


def test_enable_grad_inside_no_grad_records():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.no_grad():
        with tg.enable_grad():
            y = (x * x).sum()
        z = x * 2
    assert y.grad_fn is not None and z.grad_fn is None
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_grad_mode_decorators():
    x = tg.tensor([1.0], requires_grad=True)

    @tg.no_grad()
    def predict(t):
        return t * 2

    @tg.enable_grad()
    def train_step(t):
        return t * 2

    assert predict(x).grad_fn is None
    with tg.no_grad():
        assert train_step(x).grad_fn is not None
    assert predict.__name__ == "predict"


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with tg.no_grad():
            1 / 0
    assert tg.is_grad_enabled()


def test_set_grad_enabled_as_context_manager():
    x = tg.tensor([1.0], requires_grad=True)
    with tg.set_grad_enabled(False):
        assert (x * 2).grad_fn is None
    with tg.set_grad_enabled(True):
        assert (x * 2).grad_fn is not None
    assert tg.is_grad_enabled()


def test_detach_cuts_the_graph():
    x, xt = pair([1.0, 2.0])
    y, yt = x * x, xt * xt
    (y.detach() * x).sum().backward()
    (yt.detach() * xt).sum().backward()
    assert_close(x.grad, xt.grad)
    assert y.detach().grad_fn is None and not y.detach().requires_grad


# ---------------------------------------------------------------------------------------------
# autograd.grad
# ---------------------------------------------------------------------------------------------
def test_grad_returns_a_tuple_and_does_not_touch_dot_grad():
    x, xt = pair([0.1, 0.2, 0.3])
    w, wt = pair([1.0, -1.0, 2.0])
    gx, gw = tg.autograd.grad((x * w).sin().sum(), [x, w])
    gxt, gwt = torch.autograd.grad((xt * wt).sin().sum(), [xt, wt])
    assert_close(gx, gxt)
    assert_close(gw, gwt)
    assert x.grad is None and w.grad is None


def test_grad_with_grad_outputs_and_several_outputs():
    x, xt = pair([0.5, 1.5])
    v1, v2 = np.array([1.0, 2.0], np.float32), np.array([-1.0, 0.5], np.float32)
    g, = tg.autograd.grad([x.exp(), x * x], [x], grad_outputs=[tg.tensor(v1), tg.tensor(v2)])
    gt, = torch.autograd.grad([xt.exp(), xt * xt], [xt], grad_outputs=[torch.tensor(v1), torch.tensor(v2)])
    assert_close(g, gt)


def test_grad_of_an_unused_input_raises_unless_allow_unused():
    x = tg.tensor([1.0], requires_grad=True)
    unused = tg.tensor([2.0], requires_grad=True)
    y = (x * 3).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        tg.autograd.grad(y, [x, unused], retain_graph=True)
    gx, gu = tg.autograd.grad(y, [x, unused], allow_unused=True)
    np.testing.assert_allclose(gx.numpy(), [3.0])
    assert gu is None


def test_grad_with_respect_to_an_intermediate_tensor():
    x, xt = pair([0.4, 0.9])
    h, ht = x * 2, xt * 2
    g, = tg.autograd.grad((h * h).exp().sum(), h)
    gt, = torch.autograd.grad((ht * ht).exp().sum(), ht)
    assert_close(g, gt)


def test_grad_with_respect_to_an_intermediate_and_the_leaf_behind_it():
    x, xt = pair([1.0, 2.0])
    h, ht = x * 2, xt * 2
    ours = tg.autograd.grad((h * h).sum(), [h, x])
    theirs = torch.autograd.grad((ht * ht).sum(), [ht, xt])
    for a, b in zip(ours, theirs):
        assert_close(a, b)


def test_grad_of_a_leaf_with_respect_to_itself_is_the_grad_output():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    g, = tg.autograd.grad(x, x, grad_outputs=tg.tensor([3.0, 4.0]))
    np.testing.assert_allclose(g.numpy(), [3.0, 4.0])


def test_grad_input_that_does_not_require_grad_raises():
    x = tg.tensor([1.0], requires_grad=True)
    c = tg.tensor([1.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.autograd.grad((x * c).sum(), [c])


def test_grad_retain_graph_allows_calling_it_twice():
    x = tg.tensor([0.5], requires_grad=True)
    y = (x.exp() * x).sum()
    first, = tg.autograd.grad(y, x, retain_graph=True)
    second, = tg.autograd.grad(y, x)
    np.testing.assert_allclose(first.numpy(), second.numpy())


# ---------------------------------------------------------------------------------------------
# Higher-order gradients
# ---------------------------------------------------------------------------------------------
def test_second_derivative_of_x_cubed_is_6x():
    x = tg.tensor([-1.5, 0.5, 2.0], requires_grad=True)
    dy, = tg.autograd.grad((x ** 3).sum(), x, create_graph=True)
    assert dy.requires_grad
    np.testing.assert_allclose(dy.detach().numpy(), 3 * x.detach().numpy() ** 2, rtol=1e-6)
    d2y, = tg.autograd.grad(dy.sum(), x)
    np.testing.assert_allclose(d2y.numpy(), 6 * x.detach().numpy(), rtol=1e-6)


def test_third_derivative_of_sin():
    x = tg.tensor([0.3, 1.2], dtype=tg.float64, requires_grad=True)
    g1, = tg.autograd.grad(x.sin().sum(), x, create_graph=True)
    g2, = tg.autograd.grad(g1.sum(), x, create_graph=True)
    g3, = tg.autograd.grad(g2.sum(), x)
    np.testing.assert_allclose(g3.numpy(), -np.cos(x.detach().numpy()), rtol=1e-12)


def test_hessian_vector_product_matches_torch():
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((4, 3)).astype(np.float32)
    x0 = rng.standard_normal((5, 4)).astype(np.float32)
    v0 = rng.standard_normal((4, 3)).astype(np.float32)
    w, wt = pair(w0)

    def loss_of(lib, x, w):
        return (lib.tanh(x @ w) ** 2).sum()

    g, = tg.autograd.grad(loss_of(tg, tg.tensor(x0), w), w, create_graph=True)
    hvp, = tg.autograd.grad((g * tg.tensor(v0)).sum(), w)
    gt, = torch.autograd.grad(loss_of(torch, torch.tensor(x0), wt), wt, create_graph=True)
    hvp_t, = torch.autograd.grad((gt * torch.tensor(v0)).sum(), wt)
    assert_close(hvp, hvp_t, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("chain", ["tanh", "sigmoid", "softmax", "matmul", "log_softmax", "mean_var"])
def test_double_backward_matches_torch(chain):
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal((3, 4)).astype(np.float32)
    w0 = rng.standard_normal((4, 4)).astype(np.float32) * 0.5

    def f(lib, x, w):
        if chain == "tanh":
            return (x @ w).tanh() * x
        if chain == "sigmoid":
            return (x * 1.5).sigmoid() * (x @ w).sigmoid()
        if chain == "softmax":
            return lib.softmax(x @ w, dim=-1) * x
        if chain == "matmul":
            return (x @ w) @ (w @ x.T) @ x
        if chain == "log_softmax":
            return lib.log_softmax(x * w[0], dim=1) ** 2
        return x.var(dim=1, keepdim=True) * (x @ w - x.mean(dim=0)).exp()

    results = []
    for lib, make in ((tg, tg.tensor), (torch, torch.tensor)):
        x = make(x0, requires_grad=True)
        w = make(w0, requires_grad=True)
        gx, gw = lib.autograd.grad(f(lib, x, w).sum(), [x, w], create_graph=True)
        ggx, ggw = lib.autograd.grad((gx ** 2).sum() + (gw * gw.sin()).sum(), [x, w])
        results.append((gx, gw, ggx, ggw))
    for ours, theirs in zip(*results):
        assert_close(ours, theirs, rtol=2e-4, atol=2e-5)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_backward_with_create_graph_makes_dot_grad_differentiable():
    x, xt = pair([0.5, -0.25])
    (x ** 4).sum().backward(create_graph=True)
    (xt ** 4).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    g2, = tg.autograd.grad(x.grad.sum(), x)
    g2t, = torch.autograd.grad(xt.grad.sum(), xt)
    assert_close(g2, g2t)


def test_gradient_without_create_graph_is_a_constant():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    g, = tg.autograd.grad((x ** 3).sum(), x)
    assert not g.requires_grad and g.grad_fn is None


# ---------------------------------------------------------------------------------------------
# Custom Functions
# ---------------------------------------------------------------------------------------------
class Cube(Function):
    """y = x³.   dL/dx = 3x² g."""

    seen_types = []

    @staticmethod
    def forward(ctx, x):
        Cube.seen_types.append(type(x))
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * 3 * x * x


class ScaledProduct(Function):
    """y = scale · a · b with a non-tensor option; b may be a constant."""

    @staticmethod
    def forward(ctx, a, b, scale=1.0):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return scale * a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * b * ctx.scale if need_a else None), (grad * a * ctx.scale if need_b else None)


class RawSquare(Function):
    """y = x², with a raw-array backward: fine once, an error on double backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return tg.Tensor._wrap(2 * x.array * grad.array)


def test_custom_function_forward_sees_arrays_and_backward_matches_torch():
    x, xt = pair([0.5, -1.0, 2.0])
    y = Cube.apply(x)
    assert Cube.seen_types[-1] is np.ndarray
    assert isinstance(y, tg.Tensor) and y.grad_fn.name() == "CubeBackward"
    (y * y.sin()).sum().backward()
    yt = xt ** 3
    (yt * yt.sin()).sum().backward()
    assert_close(y, yt)
    assert_close(x.grad, xt.grad)


def test_custom_function_double_backward():
    x = tg.tensor([0.5, -1.0, 2.0], dtype=tg.float64, requires_grad=True)
    g, = tg.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    gg, = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6 * x.detach().numpy())


def test_custom_function_options_and_needs_input_grad():
    a, at = pair([1.0, 2.0])
    b = tg.tensor([3.0, -4.0])
    y = ScaledProduct.apply(a, b, scale=0.5)
    assert y.grad_fn.needs_input_grad == (True, False)
    y.sum().backward()
    (0.5 * at * torch.tensor([3.0, -4.0])).sum().backward()
    assert_close(a.grad, at.grad)
    assert b.grad is None


def test_custom_function_without_grad_inputs_records_nothing():
    y = Cube.apply(tg.tensor([2.0]))
    assert y.grad_fn is None and not y.requires_grad
    np.testing.assert_allclose(y.numpy(), [8.0])


def test_custom_backward_returning_the_wrong_count_raises():
    class TwoGrads(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    x = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="returned 2 gradients"):
        TwoGrads.apply(x).sum().backward()


def test_once_differentiable_works_once_and_raises_on_double_backward():
    x = tg.tensor([1.0, 3.0], requires_grad=True)
    RawSquare.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 6.0])
    x2 = tg.tensor([1.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        tg.autograd.grad(RawSquare.apply(x2).sum(), x2, create_graph=True)


def test_saved_tensors_after_backward_raise_mentioning_retain_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = Cube.apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.grad_fn.saved_tensors


def test_saved_values_are_freed_after_backward():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).exp()
    node = y.grad_fn
    assert node._saved is not None
    y.sum().backward()
    assert node._saved is None


def test_retain_graph_keeps_saved_values():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).exp()
    y.sum().backward(retain_graph=True)
    assert y.grad_fn._saved is not None


# ---------------------------------------------------------------------------------------------
# Depth: the traversal is iterative
# ---------------------------------------------------------------------------------------------
def test_backward_through_a_chain_of_100000_ops():
    x = tg.tensor(2.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0
    node = weakref.ref(y.grad_fn)
    del y
    gc.collect()
    assert node() is None


def test_deleting_a_chain_of_100000_ops_without_backward_does_not_crash():
    x = tg.tensor(0.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 0.001
    assert abs(y.item() - 100.0) < 0.1
    del y
    gc.collect()
    assert x.grad is None


# ---- slices add in place (engine step 6) -----------------------------------------------------------
def _slice_mix_graph(lib, x_np):
    """y is read through slices and densely, with a hook and retain_grad on it: every gradient must equal
    torch's, and what the hook and .grad kept must not change afterwards."""
    x = lib.tensor(x_np, requires_grad=True)
    y = x * 2.0
    y.retain_grad()
    seen = []
    y.register_hook(lambda g: seen.append(g.clone()) or None)
    loss = (y[0] * 3.0).sum() + (y[1:3] ** 2).sum() + (y * y).sum() + y[:, 1].sum() + y[-1, ::2].sum()
    loss.backward()
    return x.grad.numpy().copy(), y.grad.numpy().copy(), seen[0].numpy().copy()


def test_slice_gradients_accumulated_in_place_equal_torch():
    x_np = np.random.default_rng(0).standard_normal((4, 3))
    for ours, ref in zip(_slice_mix_graph(tg, x_np), _slice_mix_graph(torch, x_np)):
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


def test_slice_gradients_stay_differentiable_with_create_graph():
    x_np = np.random.default_rng(1).standard_normal((3, 2))
    grads = []
    for lib in (tg, torch):
        x = lib.tensor(x_np, requires_grad=True)
        y = x.exp()
        loss = (y[0] ** 3).sum() + (y[1:] ** 2).sum()
        (g,) = (tg.autograd.grad if lib is tg else torch.autograd.grad)(loss, [x], create_graph=True)
        g.sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_reading_a_sequence_step_by_step_never_builds_a_full_size_gradient_per_step(monkeypatch):
    """An RNN reads x[t] for every t; the backward must add each step's gradient at its slice (O(T) in
    all), not materialise T full-size zero-filled gradients (O(T²))."""
    from tinygrad_edu.autograd import engine
    made_dense = []
    original = engine.SliceGradient.dense
    monkeypatch.setattr(engine.SliceGradient, "dense", lambda self: made_dense.append(1) or original(self))
    x = tg.randn(50, 2, 3, requires_grad=True)
    xw = x * 1.0                      # a node, as the input projection of an LSTM is
    h = tg.zeros(2, 3)
    for t in range(50):
        h = (xw[t] + h).tanh()
    h.sum().backward()
    assert made_dense == []
    ref_x = torch.tensor(x.detach().numpy(), requires_grad=True)
    ref_h = torch.zeros(2, 3)
    for t in range(50):
        ref_h = (ref_x[t] + ref_h).tanh()
    ref_h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ref_x.grad.numpy(), rtol=1e-5, atol=1e-6)
