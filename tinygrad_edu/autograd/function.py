"""``Function``: the one pattern every differentiable op follows.

An op is a class with two static methods::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):               # x is a raw array (NumPy or CuPy): this is the math
            y = np.exp(x)
            ctx.save_for_backward(y)       # remember what backward will need
            return y

        @staticmethod
        def backward(ctx, grad):           # grad is a Tensor: dL/dy
            y, = ctx.saved_tensors         # saved arrays come back as Tensors
            return grad * y                # dL/dx = dL/dy * exp(x), written in Tensor ops

and is called as ``Exp.apply(x_tensor)``.

``apply`` does the bookkeeping so the ops don't have to:

* it unwraps Tensor arguments to arrays and calls ``forward``;
* when grad mode is on and some input requires grad, it makes the ``ctx`` the output's
  ``grad_fn``: a node of the computational graph that remembers its parents (the inputs'
  nodes, or the input leaves themselves) and what ``forward`` saved;
* arrays given to ``save_for_backward`` that *are* an input or the output are stored as that
  Tensor (with its version, so in-place changes are caught later); the output is stored as a
  weak link to avoid a reference cycle.

Because ``backward`` is written in Tensor ops, the engine can record it too: that is how
``create_graph=True`` gives second derivatives with no second code path.  A backward that must
use raw-array code (it cannot be differentiated again) is decorated with ``@once_differentiable``,
which makes a double backward raise instead of returning wrong numbers.

Non-tensor options (``dim``, ``keepdim`` …) are passed to ``apply`` as keyword arguments;
``backward`` returns one gradient per *positional* argument (None where there is none).
"""
from . import grad_mode


class Context:
    """Everything a node of the graph holds.  It is the ``ctx`` your ``forward``/``backward`` see."""

    # class-level defaults: most nodes never set these, so they cost nothing per op
    _to_save = ()
    _saved = None           # resolved saved values, or None after backward freed them
    _freed = False          # set once backward ran without retain_graph
    _retain_ref = None      # weak reference to a non-leaf tensor that called retain_grad()
    _once_differentiable = False

    def save_for_backward(self, *values):
        """Keep ``values`` (arrays or Tensors) for ``backward``; read them with ``saved_tensors``."""
        self._to_save = values

    def mark_non_differentiable(self, *outputs):
        """Accepted for PyTorch compatibility; our ops have one differentiable output."""

    @property
    def saved_tensors(self):
        """The saved values as Tensors, after checking none was modified in place since."""
        saved = self._saved
        if saved is None:
            if self._freed:
                raise RuntimeError(
                    f"{type(self).__name__}: trying to backward through the graph a second time (or "
                    "to read saved tensors after they were freed). Saved intermediate values are freed "
                    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need "
                    "to backward through the graph a second time.")
            return ()
        return tuple([item.unpack(self) for item in saved])

    @property
    def needs_input_grad(self):
        """One bool per positional input: does it want a gradient?"""
        return tuple([p is not None for p in getattr(self, "parents", ())])


