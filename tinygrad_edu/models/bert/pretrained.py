"""``BertPreTrainedModel``: what every BERT model shares — Hugging Face's weight initialisation,
weight tying, and reading / writing Hugging Face model folders (``config.json`` +
``model.safetensors``, never pickles) with ``from_pretrained`` / ``save_pretrained``.

The models that inherit it are in ``model.py``; the config in ``config.py``.
"""
import inspect
import json
import os
import warnings

from ... import nn
from ...nn import init
from ...serialization import load_state_dict_from_safetensors, save
from .config import CONFIG_NAME, WEIGHTS_NAME, BertConfig
from .layers import BertLMPredictionHead


# =============================================================================================
# The shared base: initialisation, loading and saving
# =============================================================================================
class BertPreTrainedModel(nn.Module):
    """What every BERT model shares: Hugging Face's initialisation (``init_weights``), weight
    tying, and ``from_pretrained`` / ``save_pretrained`` for Hugging Face folders
    (``config.json`` + ``model.safetensors``)."""

    base_model_prefix = "bert"
    # keys that old checkpoints hold but that are not parameters (HF ignores them too)
    _ignored_checkpoint_keys = ("embeddings.position_ids", "embeddings.token_type_ids")
    # tied names: a key that may be absent from a file because its twin is there
    _tied_keys = {}

    def _init_module(self, module):
        """Hugging Face's ``_init_weights``: Linear and Embedding weights ~ N(0, initializer_range²),
        biases 0 (and the padding row of an Embedding 0), LayerNorm weight 1 and bias 0."""
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, 0.0, std)
            if module.padding_idx is not None:
                module.weight.array[module.padding_idx] = 0
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, BertLMPredictionHead):
            init.zeros_(module.bias)

    def init_weights(self):
        """(Re)initialise every parameter as Hugging Face does, then tie the tied weights."""
        for module in self.modules():
            self._init_module(module)
        self.tie_weights()
        for module in self.modules():      # a tied decoder redraws the embedding: re-zero padding
            if isinstance(module, nn.Embedding) and module.padding_idx is not None:
                module.weight.array[module.padding_idx] = 0

    def tie_weights(self):
        """Point tied parameters at one another (nothing to tie in the base class)."""

    # ---- loading ----------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, folder, *args, output_loading_info=False, **kwargs):
        """Build the model from a Hugging Face folder: ``config.json`` for the shape and
        ``model.safetensors`` for the weights (read by ``tinygrad_edu.serialization``; no pickle).

        The checkpoint may be for the bare encoder (``embeddings.…``) or for a model with heads
        (``bert.embeddings.…``): the prefix is added or removed as needed.  Parameters the file
        lacks (a new classification head) keep their fresh initialisation and are reported as
        *missing*; tensors the model has no place for (another model's heads) are reported as
        *unexpected* — in a warning, and in the returned info with ``output_loading_info=True``:
        ``model, {"missing_keys": [...], "unexpected_keys": [...]}``.  Extra positional and keyword
        arguments go to the constructor (``num_labels=…``)."""
        folder = os.fspath(folder)
        with open(os.path.join(folder, CONFIG_NAME), encoding="utf-8") as f:
            raw_config = json.load(f)
        config = kwargs.pop("config", None) or BertConfig.from_dict(raw_config)
        if "num_labels" in inspect.signature(cls.__init__).parameters and "num_labels" not in kwargs \
                and not args and isinstance(raw_config.get("id2label"), dict):
            kwargs["num_labels"] = len(raw_config["id2label"])   # a fine-tuned head keeps its size
        weights = os.path.join(folder, WEIGHTS_NAME)
        if not os.path.exists(weights):
            raise FileNotFoundError(f"{cls.__name__}.from_pretrained: no {WEIGHTS_NAME} in {folder} "
                                    "(only safetensors checkpoints are read, never pickles)")
        model = cls(config, *args, **kwargs)
        state = load_state_dict_from_safetensors(weights)
        missing, unexpected = model.load_hf_state_dict(state)
        if missing or unexpected:
            lines = [f"{cls.__name__}.from_pretrained({folder!r}):"]
            if missing:
                lines.append(f"newly initialised (not in the checkpoint): {missing}")
            if unexpected:
                lines.append(f"unused (in the checkpoint, not in the model): {unexpected}")
            warnings.warn(" ".join(lines), stacklevel=2)
        model.eval()
        if output_loading_info:
            return model, {"missing_keys": missing, "unexpected_keys": unexpected}
        return model

    def load_hf_state_dict(self, state):
        """Copy a Hugging Face state dict (name → Tensor/array) into this model, adapting the
        ``bert.`` prefix and legacy names; returns ``(missing_keys, unexpected_keys)``.  Shape
        mismatches raise."""
        own = self.state_dict(keep_vars=True)
        has_prefix = any(k.startswith(self.base_model_prefix + ".") for k in own)
        prefix = self.base_model_prefix + "."
        mapped = {}
        for key, value in state.items():
            key = _legacy_name(key)
            if has_prefix and not key.startswith(prefix) and prefix + key in own:
                key = prefix + key                       # bare encoder file → model with heads
            elif not has_prefix and key.startswith(prefix):
                key = key[len(prefix):]                  # model-with-heads file → bare encoder
            mapped[key] = value
        mapped = {k: v for k, v in mapped.items()          # buffers, not parameters: drop quietly
                  if k.removeprefix(prefix) not in self._ignored_checkpoint_keys}
        self.load_state_dict(mapped, strict=False)
        missing = [k for k in own if k not in mapped
                   and not (k in self._tied_keys and self._tied_keys[k] in mapped)]
        unexpected = [k for k in mapped if k not in own]
        return missing, unexpected

    # ---- saving -----------------------------------------------------------------------------
    def save_pretrained(self, folder):
        """Write ``config.json`` and ``model.safetensors`` (tied copies left out, as Hugging Face
        does) so that ``from_pretrained`` — ours or Hugging Face's — reads them back."""
        folder = os.fspath(folder)
        os.makedirs(folder, exist_ok=True)
        config = self.config.to_dict()
        if hasattr(self, "num_labels"):       # Hugging Face sizes a classification head by id2label
            config["id2label"] = {str(i): f"LABEL_{i}" for i in range(self.num_labels)}
            config["label2id"] = {f"LABEL_{i}": i for i in range(self.num_labels)}
        with open(os.path.join(folder, CONFIG_NAME), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2, sort_keys=True)
            f.write("\n")
        state = {k: v for k, v in self.state_dict().items() if k not in self._tied_keys}
        save(state, os.path.join(folder, WEIGHTS_NAME))


def _legacy_name(key):
    """Old (TensorFlow-converted) checkpoints call LayerNorm's weight/bias gamma/beta."""
    if key.endswith(".gamma"):
        return key[:-len("gamma")] + "weight"
    if key.endswith(".beta"):
        return key[:-len("beta")] + "bias"
    return key
