"""A run folder is the unit of work of the command line: everything one training run needs and leaves.

    runs/NAME/
        config.json             what to rebuild: the kind of run and every option of its config
        checkpoint.safetensors  model, optimizer, schedule, progress, history (written atomically)
        history.json            the curves as numbers
        *.png                   the curves as pictures

Every command follows the same rules, kept here once:

* **A new run** needs a folder that holds no run yet (``--out`` may not be a file, nor lie under one).
  A folder with ``config.json`` but no checkpoint (a run stopped before its first save, e.g. by
  missing data) holds no training yet: a new run may start there.
* **``--resume``** rebuilds the run from ``config.json``, not from the command line.  An option given
  again with the same value is fine; one that contradicts the saved value is refused with one line
  naming both.  The options that say *how long* to train (``epochs``, ``max_iters``, ``steps``, ...)
  may be raised to extend a finished run; each trainer re-plans its schedule for the new length.
* ``config.json`` is written atomically (a temporary file, then a rename), like every checkpoint, so a
  killed run never leaves half a file.
"""
import json
import os

CONFIG_FILE = "config.json"
CHECKPOINT = "checkpoint.safetensors"
HISTORY_FILE = "history.json"
FORMAT_VERSION = 1

#: the kinds of run, and the command that trains each
KINDS = {"mlp": "python -m tinygrad_edu (the main job)", "image": "train", "gpt": "gpt",
         "pretrain": "pretrain", "finetune": "finetune"}


class RunFolderError(ValueError):
    """A run-folder problem the user can fix; the message is one line."""


def write_json_atomic(path, obj, allow_nan=True):
    """Write ``obj`` as JSON to ``path`` through a temporary file and a rename (never half a file);
    ``allow_nan=False`` refuses NaN and infinities (strict JSON readers reject them).  Returns ``path``."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True, allow_nan=allow_nan)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def check_out_folder(out, option="--out"):
    """Refuse an output folder that is a file or lies under a file."""
    path = os.path.abspath(out)
    while path and not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    if os.path.exists(path) and not os.path.isdir(path):
        raise RunFolderError(f"{option} {out}: {path} is a file, not a folder")


def read_config(run, option="RUN"):
    """``(kind, config dict)`` saved in the run folder ``run``."""
    if not os.path.isdir(run):
        raise RunFolderError(f"{option} {run}: not a run folder (no such directory)")
    path = os.path.join(run, CONFIG_FILE)
    if not os.path.isfile(path):
        raise RunFolderError(f"{option} {run}: not a run folder ({CONFIG_FILE} is missing; it is written "
                             "by train, gpt, pretrain and finetune)")
    try:
        with open(path) as f:
            saved = json.load(f)
    except (OSError, ValueError) as exc:
        raise RunFolderError(f"{option} {run}: cannot read {CONFIG_FILE}: {exc}") from None
    if (not isinstance(saved, dict) or saved.get("kind") not in KINDS
            or not isinstance(saved.get("config"), dict)):
        raise RunFolderError(f"{option} {run}: {CONFIG_FILE} is not a run configuration (expected a "
                             f"'kind' among {sorted(KINDS)} and a 'config' object)")
    return saved["kind"], saved["config"]


def start_or_resume(out, kind, config, given, resume, extendable=()):
    """The one place where a run starts or resumes; returns the config dict to train with.

    ``config``: the dict the command line asked for (defaults filled in); ``given``: the names of the
    options the user typed; ``extendable``: options that may grow on resume (training length)."""
    check_out_folder(out)
    has_checkpoint = os.path.isfile(os.path.join(out, CHECKPOINT))
    if not resume:
        if has_checkpoint:
            raise RunFolderError(f"{out} already holds a run; pass --resume to continue it or choose "
                                 "another --out")
        os.makedirs(out, exist_ok=True)
        write_json_atomic(os.path.join(out, CONFIG_FILE),
                          {"kind": kind, "format": FORMAT_VERSION, "config": dict(config)})
        return dict(config)
    if not has_checkpoint:
        raise RunFolderError(f"--resume: there is no checkpoint at {os.path.join(out, CHECKPOINT)}")
    saved_kind, saved = read_config(out, option="--resume")
    if saved_kind != kind:
        raise RunFolderError(f"--resume: {out} is a {saved_kind!r} run (made by `{KINDS[saved_kind]}`), "
                             f"not a {kind!r} run")
    merged = dict(saved)
    for name in sorted(given):
        if name not in config:
            continue
        new, old = config[name], saved.get(name)
        if new == old:
            continue
        flag = "--" + name.replace("_", "-")
        if name in extendable and isinstance(new, (int, float)) and (old is None or new > old):
            merged[name] = new
            continue
        hint = " (it may only grow, to extend the run)" if name in extendable else ""
        raise RunFolderError(f"--resume: {flag} {new} contradicts the saved run, which has {flag} {old}"
                             f"{hint}; leave {flag} out to keep the saved value, or start a new run with "
                             "another --out")
    if merged != saved:
        write_json_atomic(os.path.join(out, CONFIG_FILE),
                          {"kind": kind, "format": FORMAT_VERSION, "config": merged})
    return merged


def one_line(exc):
    """An exception's message on one line (some, e.g. ``load_state_dict``'s, span several)."""
    text = " ".join(str(exc).split())
    return text if len(text) <= 400 else text[:397] + "..."


def read_checkpoint(path, purpose="resume from"):
    """The training checkpoint at ``path`` (a dict with at least ``model``), or a one-line
    ``RunFolderError`` saying why it cannot be used: missing, truncated or damaged (``tg.load``
    raises a ValueError for those), or not a training checkpoint.  ``purpose`` completes
    "cannot ... PATH" in the message, e.g. "resume from" or "initialise the model from"."""
    from .. import load
    if not os.path.isfile(path):
        raise RunFolderError(f"cannot {purpose} {path}: there is no checkpoint file there")
    try:
        ckpt = load(path)
    except (ValueError, OSError) as exc:
        raise RunFolderError(f"cannot {purpose} {path}: {one_line(exc)}") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise RunFolderError(f"cannot {purpose} {path}: it is not a training checkpoint (it has no "
                             "'model' entry)")
    return ckpt


def on_main_process(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` run by rank 0 alone (it writes the run folder), its result given to every
    rank; a ``RunFolderError`` (or any exception) on rank 0 is raised on every rank with the same
    message, so no rank waits forever for one that gave up.  In a world of one: just ``fn(...)``."""
    from ..distributed import world
    from ..distributed.communicators import _broadcast_object
    world.init()
    if world.get_world_size() == 1:
        return fn(*args, **kwargs)
    outcome = None
    if world.is_main_process():
        try:
            outcome = ("ok", fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001  (sent to the other ranks, then raised again here)
            outcome = ("error", exc)
    kind, value = _broadcast_object(outcome)
    if kind == "error":
        raise value if world.is_main_process() else type(value)(*value.args)
    return value
