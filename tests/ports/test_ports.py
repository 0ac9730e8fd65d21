"""PyTorch scripts run twice: as written (torch) and with only their imports switched to
tinygrad_edu.  Same initial weights (the torch model's state_dict copied over), same data, a few
optimizer steps: the losses, the last gradients and the parameters after the steps must agree
(float32, tolerance ~1e-4)."""
import importlib
import warnings

import numpy as np
import pytest

from port_loader import load_script, rewrite_imports

torch = pytest.importorskip("torch")

# script -> (steps, the tinygrad_edu API names it needs beyond the basics).  A script whose names
# are not all there yet is skipped with a reason naming them (never silently xfailed).
SCRIPTS = {
    "cnn_digits": (4, ["utils.data.DataLoader", "utils.data.TensorDataset", "nn.Conv2d", "nn.BatchNorm2d"]),
    "char_lstm": (4, ["nn.LSTM", "nn.Embedding", "nn.utils.clip_grad_norm_"]),
    "transformer_lm": (4, ["nn.Transformer", "nn.TransformerEncoder", "nn.TransformerEncoderLayer"]),
    "vae_digits": (4, ["utils.data.DataLoader", "utils.data.TensorDataset"]),
}


def _missing(names):
    import tinygrad_edu
    missing = []
    for dotted in names:
        obj, parts = tinygrad_edu, dotted.split(".")
        for i, part in enumerate(parts):
            if not hasattr(obj, part):
                try:  # a subpackage not imported by tinygrad_edu/__init__ yet
                    obj = importlib.import_module("tinygrad_edu." + ".".join(parts[:i + 1]))
                    continue
                except ImportError:
                    missing.append("tinygrad_edu." + dotted)
                    break
            obj = getattr(obj, part)
    return missing


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "cpu") else np.asarray(t.detach().numpy())


def _copy_state(src_model, dst_model, tg):
    src = src_model.state_dict()
    dst_keys = list(dst_model.state_dict().keys())
    assert list(src.keys()) == dst_keys, f"state_dict keys differ:\n{list(src.keys())}\n{dst_keys}"
    dst_model.load_state_dict({k: tg.tensor(v.detach().cpu().numpy()) for k, v in src.items()})


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_port_matches_torch(name):
    steps, needs = SCRIPTS[name]
    missing = _missing(needs)
    if missing:
        pytest.skip(f"{name}: needs {', '.join(missing)} (not in tinygrad_edu yet)")
    import tinygrad_edu as tg
    ref, port = load_script(name, ported=False), load_script(name, ported=True)
    torch_model, tg_model = ref.build_model(), port.build_model()
    _copy_state(torch_model, tg_model, tg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ref_losses = ref.train_steps(torch_model, ref.make_data(), steps)
        tg_losses = port.train_steps(tg_model, port.make_data(), steps)
    np.testing.assert_allclose(tg_losses, ref_losses, rtol=1e-4, atol=1e-5, err_msg=f"{name}: losses")
    ref_params = dict(torch_model.named_parameters())
    tg_params = dict(tg_model.named_parameters())
    assert ref_params.keys() == tg_params.keys()
    for k, p in ref_params.items():
        q = tg_params[k]
        np.testing.assert_allclose(_np(q), _np(p), rtol=1e-4, atol=1e-4, err_msg=f"{name}: parameter {k}")
        assert (p.grad is None) == (q.grad is None), f"{name}: gradient of {k} present in one only"
        if p.grad is not None:
            np.testing.assert_allclose(_np(q.grad), _np(p.grad), rtol=1e-4, atol=1e-4,
                                       err_msg=f"{name}: gradient of {k}")
    for k, b in torch_model.state_dict().items():  # buffers too (BatchNorm running statistics)
        if k not in ref_params:
            np.testing.assert_allclose(_np(tg_model.state_dict()[k]), _np(b), rtol=1e-4, atol=1e-5,
                                       err_msg=f"{name}: buffer {k}")


@pytest.mark.parametrize("name", ["char_lstm", "transformer_lm"])
def test_port_generation_matches_torch(name):
    """Greedy generation after training: the same text (eval mode, no_grad, state carried)."""
    steps, needs = SCRIPTS[name]
    missing = _missing(needs)
    if missing:
        pytest.skip(f"{name}: needs {', '.join(missing)} (not in tinygrad_edu yet)")
    import tinygrad_edu as tg
    ref, port = load_script(name, ported=False), load_script(name, ported=True)
    torch_model, tg_model = ref.build_model(), port.build_model()
    _copy_state(torch_model, tg_model, tg)
    ref.train_steps(torch_model, ref.make_data(), steps)
    port.train_steps(tg_model, port.make_data(), steps)
    assert port.generate(tg_model, port.make_data()) == ref.generate(torch_model, ref.make_data())


def test_rewrite_touches_import_lines_only():
    src = ("import numpy as np\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
           "from torch.utils.data import DataLoader, TensorDataset\nx = torch.zeros(3)  # torch stays\n")
    out = rewrite_imports(src).splitlines()
    assert out == ["import numpy as np", "import tinygrad_edu as torch", "import tinygrad_edu.nn as nn",
                   "import tinygrad_edu.nn.functional as F",
                   "from tinygrad_edu.utils.data import DataLoader, TensorDataset",
                   "x = torch.zeros(3)  # torch stays"]
    with pytest.raises(ValueError, match="binds the name"):
        rewrite_imports("import torch.nn\n")


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_scripts_only_differ_in_imports(name):
    from port_loader import HERE
    source = (HERE / f"{name}.py").read_text()
    ported = rewrite_imports(source)  # asserts non-import lines are unchanged
    assert "import tinygrad_edu as torch" in ported
