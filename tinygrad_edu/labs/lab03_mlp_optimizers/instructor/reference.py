"""Lab 3 — a multi-layer perceptron in plain NumPy: layers, loss, optimizers and the training loop.

Shapes follow PyTorch: a batch ``x`` is ``(N, in_features)``; a linear layer's weight is
``(out_features, in_features)`` and its bias ``(out_features,)``; logits are ``(N, C)`` and labels are
integers ``(N,)`` in ``0..C-1``.

**Linear.**  ``y = x @ W.T + b``.  With ``g = dL/dy`` (N, out):

    dL/dx = g @ W   (N, in)      dL/dW = g.T @ x   (out, in)      dL/db = sum of g over the batch (out,)

**ReLU.**  ``relu(x) = max(x, 0)``; its gradient is ``g`` where ``x > 0`` and 0 elsewhere (0 at
``x == 0`` exactly, as PyTorch chooses).

**Cross-entropy.**  ``log_softmax(z)_c = z_c - log sum_k exp(z_k)``.  ``exp(1000)`` overflows, so first
subtract each row's maximum ``m``: ``log sum_k exp(z_k) = m + log sum_k exp(z_k - m)``, and every
exponent is then <= 0.  The loss is the mean over the batch of ``-log_softmax(z_i)[y_i]``, and

    dL/dz_i = (softmax(z_i) - onehot(y_i)) / N

**SGD** (``torch.optim.SGD``, no dampening, no Nesterov).  For each parameter ``p`` with gradient ``g``:

    g = g + weight_decay * p
    b = g                        on the first step
    b = momentum * b + g         afterwards
    p = p - lr * b

(with momentum 0, ``b`` is just ``g``).

**Adam** (``torch.optim.Adam``), with ``t`` the number of steps taken, counting this one:

    g = g + weight_decay * p
    m = beta1 * m + (1 - beta1) * g          v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t)             v_hat = v / (1 - beta2 ** t)
    p = p - lr * m_hat / (sqrt(v_hat) + eps)

Optimizers change the parameter arrays **in place** (``p -= ...``): the model holds the same arrays.

Your tasks (see handout.md).  Run the public checks with ``python -m tinygrad_edu lab check 3 .``.
"""
import numpy as np


# ----------------------------------------------------------------------------- layers
def linear_forward(x, w, b=None):
    """``x`` (N, in) times ``w`` (out, in) transposed, plus ``b`` (out,) unless it is None: (N, out)."""
    # BEGIN SOLUTION linear
    out = x @ w.T
    if b is not None:
        out = out + b
    return out
    # END SOLUTION


def linear_backward(grad_out, x, w):
    """The gradients of ``linear_forward(x, w, b)`` given ``grad_out`` = dL/dy (N, out): return
    ``(dx, dw, db)`` shaped like ``x`` (N, in), ``w`` (out, in) and ``b`` (out,)."""
    # BEGIN SOLUTION linear
    dx = grad_out @ w
    dw = grad_out.T @ x
    db = grad_out.sum(axis=0)
    return dx, dw, db
    # END SOLUTION


def relu_forward(x):
    """``max(x, 0)`` elementwise, same shape and dtype as ``x``."""
    # BEGIN SOLUTION relu
    return np.maximum(x, 0)
    # END SOLUTION


def relu_backward(grad_out, x):
    """dL/dx of ``relu_forward(x)`` given ``grad_out``: ``grad_out`` where ``x > 0``, else 0."""
    # BEGIN SOLUTION relu
    return grad_out * (x > 0)
    # END SOLUTION


# ----------------------------------------------------------------------------- loss
def cross_entropy(logits, labels):
    """``(loss, dlogits)``: the mean over the batch of ``-log softmax(logits[i])[labels[i]]`` (a float),
    and its gradient with respect to ``logits`` (N, C).  Stable for logits of any size: no ``exp`` of a
    positive number."""
    n = logits.shape[0]
    rows = np.arange(n)
    # BEGIN SOLUTION cross_entropy
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, labels].mean()
    dlogits = np.exp(log_probs)
    dlogits[rows, labels] -= 1
    return float(loss), dlogits / n
    # END SOLUTION


