"""The extra activations, distances, losses, Bilinear and grouped-query attention, beyond the generated
suite (``tests/op_registry/activation.py``, ``activation_hard.py``, ``distance.py``,
``loss_regression.py``, ``linear.py``, ``attention.py``): the corners of piecewise ops, NaN and ±inf, the
modules (defaults, initialisation, repr), the eps conventions of the distances, warnings and errors.
Everything is compared with PyTorch."""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F

SPECIAL = [-6.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0, 2.5, -0.3, -50.0, 50.0, -1e4, 1e4,
           math.nan, math.inf, -math.inf]


def _both(values, dtype=np.float32):
    a = np.asarray(values, dtype=dtype)
    return tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _check(ours, ref, values=SPECIAL, dtype=np.float32, rtol=1e-5, atol=1e-6):
    """Forward and gradient (of sum) of ours and torch's on ``values``, NaN positions included."""
    x, t = _both(values, dtype)
    y, yt = ours(x), ref(t)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=rtol, atol=atol, equal_nan=True)
    assert y.dtype == x.dtype
    # at NaN inputs torch's own gradient depends on the tensor's length (vectorised kernels): not pinned
    finite = ~np.isnan(np.asarray(values, dtype))
    np.testing.assert_allclose(x.grad.numpy()[finite], t.grad.numpy()[finite], rtol=rtol, atol=atol)


@pytest.mark.parametrize("name, ours, ref", [
    ("hardtanh", lambda x: F.hardtanh(x), lambda x: TF.hardtanh(x)),
    ("hardtanh_range", lambda x: F.hardtanh(x, -1.0, 3.0), lambda x: TF.hardtanh(x, -1.0, 3.0)),
    ("relu6", F.relu6, TF.relu6),
    ("hardsigmoid", F.hardsigmoid, TF.hardsigmoid),
    ("hardswish", F.hardswish, TF.hardswish),
    ("hardshrink", lambda x: F.hardshrink(x, 3.0), lambda x: TF.hardshrink(x, 3.0)),
    ("softshrink", lambda x: F.softshrink(x, 3.0), lambda x: TF.softshrink(x, 3.0)),
    ("softshrink0", lambda x: F.softshrink(x, 0.0), lambda x: TF.softshrink(x, 0.0)),
    ("prelu", lambda x: F.prelu(x, tg.tensor([0.25], dtype=x.dtype)),
     lambda x: TF.prelu(x, torch.tensor([0.25], dtype=x.dtype))),
    ("celu", lambda x: F.celu(x, 0.7), lambda x: TF.celu(x, 0.7)),
    ("selu", F.selu, TF.selu),
    ("mish", F.mish, TF.mish),
    ("logsigmoid", F.logsigmoid, TF.logsigmoid),
    ("softsign", F.softsign, TF.softsign),
    ("tanhshrink", F.tanhshrink, TF.tanhshrink),
])
def test_corners_nan_inf_match_torch(name, ours, ref):
    """Exactly at the corners (±3, 0, 6, ±λ) PyTorch picks one side for the slope; we pick the same."""
    with np.errstate(all="ignore"):
        _check(ours, ref)
        _check(ours, ref, dtype=np.float64)


def test_logsigmoid_is_stable_for_large_inputs():
    x = tg.tensor([-1e4, -100.0, 100.0, 1e4], requires_grad=True)
    y = F.logsigmoid(x)
    np.testing.assert_allclose(y.detach().numpy(), [-1e4, -100.0, -3.7e-44, 0.0], rtol=1e-6, atol=1e-30)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0, 0.0, 0.0], atol=1e-30)


def test_empty_inputs():
    for fn_name in ["hardtanh", "relu6", "hardsigmoid", "hardswish", "celu", "selu", "logsigmoid", "mish",
                    "softsign", "tanhshrink", "hardshrink", "softshrink"]:
        y = getattr(F, fn_name)(tg.zeros(0, 3))
        assert y.shape == (0, 3), fn_name
    assert F.glu(tg.zeros(2, 0)).shape == (2, 0)
    assert F.softmin(tg.zeros(0, 3), dim=1).shape == (0, 3)


