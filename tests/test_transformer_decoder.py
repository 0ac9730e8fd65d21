"""``nn.TransformerDecoderLayer``, ``nn.TransformerDecoder`` and ``nn.Transformer`` against PyTorch with the
same weights (copied through ``load_state_dict``, strictly, so every parameter name is tested): outputs and
the gradients of the inputs and of every parameter, in eval mode, with every kind of mask."""
import math
import warnings

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
import tinygrad_edu.nn as nn

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched")
E, H, FF, N, T, S = 8, 2, 16, 3, 4, 5
TOL = {np.float64: dict(atol=1e-10, rtol=1e-9), np.float32: dict(atol=3e-5, rtol=1e-4)}


def twin(make_ref, make_ours, dtype, seed=0):
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # torch's nested-tensor / norm_first notices
        ref = make_ref().to(torch.float64 if dtype == np.float64 else torch.float32)
    ours = make_ours()
    if dtype == np.float64:
        ours = ours.double()
    assert list(ours.state_dict()) == list(ref.state_dict()), "parameter names differ from torch's"
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    ref.eval()
    ours.eval()
    return ref, ours


def inputs(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return [tg.tensor(a, requires_grad=True) for a in arrays], [torch.tensor(a, requires_grad=True)
                                                                for a in arrays]


def close(ours, ref, what, tol):
    ref, ours = ref.detach().numpy(), ours.detach().numpy()
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape}, torch {ref.shape}"
    np.testing.assert_allclose(ours, ref, err_msg=what, **tol)


def compare(ref, ours, xs_t, xs_o, kw_t, kw_o, dtype):
    tol = TOL[dtype]
    out_t, out_o = ref(*xs_t, **kw_t), ours(*xs_o, **kw_o)
    close(out_o, out_t, "output", tol)
    g = np.random.default_rng(1).standard_normal(tuple(out_t.shape)).astype(dtype)
    out_t.backward(torch.tensor(g))
    out_o.backward(tg.tensor(g))
    for k, (x, xt) in enumerate(zip(xs_o, xs_t)):
        close(x.grad, xt.grad, f"gradient of input {k}", tol)
    params_t = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        close(p.grad, params_t[name].grad, f"gradient of {name}", tol)


def masks(kind, dtype, batched=True):
    """(torch kwargs, our kwargs) for a target of length T and a memory of length S."""
    rng = np.random.default_rng(3)
    lead = (N,) if batched else ()
    tgt_kpm = rng.random(lead + (T,)) < 0.3
    tgt_kpm[..., 0] = False                                    # every query keeps one key
    mem_kpm = rng.random(lead + (S,)) < 0.3
    mem_kpm[..., 0] = False
    blocked = rng.random((T, S)) < 0.3
    blocked[:, 0] = False
    causal_bool = np.triu(np.ones((T, T), dtype=bool), 1)
    causal_float = np.where(causal_bool, -np.inf, 0.0).astype(dtype)
    kinds = {
        "none": {},
        "causal_float": dict(tgt_mask=causal_float),
        "causal_hint": dict(tgt_mask=causal_float, tgt_is_causal=True),
        "bool_all": dict(tgt_mask=causal_bool, memory_mask=blocked, tgt_key_padding_mask=tgt_kpm,
                         memory_key_padding_mask=mem_kpm),
        "float_memory": dict(memory_mask=np.where(blocked, -1e9, 0.5).astype(dtype),
                             memory_key_padding_mask=mem_kpm, tgt_mask=causal_float),
    }
    chosen = kinds[kind]
    wrap = (lambda f: {k: (f(v) if isinstance(v, np.ndarray) else v) for k, v in chosen.items()})
    return wrap(torch.tensor), wrap(tg.tensor)


def layout(shape, batch_first):
    """(L, N, E) -> (N, L, E) when batch_first."""
    return (shape[1], shape[0], shape[2]) if batch_first else shape


