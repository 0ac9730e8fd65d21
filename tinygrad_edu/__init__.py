"""tinygrad_edu: a deep-learning engine written from scratch on NumPy, with PyTorch's names.

    import tinygrad_edu as tg
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    x.grad            # tensor([2., 4., 6.])
"""
from .tensor import Tensor  # noqa: F401  (imports the whole engine in the right order)
from .dtypes import (bool, double, float, float16, float32, float64, half, int8, int16,  # noqa: F401,A004
                     int32, int64, long, uint8, get_default_dtype, set_default_dtype)
from .backend import Device as device, cuda_is_available, get_num_threads, set_num_threads  # noqa: F401
from .creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full,  # noqa: F401
                       full_like, linspace, manual_seed, ones, ones_like, rand, rand_like, randint,
                       randn, randn_like, randperm, tensor, zeros, zeros_like)
from .random import (Generator, bernoulli, default_generator, get_rng_state, initial_seed,  # noqa: F401
                     multinomial, seed, set_rng_state)
from . import accelerator, random  # noqa: F401,A004  (tg.accelerator.is_available(), tg.random.seed())
from . import random_inplace as _random_inplace  # noqa: E402  (t.normal_(), t.uniform_() …)
_random_inplace.attach(Tensor)
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from . import autograd  # noqa: F401
from .ops.elementwise import (abs, clamp, clip, cos, elu, erf, exp, gelu, leaky_relu, log,  # noqa: F401,A004
                              log1p, masked_fill, maximum, minimum, relu, rsqrt, sigmoid, sign, silu,
                              sin, softplus, sqrt, tanh, tril, triu, where)
from .ops.matmul import matmul  # noqa: F401
from .ops.reduce import (amax, amin, argmax, argmin, cumsum, log_softmax, logsumexp, max,  # noqa: F401,A004
                         mean, min, prod, softmax, std, sum, var)
from .ops.shape import (broadcast_to, cat, chunk, concat, contiguous, expand, flatten, flip,  # noqa: F401
                        permute, repeat, reshape, split, squeeze, stack, transpose, unsqueeze)
from .ops.indexing import gather, one_hot  # noqa: F401
from .ops.sorting import argsort, kthvalue, median, mode, nanmedian, sort, topk  # noqa: F401
from .ops.scan import cummax, cummin, cumprod, logcumsumexp  # noqa: F401
from .ops.reduce import std_mean, var_mean  # noqa: F401
from .ops.layout import diag, diagonal, repeat_interleave, roll  # noqa: F401
from .ops.scatter import index_add, scatter, scatter_add, scatter_reduce  # noqa: F401
from .ops.einsum import einsum  # noqa: F401
from .ops.selection import index_select, masked_select, nonzero, where  # noqa: F401  (where(cond) too)
from .ops.elementwise import (bitwise_and, bitwise_left_shift, bitwise_not,  # noqa: F401
                              bitwise_or, bitwise_right_shift, bitwise_xor)
from .ops.rounding import (ceil, div, fix, floor, floor_divide, fmod, frac,  # noqa: F401,A004
                           remainder, round, trunc)
from .ops.rounding import div as divide  # noqa: F401
from .ops.rounding import copysign  # noqa: F401
from .ops.trig import (acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctan2,  # noqa: F401
                       arctanh, asin, asinh, atan, atan2, atanh, cosh, exp2, expm1, log10, log2, sinh, tan,
                       reciprocal, square)
from .ops.functions import (add, allclose, isclose, isfinite, isinf, isnan, lerp,  # noqa: F401,E402,A004
                            logaddexp, logical_and, logical_not, logical_or, logical_xor, mul, neg,
                            pow, sub)
from .ops.functions import eq, ge, gt, le, lt, ne  # noqa: F401,E402
from .dtypes import int32 as int  # noqa: F401,E402,A001  (torch.int is int32)
from . import nn, optim  # noqa: F401,E402  (tg.nn.Linear, tg.optim.SGD, as torch.nn / torch.optim)
from .serialization import load, load_state_dict_from_safetensors, save  # noqa: F401,E402
from . import models  # noqa: F401,E402  (tg.models.vgg_mini, tg.models.resnet18, …)
from . import utils  # noqa: F401,E402  (tg.utils.data.DataLoader, as torch.utils.data)


class cuda:  # noqa: N801  (PyTorch's spelling: tinygrad_edu.cuda.is_available())
    """``tinygrad_edu.cuda.is_available()``, as ``torch.cuda.is_available()``."""

    is_available = staticmethod(cuda_is_available)
    device_count = staticmethod(accelerator.device_count)
    current_device = staticmethod(accelerator.current_device_index)

    @staticmethod
    def manual_seed(seed):
        """Seed the random numbers of CUDA tensors: they are drawn on the CPU by the one default
        generator (then copied to the GPU), so this seeds that generator."""
        random.manual_seed(seed)

    manual_seed_all = manual_seed


__version__ = "0.1.0"

try:  # the fast kernel tiers (numba on CPU, CuPy on GPU) register over the NumPy references
    from . import kernels  # noqa: F401,E402
except Exception as _exc:  # noqa: BLE001  (no numba, or a broken one: the references still work)
    import warnings as _warnings
    _warnings.warn(f"tinygrad_edu: fast kernels unavailable ({_exc.__class__.__name__}: {_exc}); "
                   "using the NumPy reference implementations", RuntimeWarning, stacklevel=2)
