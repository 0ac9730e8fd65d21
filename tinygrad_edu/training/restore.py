"""Rebuild a trained model from its run folder: what ``evaluate``, ``generate``, ``predict`` and ``export``
start from.

    run = load_run("runs/gpt_shakespeare")        # or the checkpoint file inside it
    run.kind                                      # "image" | "mlp" | "gpt" | "pretrain" | "finetune"
    run.model                                     # the trained model, in eval mode
    run.tokenizer, run.classes, run.dataset ...   # what that kind of run needs to be used

A run folder (see ``run_folder.py``) says in ``config.json`` what was trained; the checkpoint holds the
weights.  Rebuilding is the same three steps for every kind:

1. **read the configuration**: ``config.json``, or, in a folder written before ``config.json`` existed,
   the checkpoint's own ``"config"`` entry, whose keys tell the kind (``task`` → a fine-tune, ``corpus``
   → masked-LM pre-training, ``n_layer`` → a GPT, ``model`` and ``dataset`` → an image classifier,
   only ``epochs``, ``lr``, ... → the main job's MLP);
2. **build the empty model** the configuration describes (the same constructor the trainer used);
3. **copy the weights in**, after checking that every name and shape of the checkpoint fits, so that a
   checkpoint of another model, or a truncated file, is one clear line (a ``RunFolderError``) instead
   of a traceback.

The optimizer state in the checkpoint is read with the rest of the file but not used.
"""
import dataclasses
import inspect
import os

from .run_folder import CHECKPOINT, CONFIG_FILE, KINDS, RunFolderError, read_checkpoint, read_config

#: the shape of one image (channels, height, width) of each image data set
IMAGE_SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32), "digits": (1, 8, 8)}


@dataclasses.dataclass
class Run:
    """A trained model and what it takes to use it.

    ``classes``: the class names of an image run, the label names of a fine-tune run.  ``dataset``: the
    image data set's name (its normalisation and image shape).  ``tokenizer``: a ``CharTokenizer`` (GPT
    runs) or a ``WordPieceTokenizer`` (pretrain and fine-tune runs).  ``task``: the fine-tune task
    (``sst2``, ``conll2003``, ``wnut17``).  ``checkpoint_data``: the whole checkpoint dict (history,
    progress, ...)."""
    folder: str
    checkpoint: str
    kind: str
    config: dict
    model: object
    classes: list = None
    dataset: str = None
    tokenizer: object = None
    task: str = None
    checkpoint_data: dict = dataclasses.field(default=None, repr=False)

    @property
    def is_image(self):
        return self.kind in ("image", "mlp")


# ------------------------------------------------------------------------------------------------
# step 1: where the run is and what it says it is
# ------------------------------------------------------------------------------------------------
def _locate(run, option):
    """``(folder, checkpoint path)`` of ``run``: a run folder, or a checkpoint file (its folder)."""
    run = os.fspath(run)
    if os.path.isdir(run):
        return run, os.path.join(run, CHECKPOINT)
    if os.path.exists(run) and not os.path.isfile(run):
        raise RunFolderError(f"{option} {run}: not a run folder nor a checkpoint file")
    if os.path.isfile(run):
        return os.path.dirname(os.path.abspath(run)), run
    raise RunFolderError(f"{option} {run}: no such run folder or checkpoint file")


def _read_checkpoint(path, option):
    try:
        ckpt = read_checkpoint(path, purpose=f"read the {option} checkpoint")
    except RunFolderError as exc:           # the file reader names the file too: once is enough
        raise RunFolderError(str(exc).replace(f"{path}: {path}: ", f"{path}: ")) from None
    if not isinstance(ckpt.get("model"), dict):
        raise RunFolderError(f"{option}: {path} is not a training checkpoint of tinygrad_edu (its 'model' "
                             "entry is not a state_dict)")
    return ckpt


def kind_of_config(config):
    """The kind of run a saved config dict describes, from its keys (for folders without config.json)."""
    if "task" in config:
        return "finetune"
    if "corpus" in config:
        return "pretrain"
    if "n_layer" in config:
        return "gpt"
    if "model" in config and "dataset" in config:
        return "image"
    if {"epochs", "batch_size", "lr", "optimizer"} <= set(config):
        return "mlp"                                    # the main job's MLPJobConfig
    return None


def _config_of(folder, ckpt, option):
    if os.path.isfile(os.path.join(folder, CONFIG_FILE)):
        return read_config(folder, option)
    config = ckpt.get("config")
    kind = kind_of_config(config) if isinstance(config, dict) else None
    if kind is None:
        raise RunFolderError(f"{option} {folder}: no config.json, and the checkpoint's 'config' entry "
                             "does not say what was trained")
    return kind, dict(config)


