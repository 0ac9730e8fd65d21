"""The one command line (tinygrad_edu/cli.py): help that lists every command and every default, one
line on stderr for every bad input, and the run-folder rules of the training commands (``--resume``
rebuilds from config.json, a contradicting flag names both values, raising the length extends a run).

Most tests call ``cli.main(argv)`` in the test process (the same code path as ``python -m
tinygrad_edu``, without the interpreter's start-up); the few that check the process itself (exit code,
lazy imports) start one, with a timeout.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_edu import cli, load
from tinygrad_edu.commands import COMMANDS
from staged_data import REPO, staged_data_dir

MNIST = staged_data_dir("mnist/train-images-idx3-ubyte.gz")
TEXT = staged_data_dir("tinyshakespeare/input.txt")
needs_mnist = pytest.mark.skipif(MNIST is None, reason="staged MNIST not found: set TINYGRAD_EDU_DATA")
needs_text = pytest.mark.skipif(TEXT is None,
                                reason="staged tinyshakespeare not found: set TINYGRAD_EDU_DATA")
try:
    import sklearn  # noqa: F401  (it bundles the 8x8 digits: the image runs here take a second, no files)
    HAS_SKLEARN = True
except ImportError:
    HAS_SKLEARN = False
needs_digits = pytest.mark.skipif(not HAS_SKLEARN, reason="the digits data set needs scikit-learn")


def run_cli(capsys, *argv):
    """(exit code, stdout, stderr) of ``python -m tinygrad_edu ARGV``, run in this process."""
    capsys.readouterr()
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code, err, *expected):
    assert code != 0, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for text in expected:
        assert text in lines[0], (text, lines[0])


# ------------------------------------------------------------------------------------------------
# help
# ------------------------------------------------------------------------------------------------
def test_help_lists_every_command_with_its_one_line_help(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    assert len(COMMANDS) == 11
    for name in COMMANDS:
        module = cli._command_module(name)
        first_words = " ".join(module.HELP.split()[:3])
        line = next((line for line in out.splitlines() if line.strip().startswith(name + " ")), None)
        assert line is not None, f"{name} is not listed:\n{out}"
        assert first_words in " ".join(out.split()), name
    assert "--max-steps" in out and "options of the main job" in out     # python -m tinygrad_edu alone


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_help_shows_its_defaults(capsys, command):
    words = [command, "grade"] if command == "lab" else [command]     # lab's options sit on its actions
    code, out, _ = run_cli(capsys, *words, "--help")
    assert code == 0
    assert f"usage: python -m tinygrad_edu {' '.join(words)}" in out
    assert "(default: " in " ".join(out.split())


def test_training_commands_help_gives_meaning_default_and_choices(capsys):
    text = lambda argv: " ".join(run_cli(capsys, *argv)[1].split())  # noqa: E731
    train = text(["train", "--help"])
    assert "--epochs EPOCHS passes over the training images" in train and "(default: 2)" in train
    assert "{sgd,adam,adamw}" in train and "lenet5" in train and "vgg_mini" in train
    gpt = text(["gpt", "--help"])
    assert "--n-head N_HEAD attention heads per block" in gpt and "(default: 1337)" in gpt
    assert "{tinyshakespeare,sst2}" in text(["pretrain", "--help"])
    assert "{sst2,conll2003,wnut17}" in text(["finetune", "--help"])


def test_a_run_imports_only_its_own_command_module():
    code = ("import sys; from tinygrad_edu import cli; cli.parse_args(['train', '--epochs', '1']); "
            "print(sorted(m for m in sys.modules if m.startswith('tinygrad_edu.commands.')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = eval(result.stdout)                      # a printed list of module names
    assert "tinygrad_edu.commands.train" in loaded and "tinygrad_edu.commands.mlp" in loaded
    assert not {"tinygrad_edu.commands.gpt", "tinygrad_edu.commands.evaluate"} & set(loaded), loaded


# ------------------------------------------------------------------------------------------------
# every bad input: one line on stderr, a non-zero exit, nothing written
# ------------------------------------------------------------------------------------------------
BAD_INPUTS = [
    # (argv, words the one line must contain)
    (["--max-steps", "-5"], ["--max-steps", "-5"]),
    (["--epochs", "0"], ["--epochs", "must be positive"]),
    (["--batch-size", "0"], ["--batch-size"]),
    (["--threads", "0"], ["--threads"]),
    (["--lr", "-1"], ["--lr", "above 0"]),
    (["--optimizer", "rmsprop"], ["unknown optimizer 'rmsprop'", "adam, sgd"]),
    (["train", "--max-steps", "-5"], ["--max-steps", "-5"]),
    (["train", "--limit-train", "0"], ["--limit-train", "0"]),
    (["train", "--limit-train", "-5"], ["--limit-train", "-5"]),
    (["train", "--epochs", "0"], ["--epochs"]),
    (["train", "--batch-size", "0"], ["--batch-size"]),
    (["train", "--threads", "0"], ["--threads"]),
    (["train", "--lr", "-1"], ["--lr"]),
    (["train", "--lr", "nan"], ["--lr"]),
    (["train", "--label-smoothing", "2"], ["--label-smoothing", "[0, 1]"]),
    (["train", "--weight-decay", "-1"], ["--weight-decay"]),
    (["train", "--epochs", "two"], ["--epochs", "whole number"]),
    (["train", "--model", "alexnet"], ["unknown model 'alexnet'", "vgg_mini", "lenet5"]),
    (["train", "--dataset", "imagenet"], ["unknown dataset 'imagenet'", "mnist, cifar10, digits"]),
    (["train", "--scheduler", "step"], ["unknown scheduler 'step'", "onecycle"]),
    (["gpt", "--dropout", "1"], ["--dropout", "[0, 1)"]),
    (["gpt", "--dropout", "-0.1"], ["--dropout"]),
    (["gpt", "--n-embd", "30", "--n-head", "4"], ["--n-embd 30", "--n-head 4", "multiple"]),
    (["gpt", "--max-iters", "0"], ["--max-iters"]),
    (["gpt", "--learning-rate", "-1"], ["--learning-rate"]),
    (["gpt", "--bias", "maybe"], ["--bias", "true or false"]),
    (["gpt", "--beta2", "1"], ["--beta2"]),
    (["pretrain", "--corpus", "wikipedia"], ["unknown corpus 'wikipedia'", "tinyshakespeare, sst2"]),
    (["pretrain", "--hidden-size", "30", "--num-attention-heads", "4"], ["--hidden-size 30"]),
    (["pretrain", "--steps", "-1"], ["--steps"]),
    (["pretrain", "--mlm-probability", "1"], ["--mlm-probability"]),
    (["finetune", "--task", "mnli"], ["unknown task 'mnli'", "sst2, conll2003, wnut17"]),
    (["finetune", "--init", "random"], ["unknown init 'random'", "pretrained, scratch"]),
    (["finetune", "--limit-train", "-5"], ["--limit-train"]),
    (["finetune", "--warmup-ratio", "1"], ["--warmup-ratio"]),
    (["finetune", "--epochs", "0"], ["--epochs"]),
    (["finetune", "--eval-split", "dev"], ["unknown split 'dev'", "train, validation, test"]),
    (["trian"], ["invalid choice: 'trian'"]),
    (["--epochs", "3", "train"], ["options go after the command", "train --epochs 3"]),
]


@pytest.mark.parametrize("argv,expected", BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_is_one_line_on_stderr_and_a_non_zero_exit(tmp_path, capsys, argv, expected):
    out = tmp_path / "run"
    extra = ["--out", str(out)] if argv[0] in COMMANDS else []
    code, _, err = run_cli(capsys, *argv, *extra, "--no-progress")
    assert_one_line_error(code, err, *expected)
    assert code == 2
    assert not out.exists()


@pytest.mark.parametrize("command", ["train", "gpt", "pretrain", "finetune", None])
def test_out_that_is_a_file_or_under_a_file_is_refused(tmp_path, capsys, command):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    for out in (a_file, a_file / "run"):
        code, _, err = run_cli(capsys, *([command] if command else []), "--out", out, "--no-progress")
        assert_one_line_error(code, err, f"--out {out}", "is a file")
    assert a_file.read_text() == "not a folder"


def test_a_bad_value_exits_2_from_the_real_process_too(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tinygrad_edu", "train", "--limit-train", "-5",
                             "--out", str(tmp_path / "r")], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert_one_line_error(result.returncode, result.stderr, "--limit-train", "-5")


# ------------------------------------------------------------------------------------------------
# run folders: resume from config.json, contradictions, extension, checkpoints that do not fit
# ------------------------------------------------------------------------------------------------
SMALL_MLP = ["--dataset", "digits", "--limit-train", "128", "--batch-size", "64", "--optimizer", "adam",
             "--lr", "0.003", "--no-progress", "--no-download"]


def _train(capsys, out, *extra):
    return run_cli(capsys, "train", "--out", out, *extra)


@needs_digits
def test_resume_rebuilds_from_config_json_and_raising_epochs_extends_the_run(tmp_path, capsys):
    run, straight = tmp_path / "run", tmp_path / "straight"
    code, _, err = _train(capsys, run, "--model", "mlp", "--epochs", "1", *SMALL_MLP)
    assert code == 0, err
    saved = json.loads((run / "config.json").read_text())
    assert saved["kind"] == "image" and saved["config"]["model"] == "mlp" and saved["config"]["epochs"] == 1
    assert "max_steps" not in saved["config"]                  # where one invocation stops: not saved

    # --resume without --model: the run is rebuilt from config.json, not from the default (vgg_mini)
    code, out, err = _train(capsys, run, "--resume", "--no-progress")
    assert code == 0, err
    assert "mlp (" in out and "nothing to train" in out
    # raising --epochs extends the finished run: the OneCycle schedule is re-planned for 4 steps
    code, out, err = _train(capsys, run, "--resume", "--epochs", "2", "--no-progress", "--no-download")
    assert code == 0, err
    assert "re-planned the onecycle schedule for 2 epochs (4 steps instead of 2)" in out
    ckpt = load(str(run / "checkpoint.safetensors"))
    history = json.loads((run / "history.json").read_text())
    assert history["epoch"] == [1, 2] and len(history["test_acc"]) == 2
    assert ckpt["progress"] == {"epoch": 2, "step": 4} and ckpt["history"]["epoch"] == [1, 2]
    assert json.loads((run / "config.json").read_text())["config"]["epochs"] == 2
    # the re-planned schedule ends where a 2-epoch schedule ends (OneCycle's last value, exactly)
    code, _, err = _train(capsys, straight, "--model", "mlp", "--epochs", "2", *SMALL_MLP)
    assert code == 0, err
    straight_history = json.loads((straight / "history.json").read_text())
    assert history["lr"][-1] == straight_history["lr"][-1]
    assert history["lr"][0] != straight_history["lr"][0]        # the first epoch ran the 1-epoch plan

    # a contradicting flag names both values; the same value again is fine; --epochs may only grow
    code, _, err = _train(capsys, run, "--resume", "--lr", "0.1", "--no-progress")
    assert_one_line_error(code, err, "--lr 0.1", "--lr 0.003")
    code, _, err = _train(capsys, run, "--resume", "--epochs", "1", "--no-progress")
    assert_one_line_error(code, err, "--epochs 1", "--epochs 2", "may only grow")
    code, _, err = _train(capsys, run, "--resume", "--model", "mlp", "--lr", "0.003", "--no-progress",
                          "--no-download")
    assert code == 0, err
    # a new run in a folder that holds one is refused, and nothing is overwritten
    before = (run / "checkpoint.safetensors").read_bytes()
    code, _, err = _train(capsys, run, "--model", "mlp", *SMALL_MLP)
    assert_one_line_error(code, err, "already holds a run", "--resume")
    assert (run / "checkpoint.safetensors").read_bytes() == before


@needs_digits
def test_truncated_or_foreign_checkpoints_are_one_line_for_resume_and_init_from(tmp_path, capsys):
    from tinygrad_edu import save
    from tinygrad_edu.training.restore import build_image_model
    mlp = tmp_path / "mlp"
    assert _train(capsys, mlp, "--model", "mlp", "--epochs", "1", "--max-steps", "1", *SMALL_MLP)[0] == 0
    # a checkpoint of another model: the mlp run's checkpoint with LeNet-5's weights in it
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "config.json").write_bytes((mlp / "config.json").read_bytes())
    ckpt = load(str(mlp / "checkpoint.safetensors"))
    ckpt["model"] = build_image_model("lenet5", (1, 28, 28), 10).state_dict()
    save(ckpt, str(foreign / "checkpoint.safetensors"))
    code, _, err = _train(capsys, foreign, "--resume", *SMALL_MLP[-2:])
    assert_one_line_error(code, err, "--resume", "does not fit", "model 'mlp'")
    code, _, err = _train(capsys, tmp_path / "x", "--model", "mlp", "--init-from",
                          foreign / "checkpoint.safetensors", *SMALL_MLP)
    assert_one_line_error(code, err, "--init-from", "does not fit")
    # a truncated checkpoint (a save killed half-way, a copy cut short)
    truncated = tmp_path / "truncated"
    truncated.mkdir()
    (truncated / "config.json").write_bytes((mlp / "config.json").read_bytes())
    data = (mlp / "checkpoint.safetensors").read_bytes()
    (truncated / "checkpoint.safetensors").write_bytes(data[:len(data) // 2])
    code, _, err = _train(capsys, truncated, "--resume", *SMALL_MLP[-2:])
    assert_one_line_error(code, err, "--resume", "truncated")
    code, _, err = _train(capsys, tmp_path / "y", "--model", "mlp", "--init-from",
                          truncated / "checkpoint.safetensors", *SMALL_MLP)
    assert_one_line_error(code, err, "--init-from", "truncated")
    assert not (tmp_path / "x" / "checkpoint.safetensors").exists()
    assert not (tmp_path / "y" / "checkpoint.safetensors").exists()


@needs_text
def test_a_gpt_run_folder_is_refused_by_train_resume(tmp_path, capsys):
    gpt = tmp_path / "gpt"
    code, _, err = run_cli(capsys, "gpt", "--n-layer", "1", "--n-embd", "16", "--n-head", "2", "--block-size",
                           "16", "--batch-size", "4", "--max-iters", "2", "--eval-interval", "2",
                           "--eval-iters", "1", "--final-eval-iters", "1", "--sample-tokens", "2",
                           "--no-progress", "--out", gpt)
    assert code == 0, err
    assert json.loads((gpt / "config.json").read_text())["kind"] == "gpt"
    before = (gpt / "checkpoint.safetensors").read_bytes()
    code, _, err = _train(capsys, gpt, "--resume", "--no-progress")
    assert_one_line_error(code, err, "'gpt' run", "made by `gpt`", "not a 'image' run")
    assert (gpt / "checkpoint.safetensors").read_bytes() == before
    # and the GPT run itself resumes without its flags, and extends with a larger --max-iters
    code, out, err = run_cli(capsys, "gpt", "--out", gpt, "--resume", "--max-iters", "4", "--no-progress")
    assert code == 0, err
    assert load(str(gpt / "checkpoint.safetensors"))["progress"] == {"iter": 4}
    assert "mini-GPT 1 layers x 16" in out
    code, _, err = run_cli(capsys, "gpt", "--out", gpt, "--resume", "--n-embd", "32", "--no-progress")
    assert_one_line_error(code, err, "--n-embd 32", "--n-embd 16")


@needs_mnist
def test_the_main_job_saves_and_resumes_a_run_folder_with_out(tmp_path, capsys):
    run = tmp_path / "main"
    code, out, err = run_cli(capsys, "--out", run, "--epochs", "1", "--max-steps", "5", "--no-progress",
                             "--no-download")
    assert code == 0, err
    assert "test accuracy:" in out
    assert json.loads((run / "config.json").read_text())["kind"] == "mlp"
    first = load(str(run / "checkpoint.safetensors"))
    assert first["progress"] == {"epoch": 1, "step": 5}
    code, out, err = run_cli(capsys, "--out", run, "--resume", "--epochs", "2", "--max-steps", "8",
                             "--no-progress", "--no-download")
    assert code == 0, err
    assert "resumed from" in out and "epoch 2/2" in out
    second = load(str(run / "checkpoint.safetensors"))
    assert second["progress"] == {"epoch": 2, "step": 8} and second["history"]["epoch"] == [1, 2]
    assert not np.array_equal(np.asarray(first["model"]["0.weight"]), np.asarray(second["model"]["0.weight"]))
    code, _, err = run_cli(capsys, "--resume", "--no-progress")
    assert_one_line_error(code, err, "--resume needs --out")
    code, _, err = run_cli(capsys, "--out", run, "--resume", "--optimizer", "sgd", "--no-progress")
    assert_one_line_error(code, err, "--optimizer sgd", "--optimizer adam")


def test_keyboard_interrupt_exits_130_with_one_line(capsys, monkeypatch):
    from tinygrad_edu.commands import train

    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(train, "run", interrupted)
    code, _, err = run_cli(capsys, "train")
    assert code == 130 and "interrupted" in err and len(err.strip().splitlines()) == 1


def test_the_console_script_entry_point_is_cli_main():
    import tinygrad_edu.__main__ as entry
    text = (REPO / "pyproject.toml").read_text()
    assert 'tinygrad-edu = "tinygrad_edu.__main__:main"' in text
    assert entry.main is cli.main
    assert not os.path.exists(REPO / "tinygrad_edu" / "cli_text.py")
    assert not os.path.exists(REPO / "tinygrad_edu" / "train_mlp.py")


def test_missing_data_names_the_flags_not_the_python_arguments(tmp_path, capsys):
    """The library tells an API user `root=` and `download=True`; the command line names --data and
    --no-download instead."""
    code, out, err = run_cli(capsys, "train", "--data", str(tmp_path / "nowhere"), "--no-download",
                             "--max-steps", "1", "--out", str(tmp_path / "run"))
    assert_one_line_error(code, err, "--data <folder>", "leave out --no-download")
    assert "root=" not in err and "download=True" not in err
