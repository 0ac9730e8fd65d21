"""The main job, ``python -m tinygrad_edu`` with no COMMAND: a 784-256-256-10 MLP trained on MNIST.

    python -m tinygrad_edu                               # 3 epochs of Adam, batch 128
    python -m tinygrad_edu --max-steps 100               # a quick smoke run
    python -m tinygrad_edu --out runs/main --epochs 1    # also save a checkpoint and history.json
    python -m tinygrad_edu --out runs/main --resume --epochs 3    # ... and train it 2 epochs more
    mpiexec -n 2 python -m tinygrad_edu --batch-size 64 --distributed   # 2 ranks x 64 = global batch 128

The loop itself is ``training/mlp_job.py``.  Without ``--out`` nothing is written, as always."""
from . import UsageError
from .checks import data_errors, one_of, positive_float, positive_int, start_run

HELP = "train a 784-256-256-10 MLP on MNIST and report its test accuracy"
OPTIMIZERS = ("adam", "sgd")


def add_arguments(parser):
    parser.add_argument("--epochs", type=positive_int, default=3,
                        help="passes over the 60,000 training images")
    parser.add_argument("--batch-size", type=positive_int, default=128,
                        help="images per step, PER RANK with --distributed (global batch: "
                             "ranks x this, as in torch DDP)")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help="learning rate (default 1e-3 for Adam, 0.05 for SGD)")
    parser.add_argument("--optimizer", type=one_of("optimizer", OPTIMIZERS), default="adam",
                        metavar="{adam,sgd}", help="Adam, or SGD with momentum 0.9")
    parser.add_argument("--max-steps", type=positive_int, default=None,
                        help="stop training after this many steps in all (a smoke run)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the weights and the shuffling")
    parser.add_argument("--data", default=None, metavar="DIR",
                        help="folder holding the MNIST .gz files (or DIR/mnist/); default: "
                             "$TINYGRAD_EDU_DATA, then the download cache")
    parser.add_argument("--no-download", action="store_true",
                        help="never download; fail if the files are missing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="BLAS threads for the matrix products (1: the steadiest on small machines)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="run folder for config.json, the checkpoint and history.json (default: "
                             "none, nothing is written)")
    from ..training.loop import DISTRIBUTED_HELP
    parser.add_argument("--distributed", action="store_true", help=DISTRIBUTED_HELP)
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its checkpoint (a larger --epochs extends it)")


def run(args):
    from ..training import mlp_job
    from ..training.loop import global_batch_line, setup_distributed
    from ..training.run_folder import on_main_process
    distributed = setup_distributed(args.distributed) > 1
    if args.resume and args.out is None:
        raise UsageError("--resume needs --out, the run folder to continue")
    lr = args.lr if args.lr is not None else (1e-3 if args.optimizer == "adam" else 0.05)
    config = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": lr,
              "optimizer": args.optimizer, "seed": args.seed, "max_steps": args.max_steps, "data": args.data}
    if args.out is not None:   # (an untyped --lr is the optimizer's default; on resume: the saved lr)
        config = on_main_process(start_run, args, args.out, "mlp", config, extendable=("epochs",))
    job = mlp_job.MLPJobConfig(**config, download=not args.no_download)
    if distributed:
        from ..distributed import get_world_size
        print(global_batch_line(get_world_size(), job.batch_size), flush=True)
    try:
        mlp_job.train(job, out_dir=args.out, resume=args.resume, progress_bar=not args.no_progress,
                      distributed=distributed)
    except data_errors() as exc:
        raise UsageError(str(exc)) from None
    return 0
