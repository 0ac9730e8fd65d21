"""Every command the README shows runs, as written, in a smoke form.

The README's ```bash blocks are read in order; each ``python -m tinygrad_edu ...`` command in them is run
in one scratch folder (so later commands find the run folders earlier ones made), with ``.venv/bin/python``
replaced by this interpreter and, appended, the few options that make it a smoke run (``SMOKE``: two steps
instead of two thousand; an option given twice takes the last value).  A command must exit 0.  The lines
that are not ``tinygrad_edu`` commands must be the install and test lines listed in ``NOT_RUN`` (``.ci/run``
is what runs those), so a new kind of command cannot slip into the README untested.  The ```python blocks
run too.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from staged_data import staged_data_dir

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def staged_data_root():
    return staged_data_dir("mnist/t10k-labels-idx1-ubyte.gz")


#: options appended to each command (by subcommand; None = the main job) to make it a smoke run
SMOKE = {
    None: ["--epochs", "1", "--max-steps", "5", "--no-progress"],
    "train": ["--epochs", "1", "--max-steps", "2", "--limit-train", "128", "--limit-test", "200",
              "--no-progress"],
    "gpt": ["--max-iters", "2", "--eval-interval", "1", "--eval-iters", "1", "--final-eval-iters", "1",
            "--sample-tokens", "5", "--no-progress"],
    "pretrain": ["--steps", "2", "--eval-interval", "1", "--eval-batches", "1", "--no-progress"],
    "finetune": ["--epochs", "1", "--max-steps", "2", "--limit-train", "32", "--limit-eval", "32",
                 "--no-progress"],
    "evaluate": ["--limit", "64"],
    "generate": ["--max-new-tokens", "10"],
    "explain": ["--steps", "4", "--samples", "2"],
}
#: lab check / grade exit 1 when a test of the student's code fails (as pytest does): the README shows them
#: on a freshly started lab, whose tasks are not written yet, so there exit 1 with a report is right
REPORTS_FAILED_TESTS = (["lab", "check"], ["lab", "grade"])

#: how a README command under an MPI launcher starts, once parsed (the launcher is run only if installed)
UNDER_LAUNCHER = ["mpiexec"]

#: a resumed run extends itself: there the smoke options that set the length must not shrink it again
LENGTH_OPTIONS = {"--epochs", "--max-iters", "--steps"}

#: README lines that are not tinygrad_edu commands, and why they are not run here
NOT_RUN = (
    ("python3 -m venv .venv", "creating the venv: .ci/run does this"),
    (".venv/bin/pip install", "installing: .ci/run does this"),
    (".venv/bin/python -m pytest", "the test suite itself"),
    ("curl ", "run against the server the README's `serve ... &` line starts (serve_smoke below)"),
    ("kill %1", "stops that server: serve_smoke sends SIGINT to its PID"),
)

#: a ```python block that starts with this line talks to the README's server: serve_smoke runs it
SERVER_EXAMPLE = "# with the server above running"


def _bash_blocks(text):
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def readme_commands():
    """The README's tinygrad_edu commands, in order, as argument lists (after ``-m tinygrad_edu``)."""
    commands = []
    for block in _bash_blocks(README.read_text()):
        for line in block.replace("\\\n", " ").splitlines():
            for part in (p.strip() for p in line.split("&&")):
                if not part or part.startswith("#"):
                    continue
                if any(part.startswith(prefix) for prefix, _ in NOT_RUN):
                    continue
                words = shlex.split(part, comments=True)
                launcher = []
                if words[0] in ("mpiexec", ".venv/bin/mpiexec"):       # mpiexec -n N python -m ...
                    assert words[1] == "-n" and words[2].isdigit(), f"README: {part!r}: expected mpiexec -n N"
                    launcher, words = ["mpiexec", "-n", words[2]], words[3:]
                assert words[0] in ("python", ".venv/bin/python") and words[1] == "-m" and \
                    words[2].split(".")[0] == "tinygrad_edu", (
                        f"README command {part!r} is neither a tinygrad_edu command nor listed in NOT_RUN")
                if words[2] != "tinygrad_edu":
                    commands.append(launcher + ["-m", words[2]] + words[3:])    # a module of the package
                else:
                    commands.append(launcher + words[3:])
    return commands


def _mpiexec():
    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


def full_command(argv):
    """The argument list to run for a README command (this interpreter; mpiexec beside it)."""
    if argv[:1] == ["mpiexec"]:
        if _mpiexec() is None:
            return None  # (the dev extra installs MPICH; without it only these commands are left out)
        rest = argv[3:]
        rest = rest if rest[:1] == ["-m"] else ["-m", "tinygrad_edu"] + smoke_form(rest)
        return [_mpiexec(), "-n", argv[2], sys.executable, "-m", "mpi4py"] + rest
    if argv[:1] == ["-m"]:
        return [sys.executable] + argv
    return [sys.executable, "-m", "tinygrad_edu"] + smoke_form(argv)


