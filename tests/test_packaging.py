"""Packaging: the top-level kernels/ folder ships as tinygrad_edu.kernels in wheels, sdists and editable
installs.

Each build runs in a copy of the working tree under tmp_path, so the repository gets no build/ or egg-info."""
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IGNORED = shutil.ignore_patterns(".git", ".venv", ".ci-venv", "__pycache__", "build", "dist", "*.egg-info",
                                 ".numba_cache", ".hypothesis", ".pytest_cache", "runs", ".cache", "*.ipynb")


def kernel_sources():
    """Every file of kernels/ that must ship: Python modules and CUDA sources."""
    return sorted(p.relative_to(REPO / "kernels").as_posix() for p in (REPO / "kernels").rglob("*")
                  if p.suffix in (".py", ".cu", ".cuh") and "__pycache__" not in p.parts)


@pytest.fixture(scope="module")
def source_copy(tmp_path_factory):
    dest = tmp_path_factory.mktemp("pkg") / "src"
    shutil.copytree(REPO, dest, symlinks=True, ignore=IGNORED)
    return dest


def run(args, cwd, **kw):
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, **kw)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


# Activate the editable finder found in sys.argv[1], after removing any other tinygrad_edu editable
# finder (the venv running the tests may itself hold an editable install of the repository).
ACTIVATE_EDITABLE = """
import glob, importlib.util, sys
sys.meta_path[:] = [f for f in sys.meta_path
                    if not getattr(f, '__module__', '').startswith('__editable___tinygrad')]
path, = glob.glob(sys.argv[1] + '/__editable___tinygrad_edu*_finder.py')
spec = importlib.util.spec_from_file_location('fresh_editable_finder', path)
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); module.install()
"""


def import_kernels_from(site_dir, cwd, use_pth=False):
    """In a fresh interpreter that sees ``site_dir`` (on its path, or as an editable finder), import the
    kernels and report from where."""
    code = (ACTIVATE_EDITABLE if use_pth else "") + (
        "import tinygrad_edu, tinygrad_edu.kernels as k\n"
        "from tinygrad_edu import backend\n"
        "print(k.__file__); print(k.loaded, k.failed); print(backend.kernel('erf').__module__)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if not use_pth:
        env["PYTHONPATH"] = str(site_dir)
    result = run([sys.executable, "-I" if use_pth else "-s", "-c", code, str(site_dir)], cwd=cwd, env=env)
    return result.stdout.splitlines()


def pip_install_target(wheel, site_dir):
    run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site_dir), str(wheel)],
        cwd=site_dir.parent)


def test_kernels_symlink_is_relative():
    link = REPO / "tinygrad_edu" / "kernels"
    assert link.is_symlink() and os.readlink(link) == "../kernels"
    assert (link / "__init__.py").samefile(REPO / "kernels" / "__init__.py")


