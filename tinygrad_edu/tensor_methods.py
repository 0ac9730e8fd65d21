"""Tensor's method forms of the ops: ``x.exp()``, ``x.sum(dim)``, ``x.reshape(...)``, ``x.sort()``, ...

``TensorMethods`` is a mixin: ``Tensor`` (tensor.py) derives from it, so ``x.sum()`` is
``Tensor.sum`` as always.  Each method only forwards to the function of the same name in
``tinygrad_edu/ops/`` (where the forward math and the backward formula live), in this order:

* elementwise math (``exp``, ``log``, ``relu``, ``clamp``, ``where``, ...) — ops/unary_math.py,
  ops/nonlinearity.py, ops/where_clamp.py;
* reductions (``sum``, ``mean``, ``max``, ``softmax``, ``argmax``, ...) — ops/reduce.py;
* shape (``reshape``, ``view``, ``permute``, ``T``, ``squeeze``, ``split``, ...) — ops/shape.py,
  ops/join_split.py;
* sorting and scans (``sort``, ``topk``, ``cumprod``, ...) — ops/sorting.py, ops/scan.py;
* layout, selection and scatter (``roll``, ``index_select``, ``scatter_add``, ...) —
  ops/layout.py, ops/selection.py, ops/scatter.py;
* rounding and trig (``floor``, ``round``, ``tan``, ``atan2``, ...) — ops/rounding.py, ops/trig.py;
* random sampling (``multinomial``, ``bernoulli``) — random.py;
* function forms (``lerp``, ``isclose``, ``logical_and``, ``type``) — ops/functions.py.

The reductions also accept NumPy's ``axis=`` for ``dim=``: tensor.py wraps them once with
``ops/reduce.accepts_axis``.
"""


