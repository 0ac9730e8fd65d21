"""Lab 7: a compiled kernel — max pooling and layer norm as numba loops, checked against NumPy/PyTorch."""
from ..lab import Lab, Task

LAB = Lab(
    number=7,
    name="numba_kernel",
    title="a compiled kernel: numba beside its NumPy reference",
    student_file="kernels.py",
    tutorial="tutorials/09_kernels.py",
    tasks=(
        Task("max_pool_forward", "2x2 stride-2 max pooling in one compiled loop, with the winning tap",
             "out (N, C, H // 2, W // 2); argmax k = 2 * i + j of the FIRST maximum (strict >), "
             "window (p, q) reads x[2p + i, 2q + j]; odd last rows/columns are dropped"),
        Task("max_pool_backward", "the gradient of 2x2 max pooling, one pass over the outputs",
             "dx = zeros(x_shape); dx[n, c, 2p + k // 2, 2q + k % 2] = grad_out[n, c, p, q], k = argmax"),
        Task("layer_norm_rows", "layer norm of every row of a 2-D array, sums in float64, two passes",
             "mu = sum(x) / n, var = sum((x - mu)^2) / n (divide by n, not n - 1), "
             "y = (x - mu) / sqrt(var + eps) * w + b"),
        Task("speed", "a max-pool kernel that beats NumPy's reshape/max by a wide margin",
             "max_pool_values(x): the maxima only, nopython loops (@numba.njit), no NumPy call per "
             "window"),
    ),
)
