"""The backward engine: reverse-mode automatic differentiation over the recorded graph.

Every op recorded a node (its ``Function`` ctx) whose ``parents`` are the nodes of its inputs,
or the input leaves themselves.  To differentiate a scalar loss L:

1. **Order the graph** (``topological_order``).  Count, for every node reachable from the roots,
   how many consumers it has; then peel nodes whose consumers are all done (Kahn's algorithm).
   The result lists every node after all the nodes that use its output.  It is an explicit loop,
   not recursion, so a chain of 100,000 ops is fine.
2. **Walk that order once.**  Each node receives dL/d(output), the *sum* over every consumer
   (a diamond graph is why gradients accumulate), calls its ``backward`` to get dL/d(input) for
   each input, and adds those into its parents' totals.  Leaves add theirs into ``.grad``.
3. **Unbroadcast in one place.**  When an input was broadcast in the forward pass, its gradient
   has the broadcast shape; the engine sums it back to the input's shape (``sum_to``) for every
   op, so no op repeats that logic.
4. **Free as it goes.**  After a node's backward runs, what it saved is dropped (unless
   ``retain_graph``), so memory is released during the pass; a second backward through a freed
   node raises an error that says to use ``retain_graph=True``.

5. **Hooks** (``autograd/hooks.py``).  A node whose output tensor has hooks (``register_hook``)
   passes its complete gradient through them before anything else uses it; a leaf with hooks has
   its gradient summed over all its consumers first, then hooked, then accumulated into ``.grad``;
   then its post-accumulate-grad hooks (``register_post_accumulate_grad_hook``) run with the leaf,
   whose ``.grad`` now holds this pass's total (data-parallel training starts its allreduce there).

6. **Slices add in place.**  The backward of a basic-index read ``y = x[t]`` is "zeros shaped like x,
   with g at t".  Made dense for every read, a loop over ``x[0], x[1], …, x[T-1]`` (an RNN over its
   time steps) would build T full-size gradients and add them: O(T²).  Instead that backward hands
   over a ``SliceGradient`` and the engine adds g into the one buffer it accumulates for x, in place:
   O(T) in all.  (With ``create_graph`` it stays an ordinary recorded op.)

With ``create_graph=True`` the ``backward`` methods run in grad mode, so they are recorded like any
forward computation and the gradients can be differentiated again.
"""
from ..backend import array_module
from . import grad_mode
from .function import Function


class SliceGradient:
    """dL/dx for ``y = x[index]`` with a basic index, left sparse: zeros of ``shape`` with ``values``
    (= dL/dy) at ``index``.  Only the engine sees it (see step 6 of the module docstring)."""

    __slots__ = ("shape", "index", "values")

    def __init__(self, shape, index, values):
        self.shape, self.index, self.values = shape, index, values

    def dense(self):
        out = array_module(self.values).zeros(self.shape, dtype=self.values.dtype)
        out[self.index] = self.values
        return out


def topological_order(root_nodes):
    """Nodes reachable from ``root_nodes``, each listed after every node that consumes it."""
    consumers = {}
    stack = list(root_nodes)
    seen = set(stack)
    while stack:
        node = stack.pop()
        for parent in node.parents:
            if isinstance(parent, Function):
                consumers[parent] = consumers.get(parent, 0) + 1
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
    ready = [n for n in dict.fromkeys(root_nodes) if consumers.get(n, 0) == 0]
    order = []
    while ready:
        node = ready.pop()
        order.append(node)
        for parent in node.parents:
            if isinstance(parent, Function):
                consumers[parent] -= 1
                if consumers[parent] == 0:
                    ready.append(parent)
    return order


def _nodes_leading_to(order, input_leaves, input_nodes):
    """The nodes whose backward can reach one of the requested inputs (for ``grad``)."""
    needed = set()
    for node in reversed(order):  # parents come before their consumers in reversed order
        if node in input_nodes:
            needed.add(node)
            continue
        for parent in node.parents:
            if parent is None:
                continue
            if (isinstance(parent, Function) and parent in needed) or id(parent) in input_leaves:
                needed.add(node)
                break
    return needed