# ----------------------------------------------------------------------------- optimizers
class SGD:
    """``torch.optim.SGD(params, lr, momentum, weight_decay)`` over NumPy arrays: ``step(grads)`` takes
    one gradient per parameter, in the same order, and updates the parameters in place."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        self.params = list(params)
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        # BEGIN SOLUTION optimizers
        self.buffers = [None] * len(self.params)
        # END SOLUTION

    def step(self, grads):
        # BEGIN SOLUTION optimizers
        for i, (p, g) in enumerate(zip(self.params, grads)):
            g = g + self.weight_decay * p
            if self.buffers[i] is None:
                self.buffers[i] = g
            else:
                self.buffers[i] = self.momentum * self.buffers[i] + g
            p -= self.lr * self.buffers[i]
        # END SOLUTION


class Adam:
    """``torch.optim.Adam(params, lr, betas, eps, weight_decay)`` over NumPy arrays: ``step(grads)``
    takes one gradient per parameter, in the same order, and updates the parameters in place."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params = list(params)
        self.lr, self.betas, self.eps, self.weight_decay = lr, tuple(betas), eps, weight_decay
        # BEGIN SOLUTION optimizers
        self.t = 0
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        # END SOLUTION

    def step(self, grads):
        beta1, beta2 = self.betas
        # BEGIN SOLUTION optimizers
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            g = g + self.weight_decay * p
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            m_hat = m / (1 - beta1 ** self.t)
            v_hat = v / (1 - beta2 ** self.t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        # END SOLUTION


# ----------------------------------------------------------------------------- the model (given)
class MLP:
    """Linear -> ReLU -> ... -> Linear, e.g. ``MLP([784, 128, 10], rng)``.  ``params`` is the list
    ``[W1, b1, W2, b2, ...]`` (PyTorch's ``nn.Linear`` initialisation: uniform in +-1/sqrt(in)).

    ``forward(x)`` returns the logits and remembers what ``backward`` needs; ``backward(dlogits)``
    returns the gradients, one per parameter, in the order of ``params``.  (Given: it calls your
    layer functions.)"""

    def __init__(self, sizes, rng, dtype=np.float32):
        self.params = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / np.sqrt(fan_in)
            self.params.append(rng.uniform(-bound, bound, size=(fan_out, fan_in)).astype(dtype))
            self.params.append(rng.uniform(-bound, bound, size=fan_out).astype(dtype))
        self.layer_inputs, self.pre_activations = [], []

    def forward(self, x):
        layers = len(self.params) // 2
        self.layer_inputs, self.pre_activations = [], []
        h = x
        for k in range(layers):
            self.layer_inputs.append(h)
            h = linear_forward(h, self.params[2 * k], self.params[2 * k + 1])
            if k < layers - 1:
                self.pre_activations.append(h)
                h = relu_forward(h)
        return h

    def backward(self, dlogits):
        layers = len(self.params) // 2
        grads = [None] * len(self.params)
        g = dlogits
        for k in reversed(range(layers)):
            if k < layers - 1:
                g = relu_backward(g, self.pre_activations[k])
            g, grads[2 * k], grads[2 * k + 1] = linear_backward(g, self.layer_inputs[k], self.params[2 * k])
        return grads


# ----------------------------------------------------------------------------- training
def train_epoch(model, optimizer, x, y, batch_size, rng):
    """One pass over ``(x, y)``: shuffle with ``order = rng.permutation(len(x))`` (call it once), then
    for each batch ``order[start:start + batch_size]`` (the last one may be smaller): logits =
    ``model.forward``, ``cross_entropy``, ``model.backward(dlogits)``, ``optimizer.step(grads)``.
    Return the list of the batch losses, in order."""
    # BEGIN SOLUTION train
    order = rng.permutation(len(x))
    losses = []
    for start in range(0, len(x), batch_size):
        batch = order[start:start + batch_size]
        loss, dlogits = cross_entropy(model.forward(x[batch]), y[batch])
        optimizer.step(model.backward(dlogits))
        losses.append(loss)
    return losses
    # END SOLUTION


def accuracy(model, x, y, batch_size=1000):
    """The fraction of rows of ``x`` whose largest logit is at the label ``y`` (a float in [0, 1]),
    running ``model.forward`` on ``batch_size`` rows at a time."""
    # BEGIN SOLUTION train
    correct = 0
    for start in range(0, len(x), batch_size):
        predicted = model.forward(x[start:start + batch_size]).argmax(axis=1)
        correct += int((predicted == y[start:start + batch_size]).sum())
    return correct / len(x)
    # END SOLUTION
