"""``nn.RNN``, ``nn.LSTM``, ``nn.GRU`` and the cells against PyTorch with the same weights (copied through
``load_state_dict`` from torch's NumPy arrays, so the parameter names and shapes are tested too): outputs,
final states, and the gradients of the input, the initial states and every parameter (backpropagation
through time), in float64 with tight tolerances and in float32."""
import math
import warnings

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
import tinygrad_edu.nn as nn

torch.set_num_threads(1)

I, H, T, N = 3, 4, 5, 2
TORCH = {"RNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU,
         "RNNCell": torch.nn.RNNCell, "LSTMCell": torch.nn.LSTMCell, "GRUCell": torch.nn.GRUCell}
OURS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU,
        "RNNCell": nn.RNNCell, "LSTMCell": nn.LSTMCell, "GRUCell": nn.GRUCell}
TOL = {np.float64: dict(atol=1e-12, rtol=1e-10), np.float32: dict(atol=1e-5, rtol=1e-5)}


def twin(kind, *args, dtype=np.float64, seed=0, **kwargs):
    """A torch module at random init and ours with its weights (same state_dict keys, in order)."""
    torch.manual_seed(seed)
    ref = TORCH[kind](*args, **kwargs).to(torch.float64 if dtype == np.float64 else torch.float32)
    ours = OURS[kind](*args, dtype=tg.float64 if dtype == np.float64 else tg.float32, **kwargs)
    assert list(ours.state_dict()) == list(ref.state_dict()), "parameter names differ from torch's"
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    ref.eval()
    ours.eval()
    return ref, ours


def leaves(arrays):
    return [tg.tensor(a, requires_grad=True) for a in arrays], [torch.tensor(a, requires_grad=True)
                                                                for a in arrays]


def flat(out):
    """(output, h) or (output, (h, c)) -> [output, h(, c)]."""
    result = []
    for o in (out if isinstance(out, (tuple, list)) else (out,)):
        result.extend(flat(o) if isinstance(o, (tuple, list)) else [o])
    return result


def close(ours, ref, what, tol):
    ref, ours = ref.detach().numpy(), ours.detach().numpy()
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape}, torch {ref.shape}"
    assert ours.dtype == ref.dtype, f"{what}: dtype {ours.dtype}, torch {ref.dtype}"
    np.testing.assert_allclose(ours, ref, err_msg=what, **tol)


def compare(ref, ours, args_t, args_o, dtype, seed=1):
    """Forward both, backpropagate the same random gradients of every output, compare everything."""
    tol = TOL[dtype]
    outs_t = flat(ref(*args_t))
    outs_o = flat(ours(*args_o))
    assert len(outs_t) == len(outs_o)
    for k, (o, t) in enumerate(zip(outs_o, outs_t)):
        close(o, t, f"output {k}", tol)
    rng = np.random.default_rng(seed)
    seeds = [rng.standard_normal(t.shape).astype(dtype) for t in outs_t]
    torch.autograd.backward(outs_t, [torch.tensor(g) for g in seeds])
    tg.autograd.backward(outs_o, [tg.tensor(g) for g in seeds])
    for k, (a, b) in enumerate(zip(flat(args_o), flat(args_t))):
        close(a.grad, b.grad, f"gradient of argument {k}", tol)
    params_t = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        close(p.grad, params_t[name].grad, f"gradient of {name}", tol)


def states(kind, shape_h, shape_c, dtype, rng):
    arrays = [rng.standard_normal(shape_h).astype(dtype)]
    if kind == "LSTM":
        arrays.append(rng.standard_normal(shape_c).astype(dtype))
    ours, ref = leaves(arrays)
    if kind == "LSTM":
        return tuple(ours), tuple(ref)
    return ours[0], ref[0]