def _gradient_for_input(grad, meta, node):
    """Make a backward's result a Tensor of the input's shape and dtype (the one unbroadcast)."""
    if not isinstance(grad, Tensor):
        grad = Tensor._wrap(grad)
    shape, dtype = meta
    if grad.array.shape != shape:
        grad = sum_to(grad, shape, op_name=type(node).__name__)
    if grad.array.dtype != dtype:
        grad = grad.to(dtype)
    return grad


def run_backward(roots, root_grads, retain_graph, create_graph, inputs=None):
    """Propagate ``root_grads`` from ``roots`` through the graph.

    Without ``inputs``: gradients accumulate into the ``.grad`` of every leaf (``Tensor.backward``).
    With ``inputs`` (a list of tensors): nothing is written to ``.grad``; the gradient of each input
    is returned in a list, None where no gradient reached it (``autograd.grad``).
    """
    capture = inputs is not None
    grads = {}                 # node -> accumulated dL/d(node output), a Tensor
    owned = set()              # ids of arrays handed to a .grad this pass (never hand one out twice)
    captured = {}              # id(input) -> gradient, for autograd.grad
    engine_buffers = {}        # node -> the array of grads[node], when the engine allocated it itself
    leaf_ids = {id(t) for t in inputs if t.grad_fn is None} if capture else ()
    input_nodes = {t.grad_fn: t for t in inputs if t.grad_fn is not None} if capture else {}

    def deliver_to_leaf(leaf, g):
        post_hooks = None
        if hooked_leaves and id(leaf) in hooked_leaves:
            g = gradient_after_leaf_hooks(leaf, g)
            if g is None:
                return  # more gradient for this leaf is still on its way
            post_hooks = None if capture else post_accumulate_grad_hooks(leaf)
        if capture:
            if id(leaf) in leaf_ids:
                prev = captured.get(id(leaf))
                captured[id(leaf)] = g if prev is None else prev + g
        else:
            _accumulate_into_grad(leaf, g, create_graph, owned)
            if post_hooks is not None:  # .grad is complete for this pass: tell the hooks
                run_post_accumulate_grad_hooks(post_hooks, leaf)

    # Leaves with hooks (Tensor.register_hook) get their gradient summed over every consumer first,
    # as PyTorch does: count the edges into each such leaf, and run its hooks when the last one is in.
    # Leaves with post-accumulate-grad hooks use the same count: once the last edge is in and .grad
    # holds this pass's total, ``hook(leaf)`` runs (once per backward; never for autograd.grad).
    hooked_leaves = {}  # id(leaf) -> [edges still to come, gradient summed so far]

    def gradient_after_leaf_hooks(leaf, g):
        entry = hooked_leaves[id(leaf)]
        entry[0] -= 1
        if g is not None:
            entry[1] = g if entry[1] is None else entry[1] + g
        if entry[0] > 0 or entry[1] is None:
            return None
        total, entry[1] = entry[1], None
        hooks = leaf_hooks(leaf)
        if hooks is None:   # only post-accumulate-grad hooks on this leaf
            return total
        hooked = run_tensor_hooks(hooks, total)
        owned.add(id(hooked.array))  # the hooks saw (and may keep) this array: .grad gets a copy
        return hooked

    root_nodes = [root.grad_fn for root in roots if root.grad_fn is not None]
    order = topological_order(root_nodes)
    if hooks_module._leaf_hooks or (hooks_module._post_accumulate_hooks and not capture):
        for leaf in [r for r in roots if r.grad_fn is None] + [p for n in order for p in n.parents]:
            if leaf is None or isinstance(leaf, Function) or (capture and id(leaf) not in leaf_ids):
                continue  # (autograd.grad runs the hooks of the requested leaves only)
            if leaf_hooks(leaf) is not None or \
                    (not capture and post_accumulate_grad_hooks(leaf) is not None):
                hooked_leaves.setdefault(id(leaf), [0, None])[0] += 1

    def skip_leaf_edges(node):
        """A node that will not run still counts as 'done' for the hooked leaves it feeds."""
        if hooked_leaves:
            for parent in node.parents:
                if parent is not None and not isinstance(parent, Function) and id(parent) in hooked_leaves:
                    deliver_to_leaf(parent, None)

    for root, g in zip(roots, root_grads):
        owned.add(id(g.array))  # a seed may be handed to several leaves: copy before sharing it
        if root.grad_fn is None:
            deliver_to_leaf(root, g)
        else:
            node = root.grad_fn
            grads[node] = grads[node] + g if node in grads else g

    needed = _nodes_leading_to(order, leaf_ids, input_nodes) if capture else None
    previous_mode = grad_mode.state.enabled
    grad_mode.state.enabled = create_graph
    try:
        for node in order:
            g = grads.pop(node, None)
            if engine_buffers:   # from here on g may be kept by the backward: never add into it
                engine_buffers.pop(node, None)
            if g is None or (needed is not None and node not in needed):
                skip_leaf_edges(node)
                continue
            if node._freed:
                raise RuntimeError(
                    f"{node.name()}: trying to backward through the graph a second time (its saved "
                    "values were freed by the first backward). Specify retain_graph=True on the first "
                    "backward() or autograd.grad() call if you need to backward through it again.")
            hooks = node.__dict__.get("_tensor_hooks")   # (node_hooks, inlined: this loop is hot)
            if hooks:
                g = run_tensor_hooks(hooks, g)  # the hooked gradient is what is retained and flows on
            if capture:
                if node in input_nodes:
                    captured[id(input_nodes[node])] = g
            elif node._retain_ref is not None:
                kept = node._retain_ref()
                if kept is not None:
                    _accumulate_into_grad(kept, g, create_graph, owned)
            results = type(node).backward(node, g)
            if not isinstance(results, tuple):
                results = (results,)
            parents = node.parents
            if len(results) != len(parents):
                raise RuntimeError(
                    f"{type(node).__name__}.backward returned {len(results)} gradients, but forward "
                    f"took {len(parents)} positional inputs (return None for inputs without one)")
            if not retain_graph:
                node._saved = None
                node._freed = True
            for parent, grad_in, meta in zip(parents, results, node.input_meta):
                if parent is None:
                    continue
                # the usual case is a Tensor of the input's shape and dtype: checked first, in one go
                if type(grad_in) is not Tensor or grad_in.array.shape != meta[0] or \
                        grad_in.array.dtype != meta[1]:
                    if grad_in is None:
                        if hooked_leaves and not isinstance(parent, Function) and \
                                id(parent) in hooked_leaves:
                            deliver_to_leaf(parent, None)
                        continue
                    if isinstance(grad_in, SliceGradient):
                        if isinstance(parent, Function) and not create_graph:
                            _add_slice_in_place(grads, engine_buffers, parent, grad_in)
                            continue
                        grad_in = Tensor._wrap(grad_in.dense())
                    grad_in = _gradient_for_input(grad_in, meta, node)
                if isinstance(parent, Function):
                    if engine_buffers and parent in engine_buffers:        # our own buffer: add in place
                        engine_buffers[parent] += grad_in.array
                    else:
                        grads[parent] = grads[parent] + grad_in if parent in grads else grad_in
                else:
                    deliver_to_leaf(parent, grad_in)
    finally:
        grad_mode.state.enabled = previous_mode
    if capture:
        return [captured.get(id(t)) for t in inputs]
    return None


