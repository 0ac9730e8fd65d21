"""Recurrent layers: ``nn.RNN``, ``nn.LSTM``, ``nn.GRU`` and their one-step cells, with PyTorch's names
(the cells ``nn.RNNCell``, ``nn.LSTMCell``, ``nn.GRUCell`` are in ``recurrent_cell.py``).

A recurrent layer reads a sequence x_1 … x_T one step at a time and carries a *hidden state* h from step
to step: h_t = cell(x_t, h_{t-1}).  The same weights are used at every step, so the layer can read
sequences of any length.  The three cells (``*`` is the elementwise product, σ the logistic sigmoid):

* Elman RNN:  h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)          (or relu)
* LSTM (gates in PyTorch's order i, f, g, o, stacked in the rows of W_ih and W_hh):
      i = σ(…_i)   f = σ(…_f)   g = tanh(…_g)   o = σ(…_o)
      with …_k = W_ik x_t + b_ik + W_hk h_{t-1} + b_hk
      c_t = f * c_{t-1} + i * g          (the cell state: a running memory the forget gate f decays)
      h_t = o * tanh(c_t)                (with ``proj_size``: h_t = W_hr (o * tanh(c_t)))
* GRU (gates r, z, n):
      r = σ(W_ir x + b_ir + W_hr h + b_hr)       z = σ(W_iz x + b_iz + W_hz h + b_hz)
      n = tanh(W_in x + b_in + r * (W_hn h + b_hn))      (the reset gate scales W_hn h + b_hn, bias included)
      h_t = (1 - z) * n + z * h_{t-1}

**Backpropagation through time (BPTT).**  The forward pass below is a plain Python loop over the time
steps, written in Tensor ops, so autograd records the *unrolled* network: T copies of the cell that share
one set of weights.  ``backward`` then walks that graph from the last step to the first: the gradient
reaching h_{t-1} is the sum of what step t sends back through W_hh (and, for the LSTM, through c_{t-1} with
the factor f) and what the output at t-1 receives from above.  A shared weight gets the sum of its
gradients over all steps, e.g. dL/dW_hh = Σ_t δz_tᵀ h_{t-1} with δz_t the gradient of step t's
pre-activations.  The repeated products with W_hh (and tanh' ≤ 1) are why plain RNN gradients vanish or
explode over long sequences, and why the LSTM's additive cell path c_t = f * c_{t-1} + … helps.

**Speed.**  Only h_{t-1} has to wait for the previous step.  The input projections W_ih x_t + b_ih of
all T steps are independent of each other, so each layer computes them first, in one large matrix
product over the whole (T, N, input_size) sequence; the loop then does one small (N, H) product with
W_hh per step.  (Taking step t out of that product is a slice; its backward writes into a full-size
zero gradient, which costs O(T²·N·H) additions — cheap next to the products for the sequence lengths
this engine is meant for.)

Layout as PyTorch: input (T, N, input_size), or (N, T, input_size) with ``batch_first=True``, or unbatched
(T, input_size); states (num_layers · num_directions, N, H), or 2-D when unbatched (never batch-first).
A bidirectional layer runs a second set of weights (suffix ``_reverse``) from step T down to 1 and
concatenates both directions' outputs along the features.  Between stacked layers ``dropout`` is applied
to the inputs of layers 2 … num_layers while training (never after the last layer).
"""
import math
import numbers
import warnings

from .. import creation
from ..ops import shape as _sh
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU"]


_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ---------------------------------------------------------------------------------------------
# One time step of each cell.  ``xw`` = W_ih x_t + b_ih, already computed for the whole sequence.
# ---------------------------------------------------------------------------------------------
def _rnn_step(xw, h, w_hh, b_hh, relu):
    """h_t = act(xw + W_hh h + b_hh).  Backward (autograd): δz = g · act'(z)."""
    z = xw + F.linear(h, w_hh, b_hh)
    return z.relu() if relu else z.tanh()


