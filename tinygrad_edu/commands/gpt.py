"""``gpt``: a character-level mini-GPT trained on tinyshakespeare, the way nanoGPT's CPU recipe does.

    python -m tinygrad_edu gpt --out runs/gpt_shakespeare              # nanoGPT's recipe, 2000 iterations
    python -m tinygrad_edu gpt --out runs/gpt_shakespeare --resume          # continue after an interruption
    python -m tinygrad_edu gpt --out runs/gpt_shakespeare --resume --max-iters 3000   # train it longer
    python -m tinygrad_edu gpt --max-iters 20 --n-layer 1 --n-embd 32 --out runs/gpt_smoke   # seconds
    mpiexec -n 2 python -m tinygrad_edu gpt --batch-size 6 --distributed   # 2 ranks x 6 = 12 windows a step

Writes config.json, checkpoint.safetensors (at every evaluation), history.json, loss.png and
samples.txt; `generate RUN` then writes text with the trained model.  The loop and the schedule are
training/gpt_trainer.py."""
import os

from . import UsageError
from .checks import (add_config_options, boolean, config_from, data_errors, fraction, multiple_of,
                     nonnegative_float, nonnegative_int, positive_float, positive_int, start_run)

HELP = "train a character-level mini-GPT on tinyshakespeare (nanoGPT's CPU recipe)"

OPTIONS = {   # GPTTrainConfig field: (check, meaning); the defaults are the dataclass's
    "n_layer": (positive_int, "Transformer blocks"),
    "n_head": (positive_int, "attention heads per block (--n-embd must be a multiple of it)"),
    "n_embd": (positive_int, "width of the token vectors"),
    "block_size": (positive_int, "context length: characters the model sees at once"),
    "dropout": (fraction(0, 1, high_open=True), "dropout probability in [0, 1)"),
    "bias": (boolean, "biases in the Linear and LayerNorm layers (true/false)", "BOOL"),
    "batch_size": (positive_int, "windows per step, PER RANK with --distributed (global batch: ranks x this, "
                                 "as in torch DDP)"),
    "max_iters": (positive_int, "training iterations (on --resume a larger value extends the run)"),
    "learning_rate": (positive_float, "peak learning rate, after the warm-up"),
    "min_lr": (nonnegative_float, "learning rate at the end of the cosine decay"),
    "warmup_iters": (nonnegative_int, "iterations of linear warm-up"),
    "lr_decay_iters": (positive_int, "iteration where the cosine reaches --min-lr (default: --max-iters)"),
    "weight_decay": (nonnegative_float, "AdamW's decoupled weight decay (on the weight matrices)"),
    "beta1": (fraction(0, 1, high_open=True), "AdamW's beta1, in [0, 1)"),
    "beta2": (fraction(0, 1, high_open=True), "AdamW's beta2, in [0, 1)"),
    "grad_clip": (nonnegative_float, "clip the gradient's norm to this (0: no clipping)"),
    "eval_interval": (positive_int, "estimate train/val loss (and save) every this many iterations"),
    "eval_iters": (positive_int, "random batches per loss estimate"),
    "final_eval_iters": (positive_int, "random batches for the final, steadier estimate"),
    "seed": (int, "seed of the weights, the batches and the sample"),
    "sample_tokens": (nonnegative_int, "characters to sample into samples.txt at the end"),
    "data": (str, "data root with tinyshakespeare/ (default: $TINYGRAD_EDU_DATA, then the download cache)",
             "DIR"),
}


def add_arguments(parser):
    from ..training.gpt_trainer import GPTTrainConfig
    add_config_options(parser, GPTTrainConfig, OPTIONS)
    parser.add_argument("--out", default=os.path.join("runs", "gpt_shakespeare"), metavar="DIR",
                        help="the run folder")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out, rebuilt from its config.json and checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    from ..training.loop import DISTRIBUTED_HELP
    parser.add_argument("--distributed", action="store_true", help=DISTRIBUTED_HELP)
    parser.add_argument("--threads", type=positive_int, default=1, help="BLAS threads")


def run(args):
    from ..data.text_datasets import TinyShakespeare
    from ..training import gpt_trainer
    from ..training.loop import global_batch_line, setup_distributed
    from ..training.run_folder import RunFolderError, on_main_process
    distributed = setup_distributed(args.distributed) > 1
    config = config_from(args, gpt_trainer.GPTTrainConfig)
    if not args.resume:                  # (a resumed run is rebuilt from a config that was checked)
        multiple_of(config, "n_embd", "n_head")
    config = gpt_trainer.GPTTrainConfig(**on_main_process(start_run, args, args.out, "gpt", config,
                                                          extendable=("max_iters",), per_invocation=()))
    if distributed:
        from ..distributed import get_world_size
        print(global_batch_line(get_world_size(), config.batch_size), flush=True)
    try:
        train = TinyShakespeare(root=config.data, split="train").text
        val = TinyShakespeare(root=config.data, split="val").text
    except data_errors() as exc:
        raise UsageError(f"tinyshakespeare is not available: {exc}") from None
    if len(train) <= config.block_size or len(val) <= config.block_size:
        raise UsageError(f"--block-size {config.block_size} is longer than the text")
    print(f"mini-GPT {config.n_layer} layers x {config.n_embd} on tinyshakespeare ({len(train):,} train / "
          f"{len(val):,} val characters), {config.max_iters} iterations -> {args.out}", flush=True)
    try:
        _, _, history = gpt_trainer.train_gpt(train, val, config, args.out, resume=args.resume,
                                              log=lambda m: print(m, flush=True),
                                              progress_bar=not args.no_progress, distributed=distributed)
    except RunFolderError as exc:
        raise UsageError(f"--resume: {exc}") from None
    if not history["eval_val"]:           # a rank other than 0 (it does not evaluate)
        return 0
    print(f"final validation loss {history['eval_val'][-1]:.4f} ({history['seconds']:.0f} s)")
    return 0