def smoke_form(argv):
    command = argv[0] if argv and not argv[0].startswith("-") else None
    extra = list(SMOKE.get(command, []))
    if "--resume" in argv:  # keep the length the README asks for; only the steps of this run are cut
        for option in LENGTH_OPTIONS:
            if option in extra:
                i = extra.index(option)
                del extra[i:i + 2]
    return argv + extra


def test_the_readme_has_commands_for_every_subcommand_it_documents():
    used = {argv[0] if argv and not argv[0].startswith("-") else None for argv in readme_commands()
            if argv[:1] not in (UNDER_LAUNCHER, ["-m"])}
    assert any(argv[:1] == UNDER_LAUNCHER and "--distributed" in argv for argv in readme_commands()), \
        "the README shows no distributed training command"
    for name in ("train", "evaluate", "gpt", "generate", "predict", "explain", "export", "pretrain",
                 "finetune", "serve", "lab"):
        assert name in used, f"the README shows no `{name}` command"
    assert None in used, "the README shows no main-job command"


def _write_example_inputs(folder):
    """The input files the README's predict commands name (digit.png: an MNIST test image)."""
    from PIL import Image
    from tinygrad_edu.data import MNIST
    image = MNIST(staged_data_root(), train=False, download=False).images[0]
    Image.fromarray(np.asarray(image, np.uint8)).save(folder / "digit.png")


@pytest.mark.slow
def test_every_readme_command_runs_in_smoke_form(tmp_path):
    if staged_data_root() is None:
        pytest.skip("the staged data sets are not found: set TINYGRAD_EDU_DATA (../shared/data in CI)")
    _write_example_inputs(tmp_path)
    env = dict(os.environ, MPLBACKEND="Agg", TINYGRAD_EDU_DATA=str(staged_data_root()), MPIEXEC_TIMEOUT="120",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    for argv in readme_commands():
        if argv[:1] == ["serve"]:
            serve_smoke(argv, tmp_path, env)
            continue
        full = full_command(argv)
        if full is None:
            continue
        done = subprocess.run(full, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        if argv[:2] in REPORTS_FAILED_TESTS and done.returncode == 1 and "total " in done.stdout:
            continue
        assert done.returncode == 0, (f"README command failed: {shlex.join(argv)}\n(smoke form: "
                                      f"{shlex.join(full[1:])})\n{done.stdout[-2000:]}\n"
                                      f"{done.stderr[-2000:]}")
        assert "Traceback" not in done.stderr


def _server_lines(serve_argv):
    """The curl lines of the bash block that holds the README's ``serve ... &`` line, in order."""
    for block in _bash_blocks(README.read_text()):
        text = block.replace("\\\n", " ")
        if "tinygrad_edu serve" in text:
            return [line.strip() for line in text.splitlines() if line.strip().startswith("curl ")]
    return []


def serve_smoke(argv, folder, env, timeout=60.0):
    """The README's server, started as written (``&``: in the background) but on a free port; the
    curl lines of its block and the ``SERVER_EXAMPLE`` python blocks run against it (each must
    succeed: curl with ``--fail``); then SIGINT (``kill %1`` sends SIGTERM; both stop it cleanly): it
    must exit 0."""
    import signal
    import socket
    import time
    import urllib.request
    words = [w for w in argv if w != "&"]
    port = words[words.index("--port") + 1] if "--port" in words else "8000"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = str(s.getsockname()[1])
    words = [free if w == port else w for w in words]
    server = subprocess.Popen([sys.executable, "-m", "tinygrad_edu"] + words, cwd=folder, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert server.poll() is None, f"README server exited: {shlex.join(words)}\n{server.stdout.read()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{free}/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"README server did not answer /health in {timeout} s"
            time.sleep(0.2)
        lines = _server_lines(argv)
        assert lines, "the README's serve block shows no curl example"
        if shutil.which("curl") is None:
            pytest.skip("curl is not installed: the README's curl examples cannot run")
        for line in lines:
            curl = shlex.split(line.replace(f":{port}", f":{free}"))
            done = subprocess.run([curl[0], "--fail", "--max-time", "60"] + curl[1:], cwd=folder,
                                  capture_output=True, text=True, timeout=90)
            assert done.returncode == 0 and done.stdout, \
                f"README curl failed: {line}\n{done.stdout}{done.stderr}"
        for code in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S):
            if code.startswith(SERVER_EXAMPLE):
                done = subprocess.run([sys.executable, "-c", code.replace(f":{port}", f":{free}")],
                                      cwd=folder, capture_output=True, text=True, timeout=120, env=env)
                assert done.returncode == 0, f"README client example failed:\n{code}\n{done.stderr[-2000:]}"
        server.send_signal(signal.SIGINT)
        out, _ = server.communicate(timeout=30)
        assert server.returncode == 0 and "server stopped" in out, out[-2000:]
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)


def test_the_readme_python_examples_run(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no python example"
    for code in blocks:
        if code.startswith(SERVER_EXAMPLE):           # runs in serve_smoke, against the README's server
            continue
        done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                              timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg"))
        assert done.returncode == 0, f"README example failed:\n{code}\n{done.stderr[-2000:]}"