def test_inplace_variants():
    for name, kwargs in [("hardtanh", {}), ("relu6", {}), ("hardsigmoid", {}), ("hardswish", {}),
                         ("celu", {"alpha": 0.5}), ("selu", {}), ("mish", {})]:
        a = np.array([-4.0, -1.0, 0.5, 2.0, 7.0], dtype=np.float32)
        leaf, t_leaf = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        x, t = leaf * 1.0, t_leaf * 1.0
        y = getattr(F, name)(x, inplace=True, **kwargs)
        yt = getattr(TF, name)(t, inplace=True, **kwargs)
        assert y is x
        (y * y).sum().backward()
        (yt * yt).sum().backward()
        np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-6, err_msg=name)
        # rtol 1e-4: torch's in-place celu derives its slope from the output, (y + α)/α, which cancels
        # digits for x ≪ 0 (ours uses e^(x/α) and is the closer one at x = -4)
        np.testing.assert_allclose(leaf.grad.numpy(), t_leaf.grad.numpy(), rtol=1e-4, err_msg=name)


def test_activation_errors():
    with pytest.raises(ValueError, match="hardtanh"):
        F.hardtanh(tg.ones(2), 1.0, -1.0)
    with pytest.raises(ValueError, match="softshrink"):
        F.softshrink(tg.ones(2), -0.5)
    with pytest.raises(ValueError, match="glu.*even"):
        F.glu(tg.ones(2, 3))
    with pytest.raises(ValueError, match="glu"):
        F.glu(tg.tensor(1.0))
    with pytest.raises(ValueError, match="prelu"):
        F.prelu(tg.ones(2, 3), tg.ones(2))
    with pytest.raises(ValueError, match="prelu"):
        F.prelu(tg.ones(3), tg.ones(3))     # fewer than 2 dims: one channel, as torch
    with pytest.raises(ValueError, match="celu"):
        F.celu(tg.ones(2), alpha=0.0)


