"""Lab 1, hidden checks (``lab grade`` only): the same tasks on more inputs, compared with finite
differences and with tinygrad_edu's own Tensor autograd."""
import math

import numpy as np

from tinygrad_edu.labs.checks import expect_close, expect_equal, expect_true
from tinygrad_edu.labs.testing import lab_test

from ..public_tests import check_order, hand_made_graph, local_gradients


def numeric(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


@lab_test("add_mul", points=2)
def test_add_mul_match_finite_differences(student, ctx):
    for _ in range(5):
        a, b, g = ctx.rng.normal(scale=3, size=3)
        # a*b + a through two ops: run both _backward by hand, the last op first
        va, vb = student.Value(a), student.Value(b)
        prod = va * vb
        out = prod + va
        out.grad = g
        out._backward()
        prod._backward()
        expect_close("out = a*b + a: d/da", va.grad, numeric(lambda t: t * b + t, a) * g,
                     rtol=1e-5, atol=1e-6)
        expect_close("out = a*b + a: d/db", vb.grad, numeric(lambda t: a * t + a, b) * g,
                     rtol=1e-5, atol=1e-6)


@lab_test("add_mul", points=1)
def test_add_with_itself(student, ctx):
    x = student.Value(ctx.rng.normal())
    out = x + x
    out.grad = 1.5
    out._backward()
    expect_close("x + x: d/dx (both inputs are x: the two contributions add up)", x.grad, 3.0)


@lab_test("tanh_exp_pow", points=2)
def test_local_derivatives_match_finite_differences(student, ctx):
    for _ in range(5):
        x, g = ctx.rng.uniform(0.3, 2.5), ctx.rng.normal()
        for name, op, f in (("tanh", lambda v: v.tanh(), math.tanh), ("exp", lambda v: v.exp(), math.exp),
                            ("x ** 2.5", lambda v: v ** 2.5, lambda t: t ** 2.5),
                            ("x ** -2", lambda v: v ** -2, lambda t: t ** -2)):
            (dx,) = local_gradients(student, op, (x,), g)
            expect_close(f"{name} at x = {x:.4f}: d/dx (times out.grad)", dx, numeric(f, x) * g,
                         rtol=1e-5, atol=1e-6)


@lab_test("tanh_exp_pow", points=1)
def test_ops_accumulate(student, ctx):
    x = student.Value(0.7)
    x.grad = 2.0
    for name, op, f in (("tanh", lambda v: v.tanh(), math.tanh), ("exp", lambda v: v.exp(), math.exp),
                        ("x ** 3", lambda v: v ** 3, lambda t: t ** 3)):
        before = x.grad
        out = op(x)
        out.grad = 1.0
        out._backward()
        expect_close(f"{name} with x.grad = {before:.4f} beforehand: x.grad after _backward should be the "
                     f"old value plus the local derivative (add with +=, never overwrite)", x.grad,
                     before + numeric(f, 0.7), rtol=1e-6, atol=1e-7)


@lab_test("topological_order", points=2)
def test_order_of_random_graphs(student, ctx):
    for _ in range(5):
        nodes = [student.Value(float(i)) for i in range(4)]
        for i in range(4, 30):
            picks = ctx.rng.choice(len(nodes), size=ctx.rng.integers(1, 4), replace=True)
            nodes.append(student.Value(float(i), [nodes[j] for j in picks]))
        root = student.Value(99.0, nodes[-3:])
        reachable, stack = {}, [root]
        while stack:
            node = stack.pop()
            if id(node) not in reachable:
                reachable[id(node)] = node
                stack.extend(node._children)
        check_order("topological_order of a random graph of 30 nodes", student.topological_order(root),
                    list(reachable.values()), root)


@lab_test("topological_order", points=1)
def test_order_of_a_deep_chain(student, ctx):
    node = student.Value(0.0)
    chain = [node]
    for i in range(1, 5000):
        node = student.Value(float(i), (node,))
        chain.append(node)
    order = student.topological_order(node)
    expect_equal("topological_order of a chain of 5000 values: the length (a recursive walk hits "
                 "Python's recursion limit; use a stack)", len(order), 5000)
    expect_true("topological_order of a chain", all(a is b for a, b in zip(order, chain)),
                "the chain should come out from its first value to its last")


@lab_test("backward", points=2)
def test_backward_calls_every_node_after_its_parents(student, ctx):
    calls = []
    x, a, b, y = hand_made_graph(student, calls)
    original = student.topological_order
    student.topological_order = lambda root: [x, b, a, y]
    try:
        y.backward()
    finally:
        student.topological_order = original
    expect_equal("the order of the _backward calls for the topological order [x, b, a, y] (reverse it)",
                 calls, ["y", "a", "b"])
    expect_close("x.grad", x.grad, 6.0)


@lab_test("backward", points=2)
def test_backward_matches_tensor_autograd(student, ctx):
    from tinygrad_edu import Tensor
    # a graph whose _backward the test writes: each node n = sum_k w_k * child_k (linear, so exact)
    rng = ctx.rng
    nodes = [student.Value(rng.normal()) for _ in range(3)]
    weights = {}
    for _ in range(6):
        picks = list(rng.choice(len(nodes), size=2, replace=False))
        w = rng.normal(size=2)
        node = student.Value(0.0, [nodes[i] for i in picks])
        weights[id(node)] = (node, picks, w)

        def make(node=node, picks=picks, w=w, children=[nodes[i] for i in picks]):
            def _backward():
                for child, factor in zip(children, w):
                    child.grad += factor * node.grad
            return _backward
        node._backward = make()
        nodes.append(node)
    leaves = [Tensor(np.array(v.data), requires_grad=True) for v in nodes[:3]]
    tensors = list(leaves)
    for node in nodes[3:]:
        _, picks, w = weights[id(node)]
        tensors.append(tensors[picks[0]] * float(w[0]) + tensors[picks[1]] * float(w[1]))
    tensors[-1].backward()
    original = student.topological_order
    student.topological_order = lambda root: list(nodes)
    try:
        nodes[-1].backward()
    finally:
        student.topological_order = original
    for i in range(3):
        got = nodes[i].grad
        want = 0.0 if leaves[i].grad is None else float(leaves[i].grad.numpy())
        expect_close(f"grad of input {i} of a random 9-node graph (checked with Tensor.backward)", got, want,
                     rtol=1e-9, atol=1e-12)
