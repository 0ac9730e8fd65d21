"""``python -m tinygrad_edu train|evaluate|gpt|pretrain|finetune``: train a model on a real data set, or
evaluate a checkpoint (the text commands live in ``cli_text.py``).

    python -m tinygrad_edu train --model vgg_mini --dataset mnist --epochs 2 --out runs/vgg_mnist
    python -m tinygrad_edu train --model resnet_cifar --dataset cifar10 --epochs 30 --out runs/r20 --resume
    python -m tinygrad_edu evaluate runs/vgg_mnist/checkpoint.safetensors

``train`` shows a progress bar (loss, learning rate, images/s), evaluates on the test set after each
epoch, writes ``checkpoint.safetensors``, ``history.json`` and ``curves.png`` into ``--out``.
``evaluate`` prints the accuracy and the confusion matrix and saves it as a PNG beside the checkpoint.
Bad input (an unknown model or data set, missing data, a checkpoint that does not fit) gives one clear
line on stderr and exit code 2; nothing is overwritten.
"""
import argparse
import dataclasses
import inspect
import os
import sys


from .training.datasets import DATASETS, load_image_data
from .training.loop import CHECKPOINT, TTA_MODES, TrainConfig, confusion_matrix, evaluate, fit


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit code 2."""


def build_model(name, data_shape, num_classes):
    """The model ``name`` for images of shape (C, H, W) and ``num_classes`` classes."""
    from . import models
    if name not in models.MODELS:
        raise UsageError(f"unknown model {name!r}; known models: {', '.join(models.list_models())}")
    channels, height, width = data_shape
    accepts = inspect.signature(models.MODELS[name]).parameters
    kwargs = {"num_classes": num_classes}
    if "in_features" in accepts:           # the MLP flattens the image
        kwargs["in_features"] = channels * height * width
    if "in_channels" in accepts:
        kwargs["in_channels"] = channels
    elif "in_features" not in accepts and channels != 3:
        raise UsageError(f"model {name!r} takes 3-channel images; {channels}-channel images given")
    return models.get_model(name, **kwargs)


def _data_errors():
    """The exceptions the data loaders raise for missing or damaged files."""
    from . import data
    names = ("MNISTNotFoundError", "ChecksumError", "IDXFormatError", "DatasetNotFoundError",
             "CIFAR10NotFoundError", "DataFormatError")
    return tuple(getattr(data, n) for n in names if hasattr(data, n)) + (FileNotFoundError,)


def _load_data(name, root, download, limit_train=None):
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; known data sets: {', '.join(DATASETS)}")
    try:
        return load_image_data(name, root=root, download=download, limit_train=limit_train)
    except _data_errors() as exc:
        raise UsageError(f"data set {name!r} is not available: {exc}") from None
    except ImportError as exc:
        raise UsageError(f"data set {name!r} needs a package that is missing: {exc}") from None


def cmd_train(args):
    config = TrainConfig(model=args.model, dataset=args.dataset, epochs=args.epochs,
                         batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
                         weight_decay=args.weight_decay, scheduler=args.scheduler,
                         label_smoothing=args.label_smoothing,
                         augment=None if args.augment == "auto" else args.augment == "on",
                         seed=args.seed, max_steps=args.max_steps, limit_train=args.limit_train,
                         data=args.data, init_from=args.init_from)
    from . import models
    if config.model not in models.MODELS:  # before loading any data: fail fast
        raise UsageError(f"unknown model {config.model!r}; known models: {', '.join(models.list_models())}")
    if config.dataset not in DATASETS:
        raise UsageError(f"unknown dataset {config.dataset!r}; known data sets: {', '.join(DATASETS)}")
    ckpt_path = os.path.join(args.out, CHECKPOINT)
    if os.path.exists(ckpt_path) and not args.resume:
        raise UsageError(f"{ckpt_path} already exists; pass --resume to continue that run or choose "
                         "another --out")
    if args.resume and not os.path.exists(ckpt_path):
        raise UsageError(f"--resume: there is no checkpoint at {ckpt_path}")
    if args.init_from and args.resume:
        raise UsageError("--init-from starts a new run and --resume continues one; pass only one of them")
    if args.init_from and not os.path.exists(args.init_from):
        raise UsageError(f"--init-from: there is no checkpoint at {args.init_from}")
    data = _load_data(config.dataset, config.data, not args.no_download, config.limit_train)
    from . import manual_seed
    manual_seed(config.seed)
    model = build_model(config.model, data.x_train.shape[1:], len(data.classes))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{config.model} ({n_params:,} parameters) on {config.dataset}: {len(data.x_train):,} training and "
          f"{len(data.x_test):,} test images; {config.optimizer} lr={config.lr:g}, {config.scheduler} "
          f"schedule, batch {config.batch_size}, {config.epochs} epochs -> {args.out}", flush=True)
    try:
        history = fit(model, data, config, args.out, resume=args.resume,
                      log=lambda m: print(m, flush=True), progress_bar=not args.no_progress)
    except ValueError as exc:
        if not str(exc).startswith("init_from:"):
            raise
        raise UsageError(str(exc).replace("init_from:", "--init-from:", 1)) from None
    if history["test_acc"]:
        print(f"final test accuracy: {100 * history['test_acc'][-1]:.2f}%  (checkpoint {ckpt_path}, curves "
              f"{os.path.join(args.out, 'curves.png')})", flush=True)
    return 0


def cmd_evaluate(args):
    from . import load
    from .training.plots import plot_confusion_matrix
    if not os.path.exists(args.checkpoint):
        raise UsageError(f"no checkpoint at {args.checkpoint}")
    try:
        ckpt = load(args.checkpoint)
    except (ValueError, OSError) as exc:
        raise UsageError(f"cannot read checkpoint {args.checkpoint}: {exc}") from None
    if not isinstance(ckpt, dict) or "config" not in ckpt or "model" not in ckpt:
        raise UsageError(f"{args.checkpoint} is not a training checkpoint of `python -m tinygrad_edu "
                         "train` (it has no model/config entries)")
    config = TrainConfig(**{k: v for k, v in ckpt["config"].items()
                            if k in {f.name for f in dataclasses.fields(TrainConfig)}})
    data = _load_data(config.dataset, args.data or config.data, not args.no_download)
    model = build_model(config.model, data.x_test.shape[1:], len(data.classes))
    try:
        model.load_state_dict(ckpt["model"])
    except (RuntimeError, KeyError, ValueError) as exc:
        raise UsageError(f"checkpoint {args.checkpoint} does not fit model {config.model!r}: {exc}") from None
    acc, loss, predictions = evaluate(model, data.x_test, data.y_test, tta=args.tta)
    counts = confusion_matrix(data.y_test, predictions, len(data.classes))
    tta = f" with {args.tta} test-time augmentation" if args.tta != "none" else ""
    print(f"{config.model} on {config.dataset} test set{tta}: accuracy {100 * acc:.2f}% "
          f"({int((predictions == data.y_test).sum())}/{len(data.y_test)}), loss {loss:.4f}")
    width = max(5, max(len(c) for c in data.classes))
    print("confusion matrix (rows: true class, columns: predicted):")
    print(" " * (width + 1) + " ".join(f"{c[:5]:>5}" for c in data.classes))
    for name, row in zip(data.classes, counts):
        print(f"{name:>{width}} " + " ".join(f"{v:5d}" for v in row))
    png = os.path.join(os.path.dirname(os.path.abspath(args.checkpoint)), "confusion_matrix.png")
    plot_confusion_matrix(counts, data.classes, png, title=f"{config.model} on {config.dataset}: "
                                                          f"{100 * acc:.2f}%")
    print(f"saved {png}")
    return 0


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m tinygrad_edu",
                                     description="Train or evaluate models with tinygrad_edu.")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a model on a data set")
    t.add_argument("--model", default="vgg_mini", help="model name (see tinygrad_edu.models.list_models())")
    t.add_argument("--dataset", default="mnist", help=f"one of {', '.join(DATASETS)}")
    t.add_argument("--epochs", type=int, default=2)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=0.05, help="(peak) learning rate")
    t.add_argument("--optimizer", choices=("sgd", "adam", "adamw"), default="sgd")
    t.add_argument("--weight-decay", type=float, default=5e-4)
    t.add_argument("--scheduler", choices=("onecycle", "cosine", "none"), default="onecycle")
    t.add_argument("--label-smoothing", type=float, default=0.0)
    t.add_argument("--augment", choices=("auto", "on", "off"), default="auto",
                   help="random crops and flips (auto: on for cifar10)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (smoke runs)")
    t.add_argument("--limit-train", type=int, default=None, help="use only the first N training images")
    t.add_argument("--out", default=None, help="run folder (default runs/MODEL_DATASET)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    t.add_argument("--init-from", default=None, metavar="CHECKPOINT",
                   help="start from another run's model weights with a fresh optimizer and schedule "
                        "(a warm restart)")
    t.add_argument("--data", default=None, metavar="DIR", help="data root (default $TINYGRAD_EDU_DATA)")
    t.add_argument("--no-download", action="store_true")
    t.add_argument("--no-progress", action="store_true")
    t.add_argument("--threads", type=int, default=1,
                   help="BLAS threads (default 1: convolutions' many small matrix products are slower "
                        "with more)")
    e = sub.add_parser("evaluate", help="evaluate a checkpoint on its data set's test split")
    e.add_argument("checkpoint")
    e.add_argument("--data", default=None, metavar="DIR")
    e.add_argument("--no-download", action="store_true")
    e.add_argument("--tta", choices=TTA_MODES, default="none",
                   help="test-time augmentation: flip averages the predictions on each image and its "
                        "mirror image; flip-translate also on copies shifted by one pixel (airbench's)")
    from .cli_text import add_text_commands
    add_text_commands(sub)
    args = parser.parse_args(argv)
    if args.command == "train":
        if args.out is None:
            args.out = os.path.join("runs", f"{args.model}_{args.dataset}")
        for name in ("epochs", "batch_size"):
            if getattr(args, name) < 1:
                parser.error(f"--{name.replace('_', '-')} must be positive")
    return args


def main(argv=None):
    args = parse_args(argv)
    from .backend import set_num_threads
    set_num_threads(getattr(args, "threads", 1))
    try:
        if args.command == "train":
            return cmd_train(args)
        if args.command == "evaluate":
            return cmd_evaluate(args)
        from .cli_text import run_text_command
        return run_text_command(args, UsageError)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted (the last finished epoch's checkpoint is kept; continue with --resume)",
              file=sys.stderr)
        return 130