def test_prelu_per_channel_gradient_of_the_weight():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    w = np.array([0.1, 0.25, 0.5], dtype=np.float32)
    xo, wo = tg.tensor(x, requires_grad=True), tg.tensor(w, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    F.prelu(xo, wo).square().sum().backward()
    TF.prelu(xt, wt).square().sum().backward()
    np.testing.assert_allclose(wo.grad.numpy(), wt.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
MODULES = [
    ("CELU", (), {"alpha": 0.5}), ("SELU", (), {}), ("Hardtanh", (-2.0, 2.0), {}), ("ReLU6", (), {}),
    ("Hardsigmoid", (), {}), ("Hardswish", (), {}), ("Softsign", (), {}), ("LogSigmoid", (), {}),
    ("Mish", (), {}), ("Softmin", (), {"dim": 1}), ("GLU", (), {"dim": 1}), ("ELU", (), {"alpha": 0.3}),
    ("Softplus", (), {"beta": 2.0, "threshold": 5.0}), ("Tanhshrink", (), {}), ("Hardshrink", (0.3,), {}),
    ("Softshrink", (0.3,), {}), ("PReLU", (), {}), ("PReLU", (4,), {"init": 0.1}),
]


@pytest.mark.parametrize("name, args, kwargs", MODULES, ids=[m[0] + str(m[1]) for m in MODULES])
def test_activation_modules_match_torch(name, args, kwargs):
    x = np.random.default_rng(1).uniform(-4, 4, (3, 4, 2)).astype(np.float32)
    ours, ref = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    for (_, p), (_, q) in zip(ours.named_parameters(), ref.named_parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    xo, xt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = ours(xo), ref(xt)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_module_reprs_match_torch():
    for name, args, kwargs in MODULES + [("Hardtanh", (), {"inplace": True}), ("ReLU6", (True,), {})]:
        assert repr(getattr(nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))


def test_bilinear_module_init_and_forward():
    tg.manual_seed(0)
    layer = nn.Bilinear(4, 3, 5)
    ref = torch.nn.Bilinear(4, 3, 5)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer.weight.shape == (5, 4, 3) and layer.bias.shape == (5,)
    bound = 1 / math.sqrt(4)
    for p in (layer.weight, layer.bias):
        a = p.detach().numpy()
        assert a.min() >= -bound and a.max() <= bound and a.std() > bound / 3
    assert repr(layer) == repr(ref)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(layer.weight.detach().numpy()))
        ref.bias.copy_(torch.from_numpy(layer.bias.detach().numpy()))
    rng = np.random.default_rng(2)
    a = rng.standard_normal((2, 6, 4)).astype(np.float32)
    b = rng.standard_normal((2, 6, 3)).astype(np.float32)
    np.testing.assert_allclose(layer(tg.tensor(a), tg.tensor(b)).detach().numpy(),
                               ref(torch.tensor(a), torch.tensor(b)).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert nn.Bilinear(2, 2, 3, bias=False).bias is None
    with pytest.raises(ValueError, match="bilinear"):
        F.bilinear(tg.ones(2, 4), tg.ones(1, 3), layer.weight)
    with pytest.raises(ValueError, match="bilinear"):
        F.bilinear(tg.ones(2, 3), tg.ones(2, 3), layer.weight)


# ---------------------------------------------------------------------------------------------
# distances
# ---------------------------------------------------------------------------------------------
def _grads(fn_ours, fn_ref, arrays, dtype=np.float64):
    ins_o = [tg.tensor(np.asarray(a, dtype), requires_grad=True) for a in arrays]
    ins_t = [torch.tensor(np.asarray(a, dtype), requires_grad=True) for a in arrays]
    y, yt = fn_ours(*ins_o), fn_ref(*ins_t)
    seed = np.random.default_rng(3).standard_normal(tuple(yt.shape))
    (y * tg.tensor(seed)).sum().backward()
    (yt * torch.tensor(seed)).sum().backward()
    assert y.shape == tuple(yt.shape)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-7, atol=1e-12)
    for o, t in zip(ins_o, ins_t):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-7, atol=1e-12)


def test_cosine_similarity_clamps_each_norm_separately_like_torch():
    """A norm below eps is replaced by eps in the value, but the gradient still flows through the norm
    (PyTorch clamps in place under no_grad); a plain clamp would give a different gradient."""
    a = [[1e-9, 2e-9], [1.0, 2.0], [0.0, 0.0], [3.0, -4.0]]
    b = [[3.0, -1.0], [0.5, 0.5], [1.0, 1.0], [1e-10, 0.0]]
    _grads(lambda x, y: F.cosine_similarity(x, y), lambda x, y: TF.cosine_similarity(x, y), [a, b])
    _grads(lambda x, y: F.cosine_similarity(x, y, dim=0, eps=0.5),
           lambda x, y: TF.cosine_similarity(x, y, dim=0, eps=0.5), [a, b])


def test_cosine_similarity_broadcasting_and_shapes():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 1))
    _grads(lambda x, y: F.cosine_similarity(x, y, dim=-1), lambda x, y: TF.cosine_similarity(x, y, dim=-1),
           [a, b])
    _grads(lambda x, y: F.cosine_similarity(x, y, dim=0), lambda x, y: TF.cosine_similarity(x, y, dim=0),
           [np.array(2.0), np.array(-3.0)])
    assert F.cosine_similarity(tg.ones(2, 0), tg.ones(2, 0)).shape == (2,)
    with pytest.raises(IndexError):
        F.cosine_similarity(tg.ones(3), tg.ones(3))            # default dim=1 of a 1-D input
    with pytest.raises(ValueError, match="cosine_similarity"):
        F.cosine_similarity(tg.ones(2, 3), tg.ones(2, 4))
    m = nn.CosineSimilarity(dim=0, eps=1e-6)
    assert repr(m) == repr(torch.nn.CosineSimilarity(dim=0, eps=1e-6))


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, 0.5, math.inf])
def test_normalize_matches_torch_incl_zero_and_tiny_vectors(p):
    """Rows with a norm below eps are divided by eps (no gradient through the norm there)."""
    x = [[1e-13, 2e-13], [0.0, 0.0], [1.0, -2.0], [2.0, 2.0], [0.0, 3.0]]
    _grads(lambda t: F.normalize(t, p=p), lambda t: TF.normalize(t, p=p), [x])
    rng = np.random.default_rng(5)
    _grads(lambda t: F.normalize(t, p=p, dim=(0, 2)), lambda t: TF.normalize(t, p=p, dim=(0, 2)),
           [rng.standard_normal((2, 3, 4))])
    _grads(lambda t: F.normalize(t, p=p, dim=0), lambda t: TF.normalize(t, p=p, dim=0), [[3.0, -4.0]])


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, 0.5, math.inf])
def test_pairwise_distance_matches_torch(p):
    """eps is added to the difference: identical rows have distance eps·n^(1/p) and a finite gradient;
    the ∞-norm of a row of ties splits the gradient between them."""
    same_row = [[0.0, 0.0], [1.0, -2.0], [2.0, 2.0]]
    _grads(lambda a, b: F.pairwise_distance(a, b, p=p), lambda a, b: TF.pairwise_distance(a, b, p=p),
           [same_row, [-1e-6, -1e-6]])
    _grads(lambda a, b: F.pairwise_distance(a, b, p=p), lambda a, b: TF.pairwise_distance(a, b, p=p),
           [same_row, [0.0, 0.0]])
    rng = np.random.default_rng(6)
    for keepdim in (False, True):
        _grads(lambda a, b: F.pairwise_distance(a, b, p=p, keepdim=keepdim),
               lambda a, b: TF.pairwise_distance(a, b, p=p, keepdim=keepdim),
               [rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4))])
        _grads(lambda a, b: F.pairwise_distance(a, b, p=p, keepdim=keepdim),
               lambda a, b: TF.pairwise_distance(a, b, p=p, keepdim=keepdim), [[1.5, 2.0], [0.5, 3.0]])
        _grads(lambda a, b: F.pairwise_distance(a, b, p=p, keepdim=keepdim),
               lambda a, b: TF.pairwise_distance(a, b, p=p, keepdim=keepdim), [np.array(1.5), np.array(0.5)])


