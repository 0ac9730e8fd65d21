"""The recurrent-layer benchmark row: ``nn.LSTM`` in tinygrad_edu against PyTorch (CPU), in one process.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.bench_recurrent
    python -m benchmarks.bench_recurrent --threads 1,2 --json out.json
    python -m benchmarks.bench_recurrent --profile          # where does the time go?

Row (ratio = library time / torch time):

* ``lstm``: one ``nn.LSTM(64, 128)`` layer (the size of a character-level language model) over 32 time
  steps at batch 16, forward and backward; ``lstm_long``: the same over 256 steps (a time per step that
  stays flat from 32 to 256 steps shows the backward is linear in the sequence length):
  ``out, (h, c) = lstm(x)``, then
  ``(out * G).sum().backward()`` with a fixed upstream gradient ``G``.  The weights are drawn in
  tinygrad_edu and copied into torch through ``state_dict``; before timing, the output and every
  gradient (input and the four parameters) are compared.

The ``numpy`` column is the same layer by hand with no framework: one BLAS product for the input
projection of all 32 steps, then per step one product with ``W_hh`` and the gate arithmetic;
backward through time is the same products transposed.  It is the floor an engine built on NumPy
can reach: torch fuses the gate arithmetic into one C++ kernel per step, which NumPy cannot.
"""
import sys

import numpy as np

from . import harness
from .harness import Row, Workload

SEED = 0
INPUT, HIDDEN, BATCH = 64, 128, 16


def _inputs(steps):
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((steps, BATCH, INPUT)).astype(np.float32)
    upstream = rng.standard_normal((steps, BATCH, HIDDEN)).astype(np.float32)
    return x, upstream


def _weights():
    """The LSTM's weights as drawn by tinygrad_edu's ``nn.LSTM`` after ``manual_seed(SEED)``."""
    import tinygrad_edu as tg
    tg.manual_seed(SEED)
    lstm = tg.nn.LSTM(INPUT, HIDDEN)
    return lstm, {k: np.array(v.detach().numpy()) for k, v in lstm.state_dict().items()}


def _outputs(out, x_grad, named_parameters):
    result = {"output": out, "x.grad": x_grad}
    for name, p in named_parameters:
        result[name + ".grad"] = np.array(p.grad.detach().numpy())
    return result


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def numpy_lstm_step(weights, x, upstream):
    """Forward and backward of one LSTM layer in plain NumPy: returns the output and the gradients.

    Gates (PyTorch's order i, f, g, o) for step t:  z = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh,
    i, f, o = sigmoid(z_i, z_f, z_o), g = tanh(z_g), c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t).
    Backward through time: dh_t = G_t + dz_{t+1} W_hh, dc_t = dh_t o (1 - tanh^2 c_t) + dc_{t+1} f_{t+1},
    dz_i = dc i (1 - i) g, dz_f = dc f (1 - f) c_{t-1}, dz_g = dc i (1 - g^2), dz_o = dh tanh(c_t) o (1 - o).
    """
    w_ih, w_hh = weights["weight_ih_l0"], weights["weight_hh_l0"]
    bias = weights["bias_ih_l0"] + weights["bias_hh_l0"]
    steps, batch, _ = x.shape
    hidden = w_hh.shape[1]
    x_proj = (x.reshape(steps * batch, -1) @ w_ih.T + bias).reshape(steps, batch, 4 * hidden)
    h = np.zeros((batch, hidden), np.float32)
    c = np.zeros((batch, hidden), np.float32)
    hs, cs, gates = [h], [c], []
    for t in range(steps):
        z = x_proj[t] + h @ w_hh.T
        i, f = _sigmoid(z[:, :hidden]), _sigmoid(z[:, hidden:2 * hidden])
        g, o = np.tanh(z[:, 2 * hidden:3 * hidden]), _sigmoid(z[:, 3 * hidden:])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
        cs.append(c)
        gates.append((i, f, g, o))
    out = np.stack(hs[1:])

    dz_all = np.empty((steps, batch, 4 * hidden), np.float32)
    dh_next = np.zeros((batch, hidden), np.float32)
    dc_next = np.zeros((batch, hidden), np.float32)
    for t in reversed(range(steps)):
        i, f, g, o = gates[t]
        tanh_c = np.tanh(cs[t + 1])
        dh = upstream[t] + dh_next
        dc = dh * o * (1.0 - tanh_c * tanh_c) + dc_next
        dz = dz_all[t]
        dz[:, :hidden] = dc * g * i * (1.0 - i)
        dz[:, hidden:2 * hidden] = dc * cs[t] * f * (1.0 - f)
        dz[:, 2 * hidden:3 * hidden] = dc * i * (1.0 - g * g)
        dz[:, 3 * hidden:] = dh * tanh_c * o * (1.0 - o)
        dh_next = dz @ w_hh
        dc_next = dc * f
    dz_flat = dz_all.reshape(steps * batch, -1)
    h_prev = np.stack(hs[:-1]).reshape(steps * batch, hidden)
    grads = {"weight_ih_l0": dz_flat.T @ x.reshape(steps * batch, -1),
             "weight_hh_l0": dz_flat.T @ h_prev,
             "bias_ih_l0": dz_flat.sum(0), "bias_hh_l0": dz_flat.sum(0)}
    x_grad = (dz_flat @ w_ih).reshape(x.shape)
    return out, x_grad, grads