def _add_slice_in_place(grads, engine_buffers, node, part):
    """grads[node] += part (a SliceGradient), touching only the slice: into a buffer the engine owns,
    made on the first part (zeros) or copied once from a gradient someone else may hold."""
    buffer = engine_buffers.get(node)
    if buffer is None:
        if node in grads:
            buffer = grads[node].array.copy()
        else:
            buffer = array_module(part.values).zeros(part.shape, dtype=part.values.dtype)
        engine_buffers[node] = buffer
        grads[node] = Tensor._wrap(buffer)
    buffer[part.index] += part.values


def _accumulate_into_grad(tensor, g, create_graph, owned):
    """``tensor.grad += g`` with PyTorch's rules: the first gradient is stored (copied if its array
    could be shared with anything else), later ones are added; with ``create_graph`` the sum is
    recorded so the gradient itself stays differentiable."""
    if create_graph:
        tensor.grad = g if tensor.grad is None else tensor.grad + g
        return
    data = g.array
    if tensor.grad is None:
        if data.base is not None or not getattr(data.flags, "writeable", True) or id(data) in owned:
            data = data.copy()
        owned.add(id(data))
        tensor.grad = Tensor._wrap(data)
    else:
        tensor.grad = Tensor._wrap(tensor.grad.array + data)


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------
def _seed_gradients(outputs, grad_outputs, who):
    seeds = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Tensor):
            raise TypeError(f"{who}: outputs must be Tensors, got {type(out).__name__}")
        if not out.requires_grad:
            raise RuntimeError(f"{who}: element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
        if g is None:
            if out.array.size != 1:
                raise RuntimeError(f"{who}: grad can be implicitly created only for scalar outputs; "
                                   f"output {i} has shape {tuple(out.shape)}: pass gradient= (a "
                                   "tensor of that shape)")
            g = Tensor._wrap(array_module(out.array).ones_like(out.array))  # dL/dL = 1
        else:
            if not isinstance(g, Tensor):
                g = tensor(g, dtype=out.dtype, device=out.device)
            if g.shape != out.shape:
                raise RuntimeError(f"{who}: gradient for output {i} has shape {tuple(g.shape)}, "
                                   f"expected the output's shape {tuple(out.shape)}")
        seeds.append(g)
    return seeds


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into every leaf's ``.grad`` (``torch.autograd.backward``)."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * len(tensors) if grad_tensors is None else [grad_tensors]
    if retain_graph is None:
        retain_graph = create_graph
    seeds = _seed_gradients(tensors, list(grad_tensors), "backward")
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        results = run_backward(tensors, seeds, retain_graph, create_graph, inputs=inputs)
        for t, g in zip(inputs, results):
            if g is not None:
                _accumulate_into_grad(t, g, create_graph, set())
                post_hooks = post_accumulate_grad_hooks(t) if t.grad_fn is None else None
                if post_hooks is not None:
                    run_post_accumulate_grad_hooks(post_hooks, t)
        return
    run_backward(tensors, seeds, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Return d(outputs)/d(inputs) without touching any ``.grad`` (``torch.autograd.grad``).

    ``grad_outputs`` weights each output (a vector-Jacobian product); with ``create_graph=True``
    the result is itself differentiable, so ``grad(grad(y, x, create_graph=True)[0].sum(), x)``
    is a second derivative.
    """
    single_out = isinstance(outputs, Tensor)
    outputs = [outputs] if single_out else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad; only tensors with "
                               "requires_grad=True can be differentiated against")
    if retain_graph is None:
        retain_graph = create_graph
    seeds = _seed_gradients(outputs, list(grad_outputs), "grad")
    results = run_backward(outputs, seeds, retain_graph, create_graph, inputs=inputs)
    for i, (t, g) in enumerate(zip(inputs, results)):
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {tuple(t.shape)}) was not used in the graph "
                               "of the outputs; pass allow_unused=True to get None for it")
    return tuple(results)


from ..tensor import Tensor, tensor  # noqa: E402
from . import hooks as hooks_module  # noqa: E402
from .hooks import (leaf_hooks, post_accumulate_grad_hooks,  # noqa: E402
                    run_post_accumulate_grad_hooks, run_tensor_hooks)
from ..ops.shape import sum_to  # noqa: E402