def test_pairwise_distance_empty_and_module():
    assert F.pairwise_distance(tg.ones(2, 0), tg.zeros(2, 0)).tolist() == [0.0, 0.0]
    assert F.pairwise_distance(tg.ones(0, 3), tg.zeros(0, 3)).shape == (0,)
    with pytest.raises(RuntimeError):
        F.pairwise_distance(tg.ones(2, 0), tg.zeros(2, 0), p=math.inf)   # as torch: max of nothing
    with pytest.raises(ValueError, match="pairwise_distance"):
        F.pairwise_distance(tg.ones(2, 3), tg.ones(4))
    m, ref = nn.PairwiseDistance(p=1.0, keepdim=True), torch.nn.PairwiseDistance(p=1.0, keepdim=True)
    assert repr(m) == repr(ref)
    a, b = np.ones((2, 3), np.float32), np.zeros((2, 3), np.float32)
    np.testing.assert_allclose(m(tg.tensor(a), tg.tensor(b)).numpy(), ref(torch.tensor(a), torch.tensor(b)))


# ---------------------------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch_incl_target_gradient(reduction, log_target):
    rng = np.random.default_rng(7)
    logq = np.log(rng.dirichlet(np.ones(4), size=3))
    p = rng.dirichlet(np.ones(4), size=3)
    target = np.log(p) if log_target else p
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _grads(lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=log_target),
               lambda x, t: TF.kl_div(x, t, reduction=reduction, log_target=log_target), [logq, target])


def test_kl_div_zero_targets_warning_and_errors():
    x, t = tg.tensor([[-1.0, -2.0, -0.5]]), tg.tensor([[0.0, 0.5, 0.5]])
    ref = TF.kl_div(torch.tensor([[-1.0, -2.0, -0.5]]), torch.tensor([[0.0, 0.5, 0.5]]), reduction="none")
    np.testing.assert_allclose(F.kl_div(x, t, reduction="none").numpy(), ref.numpy(), rtol=1e-6)
    assert F.kl_div(x, t, reduction="none").numpy()[0, 0] == 0.0       # 0 · ln 0 = 0
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(x, t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.kl_div(x, t, reduction="batchmean")
        F.kl_div(x, t, size_average=False)                              # legacy: sum, no warning
    assert F.kl_div(x, t, size_average=False).item() == pytest.approx(F.kl_div(x, t, reduction="sum").item())
    np.testing.assert_allclose(F.kl_div(tg.tensor(-1.0), tg.tensor(0.5), reduction="batchmean").item(),
                               TF.kl_div(torch.tensor(-1.0), torch.tensor(0.5), reduction="batchmean").item())
    with pytest.raises(ValueError, match="kl_div"):
        F.kl_div(x, t, reduction="foo")
    with pytest.raises(TypeError, match="kl_div"):
        F.kl_div(tg.tensor([1, 2]), t, reduction="sum")


@pytest.mark.parametrize("delta", [0.5, 1.0, 2.5])
def test_huber_and_smooth_l1_match_torch(delta):
    rng = np.random.default_rng(8)
    x, y = rng.uniform(-4, 4, (3, 5)), rng.uniform(-4, 4, (3, 5))
    x[0, :3] = y[0, :3] + np.array([delta, -delta, 0.0])                # exactly on the seams and at 0
    w = rng.uniform(0.5, 2.0, (3, 5))
    for reduction in ("mean", "sum", "none"):
        _grads(lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=delta),
               lambda a, b: TF.huber_loss(a, b, reduction=reduction, delta=delta), [x, y])
        _grads(lambda a, b, c: F.huber_loss(a, b, reduction=reduction, delta=delta, weight=c),
               lambda a, b, c: TF.huber_loss(a, b, reduction=reduction, delta=delta, weight=c), [x, y, w])
        _grads(lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=delta),
               lambda a, b: TF.smooth_l1_loss(a, b, reduction=reduction, beta=delta), [x, y])


