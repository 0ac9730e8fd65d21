"""``tinygrad_edu.nn``: modules, layers, losses and initialisers, with PyTorch's names.

    import tinygrad_edu.nn as nn
    import tinygrad_edu.nn.functional as F

    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    loss = F.cross_entropy(model(x), y)
"""
from . import functional, init  # noqa: F401
from .module import Module, Parameter, RemovableHandle  # noqa: F401
from .layers import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Dropout, Embedding,  # noqa: F401
                     Flatten, GELU, Identity, L1Loss, LeakyReLU, Linear, LogSoftmax, ModuleDict, ModuleList,
                     MSELoss, NLLLoss, ReLU, Sequential, Sigmoid, SiLU, Softmax, Tanh)
from . import utils  # noqa: F401
from .conv_layers import (AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d,  # noqa: F401
                          GroupNorm, LayerNorm, MaxPool2d)
from .positional import LearnedPositionalEmbedding, SinusoidalPositionalEmbedding  # noqa: F401
from .transformer import (MultiheadAttention, TransformerEncoder,  # noqa: F401
                          TransformerEncoderLayer)
from .conv_layers_nd import (ConstantPad2d, Conv1d, ConvTranspose1d, ConvTranspose2d,  # noqa: F401
                             PixelShuffle, PixelUnshuffle, ReflectionPad2d, ReplicationPad2d, ZeroPad2d)
from .conv_layers_nd import Fold, Unfold  # noqa: F401,E402
from .upsampling import Upsample  # noqa: F401,E402
from .recurrent import GRU, GRUCell, LSTM, LSTMCell, RNN, RNNBase, RNNCell, RNNCellBase  # noqa: F401,E402
from .activation import (CELU, ELU, GLU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh,  # noqa: F401,E402
                         LogSigmoid, Mish, PReLU, ReLU6, SELU, Softmin, Softplus, Softshrink, Softsign,
                         Tanhshrink)
from .distance import CosineSimilarity, PairwiseDistance  # noqa: F401,E402
from .losses_extra import HuberLoss, KLDivLoss, SmoothL1Loss  # noqa: F401,E402
from .linear_extra import Bilinear  # noqa: F401,E402
from .transformer_decoder import Transformer, TransformerDecoder, TransformerDecoderLayer  # noqa: F401,E402
from .conv_layers_nd import Conv3d  # noqa: F401,E402
from .padding_layers import (CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d,  # noqa: F401,E402
                             ConstantPad3d, ReflectionPad1d, ReflectionPad3d, ReplicationPad1d,
                             ReplicationPad3d, ZeroPad1d, ZeroPad3d)
from .pooling_layers_nd import (AvgPool1d, AvgPool3d, MaxPool1d, MaxPool3d, MaxUnpool1d,  # noqa: F401,E402
                                MaxUnpool2d, MaxUnpool3d)