# ---------------------------------------------------------------------------------------------
# The sequence layers: every kind × {1, 2 layers} × {uni, bi} × {batch_first}
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_sequence_layers_float64(kind, num_layers, bidirectional, batch_first):
    rng = np.random.default_rng(num_layers * 10 + bidirectional * 2 + batch_first)
    ref, ours = twin(kind, I, H, num_layers=num_layers, bidirectional=bidirectional,
                     batch_first=batch_first, dropout=0.3 if num_layers > 1 else 0.0)   # eval: no dropout
    x_shape = (N, T, I) if batch_first else (T, N, I)
    (x,), (xt,) = leaves([rng.standard_normal(x_shape)])
    D = 2 if bidirectional else 1
    h0, h0t = states(kind, (num_layers * D, N, H), (num_layers * D, N, H), np.float64, rng)
    compare(ref, ours, (xt, h0t), (x, h0), np.float64)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_sequence_layers_float32_default_state(kind, num_layers, bidirectional, batch_first):
    rng = np.random.default_rng(7)
    ref, ours = twin(kind, I, H, num_layers=num_layers, bidirectional=bidirectional,
                     batch_first=batch_first, dtype=np.float32, seed=3)
    (x,), (xt,) = leaves([rng.standard_normal((N, T, I) if batch_first else (T, N, I)).astype(np.float32)])
    compare(ref, ours, (xt,), (x,), np.float32)


@pytest.mark.parametrize("kwargs", [dict(nonlinearity="relu", num_layers=2, bidirectional=True),
                                    dict(bias=False, num_layers=2), dict(nonlinearity="relu", bias=False)])
def test_rnn_options(kwargs):
    rng = np.random.default_rng(2)
    ref, ours = twin("RNN", I, H, **kwargs)
    (x,), (xt,) = leaves([rng.standard_normal((T, N, I))])
    compare(ref, ours, (xt,), (x,), np.float64)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_no_bias(kind):
    rng = np.random.default_rng(4)
    ref, ours = twin(kind, I, H, num_layers=2, bidirectional=True, bias=False)
    assert not any("bias" in k for k in ours.state_dict())
    (x,), (xt,) = leaves([rng.standard_normal((T, N, I))])
    compare(ref, ours, (xt,), (x,), np.float64)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_unbatched_input(kind, bidirectional):
    rng = np.random.default_rng(5)
    ref, ours = twin(kind, I, H, num_layers=2, bidirectional=bidirectional, batch_first=True)
    D = 2 if bidirectional else 1
    (x,), (xt,) = leaves([rng.standard_normal((T, I))])
    h0, h0t = states(kind, (2 * D, H), (2 * D, H), np.float64, rng)   # unbatched states are 2-D
    compare(ref, ours, (xt, h0t), (x, h0), np.float64)
    out = ours(tg.tensor(rng.standard_normal((T, I))))
    assert tuple(out[0].shape) == (T, D * H)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_proj_size(bidirectional, batch_first):
    rng = np.random.default_rng(6)
    P = 2
    ref, ours = twin("LSTM", I, H, num_layers=2, bidirectional=bidirectional, batch_first=batch_first,
                     proj_size=P)
    assert tuple(ours.weight_hr_l0.shape) == (P, H) and tuple(ours.weight_hh_l1.shape) == (4 * H, P)
    D = 2 if bidirectional else 1
    (x,), (xt,) = leaves([rng.standard_normal((N, T, I) if batch_first else (T, N, I))])
    h0, h0t = states("LSTM", (2 * D, N, P), (2 * D, N, H), np.float64, rng)
    compare(ref, ours, (xt, h0t), (x, h0), np.float64)


def test_long_sequence_and_single_step():
    rng = np.random.default_rng(8)
    for steps in (1, 40):
        ref, ours = twin("LSTM", I, H, bidirectional=True)
        (x,), (xt,) = leaves([rng.standard_normal((steps, N, I))])
        compare(ref, ours, (xt,), (x,), np.float64)


