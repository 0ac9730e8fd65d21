"""``train``: an image classifier (the MLP, LeNet-5, VGG, ResNet, airbench) on MNIST, CIFAR-10 or digits.

    python -m tinygrad_edu train --model vgg_mini --dataset mnist --epochs 2 --out runs/vgg_mnist
    python -m tinygrad_edu train --out runs/vgg_mnist --resume              # continue from the checkpoint
    python -m tinygrad_edu train --out runs/vgg_mnist --resume --epochs 4   # extend the finished run
    python -m tinygrad_edu train --model resnet_cifar --dataset cifar10 --epochs 30 --out runs/r20
    mpiexec -n 2 python -m tinygrad_edu train --model mlp --batch-size 32 --distributed   # 2 x 32 = 64

It shows a progress bar (loss, learning rate, images/s), evaluates on the test set after each epoch
and writes config.json, checkpoint.safetensors, history.json and curves.png into --out.  --resume
rebuilds the run from config.json (the model, data and schedule need not be given again); raising
--epochs re-plans the learning-rate schedule for the new total (see training/loop.py).

    python -m tinygrad_edu train --model mlp --epochs 1 --log-activations --out runs/mlp_stats

--log-activations (every 10th step, or --log-activations-every N) also records what a network that
does not learn is diagnosed with (explain/activation_stats.py): per layer the mean, std, histogram,
fraction of dead ReLUs and of saturated tanh/sigmoid/GELU units, per parameter the gradient norm and
the update-to-weight ratio ||dw||/||w||; into activations.json and activations.png in --out."""
import os

from . import UsageError
from ..training.loop import DISTRIBUTED_HELP
from .checks import (data_errors, fraction, nonnegative_float, one_of, positive_float,
                     positive_int, start_run)

HELP = "train an image classifier (MLP, LeNet-5, VGG, ResNet, ...) on MNIST, CIFAR-10 or digits"
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("onecycle", "cosine", "none")
AUGMENT = {"auto": None, "on": True, "off": False}
LOG_ACTIVATIONS_EVERY = 10


def add_arguments(parser):
    from ..models import list_models
    from ..training.datasets import DATASETS
    models = list_models()
    parser.add_argument("--model", type=one_of("model", models), default="vgg_mini", metavar="NAME",
                        help=f"the network, one of: {', '.join(models)}")
    parser.add_argument("--dataset", type=one_of("dataset", DATASETS), default="mnist",
                        metavar="{" + ",".join(DATASETS) + "}", help="the images to learn")
    parser.add_argument("--epochs", type=positive_int, default=2,
                        help="passes over the training images (on --resume a larger value extends the run)")
    parser.add_argument("--batch-size", type=positive_int, default=64,
                        help="images per step, PER RANK with --distributed (global batch: "
                             "ranks x this, as in torch DDP)")
    parser.add_argument("--lr", type=positive_float, default=0.05,
                        help="the (peak) learning rate of the schedule")
    parser.add_argument("--optimizer", type=one_of("optimizer", OPTIMIZERS), default="sgd",
                        metavar="{" + ",".join(OPTIMIZERS) + "}",
                        help="sgd: momentum 0.9 with Nesterov; adam; adamw: decoupled weight decay")
    parser.add_argument("--weight-decay", type=nonnegative_float, default=5e-4,
                        help="L2 penalty (sgd, adam) or decoupled decay (adamw) on every parameter")
    parser.add_argument("--scheduler", type=one_of("scheduler", SCHEDULERS), default="onecycle",
                        metavar="{" + ",".join(SCHEDULERS) + "}",
                        help="learning rate per step: onecycle (warm up, then anneal), cosine, or none")
    parser.add_argument("--label-smoothing", type=fraction(0, 1), default=0.0,
                        help="share of the target moved from the true class to all classes, in [0, 1]")
    parser.add_argument("--augment", type=one_of("augment setting", AUGMENT), default="auto",
                        metavar="{auto,on,off}",
                        help="random crops and flips while training (auto: on for cifar10 only)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the weights, the shuffles, the augmentation and dropout")
    parser.add_argument("--max-steps", type=positive_int, default=None,
                        help="stop after this many steps in all (a smoke run; not saved with the run)")
    parser.add_argument("--limit-train", type=positive_int, default=None, metavar="N",
                        help="train on the first N training images only (default: all)")
    parser.add_argument("--limit-test", type=positive_int, default=None, metavar="N",
                        help="evaluate after each epoch on the first N test images only (default: all "
                             "10,000; smoke runs)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="the run folder (default: runs/MODEL_DATASET)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out, rebuilt from its config.json and checkpoint")
    parser.add_argument("--init-from", default=None, metavar="CHECKPOINT",
                        help="start a new run from another run's model weights, with a fresh optimizer "
                             "and schedule (a warm restart)")
    parser.add_argument("--data", default=None, metavar="DIR",
                        help="data root (default: $TINYGRAD_EDU_DATA, then the download cache)")
    parser.add_argument("--no-download", action="store_true",
                        help="never download; fail if files are missing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--distributed", action="store_true", help=DISTRIBUTED_HELP)
    parser.add_argument("--log-activations", action="store_true",
                        help="record per-layer activation statistics (mean, std, dead ReLUs, saturation, "
                             "histograms) and per-parameter gradient norms and update ratios while "
                             "training, into activations.json and activations.png in --out")
    parser.add_argument("--log-activations-every", type=positive_int, default=None, metavar="N",
                        help=f"with --log-activations: record every N-th step (default "
                             f"{LOG_ACTIVATIONS_EVERY}; giving it turns --log-activations on)")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="BLAS threads (1: convolutions' many small matrix products are slower "
                             "with more)")