def test_smooth_l1_beta_zero_is_l1_and_errors():
    rng = np.random.default_rng(9)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    _grads(lambda a, b: F.smooth_l1_loss(a, b, beta=0.0),
           lambda a, b: TF.smooth_l1_loss(a, b, beta=0.0), [x, y])
    xo, yo = tg.tensor(x), tg.tensor(y)
    assert F.smooth_l1_loss(xo, yo, beta=0.0).item() == pytest.approx(F.l1_loss(xo, yo).item())
    with pytest.raises(ValueError, match="smooth_l1_loss"):
        F.smooth_l1_loss(xo, yo, beta=-1.0)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="huber_loss"):
            F.huber_loss(xo, yo, delta=bad)
    with pytest.raises(ValueError, match="huber_loss"):
        F.huber_loss(xo, yo, weight=tg.ones(3))
    with pytest.warns(UserWarning, match="target size"):
        F.huber_loss(xo, tg.ones(3))
    assert F.huber_loss(tg.zeros(0), tg.zeros(0), reduction="sum").item() == 0.0


@pytest.mark.parametrize("name, kwargs", [
    ("KLDivLoss", {"reduction": "batchmean"}), ("KLDivLoss", {"reduction": "sum", "log_target": True}),
    ("HuberLoss", {"delta": 0.5}), ("HuberLoss", {"reduction": "none"}),
    ("SmoothL1Loss", {"beta": 0.5}), ("SmoothL1Loss", {"reduction": "sum", "beta": 0.0}),
])
def test_loss_modules_match_torch(name, kwargs):
    rng = np.random.default_rng(10)
    x, y = np.log(rng.dirichlet(np.ones(4), size=3)), rng.dirichlet(np.ones(4), size=3)
    ours, ref = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert ours.reduction == ref.reduction
    _grads(ours, ref, [x, y])


# ---------------------------------------------------------------------------------------------
# grouped-query attention
# ---------------------------------------------------------------------------------------------
def test_gqa_equals_repeated_heads_and_torch():
    rng = np.random.default_rng(11)
    q, k, v = (rng.standard_normal(s) for s in ((2, 6, 3, 4), (2, 2, 5, 4), (2, 3, 5, 2)))
    for causal in (False, True):
        _grads(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=causal, enable_gqa=True),
               lambda a, b, c: TF.scaled_dot_product_attention(a, b, c, is_causal=causal, enable_gqa=True),
               [q, k, v])
    mask = rng.random((3, 5)) > 0.3
    qo, ko, vo = tg.tensor(q), tg.tensor(k), tg.tensor(v)
    y = F.scaled_dot_product_attention(qo, ko, vo, attn_mask=tg.tensor(mask), enable_gqa=True)
    y_rep = F.scaled_dot_product_attention(qo, ko.repeat_interleave(3, dim=1), vo.repeat_interleave(2, dim=1),
                                           attn_mask=tg.tensor(mask))
    np.testing.assert_allclose(y.numpy(), y_rep.numpy(), rtol=1e-12)
    _grads(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, enable_gqa=True),
           lambda a, b, c: TF.scaled_dot_product_attention(a, b, c, enable_gqa=True),
           [rng.standard_normal((4, 3, 2)), rng.standard_normal((2, 5, 2)), rng.standard_normal((2, 5, 3))])


def test_gqa_errors():
    q, k = tg.ones(1, 6, 3, 4), tg.ones(1, 4, 5, 4)
    with pytest.raises(ValueError, match="divide"):
        F.scaled_dot_product_attention(q, k, k, enable_gqa=True)
    with pytest.raises(IndexError, match="enable_gqa"):
        F.scaled_dot_product_attention(tg.ones(3, 4), tg.ones(5, 4), tg.ones(5, 4), enable_gqa=True)
    with pytest.raises(ValueError):
        F.scaled_dot_product_attention(q, tg.ones(1, 2, 5, 4), tg.ones(1, 2, 5, 4))   # without enable_gqa
