"""Lab 1: a scalar autograd engine — local derivatives, topological order, backpropagation."""
from ..lab import Lab, Task

LAB = Lab(
    number=1,
    name="scalar_autograd",
    title="a scalar autograd engine",
    student_file="scalar_autograd.py",
    tutorial="tutorials/01_autograd_from_scratch.py",
    tasks=(
        Task("add_mul", "backward of + and *",
             "set out._backward so that it adds d(out)/d(input) * out.grad into each input's .grad"),
        Task("tanh_exp_pow", "backward of tanh, exp and ** (a number)",
             "local derivatives: tanh' = 1 - tanh^2, exp' = exp, (x^k)' = k x^(k-1)"),
        Task("topological_order", "every node after the nodes it was computed from",
             "depth-first: visit a node's inputs before appending the node; visit each node once"),
        Task("backward", "backpropagation over the whole graph",
             "seed the output's grad with 1, then call _backward in reverse topological order"),
    ),
)
