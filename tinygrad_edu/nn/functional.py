"""``tinygrad_edu.nn.functional`` (import it as ``F``): the stateless building blocks of networks.

Everything here has PyTorch's name, signature and semantics, so ``import torch.nn.functional as F``
becomes ``import tinygrad_edu.nn.functional as F``.  This file only gathers them; each family lives,
with its ``Function`` (the gradient) and its ``Module``, in the file of PyTorch's name:

==================  =================================================================================
``linear.py``       linear, bilinear
``embedding.py``    embedding
``dropout.py``      dropout
``activation.py``   relu, leaky_relu, gelu, silu, tanh, sigmoid, elu, softplus, celu, selu, logsigmoid,
                    mish, softsign, tanhshrink, prelu
``activation_hard`` hardtanh, relu6, hardsigmoid, hardswish, hardshrink, softshrink
``softmax.py``      softmax, log_softmax, softmin, glu
``conv.py``         conv2d (the definition as loops, im2col, the gradients)
``conv_nd.py``      conv1d, conv3d
``conv_transpose``  conv_transpose1d, conv_transpose2d
``fold.py``         unfold, fold
``pixel_shuffle``   pixel_shuffle, pixel_unshuffle
``padding.py``      pad (every mode)
``pooling.py``      max_pool2d, avg_pool2d, adaptive_avg_pool2d
``pooling_nd.py``   max_pool1d, avg_pool1d, max_pool3d, avg_pool3d
``unpooling.py``    max_unpool1d, max_unpool2d, max_unpool3d
``batchnorm.py``    batch_norm
``normalization``   layer_norm, group_norm
``loss.py``         nll_loss, cross_entropy
``loss_binary.py``  binary_cross_entropy, binary_cross_entropy_with_logits
``loss_regression`` mse_loss, l1_loss, huber_loss, smooth_l1_loss, kl_div
``distance.py``     normalize, cosine_similarity, pairwise_distance
``attention.py``    scaled_dot_product_attention
``upsampling.py``   interpolate
``ops/indexing``    one_hot
==================  =================================================================================

Every backward is written in Tensor ops, so ``create_graph=True`` (double backward) works through
all of them.
"""
from ..ops.indexing import one_hot
from .linear import LinearFunction, bilinear, linear  # noqa: F401  (LinearFunction: F.Linear before)
from .embedding import EmbeddingFunction, embedding  # noqa: F401  (EmbeddingFunction: F.Embedding before)
from .dropout import dropout
from .activation import (celu, elu, gelu, leaky_relu, logsigmoid, mish, prelu, relu, selu, sigmoid, silu,
                         softplus, softsign, tanh, tanhshrink)
from .activation_hard import hardshrink, hardsigmoid, hardswish, hardtanh, relu6, softshrink
from .softmax import glu, log_softmax, softmax, softmin
from .conv import conv2d
from .conv_nd import conv1d, conv3d
from .conv_transpose import conv_transpose1d, conv_transpose2d
from .fold import fold, unfold
from .pixel_shuffle import pixel_shuffle, pixel_unshuffle
from .padding import pad
from .pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from .pooling_nd import avg_pool1d, avg_pool3d, max_pool1d, max_pool3d
from .unpooling import max_unpool1d, max_unpool2d, max_unpool3d
from .batchnorm import batch_norm
from .normalization import group_norm, layer_norm
from .loss import cross_entropy, nll_loss
from .loss_binary import binary_cross_entropy, binary_cross_entropy_with_logits
from .loss_regression import huber_loss, kl_div, l1_loss, mse_loss, smooth_l1_loss
from .distance import cosine_similarity, normalize, pairwise_distance
from .attention import scaled_dot_product_attention
from .upsampling import interpolate

__all__ = ["linear", "bilinear", "embedding", "dropout",
           "relu", "leaky_relu", "gelu", "silu", "tanh", "sigmoid", "elu", "softplus", "celu", "selu",
           "logsigmoid", "mish", "softsign", "tanhshrink", "prelu",
           "hardtanh", "relu6", "hardsigmoid", "hardswish", "hardshrink", "softshrink",
           "softmax", "log_softmax", "softmin", "glu",
           "conv2d", "conv1d", "conv3d", "conv_transpose1d", "conv_transpose2d", "fold", "unfold",
           "pixel_shuffle", "pixel_unshuffle", "pad",
           "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "max_pool1d", "avg_pool1d", "max_pool3d",
           "avg_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d",
           "batch_norm", "layer_norm", "group_norm",
           "nll_loss", "cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "kl_div",
           "normalize", "cosine_similarity", "pairwise_distance",
           "scaled_dot_product_attention", "interpolate", "one_hot"]
