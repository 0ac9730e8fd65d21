"""The layout of ``tinygrad_edu/nn/``: one topic per file with PyTorch's file names (issue 12).

Checks that the package stays readable as it grows: no file past ~420 lines, ``nn/functional.py``
only gathers (it defines nothing), no ``Function`` shares its name with a ``Module`` (the op
carries a ``Function`` suffix and still prints as torch's ``<Conv2dBackward>``), and every public
name that ``nn`` and ``nn.functional`` offered before the move still imports."""
import ast
import importlib
import pathlib
import pkgutil

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
from tinygrad_edu.autograd.function import Function

NN_DIR = pathlib.Path(nn.__file__).parent
MAX_LINES = 420

# The public names before the move (Modules of ``nn``; functions of ``F``, where the Functions
# ``F.Linear`` and ``F.Embedding`` became ``LinearFunction`` and ``EmbeddingFunction``).
NN_NAMES = """
    AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, AvgPool3d, BCELoss, BCEWithLogitsLoss, BatchNorm1d,
    BatchNorm2d, Bilinear, CELU, CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d,
    ConstantPad2d, ConstantPad3d, Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d,
    CosineSimilarity, CrossEntropyLoss, Dropout, ELU, Embedding, Flatten, Fold, GELU, GLU, GRU,
    GRUCell, GroupNorm, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, HuberLoss, Identity,
    KLDivLoss, L1Loss, LSTM, LSTMCell, LayerNorm, LeakyReLU, LearnedPositionalEmbedding, Linear,
    LogSigmoid, LogSoftmax, MSELoss, MaxPool1d, MaxPool2d, MaxPool3d, MaxUnpool1d, MaxUnpool2d,
    MaxUnpool3d, Mish, Module, ModuleDict, ModuleList, MultiheadAttention, NLLLoss, PReLU,
    PairwiseDistance, Parameter, PixelShuffle, PixelUnshuffle, RNN, RNNBase, RNNCell,
    RNNCellBase, ReLU, ReLU6, ReflectionPad1d, ReflectionPad2d, ReflectionPad3d,
    RemovableHandle, ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, SELU, Sequential,
    SiLU, Sigmoid, SinusoidalPositionalEmbedding, SmoothL1Loss, Softmax, Softmin, Softplus,
    Softshrink, Softsign, Tanh, Tanhshrink, Transformer, TransformerDecoder,
    TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer, Unfold, Upsample,
    ZeroPad1d, ZeroPad2d, ZeroPad3d
""".replace(",", " ").split()
F_NAMES = """
    EmbeddingFunction, LinearFunction, adaptive_avg_pool2d, avg_pool1d, avg_pool2d, avg_pool3d,
    batch_norm, bilinear, binary_cross_entropy, binary_cross_entropy_with_logits, celu, conv1d,
    conv2d, conv3d, conv_transpose1d, conv_transpose2d, cosine_similarity, cross_entropy,
    dropout, elu, embedding, fold, gelu, glu, group_norm, hardshrink, hardsigmoid, hardswish,
    hardtanh, huber_loss, interpolate, kl_div, l1_loss, layer_norm, leaky_relu, linear,
    log_softmax, logsigmoid, max_pool1d, max_pool2d, max_pool3d, max_unpool1d, max_unpool2d,
    max_unpool3d, mish, mse_loss, nll_loss, normalize, one_hot, pad, pairwise_distance,
    pixel_shuffle, pixel_unshuffle, prelu, relu, relu6, scaled_dot_product_attention, selu,
    sigmoid, silu, smooth_l1_loss, softmax, softmin, softplus, softshrink, softsign, tanh,
    tanhshrink, unfold
""".replace(",", " ").split()

# Functions of ops/ named like a Module; renaming them is left to the owner of ops/ (xfail below).


def _subclasses(cls):
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def _name_clashes():
    for info in pkgutil.walk_packages(tg.__path__, "tinygrad_edu."):
        try:
            importlib.import_module(info.name)
        except ImportError:   # an optional dependency (torch, cupy, ...) is missing
            pass
    functions = {c.__name__ for c in _subclasses(Function) if c.__module__.startswith("tinygrad_edu.")}
    modules = {c.__name__ for c in _subclasses(nn.Module) if c.__module__.startswith("tinygrad_edu.")}
    return functions & modules


