"""GPT-2 checkpoints: translate between Hugging Face ``GPT2LMHeadModel`` state dicts and this GPT's
(the names are already the same; four projection weights are stored transposed by HF's ``Conv1D``).

``GPT.from_hf_state_dict`` (``model.py``) builds a model from one; ``GPTConfig.from_hf_config``
(``config.py``) reads the matching config.
"""
import numpy as np

from ...tensor import Tensor


# HF's GPT-2 computes these projections with Conv1D, y = x W + b with W stored as [in, out]:
# the transpose of a Linear's [out, in].
_CONV1D_WEIGHTS = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight",
                   "mlp.c_proj.weight")


def _to_numpy(value):
    """A NumPy array from one of our Tensors, a NumPy array or a PyTorch tensor (duck-typed: the
    engine does not import torch)."""
    if isinstance(value, Tensor):
        return np.asarray(value.detach().numpy())
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _is_hf_attention_buffer(key):
    """HF's causal-mask buffers ``h.N.attn.bias`` / ``h.N.attn.masked_bias`` (older versions save
    them): constants, not weights."""
    parts = key.split(".")
    return len(parts) >= 2 and parts[-2] == "attn" and parts[-1] in ("bias", "masked_bias")


def gpt_state_dict_from_hf(state_dict):
    """Translate a Hugging Face GPT-2 ``state_dict`` to this GPT's names: NumPy arrays, the four
    Conv1D weights transposed to Linear's [out, in], mask buffers dropped, ``transformer.``
    prefixed when the checkpoint is a bare ``GPT2Model``, and ``lm_head.weight`` added (tied to
    ``transformer.wte.weight``) when the checkpoint leaves it out."""
    out = {}
    for key, value in state_dict.items():
        if _is_hf_attention_buffer(key):
            continue
        name = key if key.startswith(("transformer.", "lm_head.")) else "transformer." + key
        array = _to_numpy(value)
        if name.endswith(_CONV1D_WEIGHTS):
            array = np.ascontiguousarray(array.T)
        out[name] = array
    if "lm_head.weight" not in out and "transformer.wte.weight" in out:
        out["lm_head.weight"] = out["transformer.wte.weight"]
    return out


def gpt_state_dict_to_hf(state_dict):
    """Translate this GPT's ``state_dict`` to Hugging Face ``GPT2LMHeadModel`` names and layouts:
    NumPy arrays (``torch.from_numpy`` each before ``load_state_dict``), the four projection
    weights transposed to Conv1D's [in, out].  The names are already HF's."""
    out = {}
    for name, value in state_dict.items():
        array = _to_numpy(value)
        if name.endswith(_CONV1D_WEIGHTS):
            array = array.T
        out[name] = np.array(array, copy=True, order="C")
    return out
