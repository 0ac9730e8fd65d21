"""``nn.MultiheadAttention``, the positional embeddings, ``nn.TransformerEncoderLayer`` and
``nn.TransformerEncoder`` against PyTorch with the same weights (loaded through ``load_state_dict``, so
the parameter names are tested too): outputs, attention weights, and the gradients of every input and
parameter, in float32."""
import copy
import math
import warnings

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
from tinygrad_edu.nn.transformer import generate_square_subsequent_mask

torch.set_num_threads(1)
RNG = np.random.default_rng(0)


def twin(make_ref, make_ours, seed=0):
    """A torch module at random init and ours with its weights (loaded strictly: same names)."""
    torch.manual_seed(seed)
    ref = make_ref()
    ours = make_ours()
    assert list(ours.state_dict()) == list(ref.state_dict()), "parameter names differ from torch's"
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def inputs(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    return ([tg.tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


def close(ours, ref, what, atol=2e-5, rtol=1e-4):
    ref = ref.detach().numpy()
    ours = ours.detach().numpy()
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape}, torch {ref.shape}"
    np.testing.assert_allclose(ours, ref, atol=atol, rtol=rtol, err_msg=what)


def backward_both(outs_o, outs_t, seed=1):
    """Backpropagate the same random output gradients through both (None outputs skipped)."""
    rng = np.random.default_rng(seed)
    pairs = [(o, t) for o, t in zip(outs_o, outs_t) if t is not None]
    seeds = [rng.standard_normal(t.shape).astype(np.float32) for _, t in pairs]
    torch.autograd.backward([t for _, t in pairs], [torch.tensor(g) for g in seeds])
    tg.autograd.backward([o for o, _ in pairs], [tg.tensor(g) for g in seeds])


def check_grads(ours, ref, xs_o, xs_t, atol=5e-5, rtol=1e-3):
    for k, (x, xt) in enumerate(zip(xs_o, xs_t)):
        close(x.grad, xt.grad, f"gradient of input {k}", atol, rtol)
    params_t = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        close(p.grad, params_t[name].grad, f"gradient of {name}", atol, rtol)


def mask_pair(array):
    return tg.tensor(array), torch.tensor(array)


# ---------------------------------------------------------------------------------------------
# MultiheadAttention
# ---------------------------------------------------------------------------------------------
E, H, N, L, S = 8, 2, 3, 4, 5


def mha_masks(kind, unbatched=False, S=S):
    """(ours, torch) keyword masks for a query of length L and keys of length S."""
    rng = np.random.default_rng(3)
    kpm = rng.random((S,) if unbatched else (N, S)) < 0.3
    kpm[..., 0] = False                                  # every query keeps one key
    blocked = rng.random((L, S)) < 0.3
    blocked[:, 0] = False
    heads = 1 if unbatched else N
    kinds = {
        "none": {},
        "key_padding_bool": {"key_padding_mask": kpm},
        "key_padding_float": {"key_padding_mask": np.where(kpm, -np.inf, 0.0).astype(np.float32)},
        "attn_bool": {"attn_mask": blocked},
        "attn_float": {"attn_mask": rng.standard_normal((L, S)).astype(np.float32)},
        "attn_bool_3d": {"attn_mask": np.broadcast_to(blocked, (heads * H, L, S)).copy()},
        "attn_float_3d": {"attn_mask": rng.standard_normal((heads * H, L, S)).astype(np.float32)},
        "both_bool": {"attn_mask": blocked, "key_padding_mask": kpm},
        "both_float": {"attn_mask": rng.standard_normal((L, S)).astype(np.float32),
                       "key_padding_mask": np.where(kpm, -1e4, 0.5).astype(np.float32)},
    }
    chosen = kinds[kind]
    return ({k: tg.tensor(v) for k, v in chosen.items()}, {k: torch.tensor(v) for k, v in chosen.items()})


def run_mha(batch_first=False, need_weights=True, average=True, masks="none", unbatched=False, bias=True,
            kdim=None, vdim=None, self_attention=False):
    ref, ours = twin(lambda: torch.nn.MultiheadAttention(E, H, bias=bias, kdim=kdim, vdim=vdim,
                                                         batch_first=batch_first),
                     lambda: nn.MultiheadAttention(E, H, bias=bias, kdim=kdim, vdim=vdim,
                                                   batch_first=batch_first))
    if unbatched:
        shapes = [(L, E), (S, kdim or E), (S, vdim or E)]
    elif batch_first:
        shapes = [(N, L, E), (N, S, kdim or E), (N, S, vdim or E)]
    else:
        shapes = [(L, N, E), (S, N, kdim or E), (S, N, vdim or E)]
    if self_attention:
        shapes = shapes[:1]
    xs_o, xs_t = inputs(*shapes)
    args_o = xs_o * 3 if self_attention else xs_o
    args_t = xs_t * 3 if self_attention else xs_t
    m_o, m_t = mha_masks(masks, unbatched, S=L if self_attention else S)
    kw = dict(need_weights=need_weights, average_attn_weights=average)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # torch: "mismatched key_padding_mask and attn_mask" notes
        out_t, w_t = ref(*args_t, **m_t, **kw)
    out_o, w_o = ours(*args_o, **m_o, **kw)
    close(out_o, out_t, "output")
    if need_weights:
        close(w_o, w_t, "attention weights")
    else:
        assert w_o is None and w_t is None
    backward_both([out_o, w_o], [out_t, w_t])
    check_grads(ours, ref, xs_o, xs_t)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_matches_torch(batch_first, need_weights):
    run_mha(batch_first, need_weights)


@pytest.mark.parametrize("masks", ["key_padding_bool", "key_padding_float", "attn_bool", "attn_float",
                                   "attn_bool_3d", "attn_float_3d", "both_bool", "both_float"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_masks_match_torch(masks, need_weights):
    run_mha(batch_first=need_weights, need_weights=need_weights, masks=masks)


@pytest.mark.parametrize("masks", ["none", "key_padding_bool", "attn_float_3d"])
def test_mha_unbatched_matches_torch(masks):
    run_mha(unbatched=True, masks=masks)
    run_mha(unbatched=True, masks=masks, need_weights=False)


def test_mha_per_head_weights_self_attention_and_no_bias():
    run_mha(need_weights=True, average=False, self_attention=True)
    run_mha(batch_first=True, bias=False, self_attention=True, masks="both_bool")


def test_mha_with_kdim_vdim_has_separate_projections_and_matches_torch():
    run_mha(kdim=6, vdim=3, masks="key_padding_bool")
    run_mha(batch_first=True, kdim=6, vdim=3, need_weights=False)
    mha = nn.MultiheadAttention(E, H, kdim=6, vdim=3)
    names = {n: tuple(p.shape) for n, p in mha.named_parameters()}
    assert names == {"q_proj_weight": (E, E), "k_proj_weight": (E, 6), "v_proj_weight": (E, 3),
                     "in_proj_bias": (3 * E,), "out_proj.weight": (E, E), "out_proj.bias": (E,)}
    assert mha.in_proj_weight is None


def test_mha_is_causal_uses_the_mask_or_builds_it():
    causal = np.triu(np.ones((L, L), dtype=bool), 1)
    ref, ours = twin(lambda: torch.nn.MultiheadAttention(E, H, batch_first=True),
                     lambda: nn.MultiheadAttention(E, H, batch_first=True))
    xs_o, xs_t = inputs((N, L, E))
    x, xt = xs_o[0], xs_t[0]
    expected, _ = ref(xt, xt, xt, attn_mask=torch.tensor(causal), is_causal=True, need_weights=False)
    for need in (False, True):
        out, _ = ours(x, x, x, attn_mask=tg.tensor(causal), is_causal=True, need_weights=need)
        close(out, expected, f"is_causal with the mask, need_weights={need}")
        # PyTorch requires the mask along with the hint; here it is built when missing
        built, _ = ours(x, x, x, is_causal=True, need_weights=need)
        close(built, expected, f"is_causal without a mask, need_weights={need}")


def test_mha_dropout_applies_in_training_only_and_weights_show_it():
    tg.manual_seed(0)
    mha = nn.MultiheadAttention(E, H, dropout=0.5, batch_first=True)
    x = tg.tensor(RNG.standard_normal((N, 6, E)).astype(np.float32))
    _, w_train = mha(x, x, x, average_attn_weights=False)
    w = w_train.detach().numpy()
    assert 0.3 < (w == 0).mean() < 0.7 and np.isclose(w.sum(-1).mean(), 1.0, atol=0.2)
    mha.eval()
    out1, w_eval = mha(x, x, x)
    out2, _ = mha(x, x, x)
    np.testing.assert_array_equal(out1.detach().numpy(), out2.detach().numpy())
    np.testing.assert_allclose(w_eval.detach().numpy().sum(-1), 1.0, atol=1e-6)


def test_mha_initialisation_follows_torch():
    mha = nn.MultiheadAttention(64, 4)
    bound = math.sqrt(6 / (64 + 3 * 64))                    # Xavier-uniform over the (3E, E) weight
    w = mha.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert not mha.in_proj_bias.detach().numpy().any() and not mha.out_proj.bias.detach().numpy().any()
    assert mha.bias_k is None and mha.bias_v is None and mha.head_dim == 16


@pytest.mark.parametrize("make,pattern", [
    (lambda: nn.MultiheadAttention(10, 3), r"MultiheadAttention: embed_dim \(10\) must be divisible by "
                                           r"num_heads \(3\)"),
    (lambda: nn.MultiheadAttention(8, 2, add_bias_kv=True), r"MultiheadAttention: add_bias_kv=True"),
    (lambda: nn.MultiheadAttention(8, 2, add_zero_attn=True), r"MultiheadAttention: add_zero_attn=True"),
    (lambda: nn.MultiheadAttention(0, 2), r"MultiheadAttention: embed_dim and num_heads must be"),
])
def test_mha_constructor_errors(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


@pytest.mark.parametrize("call,pattern", [
    (lambda m, x: m(x[0], x[0], x[0]), r"MultiheadAttention: query, key and value must all be 3-D.*\(8,\)"),
    (lambda m, x: m(x[1], x[2], x[2]), r"MultiheadAttention: key must have 8 features.*\(3, 5, 6\)"),
    (lambda m, x: m(x[1], x[3], x[1]), r"MultiheadAttention: key and value must have the same length"),
    (lambda m, x: m(x[1], x[1], x[1], key_padding_mask=tg.zeros(5, 3, dtype=tg.bool)),
     r"MultiheadAttention: key_padding_mask must have shape \(3, 5\)"),
    (lambda m, x: m(x[1], x[1], x[1], attn_mask=tg.zeros(4, 4, dtype=tg.bool)),
     r"MultiheadAttention: attn_mask must have shape \(5, 5\) or \(6, 5, 5\)"),
])
def test_mha_forward_errors_name_the_class_and_shapes(call, pattern):
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    x = [tg.zeros(8), tg.zeros(3, 5, 8), tg.zeros(3, 5, 6), tg.zeros(3, 4, 8)]
    with pytest.raises(ValueError, match=pattern):
        call(mha, x)


def test_mha_mask_dtype_error():
    mha = nn.MultiheadAttention(8, 2)
    x = tg.zeros(5, 3, 8)
    with pytest.raises(TypeError, match=r"MultiheadAttention: attn_mask must be bool or have the query's"):
        mha(x, x, x, attn_mask=tg.zeros(5, 5, dtype=tg.int64))


# ---------------------------------------------------------------------------------------------
# positional embeddings
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [6, 7])
def test_sinusoidal_follows_the_vaswani_formula(dim):
    pe = nn.SinusoidalPositionalEmbedding(50, dim)
    got = pe(tg.arange(50)).numpy()
    for pos in range(50):
        for j in range(dim):
            angle = pos / 10000 ** ((j - j % 2) / dim)
            expected = math.sin(angle) if j % 2 == 0 else math.cos(angle)
            assert abs(got[pos, j] - expected) < 1e-5, (pos, j)


def test_sinusoidal_shift_is_a_rotation_of_each_pair():
    """PE[pos + k] is PE[pos] with pair i rotated by the angle k·ω_i: a linear map independent of pos."""
    dim, k = 8, 3
    table = nn.SinusoidalPositionalEmbedding(40, dim, dtype=tg.float64).pe.numpy()
    for i in range(dim // 2):
        w = 10000 ** (-2 * i / dim)
        rot = np.array([[math.cos(k * w), -math.sin(k * w)], [math.sin(k * w), math.cos(k * w)]])
        pair = table[:, 2 * i:2 * i + 2]
        np.testing.assert_allclose(pair[:-k] @ rot, pair[k:], atol=1e-12)


def test_sinusoidal_is_a_buffer_and_broadcasts_over_a_batch():
    pe = nn.SinusoidalPositionalEmbedding(16, 4)
    assert list(pe.parameters()) == [] and [n for n, _ in pe.named_buffers()] == ["pe"]
    assert list(pe.state_dict()) == []
    assert pe.to(tg.float64).pe.dtype == np.float64
    out = pe(tg.tensor([[0, 1, 2], [3, 4, 5]]))
    assert out.shape == (2, 3, 4) and not out.requires_grad
    np.testing.assert_array_equal(out.numpy()[1, 0], pe.pe.numpy()[3])


def test_learned_is_an_embedding_over_positions_and_trains():
    torch.manual_seed(0)
    ref = torch.nn.Embedding(10, 4)
    pos = nn.LearnedPositionalEmbedding(10, 4)
    assert isinstance(pos, nn.Embedding) and list(pos.state_dict()) == ["weight"]
    pos.load_state_dict(ref.state_dict())
    out = pos(tg.arange(6))
    np.testing.assert_array_equal(out.detach().numpy(), ref.weight.detach().numpy()[:6])
    (out * tg.arange(1, 7, dtype=tg.float32).reshape(6, 1)).sum().backward()
    grad = pos.weight.grad.numpy()
    np.testing.assert_array_equal(grad[:6], np.broadcast_to(np.arange(1, 7)[:, None], (6, 4)))
    assert not grad[6:].any()


@pytest.mark.parametrize("cls", [nn.SinusoidalPositionalEmbedding, nn.LearnedPositionalEmbedding])
def test_positions_beyond_max_len_raise_a_clear_error(cls):
    module = cls(8, 4)
    with pytest.raises(IndexError, match=rf"{cls.__name__}: .*sequence is longer than max_len \(12 > 8\)"):
        module(tg.arange(12))
    with pytest.raises(TypeError, match=rf"{cls.__name__}: expects integer position ids"):
        module(tg.zeros(3))


# ---------------------------------------------------------------------------------------------
# TransformerEncoderLayer / TransformerEncoder
# ---------------------------------------------------------------------------------------------
D, NHEAD, FF = 8, 2, 16


def layer_kwargs(norm_first, activation="relu", batch_first=True, bias=True):
    return dict(d_model=D, nhead=NHEAD, dim_feedforward=FF, dropout=0.1, activation=activation,
                batch_first=batch_first, norm_first=norm_first, bias=bias)


def encoder_masks(kind, batch_first):
    T = 5
    kpm = np.zeros((N, T), dtype=bool)
    kpm[0, 3:] = True
    kpm[2, 4:] = True
    if kind == "none":
        return {}, {}
    if kind == "causal_bool":
        m = np.triu(np.ones((T, T), dtype=bool), 1)
        return {"src_mask": tg.tensor(m)}, {"src_mask": torch.tensor(m)}
    if kind == "causal_float_and_padding":
        m = generate_square_subsequent_mask(T)
        mt = torch.nn.Transformer.generate_square_subsequent_mask(T)
        np.testing.assert_array_equal(m.numpy(), mt.numpy())
        return ({"src_mask": m, "src_key_padding_mask": tg.tensor(kpm)},
                {"src_mask": mt, "src_key_padding_mask": torch.tensor(kpm)})
    if kind == "padding":
        return {"src_key_padding_mask": tg.tensor(kpm)}, {"src_key_padding_mask": torch.tensor(kpm)}
    raise ValueError(kind)


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_ln", "pre_ln"])
@pytest.mark.parametrize("masks,activation,batch_first", [
    ("none", "relu", True), ("padding", "gelu", False), ("causal_bool", "relu", False),
    ("causal_float_and_padding", "gelu", True)])
def test_encoder_layer_matches_torch(norm_first, masks, activation, batch_first):
    kw = layer_kwargs(norm_first, activation, batch_first)
    ref, ours = twin(lambda: torch.nn.TransformerEncoderLayer(**kw), lambda: nn.TransformerEncoderLayer(**kw))
    ref.eval(), ours.eval()
    xs_o, xs_t = inputs((N, 5, D) if batch_first else (5, N, D))
    m_o, m_t = encoder_masks(masks, batch_first)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out_t = ref(xs_t[0], **m_t)
    out_o = ours(xs_o[0], **m_o)
    close(out_o, out_t, "encoder layer output")
    backward_both([out_o], [out_t])
    check_grads(ours, ref, xs_o, xs_t)


def test_encoder_layer_is_causal_and_no_bias():
    kw = layer_kwargs(True, bias=False)
    ref, ours = twin(lambda: torch.nn.TransformerEncoderLayer(**kw), lambda: nn.TransformerEncoderLayer(**kw))
    ref.eval(), ours.eval()
    xs_o, xs_t = inputs((N, 5, D))
    causal = torch.nn.Transformer.generate_square_subsequent_mask(5)
    out_t = ref(xs_t[0], src_mask=causal, is_causal=True)
    close(ours(xs_o[0], src_mask=tg.tensor(causal.numpy()), is_causal=True), out_t, "with the mask")
    out_o = ours(xs_o[0], is_causal=True)       # the mask is built from the hint
    close(out_o, out_t, "from is_causal alone")
    backward_both([out_o], [out_t])
    check_grads(ours, ref, xs_o, xs_t)


def test_encoder_layer_submodules_and_activation_errors():
    layer = nn.TransformerEncoderLayer(D, NHEAD, dim_feedforward=FF)
    assert [n for n, _ in layer.named_children()] == ["self_attn", "linear1", "dropout", "linear2", "norm1",
                                                       "norm2", "dropout1", "dropout2"]
    assert layer.dropout.p == 0.1 and layer.self_attn.dropout == 0.1
    with pytest.raises(ValueError, match=r"TransformerEncoderLayer: activation should be relu/gelu, not"):
        nn.TransformerEncoderLayer(D, NHEAD, activation="tanh")
    custom = nn.TransformerEncoderLayer(D, NHEAD, dim_feedforward=FF, activation=tg.nn.functional.silu)
    assert custom(tg.zeros(5, 2, D)).shape == (5, 2, D)


def test_encoder_layer_dropout_is_active_in_training_only():
    tg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(D, NHEAD, dim_feedforward=FF, dropout=0.3, batch_first=True)
    x = tg.tensor(RNG.standard_normal((N, 5, D)).astype(np.float32))
    a, b = layer(x).detach().numpy(), layer(x).detach().numpy()
    assert not np.allclose(a, b)
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_ln", "pre_ln"])
def test_encoder_stack_matches_torch(norm_first):
    kw = layer_kwargs(norm_first, "gelu")

    def make_ref():
        return torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(**kw), 2,
                                           norm=torch.nn.LayerNorm(D), enable_nested_tensor=False)
    ref, ours = twin(make_ref, lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(**kw), 2,
                                                             norm=nn.LayerNorm(D)))
    ref.eval(), ours.eval()
    xs_o, xs_t = inputs((N, 5, D))
    m_o, m_t = encoder_masks("causal_float_and_padding", True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # torch: "mismatched src_key_padding_mask and mask" notes
        out_t = ref(xs_t[0], mask=m_t["src_mask"], src_key_padding_mask=m_t["src_key_padding_mask"])
    out_o = ours(xs_o[0], mask=m_o["src_mask"], src_key_padding_mask=m_o["src_key_padding_mask"])
    close(out_o, out_t, "encoder output")
    backward_both([out_o], [out_t])
    check_grads(ours, ref, xs_o, xs_t)


def test_encoder_deep_copies_the_layer():
    layer = nn.TransformerEncoderLayer(D, NHEAD, dim_feedforward=FF)
    enc = nn.TransformerEncoder(layer, 3)
    assert len(enc.layers) == 3 and enc.norm is None
    ws = [m.linear1.weight for m in enc.layers]
    assert len({id(w) for w in ws}) == 3 and all(w is not layer.linear1.weight for w in ws)
    np.testing.assert_array_equal(ws[0].detach().numpy(), layer.linear1.weight.detach().numpy())
    with tg.no_grad():
        ws[0].data[...] = 0
    assert ws[1].detach().numpy().any() and layer.linear1.weight.detach().numpy().any()
    assert sorted(enc.state_dict())[0].startswith("layers.0.")
    copy.deepcopy(enc)                                  # a stack copies again, too
