"""``python -m tinygrad_edu``: the one parser of the command line.

    python -m tinygrad_edu                              # the main job: an MLP on MNIST (commands/mlp.py)
    python -m tinygrad_edu --max-steps 100              # the same, a quick smoke run
    python -m tinygrad_edu COMMAND [options]            # one of tinygrad_edu/commands/COMMANDS
    python -m tinygrad_edu COMMAND --help               # every option with its meaning and default

How it works, in four steps:

1. **Build the parser.**  The main job's options sit on the top-level parser (so that
   ``python -m tinygrad_edu`` alone, or with options, still runs it); each command of ``COMMANDS`` is a
   sub-parser filled by its module's ``add_arguments``.  Modules are imported lazily: a run of
   ``train`` imports ``commands/train.py`` only; ``--help`` imports them all, for their ``HELP`` lines.
2. **Parse, noting what was typed.**  Every default is wrapped in ``_Default`` before parsing, so
   afterwards a value that is still wrapped was not typed.  The names of the typed options become
   ``args.given``: ``--resume`` keeps the saved value of everything the user did not type again.
3. **Run** the command's ``run(args)``, which returns the exit code.
4. **Report problems in one line.**  A bad value (argparse), a ``UsageError`` or a ``RunFolderError``
   prints ``error: ...`` on stderr and exits with code 2; Ctrl-C exits with 130.  Never a traceback.
"""
import argparse
import importlib
import sys

from .commands import COMMANDS, UsageError

PROG = "python -m tinygrad_edu"
MAIN_JOB = "mlp"            # commands/mlp.py: what runs when no COMMAND is given

EPILOG = f"""examples:
  {PROG}                                   the main job: a 784-256-256-10 MLP on MNIST
  {PROG} train --model lenet5 --epochs 2   a CNN on MNIST, written to runs/lenet5_mnist
  {PROG} train --out runs/lenet5_mnist --resume --epochs 4   extend that run to 4 epochs
  {PROG} gpt --max-iters 2000              a character-level GPT on tinyshakespeare
  {PROG} COMMAND --help                    every option of COMMAND, with its default"""


class _Default:
    """A default value, wrapped so that after parsing it can be told apart from a typed one."""

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return repr(self.value)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written, and "(default: ...)" after every option that has a default
    (options whose default is "not set", None or False, show none)."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default.value if isinstance(action.default, _Default) else action.default
        if default is None or default is False or default is argparse.SUPPRESS or "%(default)" in text:
            return text
        if not action.option_strings and action.nargs not in ("?", "*"):
            return text                                   # a required positional: no default
        shown = ", ".join(map(str, default)) if isinstance(default, (tuple, list)) else str(default)
        return f"{text} (default: {shown.replace('%', '%%')})"


class Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line: ``error: argument --lr: must be above 0, got -1``."""

    def error(self, message):
        print(f"error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(2)


def _command_module(name):
    return importlib.import_module(f".commands.{COMMANDS.get(name, name)}", __package__)


def _wrap_defaults(parser):
    for action in parser._actions:
        if isinstance(action, (argparse._StoreAction, argparse._StoreConstAction)) and \
                action.default is not argparse.SUPPRESS and not isinstance(action.default, _Default):
            action.default = _Default(action.default)


def build_parser(command=None):
    """The whole parser.  With ``command`` (a COMMANDS name, or MAIN_JOB) only that module is imported;
    the other commands are registered by name alone (enough to run one, or to refuse a typo)."""
    main_job = _command_module(MAIN_JOB)
    parser = Parser(prog=PROG, formatter_class=HelpFormatter, epilog=EPILOG,
                    description="tinygrad_edu's command line: train models on real data sets, and use "
                                "them.\nWithout a COMMAND it runs the main job: " + main_job.HELP + ".")
    main_job.add_arguments(parser.add_argument_group(
        "options of the main job (no COMMAND)",
        "Checkpoints only with --out; the same model through the image loop: train --model mlp."))
    _wrap_defaults(parser)
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND",
                                parser_class=Parser)
    for name in COMMANDS:
        if command is not None and name != command:
            sub.add_parser(name)                          # not this run's command: not imported
            continue
        module = _command_module(name)
        doc = (module.__doc__ or "").strip()
        child = sub.add_parser(name, help=module.HELP, description=doc or module.HELP,
                               formatter_class=HelpFormatter)
        module.add_arguments(child)
        _wrap_defaults(child)
    return parser


def parse_args(argv):
    """``argv`` parsed; ``args.command`` (None for the main job) and ``args.given`` (the names of
    the options the user typed) are added."""
    if argv and argv[0] in COMMANDS:
        command = argv[0]
    elif any(a in COMMANDS or a in ("-h", "--help") for a in argv):
        command = None                                    # help, or a COMMAND after options: all
    else:
        command = MAIN_JOB
    args = build_parser(command).parse_args(argv)
    if args.command is not None and argv[0] != args.command:
        # options before COMMAND are the main job's, and COMMAND's own defaults would replace them
        raise UsageError(f"options go after the command: {PROG} {args.command} "
                         f"{' '.join(a for a in argv if a != args.command)}")
    given = set()
    for name, value in vars(args).items():
        if isinstance(value, _Default):
            setattr(args, name, value.value)
        else:
            given.add(name)
    args.given = frozenset(given - {"command"})
    return args


#: what the library's messages tell an API user, and what a command-line user types instead
API_TO_CLI = (
    ("Pass root=<folder> or set", "Pass --data <folder> or set"),
    ("Pass root=<folder>, set", "Pass --data <folder>, set"),
    ("or allow download=True", "or leave out --no-download"),
    ("with download=False", "with --no-download"),
)


def in_cli_words(message):
    """A library error message with its Python argument names replaced by the flags that set them."""
    for api, cli in API_TO_CLI:
        message = message.replace(api, cli)
    return message


def main(argv=None):
    """Entry point of ``python -m tinygrad_edu`` and of the ``tinygrad-edu`` script; returns the
    process exit code.  In a distributed run (``--distributed`` under mpiexec) a rank that stops with an
    error ends the whole job (``MPI_Abort``): the other ranks must not wait for it in a collective."""
    code = _run(argv)
    if code:
        _end_the_job_if_distributed(code)
    return code


def _end_the_job_if_distributed(code):
    world = sys.modules.get("tinygrad_edu.distributed.world")    # (never imports MPI by itself)
    if world is not None and world.is_initialized() and world.get_world_size() > 1:
        from .distributed.failure import abort_job
        abort_job(world.comm(), code)


def _run(argv):
    from .training.run_folder import RunFolderError
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parse_args(argv)
        if getattr(args, "threads", None):
            from .backend import set_num_threads
            set_num_threads(args.threads)
        return int(_command_module(args.command or MAIN_JOB).run(args) or 0)
    except SystemExit as exc:               # --help (0) or an argparse error (2), already printed
        return exc.code if isinstance(exc.code, int) else 2
    except (UsageError, RunFolderError) as exc:
        print("error: " + in_cli_words(" ".join(str(exc).split())), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted (the last checkpoint written is kept: continue with --resume)", file=sys.stderr)
        return 130
