"""tinygrad_edu.nn.functional against torch.nn.functional: forward (float32), every input's
gradient (float32), finite differences and second derivatives (float64), stability at ±1e4, and
the error messages."""

import warnings

import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu.autograd import gradcheck, gradgradcheck

RTOL, ATOL = 1e-5, 1e-6

torch.set_num_threads(1)  # torch's thread pool crawls on a busy 2-core machine


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def both(array, requires_grad=False):
    """The same NumPy array as a tinygrad_edu tensor and a torch tensor."""
    array = np.asarray(array)
    ours = tg.tensor(array.copy(), requires_grad=requires_grad)
    theirs = torch.tensor(array.copy(), requires_grad=requires_grad)
    return ours, theirs


def compare(our_fn, torch_fn, arrays, grad_of, seed=0, rtol=RTOL, atol=ATOL):
    """Run both functions on the same inputs; compare the outputs and the gradients of the inputs
    whose positions are in ``grad_of`` for a random upstream gradient."""
    ours, theirs = zip(*(both(a, i in grad_of) for i, a in enumerate(arrays)))
    out, ref = our_fn(*ours), torch_fn(*theirs)
    assert tuple(out.shape) == tuple(ref.shape)
    assert out.dtype == np.dtype(str(ref.dtype).replace("torch.", ""))
    np.testing.assert_allclose(out.numpy() if not out.requires_grad else out.detach().numpy(),
                               ref.detach().numpy(), rtol=rtol, atol=atol)
    if grad_of:
        upstream = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
        out.backward(tg.tensor(upstream))
        ref.backward(torch.tensor(upstream))
        for i in grad_of:
            assert ours[i].grad is not None, f"no gradient for input {i}"
            np.testing.assert_allclose(ours[i].grad.numpy(), theirs[i].grad.numpy(), rtol=rtol,
                                       atol=atol, err_msg=f"gradient of input {i}")
    return out, ref