def _lstm_workload(lstm, x, upstream):
    """The timed step, written once: tinygrad_edu's LSTM, tensors and autograd have torch's API."""
    state = {}

    def step():
        lstm.zero_grad(set_to_none=True)
        x.grad = None
        out, _ = lstm(x)
        (out * upstream).sum().backward()
        state["out"] = out

    return Workload(step, lambda: _outputs(state["out"].detach().numpy(), x.grad.numpy(),
                                           lstm.named_parameters()))


def lstm_row(steps=32):
    x0, upstream0 = _inputs(steps)

    def build_tinygrad():
        import tinygrad_edu as tg
        lstm, _ = _weights()
        return _lstm_workload(lstm, tg.tensor(x0, requires_grad=True), tg.tensor(upstream0))

    def build_torch():
        import torch
        _, weights = _weights()
        lstm = torch.nn.LSTM(INPUT, HIDDEN)
        lstm.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
        return _lstm_workload(lstm, torch.tensor(x0, requires_grad=True), torch.from_numpy(upstream0))

    def build_numpy():
        _, weights = _weights()
        state = {}

        def step():
            state["result"] = numpy_lstm_step(weights, x0, upstream0)

        def outputs():
            out, x_grad, grads = state["result"]
            result = {"output": out, "x.grad": x_grad}
            result.update({name + ".grad": g for name, g in grads.items()})
            return result

        return Workload(step, outputs)

    return Row(f"LSTM({INPUT}, {HIDDEN}) over {steps} steps, batch {BATCH}, forward+backward",
               {"torch": build_torch, "tinygrad_edu": build_tinygrad, "numpy": build_numpy},
               rtol=1e-3, atol=1e-4,
               note="nn.LSTM(64, 128); (out * G).sum().backward(); torch: torch.nn.LSTM with the weights "
                    "copied; numpy: the same layer and its backward through time by hand")


ROWS = {"lstm": lstm_row, "lstm_long": lambda: lstm_row(256)}


def main(argv=None, reexec=True):
    """The command line; ``reexec=False`` keeps the process (for tests: see harness.set_threads)."""
    return harness.rows_main(argv, reexec, "python -m benchmarks.bench_recurrent", __doc__, ROWS,
                             "Recurrent benchmark: tinygrad_edu vs PyTorch",
                             repeat=11, warmup=2, min_round_ms=200.0,
                             profile_calls=20)


if __name__ == "__main__":
    sys.exit(main())
