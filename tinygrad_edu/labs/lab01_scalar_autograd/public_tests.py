"""Lab 1, public checks: ``python -m tinygrad_edu lab check 1 DIR``.

Each test checks one task alone: the op tests call one ``_backward`` by hand, and the ``backward`` tests
use nodes whose ``_backward`` the test writes itself, so a mistake in one task never costs points in
another."""
import math

from tinygrad_edu.labs.checks import expect_close, expect_equal, expect_true
from tinygrad_edu.labs.testing import lab_test


def local_gradients(student, op, inputs, upstream):
    """Run ``op`` on fresh Values, put ``upstream`` in out.grad, call out._backward() once: the
    inputs' grads (what the op passed back)."""
    values = [student.Value(x) for x in inputs]
    out = op(*values)
    out.grad = upstream
    out._backward()
    return [v.grad for v in values]


@lab_test("add_mul", points=2)
def test_add_passes_the_gradient_through(student, ctx):
    a, b, g = ctx.rng.normal(size=3)
    da, db = local_gradients(student, lambda x, y: x + y, (a, b), g)
    expect_close("a + b: d/da (times out.grad)", da, g)
    expect_close("a + b: d/db (times out.grad)", db, g)


@lab_test("add_mul", points=2)
def test_mul_swaps_the_inputs(student, ctx):
    a, b, g = ctx.rng.normal(size=3)
    da, db = local_gradients(student, lambda x, y: x * y, (a, b), g)
    expect_close("a * b: d/da (times out.grad) should be b * out.grad", da, b * g)
    expect_close("a * b: d/db (times out.grad) should be a * out.grad", db, a * g)


@lab_test("add_mul", points=2)
def test_gradients_accumulate(student, ctx):
    a = student.Value(ctx.rng.normal())
    a.grad = 0.5
    out = a * a
    out.grad = 1.0
    out._backward()
    expect_close("x * x with x.grad = 0.5 beforehand: x.grad after _backward should be 0.5 + 2x "
                 "(add into .grad with +=, never overwrite it)", a.grad, 0.5 + 2 * a.data)
    b, c = student.Value(ctx.rng.normal()), student.Value(ctx.rng.normal())
    b.grad, c.grad = 0.25, -0.5
    out = b + c
    out.grad = 2.0
    out._backward()
    expect_close("b + c with b.grad = 0.25 beforehand: b.grad after _backward should be 0.25 + 2.0 "
                 "(add into .grad with +=, never overwrite it)", b.grad, 2.25)
    expect_close("b + c with c.grad = -0.5 beforehand: c.grad after _backward", c.grad, 1.5)


@lab_test("tanh_exp_pow", points=2)
def test_tanh(student, ctx):
    x, g = ctx.rng.normal(size=2)
    (dx,) = local_gradients(student, lambda v: v.tanh(), (x,), g)
    expect_close("tanh(x): d/dx (times out.grad)", dx, (1 - math.tanh(x) ** 2) * g)


@lab_test("tanh_exp_pow", points=2)
def test_exp(student, ctx):
    x, g = ctx.rng.normal(size=2)
    (dx,) = local_gradients(student, lambda v: v.exp(), (x,), g)
    expect_close("exp(x): d/dx (times out.grad)", dx, math.exp(x) * g)


@lab_test("tanh_exp_pow", points=2)
def test_pow(student, ctx):
    x, g = ctx.rng.uniform(0.5, 2.0), ctx.rng.normal()
    for k in (2, 3, -1.0):
        (dx,) = local_gradients(student, lambda v: v ** k, (x,), g)
        expect_close(f"x ** {k}: d/dx (times out.grad)", dx, k * x ** (k - 1) * g)


def diamond(student):
    """x feeds a and b, both feed y: x must come before a and b, and they before y."""
    x = student.Value(1.0)
    a = student.Value(2.0, (x,))
    b = student.Value(3.0, (x,))
    y = student.Value(4.0, (a, b))
    return x, a, b, y


def check_order(what, order, nodes, root):
    expect_true(what, isinstance(order, list), f"topological_order should return a list, got "
                                               f"{type(order).__name__}")
    ids = [id(node) for node in order]
    expect_equal(f"{what}: how many nodes (each exactly once)", len(ids), len(set(ids)))
    expect_equal(f"{what}: how many nodes", len(order), len(nodes))
    expect_true(what, order[-1] is root, "the root (the value backward starts from) should come last")
    position = {id(node): i for i, node in enumerate(order)}
    for node in nodes:
        for child in node._children:
            expect_true(what, position[id(child)] < position[id(node)],
                        f"a node came before one of its children (node data {node.data}, child data "
                        f"{child.data})")


@lab_test("topological_order", points=2)
def test_order_of_a_diamond(student, ctx):
    nodes = diamond(student)
    check_order("topological_order of a diamond x -> (a, b) -> y", student.topological_order(nodes[-1]),
                nodes, nodes[-1])


@lab_test("topological_order", points=2)
def test_order_visits_a_reused_node_once(student, ctx):
    x = student.Value(2.0)
    y = student.Value(4.0, (x, x))
    check_order("topological_order of y = x * x", student.topological_order(y), [x, y], y)


def hand_made_graph(student, calls):
    """y = 3a + 5b with a = 2x (so dy/dx = 6), each _backward written here and logging its calls."""
    x = student.Value(1.0)
    a = student.Value(2.0, (x,))
    b = student.Value(5.0, (x,))
    y = student.Value(3 * 2.0 + 5 * 5.0, (a, b))

    def pass_back(node, pairs, name):
        def _backward():
            calls.append(name)
            for child, factor in pairs:
                child.grad += factor * node.grad
        return _backward
    y._backward = pass_back(y, [(a, 3.0), (b, 5.0)], "y")
    a._backward = pass_back(a, [(x, 2.0)], "a")
    b._backward = pass_back(b, [], "b")
    return x, a, b, y


@lab_test("backward", points=3)
def test_backward_seeds_one_and_walks_backwards(student, ctx):
    calls = []
    x, a, b, y = hand_made_graph(student, calls)
    original = student.topological_order
    student.topological_order = lambda root: [x, a, b, y]
    try:
        y.backward()
    finally:
        student.topological_order = original
    expect_close("y.grad after y.backward() (d y / d y)", y.grad, 1.0)
    expect_close("a.grad after y.backward()", a.grad, 3.0)
    expect_close("x.grad after y.backward() (through a only: 3 * 2)", x.grad, 6.0)
    expect_equal("the order the _backward functions were called in (reverse topological order)",
                 calls[:1], ["y"])
