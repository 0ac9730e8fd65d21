"""Random number generators and sampling: ``Generator``, ``manual_seed``, ``multinomial``,
``bernoulli`` (PyTorch's names, signatures and rules).

Every random op of the library draws from a :class:`Generator`: the one passed as ``generator=``,
or the *default generator* that ``tinygrad_edu.manual_seed(s)`` reseeds.  A ``Generator`` wraps one
NumPy ``numpy.random.Generator`` (PCG64), so

    g = tg.Generator().manual_seed(0)
    tg.rand(3, generator=g)          # the same three numbers in every run
    tg.randn(2, generator=tg.Generator().manual_seed(1))   # an independent stream

A seeded program is reproducible, and two generators never influence each other.  The numbers are
*not* the same as PyTorch's for the same seed (PyTorch uses a Mersenne Twister and its own
transforms): only the distributions and the reproducibility agree.

A ``Generator`` also passes for a NumPy Generator (``g.random(...)``, ``g.permutation(...)`` … are
forwarded to it), so code written for NumPy Generators accepts ours.
"""
import json
import math

import numpy as np

from .backend import Device, array_module, to_device

_SEED_MODULUS = 2 ** 64  # seeds are unsigned 64-bit, as in PyTorch (-1 means 2**64 - 1)


def _fresh_seed():
    """A non-deterministic 63-bit seed from the operating system's entropy."""
    return int(np.random.SeedSequence().entropy % 2 ** 63)


class Generator:
    """A source of random numbers with its own state: ``Generator(device='cpu')``.

    ``manual_seed(s)`` (returns the generator), ``seed()`` (a fresh non-deterministic seed, returned),
    ``initial_seed()``, ``get_state()`` / ``set_state(t)`` (a uint8 tensor snapshot).  Draws always
    happen on the CPU; ``device`` is kept for PyTorch compatibility and results are moved to the
    device an op asks for."""

    def __init__(self, device="cpu"):
        self.device = Device(device)
        self._initial_seed = _fresh_seed()
        self._rng = np.random.default_rng(self._initial_seed)

    def manual_seed(self, seed):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"manual_seed expected an int seed, got {type(seed).__name__}")
        self._initial_seed = int(seed) % _SEED_MODULUS
        # reseed in place, so that whoever holds self._rng (a DataLoader, a transform) sees it too
        self._rng.bit_generator.state = np.random.PCG64(self._initial_seed).state
        return self

    def seed(self):
        """Reseed from the operating system's entropy; returns the new seed."""
        self.manual_seed(_fresh_seed())
        return self._initial_seed

    def initial_seed(self):
        """The seed this generator was last seeded with."""
        return self._initial_seed

    def get_state(self):
        """A snapshot of the state as a uint8 Tensor (the bytes of its JSON description)."""
        from .tensor import Tensor
        text = json.dumps({"seed": self._initial_seed, "bit_generator": self._rng.bit_generator.state})
        return Tensor._wrap(np.frombuffer(text.encode(), dtype=np.uint8).copy())

    def set_state(self, new_state):
        """Restore a ``get_state()`` snapshot; returns the generator."""
        array = np.asarray(getattr(new_state, "array", new_state))
        if array.dtype != np.uint8 or array.ndim != 1:
            raise TypeError(f"set_state expected the uint8 tensor get_state() returned, got dtype "
                            f"{array.dtype} and shape {array.shape}")
        try:
            saved = json.loads(array.tobytes().decode())
            self._rng.bit_generator.state = saved["bit_generator"]
        except (ValueError, KeyError, TypeError) as exc:
            raise RuntimeError(f"set_state: not a state saved by get_state() ({exc})") from None
        self._initial_seed = saved["seed"]
        return self

    def __getattr__(self, name):
        # numpy.random.Generator's methods (random, standard_normal, integers, permutation …)
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._rng, name)

    def __repr__(self):
        return f"<tinygrad_edu.Generator device={self.device} initial_seed={self._initial_seed}>"


default_generator = Generator()


