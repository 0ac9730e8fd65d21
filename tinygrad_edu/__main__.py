"""``python -m tinygrad_edu`` (or the ``tinygrad-edu`` command).

* no arguments (or only options): the main job, an MLP trained on MNIST (``train_mlp.py``);
* ``train ...`` / ``evaluate CHECKPOINT``: any model on any data set (``cli.py``);
* ``gpt`` / ``pretrain`` / ``finetune``: the Transformer commands (``cli_text.py``)."""
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("train", "evaluate", "gpt", "pretrain", "finetune"):
        from .cli import main as cli_main
        return cli_main(argv)
    from .train_mlp import main as train_mlp_main
    return train_mlp_main(argv)


if __name__ == "__main__":
    sys.exit(main())
