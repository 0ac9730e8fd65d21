"""The floor of a benchmark row: the same BLAS calls alone, with no framework around them.

A ratio to PyTorch says how we compare with one other framework *on this CPU* (torch's speed differs by
CPU: on one machine its MKL beats OpenBLAS, on another it does not).  The floor says how far a step is
from the limit of any engine built on NumPy's BLAS: time every matrix product the step computes, with the
same shapes, as plain ``np.matmul(a, b, out=c)`` calls on preallocated float32 arrays, and nothing else —
no elementwise work, no copies, no Python.  ``tg/floor`` = 1.3 means the framework (and its non-GEMM work)
adds 30% to the products it cannot avoid.

How the products of a step are found (``record_gemms``)
-------------------------------------------------------
Run one step of the tinygrad_edu workload while ``Function.apply`` is wrapped by a recorder, and turn every
graph node that multiplies matrices into the products its forward and backward make:

=========================  =====================================================================
node                       products (M×K @ K×N, batched where the op is)
=========================  =====================================================================
``LinearFunction(x, W)``   y = x Wᵀ: (M, K)@(K, N); dx = g W: (M, N)@(N, K) if x needs a gradient;
                           dW = gᵀ x: (N, M)@(M, K) if W does  (M = rows of x)
``Matmul(a, b)``           y = a b; da = g bᵀ; db = aᵀ g (each batched over the leading dims)
``Conv2dFunction(x, w)``   the im2col form with the batch folded in (one call per group):
                           y = W (O, K)@(K, N·L); dx = Wᵀ g (K, O)@(O, N·L); dW = g colsᵀ (O, N·L)@(N·L, K)
                           with K = C/groups·kh·kw, L = OH·OW
``ScaledDotProductAttention``  S = q kᵀ (T, d)@(d, S); y = P v; backward dP = g vᵀ, dv = Pᵀ g,
                           dq = dS k, dk = dSᵀ q  (batched over batch × heads)
=========================  =====================================================================

Generation does not go through the graph (and may not go through ``Function.apply`` at all), so its floor
comes from the model's configuration instead (``gpt_decode_gemms``): per new token and layer, the q/k/v,
output and MLP projections of one row, attention against the t cached keys, and the language-model head.
"""
import numpy as np

from tinygrad_edu.autograd.function import Function


def _rows(shape):
    return int(np.prod(shape[:-1])) if len(shape) > 1 else 1


def _linear(args, needs):
    x, w = args[0], args[1]
    m, k, n = _rows(x.shape), x.shape[-1], w.shape[0]
    out = [((), (m, k), (k, n))]
    if needs[0]:
        out.append(((), (m, n), (n, k)))
    if needs[1]:
        out.append(((), (n, m), (m, k)))
    return out


def _matmul(args, needs):
    a, b = args[0].shape, args[1].shape
    if len(a) < 2 or len(b) < 2:          # vector products: not worth a BLAS floor entry
        return []
    batch = tuple(np.broadcast_shapes(a[:-2], b[:-2]))
    m, k, n = a[-2], a[-1], b[-1]
    out = [(batch, (m, k), (k, n))]
    if needs[0]:
        out.append((batch, (m, n), (n, k)))
    if needs[1]:
        out.append((batch, (k, m), (m, n)))
    return out


def _conv2d(args, needs, geom):
    x, w = args[0].shape, args[1].shape
    groups = getattr(geom, "groups", 1)
    oh, ow = geom.out_hw
    cols = x[0] * oh * ow
    o, k = w[0] // groups, w[1] * w[2] * w[3]
    out = [((groups,), (o, k), (k, cols))]
    if needs[0]:
        out.append(((groups,), (k, o), (o, cols)))
    if needs[1]:
        out.append(((groups,), (o, cols), (cols, k)))
    return out


def _attention(args, needs):
    q, k, v = args[0].shape, args[1].shape, args[2].shape
    batch = tuple(np.broadcast_shapes(q[:-2], k[:-2]))
    t, d, s, dv = q[-2], q[-1], k[-2], v[-1]
    out = [(batch, (t, d), (d, s)), (batch, (t, s), (s, dv))]
    if any(needs[:3]):
        out += [(batch, (t, dv), (dv, s))]                 # dP = g vᵀ
        if needs[2]:
            out.append((batch, (s, t), (t, dv)))          # dv = Pᵀ g
        if needs[0]:
            out.append((batch, (t, s), (s, d)))           # dq = dS k
        if needs[1]:
            out.append((batch, (s, t), (t, d)))           # dk = dSᵀ q
    return out