class TensorMethods:
    __slots__ = ()  # Tensor keeps its own __slots__; an empty one here adds no per-tensor __dict__

    # ---- elementwise math (ops/unary_math.py, nonlinearity.py, where_clamp.py) ---------------------
    def exp(self): return _ew.Exp.apply(self)                     # noqa: E704
    def log(self): return _ew.Log.apply(self)                     # noqa: E704
    def log1p(self): return _ew.Log1p.apply(self)                 # noqa: E704
    def sqrt(self): return _ew.Sqrt.apply(self)                   # noqa: E704
    def rsqrt(self): return _ew.Rsqrt.apply(self)                 # noqa: E704
    def sin(self): return _ew.Sin.apply(self)                     # noqa: E704
    def cos(self): return _ew.Cos.apply(self)                     # noqa: E704
    def erf(self): return _ew.Erf.apply(self)                     # noqa: E704
    def tanh(self): return _ew.TanhFunction.apply(self)                   # noqa: E704
    def sigmoid(self): return _ew.SigmoidFunction.apply(self)             # noqa: E704
    def relu(self): return _ew.Relu.apply(self)                   # noqa: E704
    def silu(self): return _ew.Silu.apply(self)                   # noqa: E704
    def abs(self): return _ew.Abs.apply(self)                     # noqa: E704
    def sign(self): return _ew.Sign.apply(self)                   # noqa: E704

    def clamp(self, min=None, max=None):  # noqa: A002
        return _ew.clamp(self, min, max)

    clip = clamp

    def maximum(self, other):
        return _ew.maximum(self, other)

    def minimum(self, other):
        return _ew.minimum(self, other)

    def where(self, condition, other):
        """``self`` where ``condition`` else ``other`` (PyTorch's method form)."""
        return _ew.where(condition, self, other)

    def tril(self, diagonal=0):
        return _ew.tril(self, diagonal)

    def triu(self, diagonal=0):
        return _ew.triu(self, diagonal)

    # ---- reductions (ops/reduce.py) ---------------------------------------------------------------
    def sum(self, dim=None, keepdim=False, dtype=None):
        return _red.sum(self, dim, keepdim, dtype=dtype)

    def mean(self, dim=None, keepdim=False, dtype=None):
        return _red.mean(self, dim, keepdim, dtype=dtype)

    def max(self, dim=None, keepdim=False):
        return _red.max(self, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        return _red.min(self, dim, keepdim)

    def amax(self, dim=None, keepdim=False):
        return _red.amax(self, dim, keepdim)

    def amin(self, dim=None, keepdim=False):
        return _red.amin(self, dim, keepdim)

    def prod(self, dim=None, keepdim=False):
        return _red.prod(self, dim, keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, correction=None):
        return _red.var(self, dim, unbiased=unbiased, keepdim=keepdim, correction=correction)

    def std(self, dim=None, unbiased=None, keepdim=False, correction=None):
        return _red.std(self, dim, unbiased=unbiased, keepdim=keepdim, correction=correction)

    def logsumexp(self, dim, keepdim=False):
        return _red.logsumexp(self, dim, keepdim)

    def softmax(self, dim, dtype=None):
        return _red.softmax(self, dim, dtype=dtype)

    def log_softmax(self, dim, dtype=None):
        return _red.log_softmax(self, dim, dtype=dtype)

    def argmax(self, dim=None, keepdim=False):
        return _red.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return _red.argmin(self, dim, keepdim)

    def cumsum(self, dim, dtype=None):
        return _red.cumsum(self, dim, dtype=dtype)

    # ---- shape (ops/shape.py) -----------------------------------------------------------------------
    def reshape(self, *shape):
        return _sh.reshape(self, *shape)

    def view(self, *shape, dtype=None):
        """``view(*shape)``: a reshape; ``view(dtype)``: the same bytes as another dtype (see
        ``ops/shape.view_dtype``; not differentiable)."""
        if dtype is not None or (len(shape) == 1 and _sh._is_dtype_arg(shape[0])):
            if shape and dtype is not None:
                raise TypeError("view(): give either a shape or a dtype, not both")
            return _sh.view_dtype(self, dtype if dtype is not None else shape[0])
        return _sh.reshape(self, *shape)

    def view_as(self, other):
        return _sh.reshape(self, other.shape)

    def reshape_as(self, other):
        return _sh.reshape(self, other.shape)

    def permute(self, *dims):
        return _sh.permute(self, *dims)

    def transpose(self, dim0, dim1):
        return _sh.transpose(self, dim0, dim1)

    def t(self):
        """The transpose of a matrix (2-D), as ``torch.Tensor.t``; 0-d and 1-d tensors are returned as is."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return _sh.transpose(self, 0, 1) if self.ndim == 2 else self

    @property
    def T(self):
        """All dims reversed (the matrix transpose for 2-D tensors)."""
        return _sh.permute(self, *range(self.ndim - 1, -1, -1))

    @property
    def mT(self):
        """The last two dims swapped (a batch of transposed matrices)."""
        return _sh.transpose(self, -2, -1)

    def expand(self, *shape):
        return _sh.expand(self, *shape)

    def expand_as(self, other):
        return _sh.expand(self, *other.shape)

    def broadcast_to(self, shape):
        return _sh.broadcast_to(self, shape)

    def squeeze(self, dim=None):
        return _sh.squeeze(self, dim)

    def unsqueeze(self, dim):
        return _sh.unsqueeze(self, dim)

    def flatten(self, start_dim=0, end_dim=-1):
        return _sh.flatten(self, start_dim, end_dim)

    def unflatten(self, dim, sizes):
        return _sh.unflatten(self, dim, sizes)

    def contiguous(self):
        return _sh.contiguous(self)

    def is_contiguous(self):
        return bool(self.array.flags.c_contiguous)

    def split(self, split_size_or_sections, dim=0):
        return _sh.split(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        return _sh.chunk(self, chunks, dim)

    def repeat(self, *sizes):
        return _sh.repeat(self, *sizes)

    def flip(self, *dims):
        return _sh.flip(self, *dims)

    # ---- sorting and scans (ops/sorting.py, ops/scan.py) ----------------------------------------
    def sort(self, dim=-1, descending=False, stable=False):
        return _sort.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return _sort.argsort(self, dim, descending, stable)

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002
        return _sort.topk(self, k, dim, largest, sorted)

    def kthvalue(self, k, dim=-1, keepdim=False):
        return _sort.kthvalue(self, k, dim, keepdim)

    def median(self, dim=None, keepdim=False):
        return _sort.median(self, dim, keepdim)

    def nanmedian(self, dim=None, keepdim=False):
        return _sort.nanmedian(self, dim, keepdim)

    def mode(self, dim=-1, keepdim=False):
        return _sort.mode(self, dim, keepdim)

    def cumprod(self, dim, dtype=None):
        return _scan.cumprod(self, dim, dtype)

    def cummax(self, dim):
        return _scan.cummax(self, dim)

    def cummin(self, dim):
        return _scan.cummin(self, dim)

    def logcumsumexp(self, dim):
        return _scan.logcumsumexp(self, dim)

    # ---- layout and selection (ops/layout.py, ops/selection.py) ---------------------------------
    def roll(self, shifts, dims=None):
        return _layout.roll(self, shifts, dims)

    def diagonal(self, offset=0, dim1=0, dim2=1):
        return _layout.diagonal(self, offset, dim1, dim2)

    def diag(self, diagonal=0):
        return _layout.diag(self, diagonal)

    def unfold(self, dimension, size, step):
        return _layout.unfold(self, dimension, size, step)

    def repeat_interleave(self, repeats, dim=None, output_size=None):
        return _layout.repeat_interleave(self, repeats, dim, output_size)

    def index_select(self, dim, index):
        return _select.index_select(self, dim, index)

    def masked_select(self, mask):
        return _select.masked_select(self, mask)

    def nonzero(self, as_tuple=False):
        return _select.nonzero(self, as_tuple)

    def scatter(self, dim, index, src=None, value=None, reduce=None):
        return _scatter.scatter(self, dim, index, src, value, reduce)

    def scatter_add(self, dim, index, src):
        return _scatter.scatter_add(self, dim, index, src)

    def index_add(self, dim, index, source, alpha=1):
        return _scatter.index_add(self, dim, index, source, alpha)

    def scatter_reduce(self, dim, index, src, reduce, include_self=True):
        return _scatter.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)

    # ---- rounding and trig (ops/rounding.py, ops/trig.py) ------------------------------------------
    def divide(self, other, *, rounding_mode=None):
        return _round.div(self, other, rounding_mode=rounding_mode)

    def floor_divide(self, other): return _round.floor_divide(self, other)    # noqa: E704
    def fmod(self, other): return _round.fmod(self, other)                    # noqa: E704
    def remainder(self, other): return _round.remainder(self, other)          # noqa: E704
    def trunc(self): return _round.trunc(self)                                # noqa: E704
    def fix(self): return _round.trunc(self)                                  # noqa: E704
    def floor(self): return _round.floor(self)                                # noqa: E704
    def ceil(self): return _round.ceil(self)                                  # noqa: E704
    def round(self, decimals=0): return _round.round(self, decimals=decimals)  # noqa: E704
    def frac(self): return _round.frac(self)                                  # noqa: E704
    def copysign(self, other): return _round.copysign(self, other)            # noqa: E704
    def tan(self): return _trig.tan(self)                                     # noqa: E704
    def asin(self): return _trig.asin(self)                                   # noqa: E704
    def acos(self): return _trig.acos(self)                                   # noqa: E704
    def atan(self): return _trig.atan(self)                                   # noqa: E704
    def atan2(self, other): return _trig.atan2(self, other)                   # noqa: E704
    def sinh(self): return _trig.sinh(self)                                   # noqa: E704
    def cosh(self): return _trig.cosh(self)                                   # noqa: E704
    def asinh(self): return _trig.asinh(self)                                 # noqa: E704
    def acosh(self): return _trig.acosh(self)                                 # noqa: E704
    def atanh(self): return _trig.atanh(self)                                 # noqa: E704
    def exp2(self): return _trig.exp2(self)                                   # noqa: E704
    def expm1(self): return _trig.expm1(self)                                 # noqa: E704
    def log2(self): return _trig.log2(self)                                   # noqa: E704
    def log10(self): return _trig.log10(self)                                 # noqa: E704
    def square(self): return _trig.square(self)                               # noqa: E704
    def reciprocal(self): return _trig.reciprocal(self)                       # noqa: E704
    arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2
    arcsinh, arccosh, arctanh = asinh, acosh, atanh

    # ---- random sampling (random.py) -------------------------------------------------------------
    def multinomial(self, num_samples, replacement=False, *, generator=None):
        from .random import multinomial
        return multinomial(self, num_samples, replacement, generator=generator)

    def bernoulli(self, p=None, *, generator=None):
        from .random import bernoulli
        return bernoulli(self, p, generator=generator)

    def bernoulli_(self, p=0.5, *, generator=None):
        from .random import bernoulli_
        return bernoulli_(self, p, generator=generator)

    # ---- function forms and composed ops (tinygrad_edu/ops/functions.py) --------------------
    def lerp(self, end, weight): return _functions.lerp(self, end, weight)               # noqa: E704
    def logaddexp(self, other): return _functions.logaddexp(self, other)                 # noqa: E704
    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):                  # noqa: E301
        return _functions.isclose(self, other, rtol, atol, equal_nan)
    def logical_and(self, other): return _functions.logical_and(self, other)             # noqa: E301,E704
    def logical_or(self, other): return _functions.logical_or(self, other)               # noqa: E704
    def logical_xor(self, other): return _functions.logical_xor(self, other)             # noqa: E704
    def logical_not(self): return _functions.logical_not(self)                           # noqa: E704
    def type(self, dtype=None): return _functions.type(self, dtype)                      # noqa: A003,E704


# The ops modules import ``Tensor`` themselves, so they can only be imported once tensor.py has built
# the class from this mixin; tensor.py calls ``_import_ops()`` at its end (until then these are None).
_ew = _red = _sh = _sort = _scan = _layout = _select = _scatter = _round = _trig = _functions = None


def _import_ops():
    global _ew, _red, _sh, _sort, _scan, _layout, _select, _scatter, _round, _trig, _functions
    from .ops import elementwise as _ew, reduce as _red, shape as _sh
    from .ops import sorting as _sort, scan as _scan
    from .ops import layout as _layout, selection as _select, scatter as _scatter
    from .ops import rounding as _round, trig as _trig, functions as _functions
