"""The Tensor: an n-dimensional array that remembers how it was computed.

A ``Tensor`` wraps an array (``.array``: NumPy on the CPU, CuPy on the GPU) and adds three things:

* ``requires_grad`` — whether gradients should flow to it;
* ``grad_fn`` — the graph node (a ``Function`` ctx) of the op that produced it, or None for a *leaf*
  (a tensor you created, such as a weight);
* ``grad`` — after ``backward()``, dL/d(this tensor) for leaves (and tensors that ``retain_grad()``).

Every method here is a thin door into ``tinygrad_edu/ops/``, where each op's forward math and
backward formula live side by side.  ``__slots__`` keeps a tensor small and attribute access fast:
per-op Python overhead is what decides small-batch speed.
"""
import numpy as np

from . import dtypes as _dt
from .backend import Device, array_module, device_of, to_device


class Tensor:
    __slots__ = ("array", "requires_grad", "grad", "grad_fn", "_version_box", "__weakref__")

    __array_priority__ = 1000  # numpy_array + tensor -> Tensor.__radd__, not an object array

    def __init__(self, data, dtype=None, requires_grad=False, device=None):
        """``Tensor(data)`` builds a tensor like ``tensor(data)``."""
        t = tensor(data, dtype=dtype, requires_grad=requires_grad, device=device)
        self.array, self.requires_grad, self.grad = t.array, t.requires_grad, None
        self.grad_fn, self._version_box = None, [0]

    @classmethod
    def _wrap(cls, data):
        """The fast internal constructor: wrap an array (no copy, no checks)."""
        t = object.__new__(cls)
        if type(data) is not np.ndarray and array_module(data) is np:
            data = np.asarray(data)  # NumPy returns scalars from 0-d math; keep arrays
        t.array = data
        t.requires_grad = False
        t.grad = None
        t.grad_fn = None
        t._version_box = [0]
        return t

    # ---- .data: PyTorch's "the same memory, outside the graph" -------------------------------
    @property
    def data(self):
        """PyTorch's ``.data``: a ``Tensor`` over the *same memory*, detached from the graph.

        ``p.data.add_(u)`` changes ``p`` itself, and autograd does not see it: unlike ``detach()``,
        the result has its own version counter, so an in-place change through ``.data`` is not
        reported by backward (which is what makes ``.data`` dangerous, and why PyTorch prefers
        ``detach()`` and ``torch.no_grad()``).  The raw NumPy/CuPy array the engine computes with
        is ``.array``.
        """
        return Tensor._wrap(self.array)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"Tensor.data: assigned value must be a Tensor, got {type(value).__name__}")
        self.array = value.array

    # ---- what a tensor is ---------------------------------------------------------------------
    @property
    def shape(self):
        return self.array.shape

    def size(self, dim=None):
        return self.array.shape if dim is None else self.array.shape[dim]

    @property
    def ndim(self):
        return self.array.ndim

    def dim(self):
        return self.array.ndim

    def numel(self):
        return self.array.size

    def __len__(self):
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def device(self):
        return device_of(self.array)

    @property
    def is_leaf(self):
        """True for tensors not produced by a recorded op (those keep ``.grad`` after backward)."""
        return self.grad_fn is None

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    @property
    def _version(self):
        """How many in-place changes this tensor's memory has seen (checked by backward)."""
        return self._version_box[0]

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

    # ---- bitwise ops (torch semantics: integer dtypes kept, logical on bool) ----------------
    def bitwise_and(self, other):
        return _ew.bitwise_and(self, other)

    def bitwise_or(self, other):
        return _ew.bitwise_or(self, other)

    def bitwise_xor(self, other):
        return _ew.bitwise_xor(self, other)

    def bitwise_not(self):
        return _ew.bitwise_not(self)

    def bitwise_left_shift(self, other):
        return _ew.bitwise_left_shift(self, other)

    def bitwise_right_shift(self, other):
        return _ew.bitwise_right_shift(self, other)

    def __rand__(self, other):
        return _ew.bitwise_and(other, self)

    def __ror__(self, other):
        return _ew.bitwise_or(other, self)

    def __rxor__(self, other):
        return _ew.bitwise_xor(other, self)

    def __lshift__(self, other):
        return _ew.bitwise_left_shift(self, other)

    def __rlshift__(self, other):
        return _ew.bitwise_left_shift(other, self)

    def __rshift__(self, other):
        return _ew.bitwise_right_shift(self, other)

    def __rrshift__(self, other):
        return _ew.bitwise_right_shift(other, self)

    # ---- rounding, integer-style division, trig (ops/rounding.py, ops/trig.py) ------------------
    def __rfloordiv__(self, other):
        return _round.floor_divide(other, self)

    def __rmod__(self, other):
        return _round.remainder(other, self)

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

    # ---- gradient hooks (autograd/hooks.py) -----------------------------------------------------
    def register_hook(self, hook):
        """Call ``hook(grad)`` when dL/d(this tensor) is complete; a non-None return replaces the
        gradient (it is what flows on and what accumulates in ``.grad``). Returns a handle whose
        ``remove()`` unregisters the hook."""
        from .autograd.hooks import register_tensor_hook
        return register_tensor_hook(self, hook)

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

    # ---- leaving the graph / converting -------------------------------------------------------
    def numpy(self):
        """The data as a NumPy array (shared memory on the CPU, like PyTorch)."""
        if self.requires_grad:
            raise RuntimeError("numpy(): can't call numpy() on a tensor that requires grad; use "
                               "tensor.detach().numpy()")
        if array_module(self.array) is not np:
            raise TypeError("numpy(): the tensor is on the GPU; use tensor.cpu().numpy()")
        return self.array

    def __array__(self, dtype=None, copy=None):
        data = to_device(self.array, "cpu")
        return data if dtype is None else data.astype(dtype, copy=False)

    def item(self):
        if self.array.size != 1:
            raise RuntimeError(f"item(): a tensor with {self.array.size} elements cannot be converted "
                               "to a Python number; only 1-element tensors can")
        return self.array.reshape(-1)[0].item()

    def tolist(self):
        return to_device(self.array, "cpu").tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.array.size != 1:
            raise RuntimeError(f"bool(): the truth value of a tensor with {self.array.size} elements "
                               "is ambiguous; use .any() or .all()")
        return bool(self.item())

    def __index__(self):
        if self.array.dtype.kind not in "iub" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    __hash__ = object.__hash__  # tensors are dict keys by identity (== is elementwise)

    def detach(self):
        """The same data, cut from the graph (shares memory and the version counter)."""
        t = Tensor._wrap(self.array)
        t._version_box = self._version_box
        return t

    def detach_(self):
        self.grad_fn = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.array.dtype.kind not in "fc":
            raise RuntimeError(f"requires_grad_: only tensors of floating point dtype can require "
                               f"gradients, got {self.array.dtype}")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("requires_grad_(False): you can only change requires_grad of leaf "
                               "tensors; use detach() for a non-leaf")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self):
        """Ask the engine to store ``.grad`` on this non-leaf tensor too."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on a tensor that has requires_grad=False")
        if self.grad_fn is not None:
            import weakref
            self.grad_fn._retain_ref = weakref.ref(self)
        return self

    @property
    def retains_grad(self):
        return self.grad_fn is not None and self.grad_fn._retain_ref is not None \
            and self.grad_fn._retain_ref() is self

    def to(self, *args, **kwargs):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(other_tensor)``; a dtype change
        is differentiable (the gradient is cast back)."""
        device = kwargs.pop("device", None)
        dtype = kwargs.pop("dtype", None)
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, (str, Device)) and str(a).split(":")[0] in ("cpu", "cuda"):
                device = a
            else:
                dtype = a
        out = self
        if dtype is not None and _dt.as_dtype(dtype) != self.array.dtype:
            out = _ew.Cast.apply(out, dtype=_dt.as_dtype(dtype))
        if device is not None and Device(device) != out.device:
            out = _ew.ToDevice.apply(out, device=Device(device))
        return out

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{device}")

    def float(self):
        return self.to(_dt.float32)

    def double(self):
        return self.to(_dt.float64)

    def half(self):
        return self.to(_dt.float16)

    def long(self):
        return self.to(_dt.int64)

    def int(self):
        return self.to(_dt.int32)

    def bool(self):
        return self.to(_dt.bool)

    def type_as(self, other):
        return self.to(other.dtype)

    def clone(self):
        return _ew.Clone.apply(self)

    # ---- autograd -------------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute d(self)/d(leaf) for every leaf of the graph and add it into ``leaf.grad``."""
        _engine.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph,
                         inputs=inputs)

    # ---- printing -------------------------------------------------------------------------------
    def __repr__(self):
        data = to_device(self.array, "cpu")
        body = np.array2string(data, separator=", ", precision=4, prefix="tensor(",
                               threshold=1000, edgeitems=3)
        extras = []
        if self.array.dtype not in (_dt.get_default_dtype(), _dt.int64, _dt.bool) or data.size == 0:
            extras.append(f"dtype={self.array.dtype}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ---- arithmetic (ops/elementwise.py) ------------------------------------------------------
    def __add__(self, other):
        return _ew.Add.apply(*_ew.operands(self, other))

    def __radd__(self, other):
        return _ew.Add.apply(*_ew.operands(other, self))

    def __sub__(self, other):
        _ew.check_sub(self, other)
        return _ew.Sub.apply(*_ew.operands(self, other))

    def __rsub__(self, other):
        _ew.check_sub(other, self)
        return _ew.Sub.apply(*_ew.operands(other, self))

    def __mul__(self, other):
        return _ew.Mul.apply(*_ew.operands(self, other))

    def __rmul__(self, other):
        return _ew.Mul.apply(*_ew.operands(other, self))

    def __truediv__(self, other):
        return _ew.Div.apply(*_ew.operands(self, other))

    def __rtruediv__(self, other):
        return _ew.Div.apply(*_ew.operands(other, self))

    def __pow__(self, other):
        if type(other) is int:   # torch: int8 ** 1000 raises (a base, 1000 ** int8, wraps)
            _dt.check_fits("pow", other, self.array.dtype)
        return _ew.Pow.apply(*_ew.operands(self, other))

    def __rpow__(self, other):
        return _ew.Pow.apply(*_ew.operands(other, self))

    def __neg__(self):
        return _ew.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ew.Abs.apply(self)

    def __matmul__(self, other):
        return _mm.matmul(self, other)

    def __rmatmul__(self, other):
        return _mm.matmul(other, self)

    def add(self, other, alpha=1):
        return self + (other * alpha if alpha != 1 else other)

    def sub(self, other, alpha=1):
        return self - (other * alpha if alpha != 1 else other)

    def mul(self, other):
        return self * other

    def div(self, other, *, rounding_mode=None):
        return _round.div(self, other, rounding_mode=rounding_mode)

    def pow(self, exponent):
        return self ** exponent

    def neg(self):
        return -self

    def matmul(self, other):
        return _mm.matmul(self, other)

    mm = bmm = matmul

    # comparisons and logic: no gradient, boolean results
    def __lt__(self, other):
        return _ew.compare("lt", self, other)

    def __le__(self, other):
        return _ew.compare("le", self, other)

    def __gt__(self, other):
        return _ew.compare("gt", self, other)

    def __ge__(self, other):
        return _ew.compare("ge", self, other)

    def __eq__(self, other):
        return _ew.compare("eq", self, other)

    def __ne__(self, other):
        return _ew.compare("ne", self, other)

    lt, le, gt, ge, eq, ne = __lt__, __le__, __gt__, __ge__, __eq__, __ne__

    def __and__(self, other):
        return _ew.compare("and", self, other)

    def __or__(self, other):
        return _ew.compare("or", self, other)

    def __xor__(self, other):
        return _ew.compare("xor", self, other)

    def __invert__(self):
        return _ew.logical_not(self)

    def __floordiv__(self, other):
        return _round.floor_divide(self, other)

    def __mod__(self, other):
        return _round.remainder(self, other)

    def equal(self, other):
        return bool(self.shape == other.shape and (self == other).all().item())

    def allclose(self, other, rtol=1e-5, atol=1e-8):
        xp = array_module(self.array)
        return bool(xp.allclose(self.array, _ew.as_array(other), rtol=rtol, atol=atol))

    def isnan(self):
        return Tensor._wrap(array_module(self.array).isnan(self.array))

    def isinf(self):
        return Tensor._wrap(array_module(self.array).isinf(self.array))

    def isfinite(self):
        return Tensor._wrap(array_module(self.array).isfinite(self.array))

    def any(self, dim=None, keepdim=False):
        return Tensor._wrap(self.array.any(axis=dim, keepdims=keepdim))

    def all(self, dim=None, keepdim=False):
        return Tensor._wrap(self.array.all(axis=dim, keepdims=keepdim))

    # ---- elementwise math (ops/elementwise.py) --------------------------------------------------
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

    # ---- in-place ops (ops/inplace.py) -----------------------------------------------------------
    def add_(self, other, alpha=1):
        return _inplace.apply_inplace(self, "add_", lambda a: a.add(other, alpha=alpha))

    def sub_(self, other, alpha=1):
        return _inplace.apply_inplace(self, "sub_", lambda a: a.sub(other, alpha=alpha))

    def mul_(self, other):
        return _inplace.apply_inplace(self, "mul_", lambda a: a * other)

    def div_(self, other):
        return _inplace.apply_inplace(self, "div_", lambda a: a / other)

    def pow_(self, exponent):
        return _inplace.apply_inplace(self, "pow_", lambda a: a ** exponent)

    def clamp_(self, min=None, max=None):
        return _inplace.apply_inplace(self, "clamp_", lambda a: a.clamp(min, max))

    def copy_(self, src):
        return _inplace.copy_(self, src)

    def zero_(self):
        return _inplace.fill_(self, 0)

    def fill_(self, value):
        _dt.check_fits("fill_", value, self.array.dtype)
        return _inplace.fill_(self, value)

    def masked_fill_(self, mask, value):
        return _inplace.apply_inplace(self, "masked_fill_", lambda a: a.masked_fill(mask, value))

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __setitem__(self, index, value):
        _dt.check_fits("setitem", value, self.array.dtype)
        _inplace.setitem(self, index, value)

    # ---- indexing (ops/indexing.py) ---------------------------------------------------------------
    def __getitem__(self, index):
        return _ix.getitem(self, index)

    def gather(self, dim, index):
        return _ix.gather(self, dim, index)

    def masked_fill(self, mask, value):
        return _ew.masked_fill(self, mask, value)

    def __iter__(self):
        if self.array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.array.shape[0]))


from .creation import tensor  # noqa: E402
from .autograd import engine as _engine  # noqa: E402
from .ops import elementwise as _ew, matmul as _mm, indexing as _ix, inplace as _inplace  # noqa: E402
from .ops import reduce as _red, shape as _sh  # noqa: E402
from .ops import sorting as _sort, scan as _scan  # noqa: E402
from .ops import layout as _layout, selection as _select  # noqa: E402
from .ops import scatter as _scatter  # noqa: E402
from .ops import rounding as _round, trig as _trig  # noqa: E402

# PyTorch's reductions also take NumPy's ``axis=`` for ``dim=`` (x.sum(axis=0)); resolved by one helper
for _name in ("sum", "mean", "std", "var", "max", "min", "all", "any", "prod", "amax", "amin",
              "argmax", "argmin"):
    setattr(Tensor, _name, _red.accepts_axis(getattr(Tensor, _name)))
del _name
from .ops import functions as _functions  # noqa: E402