class record_gemms:  # noqa: N801  (a context manager used like a function)
    """``with record_gemms() as gemms: step()`` fills ``gemms`` with (batch, (M, K), (K, N)) entries."""

    def __enter__(self):
        from tinygrad_edu.autograd import engine
        self.gemms, self._engine = [], engine
        self._original_apply = Function.__dict__["apply"]
        self._original_backward = engine.run_backward
        original_apply, original_backward = Function.apply.__func__, engine.run_backward
        gemms, state = self.gemms, {"in_backward": False}

        def recording_backward(*args, **kwargs):
            # the backward formulas apply Functions too; their products are already counted
            state["in_backward"] = True
            try:
                return original_backward(*args, **kwargs)
            finally:
                state["in_backward"] = False

        def recording_apply(cls, *args, **kwargs):
            if not state["in_backward"]:
                _record(cls.__name__, args, kwargs, gemms)
            return original_apply(cls, *args, **kwargs)

        Function.apply = classmethod(recording_apply)
        engine.run_backward = recording_backward
        return self.gemms

    def __exit__(self, *exc):
        Function.apply = self._original_apply
        self._engine.run_backward = self._original_backward
        return False


def _record(name, args, kwargs, gemms):
    """Append the products of one graph node (see the table in the module docstring)."""
    from tinygrad_edu import is_grad_enabled
    from tinygrad_edu.tensor import Tensor
    tensors = [a for a in args if isinstance(a, Tensor)]
    grad = is_grad_enabled()
    needs = [grad and a.requires_grad for a in tensors] + [False] * 3
    if name == "LinearFunction":
        gemms.extend(_linear(tensors, needs))
    elif name == "Matmul":
        gemms.extend(_matmul(tensors, needs))
    elif name == "Conv2dFunction" and "geom" in kwargs:
        gemms.extend(_conv2d(tensors, needs, kwargs["geom"]))
    elif name == "ScaledDotProductAttention":
        gemms.extend(_attention(tensors, needs))


def gpt_decode_gemms(config, prompt_len, new_tokens, batch=1):
    """The matrix products of greedy generation with a KV cache, from the configuration alone."""
    c, v = config.n_embd, config.vocab_size
    d, heads = c // config.n_head, config.n_head
    gemms = []
    for step in range(new_tokens):
        rows = prompt_len if step == 0 else 1             # the prompt is one pass, then a row per token
        cached = prompt_len + step
        for _ in range(config.n_layer):
            gemms += [((), (batch * rows, c), (c, 3 * c)),
                      ((batch, heads), (rows, d), (d, cached)), ((batch, heads), (rows, cached), (cached, d)),
                      ((), (batch * rows, c), (c, c)),
                      ((), (batch * rows, c), (c, 4 * c)), ((), (batch * rows, 4 * c), (4 * c, c))]
        gemms.append(((), (batch, c), (c, v)))             # the head, on the last position only
    return gemms


def gemm_flops(gemms):
    return sum(2 * int(np.prod(b, dtype=np.int64)) * m * k * n for b, (m, k), (_, n) in gemms)


def floor_step(gemms, dtype=np.float32, seed=0):
    """A step that runs exactly these products on preallocated arrays (``np.matmul(a, b, out=c)``)."""
    if not gemms:
        raise ValueError("floor_step: no matrix products were recorded for this row")
    rng = np.random.default_rng(seed)
    buffers = []
    for batch, (m, k), (_, n) in gemms:
        a = rng.standard_normal((*batch, m, k)).astype(dtype)
        b = rng.standard_normal((*batch, k, n)).astype(dtype)
        buffers.append((a, b, np.empty((*batch, m, n), dtype=dtype)))

    def step():
        for a, b, c in buffers:
            np.matmul(a, b, out=c)
    return step


def floor_of(run_one_step):
    """The floor step for the products ``run_one_step()`` makes (it is run once, to record them)."""
    with record_gemms() as gemms:
        run_one_step()
    return floor_step(gemms), gemms


def floor_builder(build_tinygrad):
    """``Row.build["floor"]``: build the tinygrad_edu workload once, record the products of one of its
    steps, and time those products alone (the Workload has nothing to compare: ``outputs`` is None)."""
    from .harness import Workload

    def build():
        step, _ = floor_of(build_tinygrad().step)
        return Workload(step, lambda: None)
    return build


def decode_floor_builder(config, prompt_len, new_tokens):
    """``Row.build["floor"]`` for KV-cache generation: the products of ``gpt_decode_gemms``."""
    from .harness import Workload

    def build():
        return Workload(floor_step(gpt_decode_gemms(config, prompt_len, new_tokens)), lambda: None)
    return build


def memory_floor_builder(read_write_floats):
    """``Row.build["floor"]`` for a row with no matrix products (pooling): one streaming copy per
    (read, write) array size given, float32 — the memory traffic no implementation can avoid."""
    from .harness import Workload

    def build():
        pairs = [(np.ones(n, np.float32), np.empty(n, np.float32)) for n in read_write_floats]

        def step():
            for src, dst in pairs:
                np.copyto(dst, src)
        return Workload(step, lambda: None)
    return build