def test_wheel_contains_kernels_and_installs(source_copy, tmp_path):
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "w"), str(source_copy)], cwd=tmp_path)
    wheel, = (tmp_path / "w").glob("tinygrad_edu-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in kernel_sources():
        assert f"tinygrad_edu/kernels/{rel}" in names, f"{rel} missing from the wheel"
    for module in ("__main__.py", "cli.py", "commands/mlp.py", "training/mlp_job.py", "data/mnist.py",
                   "data/download.py"):
        assert f"tinygrad_edu/{module}" in names
    assert not any(n.startswith(("kernels/", "tests/")) for n in names), "only the tinygrad_edu package ships"
    # the labs ship their framework, handouts and public tests, never an instructor/ folder
    assert "tinygrad_edu/labs/lab01_scalar_autograd/public_tests.py" in names
    assert "tinygrad_edu/labs/lab01_scalar_autograd/handout.md" in names
    assert "tinygrad_edu/labs/grader.py" in names
    assert not any("/instructor/" in n for n in names), "a wheel must not ship the labs' solutions"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "tinygrad-edu = tinygrad_edu.__main__:main" in zipfile.ZipFile(wheel).read(entry_points).decode()

    # `pip install .` equivalent: install the wheel into a bare folder and import it from elsewhere.
    site_dir = tmp_path / "site"
    pip_install_target(wheel, site_dir)
    where, loaded, impl = import_kernels_from(site_dir, cwd=tmp_path)
    assert Path(where).resolve().is_relative_to(site_dir.resolve())
    assert "erf" in loaded and impl == "tinygrad_edu.kernels.erf"
    check_a_students_install(site_dir, tmp_path)


def check_a_students_install(site_dir, tmp_path):
    """From the wheel: `lab start` says in one line why it cannot make the student version, and `lab
    grade` runs the public tests and says the hidden ones are not installed."""
    from tinygrad_edu.labs import get_lab
    from tinygrad_edu.labs.student import student_source
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site_dir)
    lab = tmp_path / "lab1"
    started = subprocess.run([sys.executable, "-s", "-m", "tinygrad_edu", "lab", "start", "1", str(lab)],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert started.returncode == 2 and "no instructor files" in started.stderr, started.stderr
    assert len(started.stderr.strip().splitlines()) == 1
    lab.mkdir()
    (lab / "scalar_autograd.py").write_text(student_source(get_lab(1)))
    graded = subprocess.run([sys.executable, "-s", "-m", "tinygrad_edu", "lab", "grade", "1", str(lab)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert graded.returncode == 1 and "hidden tests are not installed" in graded.stdout, graded.stdout
    assert "(public)" in graded.stdout and "(hidden)" not in graded.stdout


def test_editable_install_finds_kernels_through_the_symlink(source_copy, tmp_path):
    code = "from setuptools import build_meta; import sys; print(build_meta.build_editable(sys.argv[1]))"
    run([sys.executable, "-c", code, str(tmp_path / "w")], cwd=source_copy)
    wheel, = (tmp_path / "w").glob("tinygrad_edu-*.whl")
    site_dir = tmp_path / "site"
    pip_install_target(wheel, site_dir)
    where, loaded, impl = import_kernels_from(site_dir, cwd=tmp_path, use_pth=True)
    assert Path(where).parent == source_copy / "tinygrad_edu" / "kernels"  # the source tree, not a copy
    assert "erf" in loaded and impl == "tinygrad_edu.kernels.erf"


def test_sdist_holds_real_kernel_files(source_copy, tmp_path):
    code = "from setuptools import build_meta; import sys; print(build_meta.build_sdist(sys.argv[1]))"
    run([sys.executable, "-c", code, str(tmp_path)], cwd=source_copy)
    sdist, = tmp_path.glob("tinygrad_edu-*.tar.gz")
    with tarfile.open(sdist) as tar:
        members = {m.name.split("/", 1)[1]: m for m in tar.getmembers() if "/" in m.name}
    for rel in kernel_sources():
        member = members.get(f"tinygrad_edu/kernels/{rel}")
        assert member is not None and member.isfile(), f"{rel} is not a regular file in the sdist"


def test_ci_runs_exactly_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    commands = re.findall(r"(\.venv/bin/python -m pytest[^\n`&]*)$", readme, flags=re.M)
    assert commands, "README.md shows no test command starting with `.venv/bin/python -m pytest`"
    ci = (REPO / ".ci" / "run").read_text()
    for command in set(commands):
        expected = command.replace(".venv/bin/python", "python").strip()
        assert expected in ci, f"{command!r} is not what .ci/run runs"


def test_readme_api_example_runs():
    readme = (REPO / "README.md").read_text()
    example = re.search(r"## A taste of the API\n\n```python\n(.*?)```", readme, flags=re.S)
    assert example, "README.md lost its API example"
    namespace = {}
    exec(compile(example.group(1), "README.md", "exec"), namespace)
    assert namespace["x"].grad.tolist() == [2.0, 4.0, 6.0]
    assert all(p.grad is not None for p in namespace["model"].parameters())
