"""What every explanation method shares: inputs, targets, baselines, gradients, and leaving the model
exactly as it was found.

An *attribution* says, for one input ``x`` and one model output ``F(x)`` (a class score, a logit), how
much each input feature contributed to that output.  Every method of ``tinygrad_edu.explain`` is built
from the four steps below, with the engine's own autograd (``autograd.grad``), never module hooks on
the backward pass:

1. **inputs**: one Tensor, or a tuple of Tensors (an image and a mask, say), each with the batch first.
   They are copied into fresh leaves that require grad, so a user's tensors and graph are untouched.
2. **target**: which output to explain, per example.  ``F`` returns (N, ...); ``target`` picks one
   number per example (``select_targets``): ``None`` (F already gives one number per example), an int
   (a class), a tuple (an index into the dimensions after the batch), a list with one of those per
   example, or an integer Tensor of shape (N,).
3. **gradients**: ``∂F_target(x)/∂x`` for every example at once — the sum over the batch of the selected
   outputs has, with respect to example i's input, exactly example i's gradient (examples do not mix
   in a model in eval mode).
4. **state**: ``preserved_state`` restores every parameter's ``.grad`` and ``requires_grad`` and every
   module's train/eval mode afterwards, even when the method raises midway.

``approximation_parameters`` gives the points and weights of the path integrals used by the
integrated-gradients family (Riemann sums and Gauss–Legendre quadrature).
"""
import contextlib
import functools

import numpy as np

from ..autograd import enable_grad
from ..autograd.engine import grad as autograd_grad
from ..backend import array_module
from ..nn.module import Module
from ..tensor import Tensor

METHODS = ("riemann_right", "riemann_left", "riemann_middle", "riemann_trapezoid", "gausslegendre")


# ------------------------------------------------------------------------------------------------
# inputs and outputs
# ------------------------------------------------------------------------------------------------
def _array_of(value):
    return value.array if isinstance(value, Tensor) else value


def as_input_tuple(inputs, who):
    """``(tuple of arrays, was_a_tuple)``: one input or a tuple of them, each with the batch first."""
    is_tuple = isinstance(inputs, (tuple, list))
    items = tuple(inputs) if is_tuple else (inputs,)
    if not items:
        raise ValueError(f"{who}: inputs is empty; expected a Tensor or a tuple of Tensors")
    arrays = []
    for i, item in enumerate(items):
        array = _array_of(item)
        if not hasattr(array, "shape"):
            array = np.asarray(array)
        if array.ndim == 0:
            raise ValueError(f"{who}: input {i} is a scalar; inputs have the batch as their first dimension")
        arrays.append(array)
    batch = {a.shape[0] for a in arrays}
    if len(batch) > 1:
        raise ValueError(f"{who}: the inputs have different batch sizes {[a.shape[0] for a in arrays]}; "
                         "every input needs one row per example")
    return tuple(arrays), is_tuple


def as_output(arrays, is_tuple):
    """Arrays back as Tensors (no graph), a tuple when the inputs were a tuple."""
    tensors = tuple(Tensor._wrap(a) for a in arrays)
    return tensors if is_tuple else tensors[0]


def leaves(arrays):
    """Fresh leaf Tensors over ``arrays`` that require grad (floating inputs only)."""
    out = []
    for a in arrays:
        t = Tensor._wrap(a)
        if a.dtype.kind == "f":
            t.requires_grad = True
        out.append(t)
    return tuple(out)


def additional_args(args):
    """``additional_forward_args`` as a tuple (None → (), one value → (value,))."""
    if args is None:
        return ()
    return tuple(args) if isinstance(args, tuple) else (args,)


def repeat_args(args, n):
    """Each additional argument with a batch dimension tiled ``n`` times (for ``n`` stacked copies of
    the inputs); other values as they are."""
    out = []
    for a in args:
        array = _array_of(a)
        if hasattr(array, "ndim") and array.ndim > 0:
            xp = array_module(array)
            reps = (n,) + (1,) * (array.ndim - 1)
            out.append(Tensor._wrap(xp.tile(array, reps)) if isinstance(a, Tensor) else xp.tile(array, reps))
        else:
            out.append(a)
    return tuple(out)


