"""The checks of the command line's values, kept in one place, and the two steps every training
command shares (options made from a config dataclass; ``start_run``, the run folder).

Each check is an argparse ``type=``: argparse calls it with the text the user typed, and a value that
does not fit becomes one line on stderr and exit code 2 (``cli.py`` makes argparse's errors one line):

    parser.add_argument("--max-steps", type=positive_int)          # 1, 2, 3, ...    (-5 and 0 refused)
    parser.add_argument("--lr", type=positive_float)                # 0 < lr
    parser.add_argument("--label-smoothing", type=fraction(0, 1))   # 0 <= x <= 1
    parser.add_argument("--dropout", type=fraction(0, 1, high_open=True))     # 0 <= p < 1
    parser.add_argument("--task", type=one_of("task", TASKS))       # a name among the known ones

Checks that involve two options (``--n-embd`` must be a multiple of ``--n-head``) come after parsing,
with ``multiple_of``, and raise ``UsageError`` naming both flags.
"""
import argparse

from . import UsageError


def _number(text, kind):
    try:
        return kind(text)
    except ValueError:
        noun = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None


def positive_int(text):
    """A count: 1 or more (a count of 0 would train nothing; a negative one means nothing)."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be positive (1 or more), got {value}")
    return value


def nonnegative_int(text):
    """0 or more (a number of warm-up steps, of tokens to sample, ...)."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def positive_float(text):
    """A number above 0 (a learning rate)."""
    value = _number(text, float)
    if not value > 0:             # also refuses nan
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def nonnegative_float(text):
    """0 or more (a weight decay, a gradient-clipping norm where 0 switches it off)."""
    value = _number(text, float)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def fraction(low, high, low_open=False, high_open=False):
    """A number in the interval from ``low`` to ``high``; ``*_open`` leaves that end out."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def check(text):
        value = _number(text, float)
        above = value > low if low_open else value >= low
        below = value < high if high_open else value <= high
        if not (above and below):
            raise argparse.ArgumentTypeError(f"must be in {interval}, got {text}")
        return value
    check.__name__ = f"number in {interval}"    # argparse names the type in some messages
    return check


def one_of(what, names):
    """A name among ``names``; anything else is refused with the list of known names."""
    names = tuple(names)

    def check(text):
        if text not in names:
            raise argparse.ArgumentTypeError(f"unknown {what} {text!r}; known: {', '.join(names)}")
        return text
    check.__name__ = what
    return check


def boolean(text):
    """yes/no, true/false, on/off or 1/0 (a typo is refused, not read as "no")."""
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false (yes/no, on/off, 1/0), got {text!r}")


def multiple_of(config, name, divisor_name):
    """Refuse ``config[name] % config[divisor_name] != 0`` in one line naming both flags."""
    value, divisor = config[name], config[divisor_name]
    if value % divisor:
        flag, divisor_flag = (f"--{n.replace('_', '-')}" for n in (name, divisor_name))
        raise UsageError(f"{flag} {value} must be a multiple of {divisor_flag} {divisor} (each of the "
                         f"{divisor} attention heads gets {flag} / {divisor_flag} dimensions)")


def data_errors():
    """The exceptions the data loaders raise for missing, damaged or undownloadable files."""
    from ..data import ChecksumError, DownloadError, IDXFormatError
    from ..data.cifar10 import CIFAR10FormatError
    from ..data.text_datasets import TextFormatError
    return (FileNotFoundError, ChecksumError, DownloadError, IDXFormatError, CIFAR10FormatError,
            TextFormatError)


def start_run(args, out, kind, config, extendable=(), per_invocation=("max_steps",), locations=("data",)):
    """``run_folder.start_or_resume`` as the training commands call it; returns the config to train with.

    ``config``: every option of the run, from ``args``.  Two sorts of option are not the run's identity:
    ``per_invocation`` ones (``--max-steps``: where *this* invocation stops) are not saved and always
    come from the command line; ``locations`` (``--data``: where the files are on this machine) are
    saved, and on ``--resume`` a typed one replaces the saved one instead of contradicting it."""
    from ..training.run_folder import start_or_resume
    saved_part = {name: value for name, value in config.items() if name not in per_invocation}
    given = set(args.given) - set(locations)
    merged = start_or_resume(out, kind, saved_part, given, args.resume, extendable)
    merged.update({name: config[name] for name in locations if name in args.given and name in config})
    merged.update({name: config[name] for name in per_invocation if name in config})
    return merged


def add_config_options(parser, config_cls, options):
    """One ``--option`` per field of the dataclass ``config_cls``, its default taken from the dataclass
    (so it is written once) and its check and meaning from ``options``: ``{field: (type, help)}`` or
    ``{field: (type, help, metavar)}``.  Every field must have an entry: a new field cannot go unseen."""
    import dataclasses
    fields = {field.name: field for field in dataclasses.fields(config_cls)}
    missing = sorted(set(fields) - set(options))
    if missing:
        raise TypeError(f"add_config_options: no option for the {config_cls.__name__} fields {missing}")
    for name, (kind, text, *metavar) in options.items():
        parser.add_argument("--" + name.replace("_", "-"), type=kind, default=fields[name].default,
                            help=text, metavar=metavar[0] if metavar else None)


def config_from(args, config_cls):
    """The values of ``config_cls``'s fields in ``args``, as a dict."""
    import dataclasses
    return {field.name: getattr(args, field.name) for field in dataclasses.fields(config_cls)}