def numpy_rng(generator=None):
    """The NumPy Generator to draw from: ``generator``'s (a Generator or a NumPy Generator) or the
    default one's."""
    if generator is None:
        return default_generator._rng
    if isinstance(generator, Generator):
        return generator._rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator must be a tinygrad_edu.Generator (or numpy.random.Generator), got "
                    f"{type(generator).__name__}")


# ---------------------------------------------------------------------------------------------
# Uniform draws made where the array lives (dropout masks on the GPU)
# ---------------------------------------------------------------------------------------------
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)      # 2⁶⁴ / φ: splitmix64's step between counters
_MIX_1, _MIX_2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def counter_uniform(xp, shape, seed):
    """float32 draws in [0, 1) of ``shape``, entry i = splitmix64(seed + (i+1)·γ) / 2⁶⁴ (top 24 bits),
    computed with the array module ``xp`` (NumPy or CuPy) where its arrays live.

    A counter-based generator: entry i is a fixed function of (seed, i), so nothing has to be drawn
    in order, on one processor, and copied over.  splitmix64 (Steele, Lea and Flood 2014) mixes the
    counter by two xor-shift-multiply rounds; its outputs over consecutive counters pass the
    BigCrush tests of randomness.  All arithmetic is on uint64 and wraps modulo 2⁶⁴, identically on
    NumPy and CuPy, so the same seed gives the same numbers on either device."""
    shape = tuple(int(d) for d in shape)
    z = xp.arange(1, math.prod(shape) + 1, dtype=xp.uint64)
    z *= _GOLDEN
    z += np.uint64(int(seed) % 2 ** 64)
    z ^= z >> np.uint64(30)
    z *= _MIX_1
    z ^= z >> np.uint64(27)
    z *= _MIX_2
    z ^= z >> np.uint64(31)
    u = (z >> np.uint64(40)).astype(xp.float32)      # the top 24 bits: exact in float32
    u *= np.float32(2.0 ** -24)
    return u.reshape(shape)


def uniform_like(shape, xp, generator=None):
    """Uniform draws in [0, 1) of ``shape`` for an op whose arrays are ``xp``'s (dropout's masks).

    On the CPU: ``generator``'s NumPy stream, as every other random op.  On a GPU, drawing on the
    host and copying would cost more than the whole training step (nanoGPT's attention dropout is
    25 M entries a layer: 1.8 s of a step on an H200), so one 63-bit seed is drawn from ``generator``
    and the numbers are made on the device by ``counter_uniform``: still reproducible after
    ``manual_seed``, independent from call to call (each call draws a new seed), but not the CPU's
    numbers for the same seed."""
    rng = numpy_rng(generator)
    if xp is np:
        return rng.random(shape)
    return counter_uniform(xp, shape, int(rng.integers(0, 2 ** 63)))


def manual_seed(seed):
    """Seed the default generator (behind ``rand``/``randn``/``randint``/dropout/initialisation …);
    returns it, as PyTorch does."""
    return default_generator.manual_seed(seed)


def seed():
    """Seed the default generator non-deterministically; returns the seed."""
    return default_generator.seed()