# ---------------------------------------------------------------------------------------------
# TransformerDecoderLayer
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mask_kind", ["none", "causal_float", "causal_hint", "bool_all", "float_memory"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_float64(norm_first, batch_first, mask_kind):
    args = (E, H, FF, 0.1, "relu", 1e-5, batch_first, norm_first)
    ref, ours = twin(lambda: torch.nn.TransformerDecoderLayer(*args),
                     lambda: nn.TransformerDecoderLayer(*args), np.float64)
    xs_o, xs_t = inputs([layout((T, N, E), batch_first), layout((S, N, E), batch_first)], np.float64)
    kw_t, kw_o = masks(mask_kind, np.float64)
    compare(ref, ours, xs_t, xs_o, kw_t, kw_o, np.float64)


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("bias", [True, False])
def test_decoder_layer_float32(activation, bias):
    kw = dict(dim_feedforward=FF, activation=activation, bias=bias, layer_norm_eps=1e-6)
    ref, ours = twin(lambda: torch.nn.TransformerDecoderLayer(E, H, **kw),
                     lambda: nn.TransformerDecoderLayer(E, H, **kw), np.float32)
    xs_o, xs_t = inputs([(T, N, E), (S, N, E)], np.float32)
    kw_t, kw_o = masks("bool_all", np.float32)
    compare(ref, ours, xs_t, xs_o, kw_t, kw_o, np.float32)


def test_decoder_layer_callable_activation_and_unbatched():
    kw = dict(dim_feedforward=FF, activation=torch.nn.functional.silu)
    ref, _ = twin(lambda: torch.nn.TransformerDecoderLayer(E, H, **kw),
                  lambda: nn.TransformerDecoderLayer(E, H, dim_feedforward=FF), np.float64)
    ours = nn.TransformerDecoderLayer(E, H, dim_feedforward=FF, activation=tg.nn.functional.silu).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    ours.eval()
    xs_o, xs_t = inputs([(T, E), (S, E)], np.float64)
    kw_t, kw_o = masks("bool_all", np.float64, batched=False)
    compare(ref, ours, xs_t, xs_o, kw_t, kw_o, np.float64)