def test_no_nn_file_is_longer_than_the_limit():
    too_long = {str(p.relative_to(NN_DIR)): n for p in sorted(NN_DIR.rglob("*.py"))
                if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not too_long, f"split these by sub-topic (limit {MAX_LINES} lines): {too_long}"


def test_functional_defines_nothing_of_its_own():
    tree = ast.parse((NN_DIR / "functional.py").read_text())
    own = [type(node).__name__ for node in ast.walk(tree)
           if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))]
    assigned = [t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AugAssign))
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(t, ast.Name)]
    assert not own, f"functional.py should only re-export, but defines {own}"
    assert assigned == ["__all__"], f"functional.py should only assign __all__, got {assigned}"
    for name in F.__all__:
        assert getattr(F, name).__module__ != F.__name__


def test_no_function_shares_its_name_with_a_module():
    clashes = _name_clashes()
    assert not clashes, f"give these Functions a 'Function' suffix: {sorted(clashes)}"


def test_every_public_name_still_imports():
    missing = [n for n in NN_NAMES if not hasattr(nn, n)] + [f"F.{n}" for n in F_NAMES if not hasattr(F, n)]
    assert not missing, f"no longer importable: {missing}"
    assert set(F_NAMES) - {"LinearFunction", "EmbeddingFunction"} <= set(F.__all__)
    assert len(NN_NAMES) == 103 and len(F_NAMES) == 69


@pytest.mark.parametrize("old", ["layers", "conv_layers", "conv_layers_nd", "conv_naive", "linear_extra",
                                 "losses", "losses_extra", "padding_layers", "pooling_layers_nd"])
def test_the_old_files_are_gone(old):
    assert not (NN_DIR / f"{old}.py").exists()
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(f"tinygrad_edu.nn.{old}")


def _leaf(*shape, dtype=np.float32):
    return tg.tensor(np.random.default_rng(0).standard_normal(shape).astype(dtype), requires_grad=True)


def test_grad_fn_prints_torchs_name_without_the_function_suffix():
    x = _leaf(2, 3, 6, 6)
    conv = nn.Conv2d(3, 4, 3)
    assert repr(conv(x).grad_fn) == "<Conv2dBackward>"
    assert conv(x).grad_fn.name() == "Conv2dBackward"
    assert repr(F.linear(_leaf(2, 5), _leaf(4, 5)).grad_fn) == "<LinearBackward>"
    assert repr(F.max_pool2d(x, 2).grad_fn) == "<MaxPool2dBackward>"
    assert repr(F.avg_pool2d(x, 2).grad_fn) == "<AvgPool2dBackward>"
    assert repr(F.conv3d(_leaf(1, 2, 4, 4, 4), _leaf(3, 2, 2, 2, 2)).grad_fn) == "<Conv3dBackward>"
    assert repr(nn.Embedding(10, 3)(tg.tensor(np.array([1, 2]))).grad_fn) == "<EmbeddingBackward>"
    assert repr(F.nll_loss(_leaf(4, 3), tg.tensor(np.array([0, 1, 2, 0]))).grad_fn) == "<NLLLossBackward>"
    assert repr(F.unfold(x, 2).grad_fn) == "<UnfoldBackward>"
    assert repr(F.hardtanh(_leaf(3)).grad_fn) == "<HardtanhBackward>"


def test_the_renamed_functions_live_beside_their_modules():
    from tinygrad_edu.nn import conv, fold, loss, pooling, pooling_nd
    pairs = [(conv.Conv2dFunction, nn.Conv2d), (pooling.MaxPool2dFunction, nn.MaxPool2d),
             (pooling.AvgPool2dFunction, nn.AvgPool2d), (pooling_nd.MaxPool3dFunction, nn.MaxPool3d),
             (pooling_nd.AvgPool3dFunction, nn.AvgPool3d), (loss.NLLLossFunction, nn.NLLLoss),
             (fold.UnfoldFunction, nn.Unfold), (fold.FoldFunction, nn.Fold),
             (F.LinearFunction, nn.Linear), (F.EmbeddingFunction, nn.Embedding)]
    for function, module in pairs:
        assert issubclass(function, Function) and issubclass(module, nn.Module)
        assert function.__module__ == module.__module__
        assert function.__name__ == module.__name__ + "Function"
