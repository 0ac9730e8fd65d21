"""The text commands of ``python -m tinygrad_edu``: ``gpt``, ``pretrain`` and ``finetune``.

    python -m tinygrad_edu gpt --out runs/gpt_shakespeare              # nanoGPT's CPU recipe, 2000 iterations
    python -m tinygrad_edu pretrain --steps 1000 --out runs/mlm        # masked-LM pre-training from scratch
    python -m tinygrad_edu finetune --task sst2 --out runs/sst2_minilm # MiniLM → SST-2 (transfer learning)
    python -m tinygrad_edu finetune --task conll2003 --init scratch ...   # the same model from random weights

Each shows a progress bar, writes a checkpoint (``--resume`` continues it), ``history.json`` and a plot.
"""
import dataclasses
import os

TEXT_COMMANDS = ("gpt", "pretrain", "finetune")


def _add_fields(parser, config_cls, skip=()):
    """One ``--option`` per field of the config dataclass, typed by its default."""
    for field in dataclasses.fields(config_cls):
        if field.name in skip:
            continue
        flag = "--" + field.name.replace("_", "-")
        default = field.default
        if isinstance(default, bool):
            parser.add_argument(flag, type=lambda s: s.lower() in ("1", "true", "yes", "on"), default=default,
                                metavar="BOOL")
        elif default is None:
            kind = int if field.name.startswith(("limit", "max", "lr_decay")) else str
            parser.add_argument(flag, type=kind, default=None)
        else:
            parser.add_argument(flag, type=type(default), default=default)


def add_text_commands(sub):
    from .training.finetune import FinetuneConfig, TASKS
    from .training.gpt_trainer import GPTTrainConfig
    from .training.pretrain import PretrainConfig
    for name, config_cls, text in (("gpt", GPTTrainConfig,
                                    "train a character-level mini-GPT on tinyshakespeare"),
                                   ("pretrain", PretrainConfig, "masked-LM pre-training of a small BERT"),
                                   ("finetune", FinetuneConfig, f"fine-tune MiniLM (or the same model from "
                                                                f"scratch) on {', '.join(TASKS)}")):
        p = sub.add_parser(name, help=text)
        _add_fields(p, config_cls)
        p.add_argument("--out", default=None, help="run folder")
        p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
        p.add_argument("--no-progress", action="store_true")
        p.add_argument("--threads", type=int, default=1, help="BLAS threads")


def run_text_command(args, usage_error):
    """Run ``args.command``; problems the user can fix raise ``usage_error`` (one line, exit code 2)."""
    from .training import finetune, gpt_trainer, pretrain
    config_cls = {"gpt": gpt_trainer.GPTTrainConfig, "pretrain": pretrain.PretrainConfig,
                  "finetune": finetune.FinetuneConfig}[args.command]
    config = config_cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(config_cls)})
    out = args.out or os.path.join("runs", {"gpt": "gpt_shakespeare", "pretrain": "mlm_pretrain",
                                            "finetune": f"{getattr(config, 'task', '')}_"
                                                        f"{getattr(config, 'init', '')}"}[args.command])
    checkpoint = os.path.join(out, "checkpoint.safetensors")
    if os.path.exists(checkpoint) and not args.resume:
        raise usage_error(f"{checkpoint} already exists; pass --resume to continue that run or choose "
                          "another --out")
    if args.resume and not os.path.exists(checkpoint):
        raise usage_error(f"--resume: there is no checkpoint at {checkpoint}")
    log = lambda m: print(m, flush=True)  # noqa: E731
    try:
        if args.command == "gpt":
            from .data.text_datasets import TinyShakespeare
            train = TinyShakespeare(root=config.data, split="train").text
            val = TinyShakespeare(root=config.data, split="val").text
            print(f"mini-GPT {config.n_layer} layers x {config.n_embd} on tinyshakespeare "
                  f"({len(train):,} train / {len(val):,} val characters), {config.max_iters} iterations "
                  f"-> {out}", flush=True)
            _, _, history = gpt_trainer.train_gpt(train, val, config, out, resume=args.resume, log=log,
                                                  progress_bar=not args.no_progress)
            print(f"final validation loss {history['eval_val'][-1]:.4f} ({history['seconds']:.0f} s)")
        elif args.command == "pretrain":
            _, _, history = pretrain.pretrain(config, out, resume=args.resume, log=log,
                                              progress_bar=not args.no_progress)
            print(f"final held-out MLM loss {history['eval_loss'][-1]:.4f}")
        else:
            if config.task not in finetune.TASKS:
                raise usage_error(f"unknown task {config.task!r}; expected one of "
                                  f"{', '.join(finetune.TASKS)}")
            if config.init not in ("pretrained", "scratch"):
                raise usage_error(f"unknown --init {config.init!r}; expected pretrained or scratch")
            print(f"fine-tuning {config.init} MiniLM-L6 on {config.task}: {config.epochs} epochs, batch "
                  f"{config.batch_size}, lr {config.lr:g} -> {out}", flush=True)
            history = finetune.finetune(config, out, resume=args.resume, log=log,
                                        progress_bar=not args.no_progress)
            if history["eval_metric"]:
                print(f"final eval {history['metric']}: {100 * history['eval_metric'][-1]:.2f}%")
    except FileNotFoundError as exc:
        raise usage_error(f"missing data or model files: {exc}") from None
    return 0
