"""How much of the PyTorch API listed in issue 11 (section 2) tinygrad_edu has.

Run ``python tests/ports/api_coverage.py``: it prints ``covered N of M`` and the missing names.
A name counts as covered when it exists in tinygrad_edu in every place PyTorch has it among the
places checked (``torch.X`` and/or ``torch.Tensor.X`` for the tensor ops) and is not a stub whose
body only raises NotImplementedError.  tests/ports/test_api_coverage.py checks the list and that
every covered name is a real callable.
"""
import ast
import importlib
import inspect
import textwrap

# (group, where to look, names) -- the list of issue 11, section 2, in its order.
# where: "tensor" = tg and/or tg.Tensor (wherever torch has the name), otherwise a dotted path.
API = [
    ("tensor ops", "tensor",
     "div(rounding_mode) floor_divide fmod remainder copysign isclose allclose einsum scatter scatter_add "
     "scatter_reduce index_select index_add masked_select nonzero where sort argsort topk kthvalue median "
     "mode cumsum cumprod cummax cummin logcumsumexp roll diagonal diag tril triu unfold repeat_interleave "
     "lerp logaddexp round trunc ceil floor sin cos tan asin acos atan atan2 sinh cosh tanh asinh acosh "
     "atanh exp2 log2 log10 std_mean var_mean type view"),
    ("dtypes", "", "int long float half"),
    ("functions", "", "add sub mul div pow isnan isinf isfinite logical_and logical_or logical_xor "
                      "logical_not"),
    ("bitwise", "tensor", "bitwise_and bitwise_or bitwise_xor bitwise_not bitwise_left_shift "
                          "bitwise_right_shift"),
    ("nn.functional", "nn.functional",
     "conv1d conv3d conv_transpose1d conv_transpose2d interpolate pad normalize unfold fold max_unpool2d "
     "avg_pool1d avg_pool3d celu selu hardtanh relu6 hardsigmoid hardswish softsign logsigmoid mish one_hot "
     "cosine_similarity pairwise_distance kl_div huber_loss smooth_l1_loss scaled_dot_product_attention"),
    ("random", "", "multinomial bernoulli randperm manual_seed Generator"),
    ("modules", "nn", "Conv1d ConvTranspose2d Upsample RNN LSTM GRU Transformer TransformerDecoderLayer "
                      "TransformerDecoder Bilinear PixelShuffle"),
    ("optim", "optim", "Adadelta NAdam RAdam Adamax LBFGS"),
    ("utils.data", "utils.data", "Dataset DataLoader TensorDataset Subset random_split ConcatDataset Sampler "
                                 "RandomSampler SequentialSampler"),
    ("hooks", "", "nn.Module.register_forward_hook nn.Module.register_forward_pre_hook "
                  "nn.Module.register_full_backward_hook Tensor.register_hook Tensor.retain_grad"),
    ("accelerator", "", "accelerator cuda.is_available device"),
]


def entries():
    """Every (group, where, name) of the list, one per name as written."""
    return [(group, where, name) for group, where, names in API for name in names.split()]


def _lookup(root, dotted):
    """``root.a.b.c`` (importing a subpackage when needed), or None."""
    obj = root
    for i, part in enumerate(dotted.split(".")):
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        try:
            obj = importlib.import_module(f"{root.__name__}.{'.'.join(dotted.split('.')[:i + 1])}")
        except ImportError:
            return None
    return obj


def _places(where, name):
    """The dotted paths (relative to the package) where ``name`` must exist."""
    if where != "tensor":
        return [f"{where}.{name}" if where else name]
    import torch
    places = [p for p in (name, f"Tensor.{name}") if _lookup(torch, p) is not None]
    return places or [name]


def is_stub(obj):
    """True for a function whose body (after its docstring) is only ``raise NotImplementedError``."""
    fn = getattr(obj, "__func__", obj)
    if not inspect.isfunction(fn):
        return False
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return False
    body = tree.body[0].body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]
    return len(body) == 1 and isinstance(body[0], ast.Raise) and "NotImplementedError" in ast.dump(body[0])


def _rounding_mode_works(tg):
    a, b = tg.tensor([-7.0, 7.0]), tg.tensor([2.0, 2.0])
    try:
        return tg.div(a, b, rounding_mode="floor").tolist() == [-4.0, 3.0] and \
            a.div(b, rounding_mode="trunc").tolist() == [-3.0, 3.0]
    except (TypeError, NotImplementedError, AttributeError):
        return False


def coverage():
    """(covered entries, missing entries), each entry as (group, name, [resolved objects])."""
    import tinygrad_edu as tg
    covered, missing = [], []
    for group, where, name in entries():
        if name == "div(rounding_mode)":
            ok = _rounding_mode_works(tg)
            objs = [tg.div, tg.Tensor.div] if ok else []
        else:
            objs = [_lookup(tg, p) for p in _places(where, name)]
            ok = all(o is not None and not is_stub(o) for o in objs)
        (covered if ok else missing).append((group, name, objs))
    return covered, missing


def main():
    covered, missing = coverage()
    print(f"covered {len(covered)} of {len(covered) + len(missing)}")
    if missing:
        print("missing:", ", ".join(f"{name} ({group})" for group, name, _ in missing))


if __name__ == "__main__":
    main()
