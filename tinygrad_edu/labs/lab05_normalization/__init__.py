"""Lab 5: batch norm and layer norm, forward and backward (NumPy only)."""
from ..lab import Lab, Task

LAB = Lab(
    number=5,
    name="normalization",
    title="batch norm and layer norm, forward and backward",
    student_file="normalization.py",
    tutorial="tutorials/04_convolution_and_vgg.py",
    tasks=(
        Task("batchnorm_forward", "batch norm in training mode, with the cache the backward needs",
             "per channel: mean and BIASED variance over every axis but 1, sigma = sqrt(var + eps), "
             "xhat = (x - mean) / sigma, out = gamma * xhat + beta; return out, (xhat, gamma, sigma)"),
        Task("running_stats", "the running mean and variance, and batch norm in evaluation mode",
             "r = (1 - momentum) * r + momentum * stat, the variance UNBIASED (ddof=1); eval normalises "
             "with the running statistics"),
        Task("batchnorm_backward", "dx, dgamma and dbeta of batch norm",
             "sums over every axis but 1; dx = (n g - sum g - xhat sum(g xhat)) / (n sigma), g = gamma * "
             "grad_out, n = values per channel"),
        Task("layernorm_forward", "layer norm over the last dimensions, with its cache",
             "statistics over the last len(normalized_shape) axes of each sample; return "
             "out, (xhat, gamma, sigma)"),
        Task("layernorm_backward", "dx, dgamma and dbeta of layer norm",
             "the batch-norm formula with the sums over the normalised axes (M = their size); dgamma "
             "and dbeta sum over the leading axes"),
    ),
)