# ------------------------------------------------------------------------------------------------
# step 3: weights in, checked first
# ------------------------------------------------------------------------------------------------
def load_weights(model, state, what, option="RUN"):
    """Copy ``state`` into ``model`` after checking every name and shape; a mismatch is one line that
    names the first few differences (``load_state_dict``'s own message is several lines)."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in own
              if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        for label, names in (("missing", missing), ("unexpected", unexpected), ("other shapes", shapes)):
            if names:
                more = f" and {len(names) - 3} more" if len(names) > 3 else ""
                parts.append(f"{label}: {', '.join(names[:3])}{more}")
        raise RunFolderError(f"{option}: the checkpoint does not fit {what} (a checkpoint of another "
                             f"model?): {'; '.join(parts)}")
    model.load_state_dict(state)
    return model


# ------------------------------------------------------------------------------------------------
# step 2: the empty model, per kind
# ------------------------------------------------------------------------------------------------
def build_image_model(name, image_shape, num_classes):
    """The registry's model ``name`` for images of shape (C, H, W) and ``num_classes`` classes (the MLP
    gets ``in_features = C·H·W``, convolutional networks ``in_channels = C``)."""
    from .. import models
    key = str(name).strip().lower().replace("-", "_")
    if key not in models.MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(models.list_models())}")
    channels, height, width = image_shape
    accepts = inspect.signature(models.MODELS[key]).parameters
    kwargs = {"num_classes": num_classes}
    if "in_features" in accepts:
        kwargs["in_features"] = channels * height * width
    if "in_channels" in accepts:
        kwargs["in_channels"] = channels
    elif "in_features" not in accepts and channels != 3:
        raise ValueError(f"model {name!r} takes 3-channel images; {channels}-channel images given")
    return models.get_model(key, **kwargs)


def _image_classes(dataset):
    if dataset == "cifar10":
        from ..data.cifar10 import CLASSES
        return list(CLASSES)
    return [str(i) for i in range(10)]


def main_job_state(state):
    """The main job's ``nn.Sequential(Linear, ReLU, Linear, ReLU, Linear)`` weights (``0.weight``,
    ``2.weight``, ...) under the names of the registry's ``MLP``, which flattens its input first
    (``layers.1.weight``, ``layers.3.weight``, ...): the same network, so every image command works on it.
    Returns ``(state, hidden widths)``, or ``(state, None)`` when ``state`` is not such a Sequential."""
    import re
    if not state or not all(re.fullmatch(r"\d+\.(weight|bias)", k) for k in state):
        return state, None
    renamed = {f"layers.{int(k.split('.')[0]) + 1}.{k.split('.')[1]}": v for k, v in state.items()}
    weights = sorted((int(k.split(".")[0]), v) for k, v in state.items() if k.endswith(".weight"))
    return renamed, tuple(int(v.shape[0]) for _, v in weights[:-1])


def _restore_image(kind, config, ckpt, option):
    dataset = config.get("dataset", "mnist")
    if dataset not in IMAGE_SHAPES:
        raise RunFolderError(f"{option}: the run's data set {dataset!r} is unknown (expected one of "
                             f"{', '.join(IMAGE_SHAPES)})")
    classes = _image_classes(dataset)
    name = config.get("model", "mlp")
    state = ckpt["model"]
    try:
        if kind == "mlp" and "model" not in config:      # the main job (training/mlp_job.py)
            from ..models import MLP
            state, hidden = main_job_state(state)
            channels, height, width = IMAGE_SHAPES[dataset]
            model = MLP(in_features=channels * height * width, hidden=hidden or (256, 256),
                        num_classes=len(classes))
        else:
            model = build_image_model(name, IMAGE_SHAPES[dataset], len(classes))
    except (ValueError, TypeError) as exc:
        raise RunFolderError(f"{option}: cannot rebuild the run's model: {exc}") from None
    load_weights(model, state, f"model {name!r} on {dataset}", option)
    return dict(model=model, classes=classes, dataset=dataset)


def _restore_gpt(config, ckpt, option):
    from ..models.gpt import GPT, GPTConfig
    from ..text import CharTokenizer
    if not isinstance(ckpt.get("vocab"), str) or not ckpt["vocab"]:
        raise RunFolderError(f"{option}: the checkpoint has no character vocabulary ('vocab'), so it is "
                             "not a checkpoint of `gpt` (a checkpoint of another model?)")
    tokenizer = CharTokenizer.from_chars(ckpt["vocab"])
    try:
        model = GPT(GPTConfig(n_layer=config["n_layer"], n_head=config["n_head"], n_embd=config["n_embd"],
                              block_size=config["block_size"], vocab_size=tokenizer.vocab_size,
                              dropout=config.get("dropout", 0.0), bias=config.get("bias", False)))
    except (KeyError, ValueError, TypeError) as exc:
        raise RunFolderError(f"{option}: the run's GPT configuration is incomplete or wrong: {exc}") from None
    load_weights(model, ckpt["model"], "the GPT its configuration describes", option)
    return dict(model=model, tokenizer=tokenizer)


def _wordpiece(folder, option):
    from ..text import WordPieceTokenizer
    try:
        return WordPieceTokenizer.from_pretrained(folder)
    except (FileNotFoundError, OSError, ValueError) as exc:
        raise RunFolderError(f"{option}: cannot read the tokenizer: {exc}") from None


def _minilm(option):
    from .finetune import minilm_folder
    try:
        return minilm_folder()
    except FileNotFoundError as exc:
        raise RunFolderError(f"{option}: {exc}") from None


def _restore_pretrain(config, ckpt, option):
    from .pretrain import PretrainConfig, build_mlm_model
    tokenizer = _wordpiece(_minilm(option), option)
    fields = {f.name for f in dataclasses.fields(PretrainConfig)}
    try:
        model = build_mlm_model(PretrainConfig(**{k: v for k, v in config.items() if k in fields}),
                                tokenizer.vocab_size)
    except (ValueError, TypeError) as exc:
        raise RunFolderError(f"{option}: the run's BERT configuration is wrong: {exc}") from None
    load_weights(model, ckpt["model"], "the masked-LM BERT its configuration describes", option)
    return dict(model=model, tokenizer=tokenizer)


def _restore_finetune(config, ckpt, option):
    from . import finetune
    fields = {f.name for f in dataclasses.fields(finetune.FinetuneConfig)}
    cfg = finetune.FinetuneConfig(**{k: v for k, v in config.items() if k in fields})
    labels = ckpt.get("label_names")
    if not isinstance(labels, list) or not labels:
        raise RunFolderError(f"{option}: the checkpoint has no 'label_names', so it is not a checkpoint "
                             "of `finetune` (a checkpoint of another model?)")
    if cfg.task not in finetune.TASKS:
        raise RunFolderError(f"{option}: the run's task {cfg.task!r} is unknown (expected one of "
                             f"{', '.join(finetune.TASKS)})")
    folder = cfg.model_dir or _minilm(option)
    tokenizer = _wordpiece(folder, option)
    kind = "sequence" if cfg.task == "sst2" else "token"
    shell = finetune.TaskData(kind, [], [], list(labels))
    try:   # the architecture of the run, with random weights: the checkpoint's weights go in next
        model = finetune.build_model(dataclasses.replace(cfg, init="scratch"), shell)
    except (OSError, ValueError) as exc:
        raise RunFolderError(f"{option}: cannot rebuild the fine-tuned model from {folder}: {exc}") from None
    load_weights(model, ckpt["model"], f"the {cfg.task} model its configuration describes", option)
    return dict(model=model, tokenizer=tokenizer, classes=list(labels), task=cfg.task)


def load_run(run, option="RUN"):
    """The trained model of the run folder (or checkpoint file) ``run``, in eval mode, as a ``Run``.

    ``option`` names the argument in error messages (``RUN`` on the command line).  Problems the user
    can fix (no such folder, a truncated checkpoint, a checkpoint of another model) raise
    ``RunFolderError`` with a one-line message."""
    folder, ckpt_path = _locate(run, option)
    ckpt = _read_checkpoint(ckpt_path, option)
    kind, config = _config_of(folder, ckpt, option)
    if kind in ("image", "mlp"):
        parts = _restore_image(kind, config, ckpt, option)
    elif kind == "gpt":
        parts = _restore_gpt(config, ckpt, option)
    elif kind == "pretrain":
        parts = _restore_pretrain(config, ckpt, option)
    elif kind == "finetune":
        parts = _restore_finetune(config, ckpt, option)
    else:  # read_config only returns known kinds; a new kind needs a branch here
        raise RunFolderError(f"{option}: runs of kind {kind!r} cannot be used yet (known: {sorted(KINDS)})")
    parts["model"].eval()
    return Run(folder=folder, checkpoint=ckpt_path, kind=kind, config=config, checkpoint_data=ckpt, **parts)
