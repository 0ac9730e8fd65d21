"""The subcommands of ``python -m tinygrad_edu``, one file each.

Every command module has the same three parts, and ``tinygrad_edu/cli.py`` (the one parser) registers
them in the order of ``COMMANDS``:

    HELP = "one line for `python -m tinygrad_edu --help`"
    def add_arguments(parser): ...        # the options, each with its meaning, default and choices
    def run(args): ...                    # returns the exit code; raises UsageError for bad input

``UsageError`` is a problem the user can fix: ``cli.py`` prints it as one line on stderr (naming the
flag) and exits with code 2 — never a traceback, never exit 0 having done nothing."""


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit code 2."""


#: subcommand name -> module in this package
COMMANDS = {
    "train": "train",          # image classifiers (and the MLP) on MNIST / CIFAR-10 / digits
    "gpt": "gpt",              # a character-level GPT on tinyshakespeare
    "pretrain": "pretrain",    # masked-LM pre-training of a small BERT
    "finetune": "finetune",    # MiniLM (or the same model from scratch) on SST-2 / CoNLL-2003 / ...
    "evaluate": "evaluate",    # any run folder on its test/validation data
    "generate": "generate",    # text from a GPT run
    "predict": "predict",      # labels for images, sentences or tokens from a run
    "export": "export",        # weights only, as safetensors (Hugging Face layout for BERT/GPT)
    "explain": "explain",      # attributions for images and text (heatmaps, highlighted tokens)
    "serve": "serve",          # runs over HTTP: OpenAI-compatible completions, classify, NER, images
    "lab": "lab",              # teaching labs: start, check, grade (the local autograder)
}