# ---------------------------------------------------------------------------------------------
# TransformerDecoder
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("with_norm", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_stack(norm_first, with_norm):
    def make(lib):
        layer = lib.TransformerDecoderLayer(E, H, FF, norm_first=norm_first, batch_first=True)
        return lib.TransformerDecoder(layer, 2, lib.LayerNorm(E) if with_norm else None)
    ref, ours = twin(lambda: make(torch.nn), lambda: make(nn), np.float64)
    # give the two (deep-copied, hence equal) layers different weights in both
    with torch.no_grad():
        for p in ref.layers[1].parameters():
            p.mul_(-0.7)
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    xs_o, xs_t = inputs([(N, T, E), (N, S, E)], np.float64)
    kw_t, kw_o = masks("causal_hint", np.float64)
    compare(ref, ours, xs_t, xs_o, kw_t, kw_o, np.float64)
    assert len(ours.layers) == 2 and ours.num_layers == 2


# ---------------------------------------------------------------------------------------------
# Transformer
# ---------------------------------------------------------------------------------------------
def make_transformer(lib, **kw):
    return lib.Transformer(d_model=E, nhead=H, num_encoder_layers=2, num_decoder_layers=2,
                           dim_feedforward=FF, **kw)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_float64(norm_first, batch_first):
    kw = dict(norm_first=norm_first, batch_first=batch_first)
    ref, ours = twin(lambda: make_transformer(torch.nn, **kw), lambda: make_transformer(nn, **kw),
                     np.float64)
    xs_o, xs_t = inputs([layout((S, N, E), batch_first), layout((T, N, E), batch_first)], np.float64)
    rng = np.random.default_rng(5)
    src_kpm = rng.random((N, S)) < 0.3
    src_kpm[:, 0] = False
    kw_t, kw_o = masks("bool_all", np.float64)
    kw_t["src_key_padding_mask"], kw_o["src_key_padding_mask"] = torch.tensor(src_kpm), tg.tensor(src_kpm)
    src_mask = np.where(rng.random((S, S)) < 0.2, -np.inf, 0.0)
    np.fill_diagonal(src_mask, 0.0)
    kw_t["src_mask"], kw_o["src_mask"] = torch.tensor(src_mask), tg.tensor(src_mask)
    kw_t["memory_key_padding_mask"] = torch.tensor(src_kpm)    # the usual choice: memory padding = src's
    kw_o["memory_key_padding_mask"] = tg.tensor(src_kpm)
    compare(ref, ours, xs_t, xs_o, kw_t, kw_o, np.float64)


def test_transformer_float32_causal_and_unbatched():
    ref, ours = twin(lambda: make_transformer(torch.nn, activation="gelu"),
                     lambda: make_transformer(nn, activation="gelu"), np.float32)
    xs_o, xs_t = inputs([(S, N, E), (T, N, E)], np.float32)
    mask_t = torch.nn.Transformer.generate_square_subsequent_mask(T)
    mask_o = nn.Transformer.generate_square_subsequent_mask(T)
    compare(ref, ours, xs_t, xs_o, dict(tgt_mask=mask_t, tgt_is_causal=True),
            dict(tgt_mask=mask_o, tgt_is_causal=True), np.float32)
    for m in (ref, ours):
        m.zero_grad()
    xs_o, xs_t = inputs([(S, E), (T, E)], np.float32, seed=2)
    compare(ref, ours, xs_t, xs_o, dict(tgt_mask=mask_t), dict(tgt_mask=mask_o), np.float32)


def test_transformer_state_dict_keys_and_init():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = make_transformer(torch.nn)
    tg.manual_seed(0)
    ours = make_transformer(nn)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
           [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    assert ours.load_state_dict(ref.state_dict()) is not None              # 1:1, strict
    tg.manual_seed(0)
    ours = make_transformer(nn)
    for name, p in ours.named_parameters():
        a = p.detach().numpy()
        if p.ndim > 1:                                                     # xavier_uniform_
            bound = math.sqrt(6 / (p.shape[0] + p.shape[1]))
            assert np.abs(a).max() <= bound and np.abs(a).max() > 0.5 * bound, name
        elif "norm" in name:
            np.testing.assert_array_equal(a, np.ones_like(a) if name.endswith("weight") else np.zeros_like(a))
    w0 = ours.decoder.layers[0].linear1.weight.detach().numpy()
    w1 = ours.decoder.layers[1].linear1.weight.detach().numpy()
    assert not np.allclose(w0, w1), "the copied layers must be re-initialised separately"
    assert not ours.decoder.layers[0].multihead_attn.in_proj_bias.detach().numpy().any()   # MHA: zeros


def test_tgt_is_causal_without_mask_builds_the_causal_mask():
    """PyTorch requires the mask with the hint; here the hint alone gives the same result."""
    tg.manual_seed(0)
    layer = nn.TransformerDecoderLayer(E, H, FF).eval()
    tgt, memory = tg.randn(T, N, E), tg.randn(S, N, E)
    with_mask = layer(tgt, memory, tgt_mask=nn.Transformer.generate_square_subsequent_mask(T))
    np.testing.assert_allclose(layer(tgt, memory, tgt_is_causal=True).detach().numpy(),
                               with_mask.detach().numpy(), atol=1e-6)


def test_generate_square_subsequent_mask():
    for sz in (0, 1, 4):
        ref = torch.nn.Transformer.generate_square_subsequent_mask(sz)
        ours = nn.Transformer.generate_square_subsequent_mask(sz)
        assert ours.dtype == tg.float32
        np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    assert nn.Transformer.generate_square_subsequent_mask(3, dtype=tg.float64).dtype == tg.float64


def test_custom_encoder_decoder():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF), 1)
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, FF), 1)
    model = nn.Transformer(E, H, custom_encoder=enc, custom_decoder=dec)
    assert model.encoder is enc and model.decoder is dec
    assert sorted(k.split(".")[0] for k in model.state_dict()) == sorted(
        ["encoder"] * len(enc.state_dict()) + ["decoder"] * len(dec.state_dict()))
    model.eval()
    out = model(tg.randn(S, N, E), tg.randn(T, N, E))
    assert tuple(out.shape) == (T, N, E)


def test_dropout_train_vs_eval():
    tg.manual_seed(0)
    model = make_transformer(nn, dropout=0.5)
    src, tgt = tg.randn(S, N, E), tg.randn(T, N, E)
    assert not np.allclose(model(src, tgt).detach().numpy(), model(src, tgt).detach().numpy())
    model.eval()
    np.testing.assert_array_equal(model(src, tgt).detach().numpy(), model(src, tgt).detach().numpy())


def test_errors():
    model = make_transformer(nn)
    with pytest.raises(RuntimeError, match="batch number"):
        model(tg.randn(S, N, E), tg.randn(T, N + 1, E))
    with pytest.raises(RuntimeError, match="feature number"):
        model(tg.randn(S, N, E + 2), tg.randn(T, N, E + 2))
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerDecoderLayer(E, H, activation="tanh")
    with pytest.raises(TypeError, match="Module"):
        nn.TransformerDecoder("layer", 2)