def hessian_vector_parity(our_fn, torch_fn, arrays, wrt, seed=1):
    """Second derivatives against torch in float64: d/dx (Σ v · dL/dx) for a random v."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else a
              for a in arrays]
    ours, theirs = zip(*(both(a, i in wrt) for i, a in enumerate(arrays)))
    loss, ref = our_fn(*ours).sum(), torch_fn(*theirs).sum()
    g = tg.autograd.grad(loss, [ours[i] for i in wrt], create_graph=True)
    g_ref = torch.autograd.grad(ref, [theirs[i] for i in wrt], create_graph=True)
    vs = [rng.standard_normal(x.shape) for x in g]
    s = sum((gi * tg.tensor(v)).sum() for gi, v in zip(g, vs))
    s_ref = sum((gi * torch.tensor(v)).sum() for gi, v in zip(g_ref, vs))
    h = tg.autograd.grad(s, [ours[i] for i in wrt], allow_unused=True)
    h_ref = torch.autograd.grad(s_ref, [theirs[i] for i in wrt], allow_unused=True)
    for a, b in zip(h, h_ref):
        if b is None or a is None:
            assert (a is None or np.allclose(a.numpy(), 0)) and (b is None or torch.all(b == 0))
            continue
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-12)


def leaf64(array):
    return tg.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


rng = np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _inputs_drawn_per_test(request):
    """Each test draws its inputs from its own seed (its name), not from where a shared generator
    happens to be: which tests ran before it in this worker must not change its numbers."""
    global rng
    rng = np.random.default_rng(zlib.crc32(request.node.name.encode()))


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# linear
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("x_shape", [(5, 4), (2, 3, 4), (4,)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_matches_torch(x_shape, with_bias):
    arrays = [randn(*x_shape), randn(3, 4)] + ([randn(3)] if with_bias else [])
    compare(lambda *a: F.linear(*a), lambda *a: TF.linear(*a), arrays,
            grad_of=range(len(arrays)))


def test_linear_float64_finite_differences_and_second_derivatives():
    x, w, b = leaf64(randn(3, 4)), leaf64(randn(2, 4)), leaf64(randn(2))
    assert gradcheck(F.linear, (x, w, b))
    assert gradgradcheck(F.linear, (x, w, b))
    x3 = leaf64(randn(2, 3, 4))
    assert gradcheck(F.linear, (x3, w, b))
    hessian_vector_parity(lambda x, w, b: (F.linear(x, w, b) ** 2), lambda x, w, b: TF.linear(x, w, b) ** 2,
                          [randn(3, 4), randn(2, 4), randn(2)], wrt=[0, 1, 2])


def test_linear_weight_grad_is_a_fresh_array():
    x, w, b = tg.randn(8, 5), tg.randn(3, 5, requires_grad=True), tg.randn(3, requires_grad=True)
    F.linear(x, w, b).sum().backward()
    assert w.grad.array.flags.owndata and w.grad.array.flags.c_contiguous
    np.testing.assert_allclose(w.grad.numpy(), np.ones((8, 3), np.float32).T @ x.numpy(), rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), np.full(3, 8.0), rtol=1e-6)


@pytest.mark.parametrize("x_shape", [(6, 4), (2, 3, 4), (0, 4)])
def test_linear_raw_array_backward_equals_the_recorded_one(x_shape):
    """An ordinary backward takes the raw-array gradients (``_linear_grads``); ``create_graph=True``
    the Tensor-op ones.  Both give the same dL/dx, dL/dW and dL/db (db = 1ᵀG: also for 0 rows)."""
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in (x_shape, (3, 4), (3,))]
    g = rng.standard_normal(x_shape[:-1] + (3,)).astype(np.float32)
    results = []
    for create_graph in (False, True):
        x, w, b = [tg.tensor(a, requires_grad=True) for a in arrays]
        results.append(tg.autograd.grad(F.linear(x, w, b), (x, w, b), grad_outputs=tg.tensor(g),
                                        create_graph=create_graph))
    for raw, recorded in zip(*results):
        assert raw.shape == recorded.shape and raw.dtype == recorded.dtype
        np.testing.assert_allclose(raw.detach().numpy(), recorded.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results[0][2].numpy(), g.reshape(-1, 3).sum(0), rtol=1e-5, atol=1e-6)


def test_linear_errors_name_op_and_shapes():
    with pytest.raises(ValueError, match=r"linear: input of shape \(5, 4\).*weight of shape \(3, 2\)"):
        F.linear(tg.randn(5, 4), tg.randn(3, 2))
    with pytest.raises(ValueError, match=r"linear: bias must have shape \(3,\)"):
        F.linear(tg.randn(5, 4), tg.randn(3, 4), tg.randn(4))
    with pytest.raises(ValueError, match="linear: weight must be a 2-D"):
        F.linear(tg.randn(5, 4), tg.randn(4))


# ---------------------------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------------------------
def test_dropout_is_inverted_and_its_gradient_uses_the_same_mask():
    tg.manual_seed(0)
    x = tg.tensor(np.ones((200, 100), np.float32), requires_grad=True)
    y = F.dropout(x, p=0.3)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.7, rtol=1e-6)
    y.backward(tg.ones(200, 100))
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())


def test_dropout_is_reproducible_and_the_identity_when_not_training():
    x = tg.randn(10, 10)
    tg.manual_seed(5)
    a = F.dropout(x, 0.5).numpy()
    tg.manual_seed(5)
    b = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).numpy(), np.zeros((10, 10)))
    with pytest.raises(ValueError, match="dropout: probability has to be between 0 and 1, but got 1.5"):
        F.dropout(x, 1.5)


def test_dropout_inplace_on_a_non_leaf():
    tg.manual_seed(3)
    x = tg.randn(4, 5, requires_grad=True)
    h = x * 1.0
    out = F.dropout(h, 0.5, inplace=True)
    assert out is h
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy() != 0, h.detach().numpy() != 0)


# ---------------------------------------------------------------------------------------------
# mse_loss / l1_loss
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_regression_losses_match_torch(name, reduction, weighted):
    arrays = [randn(4, 3), randn(4, 3)] + ([np.abs(randn(4, 3))] if weighted else [])
    ours, theirs = getattr(F, name), getattr(TF, name)
    if weighted:
        compare(lambda x, y, w: ours(x, y, reduction=reduction, weight=w),
                lambda x, y, w: theirs(x, y, reduction=reduction, weight=w), arrays, grad_of=[0, 1, 2])
    else:
        compare(lambda x, y: ours(x, y, reduction=reduction),
                lambda x, y: theirs(x, y, reduction=reduction), arrays, grad_of=[0, 1])


def test_regression_losses_legacy_arguments_broadcast_and_errors():
    x, y = randn(4, 3), randn(4, 3)
    compare(lambda a, b: F.mse_loss(a, b, size_average=False),
            lambda a, b: TF.mse_loss(a, b, size_average=False), [x, y], grad_of=[0])
    with pytest.warns(UserWarning, match="target size"):
        out = F.mse_loss(tg.tensor(x), tg.tensor(y[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = TF.mse_loss(torch.tensor(x), torch.tensor(y[0]))
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=RTOL)
    with pytest.raises(ValueError, match="mse_loss: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.mse_loss(tg.tensor(x), tg.tensor(y), reduction="avg")
    with pytest.raises(ValueError, match=r"l1_loss: weight must have the input's shape \(4, 3\)"):
        F.l1_loss(tg.tensor(x), tg.tensor(y), weight=tg.ones(3))
    assert gradcheck(lambda a, b: F.mse_loss(a, b), (leaf64(x), leaf64(y)))
    assert gradgradcheck(lambda a, b: F.mse_loss(a, b, reduction="sum"), (leaf64(x), leaf64(y)))


# ---------------------------------------------------------------------------------------------
# nll_loss and cross_entropy with class indices
# ---------------------------------------------------------------------------------------------
def _class_case(shape, n_classes, ignore):
    """Logits of ``shape`` and integer targets for them (some equal to ``ignore``)."""
    logits = randn(*shape)
    target_shape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    target = rng.integers(0, n_classes, target_shape)
    if ignore >= 0 and target.size > 1:
        target.reshape(-1)[::3] = ignore
    return logits, target


SHAPES = [(6, 5), (5,), (3, 5, 2, 2)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted,ignore_index,smoothing",
                         [(False, -100, 0.0), (True, -100, 0.0), (False, 1, 0.0), (True, 2, 0.0),
                          (False, -100, 0.2), (True, 1, 0.3), (False, 3, 0.1)])
def test_cross_entropy_with_indices_matches_torch(shape, reduction, weighted, ignore_index, smoothing):
    logits, target = _class_case(shape, 5, ignore_index)
    weight = np.abs(randn(5)) + 0.1 if weighted else None
    t_ours, t_ref = tg.tensor(target), torch.tensor(target)
    w_ours = tg.tensor(weight) if weighted else None
    w_ref = torch.tensor(weight) if weighted else None
    compare(lambda x: F.cross_entropy(x, t_ours, weight=w_ours, ignore_index=ignore_index,
                                      reduction=reduction, label_smoothing=smoothing),
            lambda x: TF.cross_entropy(x, t_ref, weight=w_ref, ignore_index=ignore_index,
                                       reduction=reduction, label_smoothing=smoothing),
            [logits], grad_of=[0])


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted,ignore_index", [(False, -100), (True, -100), (True, 1)])
def test_nll_loss_matches_torch(shape, reduction, weighted, ignore_index):
    logits, target = _class_case(shape, 5, ignore_index)
    weight = np.abs(randn(5)) + 0.1 if weighted else None
    w_ours = tg.tensor(weight) if weighted else None
    w_ref = torch.tensor(weight) if weighted else None
    compare(lambda x: F.nll_loss(x, tg.tensor(target), weight=w_ours, ignore_index=ignore_index,
                                 reduction=reduction),
            lambda x: TF.nll_loss(x, torch.tensor(target), weight=w_ref, ignore_index=ignore_index,
                                  reduction=reduction),
            [logits], grad_of=[0])


def test_cross_entropy_and_nll_float64_gradients_and_second_derivatives():
    logits, target = _class_case((4, 3), 3, 1)
    weight = tg.tensor(np.array([0.5, 2.0, 1.5]))
    t = tg.tensor(target)

    def ce(x):
        return F.cross_entropy(x, t, weight=weight, ignore_index=1, label_smoothing=0.1)
    assert gradcheck(ce, (leaf64(logits),))
    assert gradgradcheck(ce, (leaf64(logits),))
    assert gradcheck(lambda x: F.nll_loss(x, t, weight=weight), (leaf64(logits),))
    assert gradgradcheck(lambda x: F.nll_loss(x, t, reduction="none"), (leaf64(logits),))
    spatial, spatial_target = _class_case((2, 3, 2), 3, -100)
    assert gradgradcheck(lambda x: F.cross_entropy(x, tg.tensor(spatial_target), reduction="none"),
                         (leaf64(spatial),))
    hessian_vector_parity(
        lambda x: F.cross_entropy(x, tg.tensor(target), weight=tg.tensor([0.5, 2.0, 1.5]),
                                  label_smoothing=0.2),
        lambda x: TF.cross_entropy(x, torch.tensor(target), label_smoothing=0.2,
                                   weight=torch.tensor([0.5, 2.0, 1.5], dtype=torch.float64)),
        [logits], wrt=[0])


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [0.0, 1e4, 1e4], [-1e4, 1e4, -1e4]],
                      np.float32)
    target = np.array([1, 2, 0, 1])
    for smoothing in (0.0, 0.1):
        out, ref = compare(lambda x: F.cross_entropy(x, tg.tensor(target), label_smoothing=smoothing),
                           lambda x: TF.cross_entropy(x, torch.tensor(target), label_smoothing=smoothing),
                           [logits], grad_of=[0])
        assert np.isfinite(out.item())
    probs = np.abs(randn(4, 3))
    probs /= probs.sum(1, keepdims=True)
    compare(lambda x, p: F.cross_entropy(x, p), lambda x, p: TF.cross_entropy(x, p),
            [logits, probs], grad_of=[0, 1])
    compare(lambda x: F.nll_loss(F.log_softmax(x, dim=1), tg.tensor(target)),
            lambda x: TF.nll_loss(TF.log_softmax(x, dim=1), torch.tensor(target)), [logits], grad_of=[0])


def test_cross_entropy_every_target_ignored_gives_nan_and_zero_gradient():
    x = tg.randn(3, 4, requires_grad=True)
    loss = F.cross_entropy(x, tg.tensor([-100, -100, -100]))
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))


@pytest.mark.parametrize("shape", [(6, 5), (5,), (3, 5, 2, 2)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted,smoothing", [(False, 0.0), (True, 0.0), (True, 0.25)])
def test_cross_entropy_with_probabilities_matches_torch(shape, reduction, weighted, smoothing):
    class_dim = 0 if len(shape) == 1 else 1
    probs = np.abs(randn(*shape))
    probs /= probs.sum(class_dim, keepdims=True)
    weight = np.abs(randn(5)) + 0.1 if weighted else None
    w_ours = tg.tensor(weight) if weighted else None
    w_ref = torch.tensor(weight) if weighted else None
    compare(lambda x, p: F.cross_entropy(x, p, weight=w_ours, reduction=reduction,
                                         label_smoothing=smoothing),
            lambda x, p: TF.cross_entropy(x, p, weight=w_ref, reduction=reduction,
                                          label_smoothing=smoothing),
            [randn(*shape), probs], grad_of=[0, 1])


def test_class_loss_errors_name_op_and_shapes():
    x = tg.randn(4, 3)
    with pytest.raises(TypeError, match=r"cross_entropy: target must hold class indices .*shape \(4,\)"
                                        r".*got dtype float32 and shape \(4,\)"):
        F.cross_entropy(x, tg.tensor([0.0, 1.0, 2.0, 0.0]))
    with pytest.raises(TypeError, match=r"cross_entropy: a target with the input's shape \(4, 3\) is read "
                                        "as class probabilities and must be floating point, got dtype int64"):
        F.cross_entropy(x, tg.zeros(4, 3, dtype=tg.int64))
    with pytest.raises(IndexError, match=r"cross_entropy: target class index 7 is out of range for input "
                                         r"of shape \(4, 3\) with 3 classes"):
        F.cross_entropy(x, tg.tensor([0, 1, 7, 2]))
    with pytest.raises(IndexError, match="nll_loss: target class index -1 is out of range"):
        F.nll_loss(x, tg.tensor([0, 1, -1, 2]))
    with pytest.raises(ValueError, match=r"cross_entropy: expected input batch_size \(4\) to match target "
                                         r"batch_size \(3\): input \(4, 3\), target \(3,\)"):
        F.cross_entropy(x, tg.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"nll_loss: target of shape \(4, 2\) does not fit input of shape "
                                         r"\(4, 3, 5\); class indices need shape \(4, 5\)"):
        F.nll_loss(tg.randn(4, 3, 5), tg.zeros(4, 2, dtype=tg.int64))
    with pytest.raises(ValueError,
                       match="cross_entropy: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.cross_entropy(x, tg.tensor([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(ValueError, match=r"cross_entropy: weight must be a 1-D tensor .*\(3,\).*got \(4,\)"):
        F.cross_entropy(x, tg.tensor([0, 1, 2, 0]), weight=tg.ones(4))
    with pytest.raises(ValueError,
                       match="cross_entropy: label_smoothing must be between 0.0 and 1.0, got 1.5"):
        F.cross_entropy(x, tg.tensor([0, 1, 2, 0]), label_smoothing=1.5)
    with pytest.raises(ValueError,
                       match="cross_entropy: ignore_index .* not supported for class-probability"):
        F.cross_entropy(x, tg.rand(4, 3), ignore_index=0)
    with pytest.raises(TypeError, match="nll_loss: input must be a floating point tensor, got dtype int64"):
        F.nll_loss(tg.zeros(4, 3, dtype=tg.int64), tg.tensor([0, 1, 2, 0]))
    with pytest.raises(RuntimeError, match="cross_entropy: the class weight is a constant"):
        F.cross_entropy(x, tg.tensor([0, 1, 2, 0]), weight=tg.ones(3, requires_grad=True))


# ---------------------------------------------------------------------------------------------
# binary cross-entropy
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight_shape", [None, (4, 3), (3,)])
def test_binary_cross_entropy_matches_torch(reduction, weight_shape):
    p = 1 / (1 + np.exp(-randn(4, 3)))
    t = rng.random((4, 3)).astype(np.float32)
    w = None if weight_shape is None else np.abs(randn(*weight_shape))
    compare(lambda x, y: F.binary_cross_entropy(x, y, weight=None if w is None else tg.tensor(w),
                                                reduction=reduction),
            lambda x, y: TF.binary_cross_entropy(x, y, weight=None if w is None else torch.tensor(w),
                                                 reduction=reduction),
            [p, t], grad_of=[0, 1])


def test_binary_cross_entropy_clamps_its_logs_like_torch():
    p = np.array([0.0, 1.0, 1e-30, 1 - 1e-7, 0.5], np.float32)
    t = np.array([1.0, 0.0, 1.0, 0.0, 0.3], np.float32)
    out, _ = compare(lambda x, y: F.binary_cross_entropy(x, y, reduction="none"),
                     lambda x, y: TF.binary_cross_entropy(x, y, reduction="none"), [p, t], grad_of=[0, 1],
                     rtol=1e-4)
    assert np.all(np.isfinite(out.detach().numpy()))


def test_binary_cross_entropy_float64_and_errors():
    p = leaf64(1 / (1 + np.exp(-randn(3, 2))))
    t = leaf64(rng.random((3, 2)))
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a, b), (p, t))
    assert gradgradcheck(lambda a, b: F.binary_cross_entropy(a, b, reduction="sum"), (p, t))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: all elements of input should be between "
                                         r"0 and 1; input of shape \(2,\)"):
        F.binary_cross_entropy(tg.tensor([0.5, 1.5]), tg.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: using a target size \(3,\) that is "
                                         r"different to the input size \(2,\)"):
        F.binary_cross_entropy(tg.tensor([0.5, 0.5]), tg.tensor([1.0, 0.0, 1.0]))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("with_weight,with_pos_weight", [(False, False), (True, False), (False, True),
                                                         (True, True)])
def test_binary_cross_entropy_with_logits_matches_torch(reduction, with_weight, with_pos_weight):
    arrays = [randn(5, 3) * 3, rng.random((5, 3)).astype(np.float32)]
    if with_weight:
        arrays.append(np.abs(randn(5, 3)))
    if with_pos_weight:
        arrays.append(np.abs(randn(3)) + 0.5)

    def call(fn):
        def run(x, y, *rest):
            rest = list(rest)
            w = rest.pop(0) if with_weight else None
            pw = rest.pop(0) if with_pos_weight else None
            return fn(x, y, weight=w, reduction=reduction, pos_weight=pw)
        return run
    # torch does not differentiate weight and pos_weight (ours does: see the gradcheck below)
    compare(call(F.binary_cross_entropy_with_logits), call(TF.binary_cross_entropy_with_logits), arrays,
            grad_of=[0, 1])


def test_binary_cross_entropy_with_logits_is_stable_and_differentiable_twice():
    x = np.array([1e4, -1e4, 1e4, -1e4, 0.0, 30.0, -30.0], np.float32)
    t = np.array([1.0, 1.0, 0.0, 0.0, 0.5, 0.2, 0.7], np.float32)
    pw = np.array([2.0], np.float32)
    for pos_weight in (None, pw):
        out, ref = compare(
            lambda a, b: F.binary_cross_entropy_with_logits(
                a, b, reduction="none", pos_weight=None if pos_weight is None else tg.tensor(pos_weight)),
            lambda a, b: TF.binary_cross_entropy_with_logits(
                a, b, reduction="none", pos_weight=None if pos_weight is None else torch.tensor(pos_weight)),
            [x, t], grad_of=[0, 1], atol=1e-5)
        assert np.all(np.isfinite(out.detach().numpy()))
    args = (leaf64(randn(3, 2)), leaf64(rng.random((3, 2))), leaf64(np.abs(randn(2)) + 0.5))
    assert gradcheck(lambda a, b, c: F.binary_cross_entropy_with_logits(a, b, pos_weight=c), args)
    assert gradgradcheck(lambda a, b, c: F.binary_cross_entropy_with_logits(a, b, pos_weight=c), args)
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: target size \(3,\) must be "
                                         r"the same as input size \(2,\)"):
        F.binary_cross_entropy_with_logits(tg.zeros(2), tg.zeros(3))


# ---------------------------------------------------------------------------------------------
# softmax, activations, one_hot
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family_matches_torch(name, dim):
    x = randn(3, 4)
    x[0, 0] = 1e4
    compare(lambda a: getattr(F, name)(a, dim=dim), lambda a: getattr(TF, name)(a, dim=dim), [x],
            grad_of=[0])


ACTIVATIONS = [("relu", {}), ("gelu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}),
               ("tanh", {}), ("sigmoid", {}), ("leaky_relu", {"negative_slope": 0.2}),
               ("elu", {"alpha": 0.7}), ("softplus", {"beta": 2.0, "threshold": 5.0})]


@pytest.mark.parametrize("name,kwargs", ACTIVATIONS)
def test_activations_match_torch(name, kwargs):
    compare(lambda a: getattr(F, name)(a, **kwargs), lambda a: getattr(TF, name)(a, **kwargs),
            [randn(4, 5) * 3], grad_of=[0])


@pytest.mark.parametrize("name", ["relu", "silu", "leaky_relu", "elu"])
def test_inplace_activations_change_the_input(name):
    x = tg.randn(3, 4, requires_grad=True)
    h = x * 2.0
    expected = getattr(F, name)(h).detach().numpy()
    out = getattr(F, name)(h, inplace=True)
    assert out is h
    np.testing.assert_allclose(h.detach().numpy(), expected)
    out.sum().backward()  # the graph now goes through the activation
    h_ref = torch.tensor(x.detach().numpy(), requires_grad=True)
    getattr(TF, name)(h_ref * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), h_ref.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_one_hot_is_exported():
    out = F.one_hot(tg.tensor([0, 2, 1]), num_classes=4)
    np.testing.assert_array_equal(out.numpy(), TF.one_hot(torch.tensor([0, 2, 1]), 4).numpy())


# ---------------------------------------------------------------------------------------------
# embedding
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("padding_idx,scale", [(None, False), (2, False), (-1, False), (None, True),
                                               (0, True)])
def test_embedding_matches_torch(padding_idx, scale):
    idx = np.array([[0, 2, 2, 5], [5, 1, 2, 0]])
    compare(lambda w: F.embedding(tg.tensor(idx), w, padding_idx=padding_idx, scale_grad_by_freq=scale),
            lambda w: TF.embedding(torch.tensor(idx), w, padding_idx=padding_idx, scale_grad_by_freq=scale),
            [randn(6, 3)], grad_of=[0])


def test_embedding_padding_row_gets_no_gradient_and_max_norm_renormalises():
    w = tg.randn(5, 3, requires_grad=True)
    F.embedding(tg.tensor([1, 1, 3]), w, padding_idx=1).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[1], np.zeros(3))
    np.testing.assert_array_equal(w.grad.numpy()[3], np.ones(3))
    table = randn(5, 3) * 3
    ours, theirs = tg.tensor(table.copy()), torch.tensor(table.copy())
    out = F.embedding(tg.tensor([0, 4, 4]), ours, max_norm=1.0)
    ref = TF.embedding(torch.tensor([0, 4, 4]), theirs, max_norm=1.0)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-5)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5)
    assert gradgradcheck(lambda t: F.embedding(tg.tensor([0, 2, 0]), t, padding_idx=2) ** 2,
                         (leaf64(randn(3, 2)),))


def test_embedding_errors():
    with pytest.raises(TypeError, match=r"embedding: indices must be an integer tensor \(int64\), got dtype "
                                        "float32"):
        F.embedding(tg.tensor([0.0, 1.0]), tg.randn(3, 2))
    with pytest.raises(IndexError, match=r"embedding: index out of range: indices \(shape \(2,\)\) hold "
                                         r"values from 0 to 5, but weight \(3, 2\) has rows 0..2"):
        F.embedding(tg.tensor([0, 5]), tg.randn(3, 2))
    with pytest.raises(ValueError, match=r"embedding: padding_idx 3 must be within num_embeddings \(3\)"):
        F.embedding(tg.tensor([0]), tg.randn(3, 2), padding_idx=3)


# ---------------------------------------------------------------------------------------------
# documentation
# ---------------------------------------------------------------------------------------------
def test_every_public_function_documents_its_math():
    for name in F.__all__:
        doc = getattr(F, name).__doc__
        assert doc and len(doc) > 30, f"F.{name} needs a docstring that teaches its math"
    for name in ["linear", "dropout", "embedding", "mse_loss", "nll_loss", "cross_entropy",
                 "binary_cross_entropy_with_logits"]:
        assert "d" in getattr(F, name).__doc__ and ("dL/" in getattr(F, name).__doc__ or
                                                    "dℓ" in getattr(F, name).__doc__ or
                                                    "gradient" in getattr(F, name).__doc__.lower())


def test_hot_path_is_fused():
    """One graph node per layer and one for the loss: the backward walks 5 nodes for a
    two-layer MLP (linear, relu, linear, cross_entropy)."""
    x, y = tg.randn(8, 4), tg.tensor(rng.integers(0, 3, 8))
    w1, b1 = tg.randn(5, 4, requires_grad=True), tg.randn(5, requires_grad=True)
    w2, b2 = tg.randn(3, 5, requires_grad=True), tg.randn(3, requires_grad=True)
    loss = F.cross_entropy(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), y)
    names = []
    node = loss.grad_fn
    while node is not None:
        names.append(type(node).__name__)
        parents = [p for p in node.parents if p is not None and not isinstance(p, tg.Tensor)]
        node = parents[0] if parents else None
    assert names == ["CrossEntropyWithIndices", "LinearFunction", "Relu", "LinearFunction"]
