"""``python -m tinygrad_edu export RUN --out model.safetensors``: the trained weights alone, to share.

    python -m tinygrad_edu export runs/sst2_pretrained --out sst2_minilm.safetensors
    python -m tinygrad_edu export runs/gpt_shakespeare --out gpt.safetensors

A training checkpoint holds everything needed to *continue* training: the model, the optimizer's state
(Adam keeps two numbers per weight, so the checkpoint is about three times the model), the schedule
and the history.  To *use* a model only its weights are needed.  The exported file is a plain
safetensors state_dict (no optimizer, no structure), written atomically by ``tinygrad_edu.save``:

* **BERT** runs (pretrain, finetune): the names are Hugging Face's (``bert.encoder.layer.0...``,
  ``classifier.weight``); the tied copies (the MLM decoder, which is the word embedding) are left out,
  as ``save_pretrained`` does.  ``BertPreTrainedModel.load_hf_state_dict`` (or Hugging Face's
  ``from_pretrained`` with the config) reads it back.
* **GPT** runs: Hugging Face ``GPT2LMHeadModel`` names and layouts, the four projection weights
  transposed to ``Conv1D``'s [in, out] (``models/gpt/huggingface.py``, ``gpt_state_dict_to_hf``) and the tied
  ``lm_head.weight`` left out; ``GPT.from_hf_state_dict`` reads it back.
* **image** runs: our own names, as ``model.state_dict()`` gives them (``model.load_state_dict``).

The header's ``__metadata__`` says what the weights are: ``tinygrad_edu.kind``, ``tinygrad_edu.config``
(the model's shape as JSON: ``GPTConfig`` fields, Hugging Face's BERT ``config.json``, or the image
model's name and data set), ``tinygrad_edu.vocab`` (a GPT's characters) and ``tinygrad_edu.labels``
(class or label names).  Read it with ``tinygrad_edu.serialization.read_metadata``.
"""
import dataclasses
import json
import os

from . import UsageError
from .evaluate import open_run

HELP = "write a run's weights alone (no optimizer) as safetensors, Hugging Face names for BERT and GPT"


def add_arguments(parser):
    parser.add_argument("run", metavar="RUN", help="a run folder (or its checkpoint file)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="the file to write (default: RUN/model.safetensors)")


def _size(n_bytes):
    for unit in ("bytes", "kB", "MB", "GB"):
        if n_bytes < 1000 or unit == "GB":
            return f"{n_bytes:,.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000


def export_weights(run_):
    """``(state, metadata)``: the weights to write, as NumPy arrays by name, and the header's metadata."""
    import numpy as np
    model = run_.model
    metadata = {"tinygrad_edu.kind": run_.kind}
    if run_.kind == "gpt":
        from ..models.gpt import gpt_state_dict_to_hf
        state = gpt_state_dict_to_hf(model.state_dict())
        state.pop("lm_head.weight", None)                  # tied to transformer.wte.weight
        metadata["tinygrad_edu.layout"] = "huggingface GPT2LMHeadModel"
        metadata["tinygrad_edu.config"] = json.dumps(dataclasses.asdict(model.config))
        metadata["tinygrad_edu.vocab"] = run_.tokenizer.chars_string()
    elif run_.kind in ("pretrain", "finetune"):
        tied = getattr(model, "_tied_keys", {})
        state = {k: np.asarray(v.array) for k, v in model.state_dict().items() if k not in tied}
        config = model.config.to_dict()
        if run_.classes:
            config["id2label"] = {str(i): name for i, name in enumerate(run_.classes)}
            config["label2id"] = {name: i for i, name in enumerate(run_.classes)}
        config["architectures"] = [type(model).__name__]
        metadata["tinygrad_edu.layout"] = f"huggingface {type(model).__name__}"
        metadata["tinygrad_edu.config"] = json.dumps(config)
    else:
        state = {k: np.asarray(v.array) for k, v in model.state_dict().items()}
        metadata["tinygrad_edu.layout"] = "tinygrad_edu"
        metadata["tinygrad_edu.config"] = json.dumps({"model": run_.config.get("model", "mlp"),
                                                      "dataset": run_.dataset})
    if run_.classes:
        metadata["tinygrad_edu.labels"] = json.dumps(list(run_.classes))
    return state, metadata


def _check_out(out, checkpoint):
    from ..training.run_folder import RunFolderError, check_out_folder
    if os.path.isdir(out):
        raise UsageError(f"--out {out}: is a folder; give a file name such as "
                         f"{os.path.join(out, 'model.safetensors')}")
    if os.path.exists(out) and os.path.samefile(out, checkpoint):
        raise UsageError(f"--out {out}: is the run's training checkpoint; choose another file name")
    try:
        check_out_folder(os.path.dirname(os.path.abspath(out)), option="--out")
    except RunFolderError as exc:
        raise UsageError(str(exc)) from None


def run(args):
    from .. import from_numpy, save
    run_ = open_run(args.run)
    out = args.out or os.path.join(run_.folder, "model.safetensors")
    _check_out(out, run_.checkpoint)
    state, metadata = export_weights(run_)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    save({k: from_numpy(v) for k, v in state.items()}, out, metadata=metadata)   # atomic: tmp + rename
    size, ckpt_size = os.path.getsize(out), os.path.getsize(run_.checkpoint)
    n_params = sum(int(v.size) for v in state.values())
    print(f"wrote {out}: {len(state)} tensors, {n_params:,} numbers, {_size(size)} "
          f"({metadata['tinygrad_edu.layout']} layout); the training checkpoint {run_.checkpoint} is "
          f"{_size(ckpt_size)} ({ckpt_size / max(size, 1):.1f}x: it also holds the optimizer state)",
          flush=True)
    return 0