def _log_activations_every(args):
    """Every how many steps --log-activations records (None: it is off)."""
    if args.log_activations_every is not None:
        return args.log_activations_every
    return LOG_ACTIVATIONS_EVERY if args.log_activations else None


def run(args):
    from .. import manual_seed
    from ..training.datasets import load_image_data
    from ..training.loop import TrainConfig, fit
    from ..training.restore import build_image_model
    from ..training.loop import global_batch_line, setup_distributed
    from ..training.run_folder import CHECKPOINT, RunFolderError, on_main_process
    distributed = setup_distributed(args.distributed) > 1
    if args.init_from and args.resume:
        raise UsageError("--init-from starts a new run and --resume continues one; pass only one of them")
    if args.init_from and not os.path.isfile(args.init_from):
        raise UsageError(f"--init-from: there is no checkpoint at {args.init_from}")
    out = args.out or os.path.join("runs", f"{args.model}_{args.dataset}")
    config = {"model": args.model, "dataset": args.dataset, "epochs": args.epochs,
              "batch_size": args.batch_size, "lr": args.lr, "optimizer": args.optimizer,
              "weight_decay": args.weight_decay, "scheduler": args.scheduler,
              "label_smoothing": args.label_smoothing, "augment": AUGMENT[args.augment],
              "seed": args.seed, "limit_train": args.limit_train,
              "limit_test": args.limit_test, "init_from": args.init_from,
              "max_steps": args.max_steps, "data": args.data}
    config = TrainConfig(**on_main_process(start_run, args, out, "image", config, extendable=("epochs",)))
    if distributed:
        from ..distributed import get_world_size
        print(global_batch_line(get_world_size(), config.batch_size), flush=True)

    try:
        data = load_image_data(config.dataset, root=config.data, download=not args.no_download,
                               limit_train=config.limit_train)
    except data_errors() as exc:
        raise UsageError(f"data set {config.dataset!r} is not available: {exc}") from None
    except ImportError as exc:
        raise UsageError(f"data set {config.dataset!r} needs a package that is missing: {exc}") from None
    if config.limit_test is not None:
        data.x_test, data.y_test = data.x_test[:config.limit_test], data.y_test[:config.limit_test]
    manual_seed(config.seed)
    try:
        model = build_image_model(config.model, data.x_train.shape[1:], len(data.classes))
    except ValueError as exc:
        raise UsageError(f"--model: {exc}") from None
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{config.model} ({n_params:,} parameters) on {config.dataset}: {len(data.x_train):,} training and "
          f"{len(data.x_test):,} test images; {config.optimizer} lr={config.lr:g}, {config.scheduler} "
          f"schedule, batch {config.batch_size}, {config.epochs} epochs -> {out}", flush=True)
    try:
        history = fit(model, data, config, out, resume=args.resume, log=lambda m: print(m, flush=True),
                      progress_bar=not args.no_progress, distributed=distributed,
                      log_activations=_log_activations_every(args))
    except RunFolderError as exc:             # the checkpoint to resume or to start from does not fit
        raise UsageError(f"{'--resume' if args.resume else '--init-from'}: {exc}") from None
    if history["test_acc"]:
        print(f"final test accuracy: {100 * history['test_acc'][-1]:.2f}%  (checkpoint "
              f"{os.path.join(out, CHECKPOINT)}, curves {os.path.join(out, 'curves.png')})", flush=True)
    return 0