# ------------------------------------------------------------------------------------------------
# targets
# ------------------------------------------------------------------------------------------------
def select_targets(output, target, who="explain"):
    """One output per example, shape (N,): ``output`` (N, ...) indexed by ``target`` (see the module
    docstring for the forms ``target`` takes)."""
    n = output.shape[0] if output.ndim else 1
    if target is None:
        if output.ndim == 0 or (output.ndim == 1) or int(np.prod(output.shape[1:])) == 1:
            return output.reshape(-1) if output.ndim else output.reshape(1)
        raise ValueError(f"{who}: the model's output has shape {tuple(output.shape)}; pass target= (a class "
                         "index, or one per example) to say which output to explain")
    if isinstance(target, Tensor):
        target = target.array
    if hasattr(target, "ndim") and not isinstance(target, (int, np.integer)):
        if target.ndim == 0 or target.size == 1:
            target = int(target.reshape(-1)[0])
        else:
            if target.shape != (n,) or target.dtype.kind not in "iu":
                raise ValueError(f"{who}: a target Tensor must hold one integer class per example, shape "
                                 f"({n},); got shape {tuple(target.shape)} and dtype {target.dtype}")
            target = [int(t) for t in target.tolist()]
    if isinstance(target, (int, np.integer)):
        _check_index(output, (int(target),), who)
        return output[:, int(target)]
    if isinstance(target, tuple):
        _check_index(output, target, who)
        return output[(slice(None),) + tuple(int(t) for t in target)]
    if isinstance(target, list):
        if len(target) != n:
            raise ValueError(f"{who}: target is a list of {len(target)} entries for {n} examples; expected "
                             "one per example")
        indices = []
        for t in target:
            index = tuple(t) if isinstance(t, (tuple, list)) else (int(t),)
            _check_index(output, index, who)
            indices.append(tuple(int(k) for k in index))
        if len({len(index) for index in indices}) > 1:
            raise ValueError(f"{who}: the entries of the target list index different numbers of dimensions")
        # one gather: output[i, target_i] for every example i (rows, then one index array per dimension)
        columns = [np.arange(n)] + [np.asarray(k) for k in zip(*indices)]
        return output[tuple(columns)]
    raise ValueError(f"{who}: target must be None, an int, a tuple, a list or an integer Tensor; got "
                     f"{type(target).__name__}")


def _check_index(output, index, who):
    dims = tuple(output.shape[1:])
    if len(index) != len(dims) or any(not -d <= int(k) < d for k, d in zip(index, dims)):
        raise ValueError(f"{who}: target {index if len(index) > 1 else index[0]} does not index the model's "
                         f"output of shape {tuple(output.shape)} (after the batch dimension: {dims})")


def repeat_target(target, n):
    """``target`` for ``n`` stacked copies of the batch."""
    if isinstance(target, Tensor):
        target = target.array
    if isinstance(target, list):
        return target * n
    if hasattr(target, "ndim") and target.ndim >= 1 and target.size > 1:
        return array_module(target).tile(target, n)
    return target


# ------------------------------------------------------------------------------------------------
# the forward pass and its gradient
# ------------------------------------------------------------------------------------------------
def run_forward(forward_func, inputs, target=None, args=(), who="explain"):
    """``F_target(inputs)``, shape (N,), with its graph (``inputs`` are Tensors)."""
    output = forward_func(*inputs, *args)
    if isinstance(output, (tuple, list)):
        output = output[0]
    if not isinstance(output, Tensor):
        if hasattr(output, "logits"):                         # a BERT model's output object
            output = output.logits
        else:
            output = Tensor._wrap(np.asarray(output) if not hasattr(output, "shape") else output)
    return select_targets(output, target, who)


def gradients(forward_func, arrays, target=None, args=(), who="explain"):
    """``(∂F_target/∂x for each input, F_target(x))``: gradients as arrays shaped like the inputs and
    the selected outputs (N,) as an array."""
    with enable_grad():
        xs = leaves(arrays)
        selected = run_forward(forward_func, xs, target, args, who)
        wanted = [x for x in xs if x.requires_grad]
        grads = autograd_grad(selected.sum(), wanted, allow_unused=True)
    grads = iter(grads)
    out = []
    for x in xs:
        g = next(grads) if x.requires_grad else None
        out.append(array_module(x.array).zeros_like(x.array) if g is None else g.array)
    return tuple(out), selected.array


