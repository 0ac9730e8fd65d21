"""``tinygrad_edu.nn``: modules, layers, losses and initialisers, with PyTorch's names.

    import tinygrad_edu.nn as nn
    import tinygrad_edu.nn.functional as F

    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    loss = F.cross_entropy(model(x), y)

The package is laid out by topic, with PyTorch's file names: each file holds the ``Function`` (the
gradient), the functional form (``F.conv2d``) and the ``Module`` (``nn.Conv2d``) of its topic.  The
modules are re-exported here, grouped by file.
"""
from . import functional, init  # noqa: F401
from . import utils  # noqa: F401
from .module import Module, Parameter, RemovableHandle  # noqa: F401
from .container import ModuleDict, ModuleList, Sequential  # noqa: F401
from .linear import Bilinear, Identity, Linear  # noqa: F401
from .flatten import Flatten  # noqa: F401
from .embedding import Embedding  # noqa: F401
from .positional import LearnedPositionalEmbedding, SinusoidalPositionalEmbedding  # noqa: F401
from .dropout import Dropout  # noqa: F401
from .activation import (CELU, ELU, GELU, LeakyReLU, LogSigmoid, Mish, PReLU, ReLU, SELU,  # noqa: F401
                         Sigmoid, SiLU, Softplus, Softsign, Tanh, Tanhshrink)
from .activation_hard import Hardshrink, Hardsigmoid, Hardswish, Hardtanh, ReLU6, Softshrink  # noqa: F401
from .softmax import GLU, LogSoftmax, Softmax, Softmin  # noqa: F401
from .conv import Conv2d  # noqa: F401
from .conv_nd import Conv1d, Conv3d  # noqa: F401
from .conv_transpose import ConvTranspose1d, ConvTranspose2d  # noqa: F401
from .fold import Fold, Unfold  # noqa: F401
from .pixel_shuffle import PixelShuffle, PixelUnshuffle  # noqa: F401
from .padding import (CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d,  # noqa: F401
                      ConstantPad2d, ConstantPad3d, ReflectionPad1d, ReflectionPad2d, ReflectionPad3d,
                      ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, ZeroPad1d, ZeroPad2d,
                      ZeroPad3d)
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d  # noqa: F401
from .pooling_nd import AvgPool1d, AvgPool3d, MaxPool1d, MaxPool3d  # noqa: F401
from .unpooling import MaxUnpool1d, MaxUnpool2d, MaxUnpool3d  # noqa: F401
from .upsampling import Upsample  # noqa: F401
from .batchnorm import BatchNorm1d, BatchNorm2d  # noqa: F401
from .normalization import GroupNorm, LayerNorm  # noqa: F401
from .loss import CrossEntropyLoss, NLLLoss  # noqa: F401
from .loss_binary import BCELoss, BCEWithLogitsLoss  # noqa: F401
from .loss_regression import HuberLoss, KLDivLoss, L1Loss, MSELoss, SmoothL1Loss  # noqa: F401
from .distance import CosineSimilarity, PairwiseDistance  # noqa: F401
from .recurrent import GRU, LSTM, RNN, RNNBase  # noqa: F401
from .recurrent_cell import GRUCell, LSTMCell, RNNCell, RNNCellBase  # noqa: F401
from .transformer import MultiheadAttention, TransformerEncoder, TransformerEncoderLayer  # noqa: F401
from .transformer_decoder import Transformer, TransformerDecoder, TransformerDecoderLayer  # noqa: F401
