"""Recurrent cells: one time step of ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU``, for writing the loop
yourself (``nn.RNNCell``, ``nn.LSTMCell``, ``nn.GRUCell``).  The equations and the backward through
time are in ``recurrent.py``'s docstring; the step functions are shared with the sequence layers.
"""
import math

from .. import creation
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter
from .recurrent import _gru_step, _lstm_step, _rnn_step

__all__ = ["RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


class RNNCellBase(Module):
    """One step of a recurrent cell.  Parameters ``weight_ih`` (G·H, input_size), ``weight_hh``
    (G·H, H), ``bias_ih``, ``bias_hh`` (G·H,), initialised U(-1/√H, 1/√H) as PyTorch.
    Input (N, input_size) or unbatched (input_size,); states (N, H) or (H,), zeros when not given."""

    _gates = 1

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"{type(self).__name__}: hidden_size must be an integer greater than zero, "
                             f"got {hidden_size!r}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        factory = dict(dtype=dtype, device=device)
        G = self._gates * hidden_size
        self.weight_ih = Parameter(creation.empty(G, input_size, **factory))
        self.weight_hh = Parameter(creation.empty(G, hidden_size, **factory))
        if bias:
            self.bias_ih = Parameter(creation.empty(G, **factory))
            self.bias_hh = Parameter(creation.empty(G, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s

    def _prepare(self, input, states):  # noqa: A002
        """Check the input and the states; return (batched, input as (N, in), states as (N, H))."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead (shape "
                             f"{tuple(input.shape)})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got {input.shape[-1]} expected "
                               f"{self.input_size}")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        N = x.shape[0]
        out = []
        for k, s in enumerate(states):
            if s is None:
                s = creation.zeros(N, self.hidden_size, dtype=x.dtype, device=x.device)
            else:
                if not isinstance(s, Tensor):
                    raise TypeError(f"{name}: hidden state {k} must be a Tensor, got {type(s).__name__}")
                expected = (N, self.hidden_size) if batched else (self.hidden_size,)
                if tuple(s.shape) != expected:
                    raise RuntimeError(f"{name}: hidden state {k} must have shape {expected} for input of "
                                       f"shape {tuple(input.shape)}, got {tuple(s.shape)}")
                s = s if batched else s.unsqueeze(0)
            out.append(s)
        return batched, x, out

    def _xw(self, x):
        return F.linear(x, self.weight_ih, self.bias_ih)


class RNNCell(RNNCellBase):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu), as ``torch.nn.RNNCell(input_size, hidden_size,
    bias=True, nonlinearity='tanh')``.  ``forward(input, hx=None)`` returns h'."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: Unknown nonlinearity {nonlinearity!r}. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def forward(self, input, hx=None):  # noqa: A002
        batched, x, (h,) = self._prepare(input, [hx])
        h = _rnn_step(self._xw(x), h, self.weight_hh, self.bias_hh, self.nonlinearity == "relu")
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step, as ``torch.nn.LSTMCell(input_size, hidden_size, bias=True)``.
    ``forward(input, hx=None)`` with ``hx = (h, c)`` returns ``(h', c')``."""

    _gates = 4

    def forward(self, input, hx=None):  # noqa: A002
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTMCell: hx must be a tuple (h, c), got {type(hx).__name__}")
        batched, x, (h, c) = self._prepare(input, [None, None] if hx is None else list(hx))
        h, c = _lstm_step(self._xw(x), h, c, self.weight_hh, self.bias_hh, None)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step, as ``torch.nn.GRUCell(input_size, hidden_size, bias=True)``.  ``forward(input,
    hx=None)`` returns h'."""

    _gates = 3

    def forward(self, input, hx=None):  # noqa: A002
        batched, x, (h,) = self._prepare(input, [hx])
        h = _gru_step(self._xw(x), h, self.weight_hh, self.bias_hh)
        return h if batched else h.squeeze(0)
