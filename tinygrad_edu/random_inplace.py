"""In-place random fillers: ``t.normal_()``, ``t.uniform_()``, ``t.random_()``, ``t.exponential_()``,
``t.geometric_()``, ``t.log_normal_()``, ``t.cauchy_()`` with PyTorch's signatures (``bernoulli_`` and
``fill_`` live with the other samplers in random.py and ops/inplace.py).

Each one overwrites every entry of the tensor with an independent draw from a distribution, keeps
the tensor's dtype, shape and device, and returns the tensor.  The draws come from ``generator=``
(a ``tinygrad_edu.Generator`` or a NumPy Generator) or the default generator, so a seeded program
fills the same numbers every run.  How each distribution is drawn from NumPy's PCG64 stream:

* normal_(mean, std):       mean + std·Z,  Z ~ N(0, 1)
* uniform_(from, to):       from + (to - from)·U,  U ~ U[0, 1)
* random_(from, to):        integers uniform in [from, to - 1]; ``random_(to)`` is [0, to - 1];
                            ``random_()`` is [0, 2**mantissa_bits] for floats (every such integer is
                            exact), [0, max] for integer dtypes, {0, 1} for bool
* exponential_(lambd):      E/lambd,  E ~ Exp(1)  (density lambd·e^(-lambd·x), mean 1/lambd)
* geometric_(p):            the number of Bernoulli(p) trials up to the first success, 1, 2, …
                            (P(k) = (1-p)^(k-1)·p, mean 1/p)
* log_normal_(mean, std):   exp(mean + std·Z) (mean and std are those of the *log*)
* cauchy_(median, sigma):   median + sigma·C,  C standard Cauchy (no mean: heavy tails)

Like every in-place op these refuse a leaf that requires grad while the graph is recorded (write
``with tg.no_grad(): w.normal_()``, as ``nn.init`` does).  A random fill does not depend on the
old values, so no gradient flows through it to them.
"""
import numpy as np

from . import random as _random
from .backend import to_device


def _draws_to(t, values, op):
    """Write the float64/int64 ``values`` (shape of ``t``) into ``t``, cast to its dtype."""
    from .ops.inplace import _check_leaf, copy_
    from .tensor import Tensor
    _check_leaf(t, op)
    array = np.asarray(values).astype(t.array.dtype)
    if t.device.type != "cpu":
        array = to_device(array, t.device)
    copy_(t, Tensor._wrap(array))
    return t


def _require_float(t, op, error=RuntimeError):
    """Continuous distributions need a float tensor (torch raises NotImplementedError for some of
    them and RuntimeError for others; ``error`` is the one it raises)."""
    if t.array.dtype.kind != "f":
        raise error(f"{op}: expects a floating point tensor, got dtype {t.array.dtype}")


