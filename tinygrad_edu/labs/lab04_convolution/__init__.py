"""Lab 4: convolution by im2col, forward and backward, and max pooling (NumPy only)."""
from ..lab import Lab, Task

LAB = Lab(
    number=4,
    name="convolution",
    title="conv2d by im2col, forward and backward; max pooling",
    student_file="convolution.py",
    tutorial="tutorials/04_convolution_and_vgg.py",
    tasks=(
        Task("im2col", "unfold every kh x kw window of the padded input into one row",
             "pad both sides by `padding`, out = (H + 2p - kh) // stride + 1; one row per (n, oh, ow), "
             "columns in (c, i, j) order"),
        Task("conv_forward", "conv2d as one matrix product of the columns with the flattened weight",
             "cols @ w.reshape(C_out, -1).T + b, then back to (N, C_out, OH, OW)"),
        Task("col2im", "the adjoint of im2col: every column entry added back to its pixel",
             "overlapping windows ADD (+=); step by `stride`; crop the padding at the end"),
        Task("conv_backward", "dx, dw and db of conv2d",
             "dw = g^T @ cols, db = sum of grad_out over batch and positions, dx = col2im(g @ W)"),
        Task("maxpool_forward", "max pooling with the position of each window's maximum",
             "argmax = i * kw + j of the FIRST maximum in the window (as np.argmax)"),
        Task("maxpool_backward", "the gradient of max pooling",
             "each window's gradient goes only to its argmax element; overlapping windows add"),
    ),
)