def forward_values(forward_func, arrays, target=None, args=(), who="explain"):
    """``F_target(x)`` as an array (N,), without a graph."""
    from ..autograd import no_grad
    with no_grad():
        return run_forward(forward_func, tuple(Tensor._wrap(a) for a in arrays), target, args, who).array


# ------------------------------------------------------------------------------------------------
# baselines and path integrals
# ------------------------------------------------------------------------------------------------
def baselines_like(baselines, arrays, who):
    """``baselines`` as one array per input, broadcast to the input's shape: None → zeros; a number;
    an array of one example's shape; or a whole batch of the input's shape."""
    if baselines is None:
        return tuple(array_module(a).zeros_like(a) for a in arrays)
    items = tuple(baselines) if isinstance(baselines, (tuple, list)) else (baselines,)
    if len(items) != len(arrays):
        raise ValueError(f"{who}: {len(items)} baselines for {len(arrays)} inputs; expected one per input")
    out = []
    for i, (b, a) in enumerate(zip(items, arrays)):
        xp = array_module(a)
        b = _array_of(b)
        b = xp.asarray(b, dtype=a.dtype)
        if b.shape not in ((), a.shape[1:], (1,) + a.shape[1:], a.shape):
            raise ValueError(f"{who}: baseline {i} has shape {tuple(b.shape)}; expected a number, one "
                             f"example's shape {tuple(a.shape[1:])} or the input's shape {tuple(a.shape)}")
        out.append(xp.broadcast_to(b, a.shape).copy())
    return tuple(out)


def approximation_parameters(method, n_steps, who="IntegratedGradients"):
    """``(weights, alphas)``: ∫₀¹ g(α) dα ≈ Σₖ weights[k] · g(alphas[k]).

    * ``riemann_left / right / middle``: n equal steps of width 1/n, g taken at the left end, right end
      or middle of each step;
    * ``riemann_trapezoid``: n points 0, 1/(n-1), ..., 1, each step 1/(n-1) wide, the two ends weighted
      half (Captum weights them 1/n, which sums to (n-1)/n instead of 1: its trapezoid attributions are
      ours times (n-1)/n and miss completeness even on a linear model);
    * ``gausslegendre``: the n Legendre nodes mapped from [-1, 1] to [0, 1] — exact for polynomials of
      degree 2n-1, so far fewer steps reach the same accuracy.

    Plain Python floats, so a float32 input stays float32 (a NumPy float64 scalar would promote it)."""
    if not isinstance(n_steps, (int, np.integer)) or isinstance(n_steps, bool) or n_steps < 1:
        raise ValueError(f"{who}: n_steps must be a positive int, got {n_steps!r}")
    n = int(n_steps)
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return [float(w) for w in 0.5 * weights], [float(a) for a in 0.5 * (nodes + 1)]
    if method == "riemann_trapezoid":
        if n < 2:
            raise ValueError(f"{who}: riemann_trapezoid needs n_steps >= 2, got {n}")
        weights = [1.0 / (n - 1)] * n
        weights[0] = weights[-1] = 0.5 / (n - 1)
        return weights, [float(a) for a in np.linspace(0.0, 1.0, n)]
    if method in ("riemann_left", "riemann_right", "riemann_middle"):
        offset = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}[method]
        return [1.0 / n] * n, [(k + offset) / n for k in range(n)]
    raise ValueError(f"{who}: method must be one of {', '.join(METHODS)}; got {method!r}")