def test_empty_batch():
    ref, ours = twin("GRU", I, H, num_layers=2)
    out, h = ours(tg.zeros(T, 0, I, dtype=tg.float64))
    out_t, h_t = ref(torch.zeros(T, 0, I, dtype=torch.float64))
    assert tuple(out.shape) == tuple(out_t.shape) and tuple(h.shape) == tuple(h_t.shape)


@pytest.mark.filterwarnings("ignore:invalid value")
def test_nan_propagates_like_torch():
    ref, ours = twin("LSTM", I, H)
    x = np.random.default_rng(9).standard_normal((T, N, I))
    x[2, 0, 1] = np.nan
    out_t = ref(torch.tensor(x))[0].detach().numpy()
    out = ours(tg.tensor(x))[0].detach().numpy()
    np.testing.assert_array_equal(np.isnan(out), np.isnan(out_t))
    np.testing.assert_allclose(out[~np.isnan(out)], out_t[~np.isnan(out_t)], atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Dropout between layers
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_dropout_eval_mode_and_p1_training(kind):
    """eval(): dropout off, exactly torch.  train() with p = 1: every layer above the first sees zeros
    (deterministic, so it can be compared with torch too); the last layer's output is not dropped."""
    rng = np.random.default_rng(10)
    ref, ours = twin(kind, I, H, num_layers=3, dropout=1.0)
    (x,), (xt,) = leaves([rng.standard_normal((T, N, I))])
    compare(ref, ours, (xt,), (x,), np.float64)
    ref.train()
    ours.train()
    (x,), (xt,) = leaves([rng.standard_normal((T, N, I))])
    compare(ref, ours, (xt,), (x,), np.float64)


def test_dropout_training_is_random_and_off_in_eval():
    tg.manual_seed(0)
    lstm = nn.LSTM(I, H, num_layers=2, dropout=0.5)
    x = tg.randn(T, N, I)
    a, b = lstm(x)[0].detach().numpy(), lstm(x)[0].detach().numpy()
    assert not np.allclose(a, b)
    lstm.eval()
    np.testing.assert_array_equal(lstm(x)[0].detach().numpy(), lstm(x)[0].detach().numpy())


# ---------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("given_state", [True, False])
@pytest.mark.parametrize("kind,kwargs", [("RNNCell", {}), ("RNNCell", dict(nonlinearity="relu")),
                                         ("RNNCell", dict(bias=False)), ("LSTMCell", {}),
                                         ("LSTMCell", dict(bias=False)), ("GRUCell", {}),
                                         ("GRUCell", dict(bias=False))])
def test_cells(kind, kwargs, given_state, batched):
    rng = np.random.default_rng(11)
    ref, ours = twin(kind, I, H, **kwargs)
    lead = (N,) if batched else ()
    (x,), (xt,) = leaves([rng.standard_normal(lead + (I,))])
    args_o, args_t = [x], [xt]
    if given_state:
        hx, hxt = states("LSTM" if kind == "LSTMCell" else kind, lead + (H,), lead + (H,), np.float64, rng)
        args_o.append(hx)
        args_t.append(hxt)
    compare(ref, ours, args_t, args_o, np.float64)


def test_cells_unrolled_equal_the_layer():
    """Looping LSTMCell over time with the layer's weights gives the layer's output."""
    torch.manual_seed(0)
    lstm = nn.LSTM(I, H, dtype=tg.float64)
    cell = nn.LSTMCell(I, H, dtype=tg.float64)
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})
    x = tg.randn(T, N, I, dtype=tg.float64)
    out, (h_n, c_n) = lstm(x)
    h = c = None
    for t in range(T):
        h, c = cell(x[t], None if h is None else (h, c))
        np.testing.assert_allclose(h.detach().numpy(), out[t].detach().numpy(), atol=1e-14)
    np.testing.assert_allclose(c.detach().numpy(), c_n[0].detach().numpy(), atol=1e-14)