def initial_seed():
    """The default generator's current seed."""
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state (a uint8 Tensor) for ``set_rng_state``."""
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


# ---- sampling ---------------------------------------------------------------------------------------
def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Draw ``num_samples`` category indices per row of ``input`` (1-D: one distribution, 2-D: one
    per row) with probabilities proportional to its non-negative weights.  int64, shape
    ``(num_samples,)`` or ``(rows, num_samples)``.

    With replacement every draw is independent: with cumulative weights c₀ ≤ c₁ ≤ … ≤ c_{n-1} and
    u uniform in [0, c_{n-1}), the sample is the first i with cᵢ > u (zero weights are never hit).
    Without replacement the draws are sequential (each category at most once; after the
    positive-weight categories are used up the zero-weight ones follow, as in PyTorch); we draw
    all at once by the exponential race: give category i the key Eᵢ/wᵢ with Eᵢ ~ Exp(1) and sort
    the keys — the smallest key is category i with probability wᵢ/Σw, and the rest of the order is
    again such a race among the remaining ones (Efraimidis & Spirakis, 2006).

    No gradient (the output is integer)."""
    from .tensor import Tensor
    probs = input.array if isinstance(input, Tensor) else np.asarray(input)
    if probs.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {tuple(probs.shape)}")
    if probs.dtype.kind not in "fc":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got {probs.dtype}")
    n = probs.shape[-1]
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples (got {num_samples})")
    if not replacement and num_samples > n:
        raise RuntimeError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples without "
                           f"replacement (n_sample={num_samples}, categories={n})")
    weights = np.asarray(to_device(probs, "cpu"), dtype=np.float64).reshape(-1, n)
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or element < 0")
    totals = weights.sum(axis=1)
    if (totals <= 0).any():
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    rng = numpy_rng(generator)
    rows = weights.shape[0]
    if replacement:
        cdf = np.cumsum(weights, axis=1)
        u = rng.random((rows, int(num_samples))) * cdf[:, -1:]
        out = np.stack([np.searchsorted(cdf[r], u[r], side="right") for r in range(rows)])
        last_positive = n - 1 - np.argmax(weights[:, ::-1] > 0, axis=1)   # guards u rounding to c_{n-1}
        out = np.minimum(out, last_positive[:, None])
    else:
        with np.errstate(divide="ignore"):
            keys = rng.standard_exponential((rows, n)) / weights            # weight 0: key inf, last
        out = np.argsort(keys, axis=1, kind="stable")[:, :int(num_samples)]
    out = out.astype(np.int64).reshape(probs.shape[:-1] + (int(num_samples),))
    return Tensor._wrap(to_device(out, input.device) if isinstance(input, Tensor) else out)


def _bernoulli_op():
    """The recorded op behind ``bernoulli(p)``: samples are piecewise constant in p, so their
    gradient is 0 (PyTorch records the op with a zero gradient too, so ``bernoulli(p)`` of a p that
    requires grad requires grad).  Built on first use: random.py is imported before autograd."""
    global _Bernoulli
    if _Bernoulli is None:
        from .autograd.function import Function
        from .creation import zeros_like

        class Bernoulli(Function):
            """y = the drawn 0/1 samples (independent of p's value).   dL/dp = 0."""

            @staticmethod
            def forward(ctx, p, samples=None):
                return samples

            @staticmethod
            def backward(ctx, grad):
                return zeros_like(grad)
        _Bernoulli = Bernoulli
    return _Bernoulli


_Bernoulli = None


def bernoulli(input, p=None, *, generator=None):
    """0/1 samples, each 1 with probability ``input[i]`` (or with probability ``p`` everywhere, when
    ``p`` is given: ``bernoulli(input, 0.3)`` uses only ``input``'s shape).  Same dtype and shape as
    ``input``.  Drawn as ``u < p`` with u uniform in [0, 1).  Gradient: 0 (see ``_bernoulli_op``)."""
    from .tensor import Tensor
    probs = input.array if p is None else p
    probs = probs.array if isinstance(probs, Tensor) else probs
    host = np.asarray(to_device(probs, "cpu")) if array_module(probs) is not np else np.asarray(probs)
    if host.size and not ((host >= 0) & (host <= 1)).all():
        bad = host[~((host >= 0) & (host <= 1))].reshape(-1)[0]
        raise RuntimeError(f"bernoulli: expected every probability p to satisfy 0 <= p <= 1, got {bad}")
    u = numpy_rng(generator).random(input.shape)
    samples = (u < host).astype(input.dtype)
    samples = to_device(samples, input.device)
    if p is None:
        return _bernoulli_op().apply(input, samples=samples)
    return Tensor._wrap(samples)


def bernoulli_(input, p=0.5, *, generator=None):
    """Fill ``input`` in place with 0/1 samples that are 1 with probability ``p`` (a number, or a
    tensor broadcast to ``input``'s shape)."""
    from .ops.inplace import copy_
    from .tensor import Tensor
    if isinstance(p, Tensor):
        p = p.array
    probs = np.broadcast_to(np.asarray(to_device(p, "cpu") if array_module(p) is not np else p,
                                       dtype=np.float64), input.shape)
    return copy_(input, bernoulli(input, probs, generator=generator))