class Function(Context):
    """Base class of every differentiable op; subclass it and write ``forward``/``backward``."""

    # True for ops whose forward may return a NumPy *view* of its first input (reshape, permute,
    # slicing…): the result then shares the input's version counter, so an in-place write through
    # either one is seen by values saved from the other.
    returns_view = False

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError("a Function subclass must define backward(ctx, grad_output)")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` on the arrays inside ``args`` and, if needed, record the graph node."""
        ctx = cls.__new__(cls)
        needs_grad = False
        arrays = []
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a.array)
                if a.requires_grad:
                    needs_grad = True
            else:
                arrays.append(a)
        needs_grad = needs_grad and grad_mode.state.enabled
        if needs_grad:
            # parents are wanted while forward runs too (ctx.needs_input_grad)
            ctx.parents = tuple([_edge(a) for a in args])
        try:
            out = cls.forward(ctx, *arrays, **kwargs)
        except (ValueError, TypeError, IndexError) as exc:
            raise_op_error(cls, args, exc)
        if isinstance(out, Tensor):  # a custom forward may return a Tensor; we want its array
            out = out.array
        result = Tensor._wrap(out)
        if cls.returns_view and out.base is not None and out.base is _owner(arrays[0]):
            result._version_box = args[0]._version_box  # one memory, one version counter
        if needs_grad:
            result.requires_grad = True
            result.grad_fn = ctx
            ctx.input_meta = tuple([(a.array.shape, a.array.dtype) if isinstance(a, Tensor) else None
                                    for a in args])
            if ctx._to_save:
                ctx._saved = tuple([_SavedValue(v, args, arrays, result, out) for v in ctx._to_save])
                ctx._to_save = ()
        return result

    # ---- how the node prints (used by repr and viz) ---------------------------------------
    def name(self):
        """torch's node name: ``Conv2dBackward``.  A Function named like its Module carries a
        ``Function`` suffix (``nn.conv.Conv2dFunction`` beside ``nn.Conv2d``); it is dropped here."""
        return f"{op_name(type(self))}Backward"

    def __repr__(self):
        return f"<{self.name()}>"


def once_differentiable(backward):
    """Decorate a ``backward`` that computes on raw arrays (write ``@staticmethod`` above it).
    It runs once; a double backward through it raises instead of silently returning wrong
    second derivatives (the bug Chainer's issue #4114 tells the story of)."""
    fn = backward.__func__ if isinstance(backward, staticmethod) else backward

    def wrapper(ctx, grad_output):
        if grad_mode.state.enabled:  # the engine enables grad mode only for create_graph=True
            raise RuntimeError(
                f"{type(ctx).__name__}: this op's backward is @once_differentiable (it computes on "
                "raw arrays), so create_graph=True / double backward through it is not supported.")
        return fn(ctx, grad_output)
    wrapper.__doc__, wrapper.__name__ = fn.__doc__, fn.__name__
    return wrapper


class OpError(Exception):
    """Mixin marking an error message that already names the op (it is re-raised untouched)."""


def op_name(cls):
    """A Function class's op name: its name without a trailing ``Function`` (``Conv2dFunction`` ->
    ``Conv2d``), as the node prints (``<Conv2dBackward>``) and as errors name it."""
    name = cls.__name__
    return name[:-len("Function")] if name.endswith("Function") and name != "Function" else name


def raise_op_error(cls, args, exc):
    """Re-raise an array library's error with the op's name, the input shapes and dtypes."""
    if isinstance(exc, OpError):
        raise exc
    op = op_name(cls).lower()
    described = ", ".join(f"{tuple(a.shape)} {a.dtype}" if isinstance(a, Tensor) else repr(a)
                          for a in args)
    text = str(exc)
    if "broadcast" in text:
        shapes = " and ".join(str(tuple(a.shape)) for a in args if isinstance(a, Tensor))
        message = f"{op}: shapes {shapes} " \
                  f"cannot be broadcast together (inputs: {described})"
    else:
        message = f"{op}: invalid inputs ({described}): {text}"
    kind = {ValueError: OpValueError, TypeError: OpTypeError, IndexError: OpIndexError}
    for base, error in kind.items():
        if isinstance(exc, base):
            raise error(message) from exc
    raise exc


class OpValueError(OpError, ValueError):
    pass


class OpTypeError(OpError, TypeError):
    pass


class OpIndexError(OpError, IndexError):
    pass


def _owner(array):
    """The array that owns the memory ``array`` looks at (NumPy collapses chains of views)."""
    base = getattr(array, "base", None)
    return array if base is None else base


def _edge(a):
    """What a node remembers of one input: its grad_fn (a non-leaf), the tensor itself (a leaf
    that requires grad), or None (a constant or a non-tensor option)."""
    if isinstance(a, Tensor) and a.requires_grad:
        return a.grad_fn if a.grad_fn is not None else a
    return None


class _SavedValue:
    """One value saved for backward.

    It keeps the *array* and the graph position (a leaf tensor, or the grad_fn of a non-leaf)
    rather than the Tensor object, plus the version the value had.  Reading it back checks the
    version, so a value modified in place since it was saved raises instead of giving wrong
    gradients, and rebuilds a Tensor that sits at the same place in the graph (so a recorded
    backward can be differentiated again).
    """

    __slots__ = ("array", "leaf", "grad_fn", "requires_grad", "version_box", "version", "is_output")

    def __init__(self, value, args, arrays, result, raw_out=None):
        self.is_output = False
        self.leaf = self.grad_fn = self.version_box = None
        self.requires_grad = False
        self.version = 0
        if type(value) is float or type(value) is int:   # a Python number: a constant (the usual case)
            self.array = value
            return
        tensor = value if isinstance(value, Tensor) else None
        if tensor is None:
            # ``raw_out``: what forward returned, before _wrap turned a NumPy 0-d scalar into an
            # array; saving that scalar is saving the output too
            if value is result.array or (value is raw_out and raw_out is not None):
                tensor, self.is_output = result, True
            else:
                for a, arr in zip(args, arrays):
                    if arr is value and isinstance(a, Tensor):
                        tensor = a
                        break
        if tensor is None:  # an intermediate array or a Python number: a constant for the graph
            self.array = value
            return
        self.array = tensor.array
        self.version_box = tensor._version_box
        self.version = self.version_box[0]
        self.requires_grad = tensor.requires_grad
        if tensor.requires_grad and tensor.grad_fn is None:
            self.leaf = tensor                 # a leaf is kept itself: its .grad lives there
        elif not self.is_output:               # the output's grad_fn is this node: no cycle kept
            self.grad_fn = tensor.grad_fn

    def unpack(self, node):
        box = self.version_box
        if box is not None and box[0] != self.version:
            what = "its output" if self.is_output else f"an input of shape {tuple(self.array.shape)}"
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: {what} saved by {type(node).__name__} is at version {box[0]}; "
                f"expected version {self.version} instead. Do the in-place change after backward, "
                f"or use the out-of-place op.")
        if self.leaf is not None:
            return self.leaf
        if isinstance(self.array, (int, float, bool, complex)):
            return self.array
        t = Tensor._wrap(self.array)
        if box is not None:
            t._version_box = box
        if self.is_output:
            t.requires_grad, t.grad_fn = True, node
        elif self.requires_grad:
            t.requires_grad, t.grad_fn = True, self.grad_fn
        return t


from ..tensor import Tensor  # noqa: E402  (tensor.py imports this module first)
