"""Lab 1 — a scalar autograd engine.

Every number is a ``Value``: its ``data``, its ``grad`` (d output / d this value, filled in by
``backward``), the values it was computed from (``_children``) and ``_backward``, a function that
passes the gradient of ``out`` on to those children by the chain rule.

Your tasks (see handout.md): the local derivatives of +, * (task add_mul) and of tanh, exp, ** (task
tanh_exp_pow); the order in which to visit the graph (topological_order); backpropagation (backward).
Run the public checks with ``python -m tinygrad_edu lab check 1 .`` in this folder.
"""
import math


class Value:
    """A scalar that remembers how it was computed."""

    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._children = tuple(_children)
        self._op = _op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    # ---------------------------------------------------------------- task add_mul
    def __add__(self, other):
        """out = a + b;  d out/d a = 1,  d out/d b = 1."""
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            # BEGIN SOLUTION add_mul
            self.grad += out.grad
            other.grad += out.grad
            # END SOLUTION
        out._backward = _backward
        return out

    def __mul__(self, other):
        """out = a * b;  d out/d a = b,  d out/d b = a."""
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            # BEGIN SOLUTION add_mul
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
            # END SOLUTION
        out._backward = _backward
        return out

    # ---------------------------------------------------------------- task tanh_exp_pow
    def tanh(self):
        """out = tanh(a);  d out/d a = 1 - tanh(a)^2  (use out.data: it is tanh(a) already)."""
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():
            # BEGIN SOLUTION tanh_exp_pow
            self.grad += (1.0 - out.data ** 2) * out.grad
            # END SOLUTION
        out._backward = _backward
        return out

    def exp(self):
        """out = e^a;  d out/d a = e^a."""
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            # BEGIN SOLUTION tanh_exp_pow
            self.grad += out.data * out.grad
            # END SOLUTION
        out._backward = _backward
        return out

    def __pow__(self, exponent):
        """out = a^k for a plain number k;  d out/d a = k a^(k-1)."""
        if isinstance(exponent, Value):
            raise TypeError("Value ** Value is not part of this lab: the exponent must be a number")
        out = Value(self.data ** exponent, (self,), f"**{exponent}")

        def _backward():
            # BEGIN SOLUTION tanh_exp_pow
            self.grad += exponent * self.data ** (exponent - 1) * out.grad
            # END SOLUTION
        out._backward = _backward
        return out

    # ------------------------------------------------ given: the rest follows from the ops above
    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other if isinstance(other, Value) else -float(other))

    def __truediv__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return self * other ** -1.0

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return Value(other) - self

    def __rtruediv__(self, other):
        return Value(other) / self

    # ---------------------------------------------------------------- task backward
    def backward(self):
        """Fill in ``grad`` of every value this one was computed from: d self / d value.

        Seed d self/d self = 1, then visit the nodes so that each node's gradient is complete before it
        is passed on: in reverse topological order."""
        order = topological_order(self)
        # BEGIN SOLUTION backward
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
        # END SOLUTION


# -------------------------------------------------------------------- task topological_order
def topological_order(root):
    """Every value ``root`` depends on (``root`` included), each one after all of its children, each
    exactly once — even when a value is used twice (``x * x``) or the graph is deep."""
    order, seen = [], set()
    # BEGIN SOLUTION topological_order
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for child in reversed(node._children):
            if id(child) not in seen:
                stack.append((child, False))
    # END SOLUTION
    return order
