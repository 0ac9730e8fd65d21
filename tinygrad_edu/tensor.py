"""The Tensor: an n-dimensional array that remembers how it was computed.

A ``Tensor`` wraps an array (``.array``: NumPy on the CPU, CuPy on the GPU) and adds three things:

* ``requires_grad`` — whether gradients should flow to it;
* ``grad_fn`` — the graph node (a ``Function`` ctx) of the op that produced it, or None for a *leaf*
  (a tensor you created, such as a weight);
* ``grad`` — after ``backward()``, dL/d(this tensor) for leaves (and tensors that ``retain_grad()``).

Every method is a thin door into ``tinygrad_edu/ops/``, where each op's forward math and
backward formula live side by side.  ``__slots__`` keeps a tensor small and attribute access fast:
per-op Python overhead is what decides small-batch speed.

The class is split by topic so that each file reads on its own; ``Tensor`` derives from three
mixins, and everything is still a method of ``Tensor``:

* this file — construction, the storage (``.array``, ``.data``), shape/dtype/device, conversions
  (``numpy()``, ``item()``, ``to()``, ``float()``, ...), autograd (``requires_grad``, ``grad``,
  ``grad_fn``, ``backward``, ``detach``, ``register_hook``, ``register_post_accumulate_grad_hook``)
  and ``__repr__``;
* tensor_arithmetic.py — the operators ``+ - * / ** @``, comparisons, ``& | ^ ~`` and bitwise ops;
* tensor_methods.py — method forms of the ops: elementwise math, reductions, shape, sorting,
  layout/selection, rounding/trig, random sampling;
* tensor_indexing.py — ``x[i]``, ``x[i] = v`` and the in-place ops (``add_``, ``+=``, ``fill_``).
"""
import numpy as np

from . import dtypes as _dt
from .backend import Device, array_module, device_of, to_device
from .tensor_arithmetic import TensorArithmetic
from .tensor_indexing import TensorIndexing
from .tensor_methods import TensorMethods


class Tensor(TensorArithmetic, TensorMethods, TensorIndexing):
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

    # ---- gradient hooks (autograd/hooks.py) -----------------------------------------------------
    def register_hook(self, hook):
        """Call ``hook(grad)`` when dL/d(this tensor) is complete; a non-None return replaces the
        gradient (it is what flows on and what accumulates in ``.grad``). Returns a handle whose
        ``remove()`` unregisters the hook."""
        from .autograd.hooks import register_tensor_hook
        return register_tensor_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """On a leaf: call ``hook(self)`` after a backward pass has accumulated this tensor's
        gradient into ``.grad`` (once per backward).  Returns a handle with ``remove()``."""
        from .autograd.hooks import register_post_accumulate_grad_hook
        return register_post_accumulate_grad_hook(self, hook)

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


# The ops modules import Tensor, so they come after the class, in this order (the whole engine).
from .creation import tensor  # noqa: E402
from .autograd import engine as _engine  # noqa: E402
from .ops import elementwise as _ew, matmul as _mm, indexing as _ix, inplace as _inplace  # noqa: E402,F401
from .ops import reduce as _red, shape as _sh  # noqa: E402,F401
from .ops import sorting as _sort, scan as _scan  # noqa: E402,F401
from .ops import layout as _layout, selection as _select  # noqa: E402,F401
from .ops import scatter as _scatter  # noqa: E402,F401
from .ops import rounding as _round, trig as _trig  # noqa: E402,F401

# PyTorch's reductions also take NumPy's ``axis=`` for ``dim=`` (x.sum(axis=0)); resolved by one helper
for _name in ("sum", "mean", "std", "var", "max", "min", "all", "any", "prod", "amax", "amin",
              "argmax", "argmin"):
    setattr(Tensor, _name, _red.accepts_axis(getattr(Tensor, _name)))
del _name
from .ops import functions as _functions  # noqa: E402,F401

# now the mixins can import the ops they forward to
from . import tensor_arithmetic as _arith, tensor_methods as _methods  # noqa: E402
from . import tensor_indexing as _indexing  # noqa: E402
for _mixin in (_arith, _methods, _indexing):
    _mixin._import_ops()
del _mixin
