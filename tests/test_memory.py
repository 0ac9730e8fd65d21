"""Memory: the engine releases what it no longer needs.

* a training loop (forward, backward, hand-written SGD under ``no_grad``) does not grow: each
  step's graph dies when the next step rebinds ``loss``;
* backward frees the values each node saved as soon as that node is done, even while the
  graph itself (the ``loss`` tensor) is still alive.
"""
import gc
import tracemalloc
import weakref

import numpy as np

import tinygrad_edu as tg


def make_mlp(sizes, seed=0):
    tg.manual_seed(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w = (tg.randn(fan_in, fan_out) * (1.0 / np.sqrt(fan_in))).requires_grad_()
        b = tg.zeros(fan_out, requires_grad=True)
        params += [w, b]
    return params


def forward(params, x):
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i + 2 < len(params):
            h = h.relu()
    return h


def sgd_step(params, lr):
    with tg.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None


def test_training_loop_memory_stays_flat_over_1000_steps():
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((16, 8)).astype(np.float32))
    target = tg.tensor(rng.standard_normal((16, 4)).astype(np.float32))
    params = make_mlp([8, 32, 32, 4])

    early_node = None
    losses = []
    measured = {}  # step -> (memory held after the step, peak during the step)
    tracemalloc.start()
    try:
        for step in range(1, 1001):
            if step in (100, 1000):
                gc.collect()
                tracemalloc.reset_peak()
            loss = ((forward(params, x) - target) ** 2).mean()
            loss.backward()
            sgd_step(params, lr=0.05)
            losses.append(loss.item())
            if step == 10:
                early_node = weakref.ref(loss.grad_fn)
            if step in (100, 1000):
                gc.collect()
                measured[step] = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert losses[-1] < 0.5 * losses[0], "the loop should actually train"
    assert early_node() is None, "an old step's graph is still alive"
    # `losses` grows by one float per step (~30 kB over 900 steps); the graph must not grow at all
    (held_100, peak_100), (held_1000, peak_1000) = measured[100], measured[1000]
    assert held_1000 - held_100 < 100_000, f"memory held grew from {held_100} to {held_1000} bytes"
    assert peak_1000 - peak_100 < 100_000, f"a step's peak grew from {peak_100} to {peak_1000} bytes"


def test_the_loss_graph_is_freed_when_the_loss_is_dropped():
    w = tg.tensor(np.ones((4, 4), np.float32), requires_grad=True)
    loss = (w @ w).tanh().sum()
    node = weakref.ref(loss.grad_fn)
    del loss
    gc.collect()
    assert node() is None
    assert w.grad is None


def test_backward_frees_saved_arrays_while_the_graph_is_still_alive():
    w = tg.tensor(np.full((64, 64), 0.01, np.float32), requires_grad=True)
    hidden = (w @ w).exp()          # Exp saves its output; Mul below saves hidden twice
    saved = weakref.ref(hidden.array)
    loss = (hidden * hidden).sum()
    del hidden
    gc.collect()
    assert saved() is not None, "before backward the graph must keep the saved array"
    loss.backward()
    gc.collect()
    assert loss.grad_fn is not None  # the graph is alive ...
    assert saved() is None           # ... but the intermediate it saved is gone


def test_retain_graph_keeps_saved_arrays_until_the_graph_dies():
    w = tg.tensor(np.full((8, 8), 0.1, np.float32), requires_grad=True)
    hidden = (w * 2).exp()
    saved = weakref.ref(hidden.array)
    loss = (hidden * hidden).sum()
    del hidden
    loss.backward(retain_graph=True)
    gc.collect()
    assert saved() is not None
    del loss
    gc.collect()
    assert saved() is None


def test_a_saved_output_does_not_form_a_reference_cycle():
    # Exp saves its own output; if the node held the output Tensor strongly, output -> node ->
    # output would be a cycle that only the garbage collector could free
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    gc.disable()
    try:
        y = x.exp()
        node = weakref.ref(y.grad_fn)
        del y
        assert node() is None, "freed by reference counting alone, no gc pass needed"
    finally:
        gc.enable()