def step_chunks(n_steps, batch_size, internal_batch_size, who):
    """The path points evaluated together, as ranges of step indices.

    ``internal_batch_size`` counts *rows* given to the model at once, as in Captum: a chunk of k steps
    for a batch of N examples is k·N rows, so k = internal_batch_size // N — but always at least one
    whole step (a chunk never splits a step's N examples).  ``None``: every step at once."""
    if internal_batch_size is None:
        return [range(n_steps)]
    if (isinstance(internal_batch_size, bool) or not isinstance(internal_batch_size, (int, np.integer))
            or internal_batch_size < 1):
        raise ValueError(f"{who}: internal_batch_size must be None or a positive int (rows per forward "
                         f"pass), got {internal_batch_size!r}")
    per = max(1, int(internal_batch_size) // batch_size)
    return [range(s, min(s + per, n_steps)) for s in range(0, n_steps, per)]


def path_points(starts, diffs, alphas, steps):
    """The points start + α_s · diff of the straight path for the steps ``steps``, stacked step-major
    (row s·N + n is example n at step s), one array per input."""
    return tuple(array_module(b).concatenate([b + alphas[s] * d for s in steps], axis=0)
                 for b, d in zip(starts, diffs))


# ------------------------------------------------------------------------------------------------
# leave the model as it was
# ------------------------------------------------------------------------------------------------
def modules_of(forward_func):
    """The Modules a forward function uses: itself, the object of a bound method, a functools.partial's
    function and arguments, and Modules held in a closure."""
    found, seen = [], set()

    def visit(obj, depth=0):
        if depth > 3 or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, Module):
            found.append(obj)
            return
        if isinstance(obj, functools.partial):
            visit(obj.func, depth + 1)
            for a in tuple(obj.args) + tuple(obj.keywords.values()):
                visit(a, depth + 1)
            return
        owner = getattr(obj, "__self__", None)
        if owner is not None:
            visit(owner, depth + 1)
        for cell in getattr(obj, "__closure__", None) or ():
            try:
                visit(cell.cell_contents, depth + 1)
            except ValueError:                                  # an empty cell
                pass

    visit(forward_func)
    return found


@contextlib.contextmanager
def preserved_state(*objects):
    """Restore, on leaving (also after an exception), every parameter's ``.grad`` (its values) and
    ``requires_grad`` flag and every module's ``training`` flag, for the Modules ``objects`` use."""
    modules = []
    for obj in objects:
        modules.extend(modules_of(obj))
    params, mode = {}, {}
    for root in modules:
        for m in root.modules():
            mode.setdefault(id(m), (m, m.training))
        for p in root.parameters():
            if id(p) not in params:
                g = p.grad
                params[id(p)] = (p, p.requires_grad, None if g is None else (g, g.array.copy()))
    try:
        yield
    finally:
        for p, requires_grad, saved in params.values():
            p.requires_grad = requires_grad
            if saved is None:
                p.grad = None
            else:
                g, values = saved
                g.array[...] = values
                p.grad = g
        for m, training in mode.values():
            m.training = training


class Attribution:
    """Base of every method: ``Method(forward_func).attribute(inputs, ...)``.

    ``forward_func`` is a Module or any function of the inputs (and of ``additional_forward_args``)
    that returns the model's output, batch first."""

    def __init__(self, forward_func):
        if not callable(forward_func):
            raise TypeError(f"{type(self).__name__}: forward_func must be a Module or a function, got "
                            f"{type(forward_func).__name__}")
        self.forward_func = forward_func

    @property
    def name(self):
        return type(self).__name__

    def has_convergence_delta(self):
        return False

    def compute_convergence_delta(self, attributions, start_point, end_point, target=None,
                                  additional_forward_args=None):
        """Completeness error per example: Σ attributions − (F(end) − F(start)).  Zero for an exact
        path method (the fundamental theorem of calculus along the path)."""
        attrs = tuple(_array_of(a) for a in (attributions if isinstance(attributions, tuple)
                                             else (attributions,)))
        ends, _ = as_input_tuple(end_point, self.name)
        starts = baselines_like(start_point, ends, self.name)
        args = additional_args(additional_forward_args)
        with preserved_state(self.forward_func):
            f_end = forward_values(self.forward_func, ends, target, args, self.name)
            f_start = forward_values(self.forward_func, starts, target, args, self.name)
        total = sum(a.reshape(a.shape[0], -1).sum(axis=1) for a in attrs)
        return Tensor._wrap(total - (f_end - f_start))