def _number(op, name, v):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a number, got {type(v).__name__}")
    return float(v)


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with samples of N(mean, std²)."""
    _require_float(self, "normal_", NotImplementedError)
    mean, std = _number("normal_", "mean", mean), _number("normal_", "std", std)
    if std < 0:
        raise RuntimeError(f"normal_: expects std >= 0.0, got std={std}")
    z = _random.numpy_rng(generator).standard_normal(self.shape)
    return _draws_to(self, mean + std * z, "normal_")


def uniform_(self, a=0.0, b=1.0, *, generator=None, **kwargs):
    """Fill with samples uniform in [from, to) (``uniform_(from=0, to=1)``; ``from`` is a Python
    keyword, so it is accepted through ``**kwargs`` as torch's spelling)."""
    a = kwargs.pop("from", a)
    b = kwargs.pop("to", b)
    if kwargs:
        raise TypeError(f"uniform_: unexpected keyword arguments {sorted(kwargs)}")
    _require_float(self, "uniform_", NotImplementedError)
    a, b = _number("uniform_", "from", a), _number("uniform_", "to", b)
    if a > b:
        raise RuntimeError(f"uniform_: expects to return a [from, to) range, but found from={a} > to={b}")
    u = _random.numpy_rng(generator).random(self.shape)
    return _draws_to(self, a + (b - a) * u, "uniform_")


def _random_upper(dtype):
    """The largest value ``random_()`` draws for ``dtype`` (inclusive)."""
    if dtype == np.bool_:
        return 1
    if dtype.kind == "f":
        return 2 ** (np.finfo(dtype).nmant + 1)
    return int(np.iinfo(dtype).max)


def random_(self, *args, generator=None, **kwargs):
    """Fill with integers uniform in ``[from, to - 1]``: ``random_()`` (the dtype's whole range of
    exact integers), ``random_(to)``, ``random_(from, to)`` (``to=None``: up to that range's top)."""
    a, b = kwargs.pop("from", 0), kwargs.pop("to", None)
    if kwargs:
        raise TypeError(f"random_: unexpected keyword arguments {sorted(kwargs)}")
    if len(args) > 2:
        raise TypeError(f"random_: takes at most 2 positional arguments (from, to), got {len(args)}")
    if len(args) == 1:
        b = args[0]
    elif len(args) == 2:
        a, b = args
    for name, v in (("from", a), ("to", b)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))):
            raise TypeError(f"random_: {name} must be an int, got {type(v).__name__}")
    dtype = self.array.dtype
    high = _random_upper(dtype) + 1 if b is None else int(b)   # exclusive
    low = int(a)
    if low >= high:
        raise RuntimeError(f"random_: expects 'from' to be less than 'to', but got from={low} >= to={high}")
    if dtype.kind in "iub":
        info = np.iinfo(dtype) if dtype.kind != "b" else None
        lo_ok, hi_ok = (0, 1) if info is None else (int(info.min), int(info.max))
        if low < lo_ok or high - 1 > hi_ok:
            raise RuntimeError(f"random_: the range [{low}, {high - 1}] does not fit dtype {dtype} "
                               f"([{lo_ok}, {hi_ok}])")
    values = _random.numpy_rng(generator).integers(low, high, self.shape, endpoint=False,
                                                   dtype=np.int64 if high <= 2 ** 63 else np.uint64)
    return _draws_to(self, values, "random_")


def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with samples of Exp(lambd): density lambd·e^(-lambd·x) on x >= 0, mean 1/lambd."""
    _require_float(self, "exponential_")
    lambd = _number("exponential_", "lambd", lambd)
    if not lambd > 0:
        raise RuntimeError(f"exponential_: expects lambd > 0.0, but found lambd={lambd}")
    e = _random.numpy_rng(generator).standard_exponential(self.shape)
    return _draws_to(self, e / lambd, "exponential_")


def geometric_(self, p, *, generator=None):
    """Fill with the trial count of the first success of Bernoulli(p) trials: 1, 2, 3, …"""
    p = _number("geometric_", "p", p)
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_: expects p to be in (0, 1), but got p={p}")
    k = _random.numpy_rng(generator).geometric(p, self.shape)
    return _draws_to(self, k, "geometric_")


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with exp(N(mean, std²)): a log-normal whose *logarithm* has this mean and std."""
    _require_float(self, "log_normal_", NotImplementedError)
    mean, std = _number("log_normal_", "mean", mean), _number("log_normal_", "std", std)
    if not std > 0:
        raise RuntimeError(f"log_normal_: expects std > 0.0, but found std={std}")
    z = _random.numpy_rng(generator).standard_normal(self.shape)
    return _draws_to(self, np.exp(mean + std * z), "log_normal_")


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with samples of the Cauchy distribution centred at ``median`` with scale ``sigma``."""
    _require_float(self, "cauchy_")
    median, sigma = _number("cauchy_", "median", median), _number("cauchy_", "sigma", sigma)
    if not sigma > 0:
        raise RuntimeError(f"cauchy_: expects sigma > 0.0, but found sigma={sigma}")
    c = _random.numpy_rng(generator).standard_cauchy(self.shape)
    return _draws_to(self, median + sigma * c, "cauchy_")


FILLERS = {"normal_": normal_, "uniform_": uniform_, "random_": random_, "exponential_": exponential_,
           "geometric_": geometric_, "log_normal_": log_normal_, "cauchy_": cauchy_}


def attach(tensor_class):
    """Bind the fillers as Tensor methods (those the class already defines are left alone)."""
    for name, fn in FILLERS.items():
        if name not in tensor_class.__dict__:
            setattr(tensor_class, name, fn)