# ---------------------------------------------------------------------------------------------
# Parameters, initialisation, errors
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_state_dict_keys_shapes_and_init(kind):
    kwargs = dict(num_layers=3, bidirectional=True)
    ref = TORCH[kind](I, 16, **kwargs)
    ours = OURS[kind](I, 16, **kwargs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
           [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    bound = 1 / math.sqrt(16)
    values = np.concatenate([p.detach().numpy().ravel() for p in ours.parameters()])
    assert values.dtype == np.float32
    assert np.abs(values).max() <= bound
    assert abs(values.std() - bound / math.sqrt(3)) < 0.1 * bound        # U(-a, a) has std a/√3
    assert len(ours.all_weights) == 6 and len(ours.all_weights[0]) == 4
    assert repr(ours) == repr(ref)


def test_cells_state_dict_and_repr():
    for kind in ("RNNCell", "LSTMCell", "GRUCell"):
        ref, ours = TORCH[kind](I, H), OURS[kind](I, H)
        assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
               [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
        assert np.abs(ours.weight_hh.detach().numpy()).max() <= 1 / math.sqrt(H)
        assert repr(ours) == repr(ref)


def test_errors():
    lstm = nn.LSTM(I, H)
    with pytest.raises(ValueError, match="2D or 3D"):
        lstm(tg.zeros(1, 2, 3, I))
    with pytest.raises(RuntimeError, match="input_size"):
        lstm(tg.zeros(T, N, I + 1))
    with pytest.raises(RuntimeError, match="sequence length"):
        lstm(tg.zeros(0, N, I))
    with pytest.raises(RuntimeError, match=r"hidden\[1\] size"):
        lstm(tg.zeros(T, N, I), (tg.zeros(1, N, H), tg.zeros(1, N + 1, H)))
    with pytest.raises(TypeError, match="tuple"):
        lstm(tg.zeros(T, N, I), tg.zeros(1, N, H))
    with pytest.raises(RuntimeError, match="2-D"):
        nn.GRU(I, H)(tg.zeros(T, I), tg.zeros(1, 1, H))
    with pytest.raises(RuntimeError, match="hidden size"):
        nn.GRU(I, H)(tg.zeros(T, N, I), tg.zeros(2, N, H))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(I, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="proj_size"):
        nn.RNNBase("GRU", I, H, proj_size=2)
    with pytest.raises(ValueError, match="proj_size"):
        nn.LSTM(I, H, proj_size=H)
    with pytest.raises(ValueError, match="hidden_size"):
        nn.RNN(I, 0)
    with pytest.raises(ValueError, match="num_layers"):
        nn.RNN(I, H, 0)
    with pytest.raises(ValueError, match="dropout"):
        nn.RNN(I, H, dropout=1.5)
    with pytest.warns(UserWarning, match="dropout"):
        nn.RNN(I, H, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.RNN(I, H, num_layers=2, dropout=0.5)
    with pytest.raises(ValueError, match="1D or 2D"):
        nn.GRUCell(I, H)(tg.zeros(1, N, I))
    with pytest.raises(RuntimeError, match="input_size"):
        nn.RNNCell(I, H)(tg.zeros(N, I + 1))
    with pytest.raises(RuntimeError, match="hidden state"):
        nn.RNNCell(I, H)(tg.zeros(N, I), tg.zeros(N + 1, H))


def test_training_step_reduces_loss():
    """A tiny end-to-end check that the BPTT gradients train: fit a GRU to reproduce a shifted input."""
    tg.manual_seed(0)
    gru, head = nn.GRU(1, 8, batch_first=True), nn.Linear(8, 1)
    opt = tg.optim.Adam(list(gru.parameters()) + list(head.parameters()), lr=0.05)
    x = tg.randn(16, 6, 1)
    target = tg.cat([tg.zeros(16, 1, 1), x[:, :-1]], dim=1)        # y_t = x_{t-1}: needs memory
    losses = []
    for _ in range(60):
        loss = ((head(gru(x)[0]) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
