"""Lab 2: the backward (vector-Jacobian product) of tensor ops: broadcasting, reductions, matmul."""
from ..lab import Lab, Task

LAB = Lab(
    number=2,
    name="tensor_backward",
    title="gradients of tensor ops: broadcasting, reductions, matmul",
    student_file="tensor_backward.py",
    tutorial="tutorials/02_gradient_checking.py",
    tasks=(
        Task("sum_to", "reduce a broadcast gradient back to an input's shape",
             "sum the extra leading axes away, then sum (keepdims=True) the axes where shape has size 1"),
        Task("elementwise", "backward of +, -, *, / and ** (a number) with broadcasting",
             "local derivative times grad, then sum_to(..., input.shape); d(a/b)/db = -a / b**2"),
        Task("sum_mean", "backward of sum and mean over dim=None / int / negative int / tuple, keepdim",
             "unless keepdim, put the reduced axes back (np.expand_dims), then broadcast; mean: / count"),
        Task("max", "backward of amax along one dim, ties share the gradient equally",
             "mask = (x == the max, keepdims); grad * mask / mask.sum(dim, keepdims=True)"),
        Task("matmul", "backward of a @ b: 2-D, vectors, batched with broadcast batch dims",
             "da = grad @ b^T, db = a^T @ grad (swap the last two axes); vectors 2-D first; then sum_to"),
    ),
)