def _lstm_step(xw, h, c, w_hh, b_hh, w_hr):
    """One LSTM step: returns (h_t, c_t).  See the module docstring for the equations."""
    z = xw + F.linear(h, w_hh, b_hh)
    i, f, g, o = z.chunk(4, dim=-1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    if w_hr is not None:
        h = F.linear(h, w_hr)
    return h, c


def _gru_step(xw, h, w_hh, b_hh):
    """One GRU step.  b_hn stays inside the reset gate's product, so W_hh h + b_hh is kept apart."""
    x_r, x_z, x_n = xw.chunk(3, dim=-1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, dim=-1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return n + z * (h - n)          # = (1 - z) * n + z * h


# ---------------------------------------------------------------------------------------------
# Multi-layer, optionally bidirectional sequence layers
# ---------------------------------------------------------------------------------------------
class RNNBase(Module):
    """The shared machinery of ``RNN``, ``LSTM`` and ``GRU`` (``mode`` is "RNN_TANH", "RNN_RELU", "LSTM"
    or "GRU").  Parameters per layer k and direction (suffix "" or "_reverse"), in PyTorch's order:
    ``weight_ih_l{k}`` (G·H, in), ``weight_hh_l{k}`` (G·H, H_out), ``bias_ih_l{k}`` (G·H,),
    ``bias_hh_l{k}`` (G·H,) and, for an LSTM with ``proj_size`` > 0, ``weight_hr_l{k}`` (proj_size, H);
    G = 1, 4, 3 gates, in = input_size for layer 0 and H_out · num_directions above, H_out = proj_size or
    hidden_size.  All are initialised U(-1/√hidden_size, 1/√hidden_size), as PyTorch."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if mode not in _GATES:
            raise ValueError(f"{name}: unrecognized RNN mode {mode!r}; expected one of {sorted(_GATES)}")
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing the "
                             f"probability of an element being zeroed, got {dropout!r}")
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be an integer greater than zero, got {hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be an integer greater than zero, got {num_layers!r}")
        if proj_size < 0:
            raise ValueError(f"{name}: proj_size should be a positive integer or zero to disable "
                             f"projections, got {proj_size}")
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size ({proj_size}) has to be smaller than hidden_size "
                             f"({hidden_size})")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout option adds dropout after all but last recurrent layer, so "
                          f"non-zero dropout expects num_layers greater than 1, but got dropout={dropout} "
                          f"and num_layers={num_layers}", stacklevel=2)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        factory = dict(dtype=dtype, device=device)
        self._flat_weights_names = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else real_hidden * directions
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for kind, shape in shapes:
                    setattr(self, kind + suffix, Parameter(creation.empty(*shape, **factory)))
                    self._flat_weights_names.append(kind + suffix)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def flatten_parameters(self):
        """PyTorch packs the weights into one cuDNN buffer here; there is nothing to do for us."""

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        """The parameters grouped per layer and direction: [[w_ih, w_hh, (b_ih, b_hh), (w_hr)], …]."""
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional else 1))
        flat = self._flat_weights
        return [flat[k:k + per] for k in range(0, len(flat), per)]

    def _weights(self, layer, direction):
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        get = (lambda kind: getattr(self, kind + suffix, None))
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), get("weight_hr")

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    # ---- checking the arguments -------------------------------------------------------------------
    def _name(self):
        return type(self).__name__

    def _check_input(self, input):  # noqa: A002
        if not isinstance(input, Tensor):
            raise TypeError(f"{self._name()}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"{self._name()}: Expected input to be 2D or 3D, got {input.ndim}D tensor "
                             f"instead (shape {tuple(input.shape)})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{self._name()}: input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]} (input shape {tuple(input.shape)})")

    def _check_state(self, state, expected, what, batched):
        if not isinstance(state, Tensor):
            raise TypeError(f"{self._name()}: {what} must be a Tensor, got {type(state).__name__}")
        if not batched and state.ndim != 2:
            raise RuntimeError(f"{self._name()}: for unbatched 2-D input, {what} should also be 2-D but got "
                               f"{state.ndim}-D tensor (shape {tuple(state.shape)})")
        if batched and state.ndim != 3:
            raise RuntimeError(f"{self._name()}: for batched 3-D input, {what} should also be 3-D but got "
                               f"{state.ndim}-D tensor (shape {tuple(state.shape)})")
        if tuple(state.shape) != expected:
            raise RuntimeError(f"{self._name()}: Expected {what} size {expected}, got {list(state.shape)}")

    # ---- the forward pass ---------------------------------------------------------------------------
    def forward(self, input, hx=None):  # noqa: A002
        """Returns ``(output, h_n)``, or ``(output, (h_n, c_n))`` for the LSTM.  ``output`` holds the last
        layer's hidden state at every step (both directions concatenated); ``h_n`` (and ``c_n``) every
        layer's state after its last step, indexed [layer · num_directions + direction]."""
        self._check_input(input)
        lstm = self.mode == "LSTM"
        batched = input.ndim == 3
        directions = 2 if self.bidirectional else 1
        # 1. everything time-major (T, N, features)
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        T, N = x.shape[0], x.shape[1]
        if T == 0:
            raise RuntimeError(f"{self._name()}: Expected sequence length to be larger than 0, got input "
                               f"shape {tuple(input.shape)}")
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        h_shape = (self.num_layers * directions, N, real_hidden)
        c_shape = (self.num_layers * directions, N, self.hidden_size)
        # 2. the initial states (zeros by default), batched as (L·D, N, H)
        if hx is None:
            h0 = creation.zeros(*h_shape, dtype=x.dtype, device=x.device)
            c0 = creation.zeros(*c_shape, dtype=x.dtype, device=x.device) if lstm else None
        else:
            if lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(f"{self._name()}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
                h0, c0 = hx
            else:
                if isinstance(hx, (tuple, list)):
                    raise TypeError(f"{self._name()}: hx must be a Tensor h_0, got a {type(hx).__name__}")
                h0, c0 = hx, None
            drop = (lambda s: s if batched else s[:1] + s[2:])
            self._check_state(h0, drop(h_shape), "hidden size" if not lstm else "hidden[0] size", batched)
            if lstm:
                self._check_state(c0, drop(c_shape), "hidden[1] size", batched)
            if not batched:
                h0 = h0.unsqueeze(1)
                c0 = c0.unsqueeze(1) if lstm else None
        # 3. layer by layer; each layer's output sequence is the next layer's input
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                x = F.dropout(x, self.dropout, True)
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                out, h, c = self._run_direction(x, layer, direction, h0[k], c0[k] if lstm else None)
                outputs.append(out)
                h_n.append(h)
                c_n.append(c)
            x = outputs[0] if directions == 1 else _sh.cat(outputs, dim=-1)
        # 4. back to the caller's layout
        output, h_n = x, _sh.stack(h_n, dim=0)
        c_n = _sh.stack(c_n, dim=0) if lstm else None
        if not batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if lstm else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if lstm else (output, h_n)

    def _run_direction(self, x, layer, direction, h, c):
        """Run one layer in one direction over the sequence x (T, N, in): returns the hidden state at
        every step (T, N, H_out), in input order, and the final (h, c)."""
        w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, direction)
        # the input projection of every step in one matrix product; for RNN and LSTM b_hh can join it
        # (it is added to every step's pre-activation), for the GRU it must stay inside the step
        bias = b_ih
        if b_ih is not None and self.mode != "GRU":
            bias, b_hh = b_ih + b_hh, None
        xw = F.linear(x, w_ih, bias)
        T = x.shape[0]
        steps = range(T - 1, -1, -1) if direction else range(T)
        outs = [None] * T
        for t in steps:
            if self.mode == "LSTM":
                h, c = _lstm_step(xw[t], h, c, w_hh, b_hh, w_hr)
            elif self.mode == "GRU":
                h = _gru_step(xw[t], h, w_hh, b_hh)
            else:
                h = _rnn_step(xw[t], h, w_hh, b_hh, self.mode == "RNN_RELU")
            outs[t] = h
        return _sh.stack(outs, dim=0), h, c


class RNN(RNNBase):
    """Elman RNN, h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (``nonlinearity="relu"``: relu), as
    ``torch.nn.RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False,
    dropout=0.0, bidirectional=False)``.  ``forward(input, hx=None)`` returns ``(output, h_n)``."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if nonlinearity not in modes:
            raise ValueError(f"RNN: Unknown nonlinearity {nonlinearity!r}. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(modes[nonlinearity], input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


class LSTM(RNNBase):
    """Long short-term memory, as ``torch.nn.LSTM(input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, proj_size=0)``.  ``forward(input, hx=None)`` with
    ``hx = (h_0, c_0)`` returns ``(output, (h_n, c_n))``; with ``proj_size`` > 0 the hidden state (and so
    ``output`` and ``h_n``) has proj_size features, ``c_n`` keeps hidden_size."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit, as ``torch.nn.GRU(input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``.  ``forward(input, hx=None)`` returns
    ``(output, h_n)``."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)
