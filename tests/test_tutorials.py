"""The tutorials run top to bottom (they assert their own numbers), as scripts and as notebooks."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py"))


# tutorials 03 and 04 train on the real MNIST (and CIFAR-10) images, 06 on tinyshakespeare, 07 on SST-2 and
# CoNLL-2003, 10 on MNIST and SST-2, 11 on tinyshakespeare and SST-2 (all staged together in ../shared/data)
NEEDS_DATA = {"03_mlp_and_optimizers.py", "04_convolution_and_vgg.py", "06_gpt_shakespeare.py",
              "07_bert_pretrain_and_transfer.py", "10_explaining_models.py", "11_serving_models.py"}


def staged_data():
    """$TINYGRAD_EDU_DATA, else the staged ../shared/data beside the repository (as CI has)."""
    for candidate in (os.environ.get("TINYGRAD_EDU_DATA"), ROOT.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "mnist" / "train-labels-idx1-ubyte.gz").exists():
            return str(candidate)
    return None


# over ~20 s each on a quiet 2-core machine even in their quick form (measured: 04 44 s, 07 94 s):
# marked slow, so ``-m "not slow"`` gives a quick run (they still run by default)
SLOW = {"04_convolution_and_vgg.py", "07_bert_pretrain_and_transfer.py"}


no_data = pytest.mark.skipif(staged_data() is None, reason="staged MNIST not found: set "
                             "TINYGRAD_EDU_DATA (../shared/data in CI)")


def quick_env():
    env = dict(os.environ, TUTORIAL_QUICK="1", MPLBACKEND="Agg")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if staged_data() is not None:
        env["TINYGRAD_EDU_DATA"] = staged_data()
    # one BLAS thread, like the rest of the suite (conftest.py): with the other test worker busy,
    # OpenBLAS's threads make the many small matmuls of a convolution tens of times slower
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    return env


def test_the_tutorials_are_found():
    names = [p.name for p in TUTORIALS]
    assert "01_autograd_from_scratch.py" in names and "02_gradient_checking.py" in names


@pytest.mark.parametrize("script", [pytest.param(p, id=p.stem,
                                                 marks=([no_data] if p.name in NEEDS_DATA else [])
                                                 + ([pytest.mark.slow] if p.name in SLOW else []))
                                    for p in TUTORIALS])
def test_tutorial_runs_as_a_script(script, tmp_path):
    # run a copy, so the figures land in tmp_path/output and the check that the tutorial creates
    # its output folder is real
    copy = tmp_path / script.name
    shutil.copy(script, copy)
    done = subprocess.run([sys.executable, str(copy)], cwd=tmp_path, env=quick_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{script.name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert f"tutorial {script.name[:2]} finished" in done.stdout
    pictures = list((tmp_path / "output").glob("*.png"))
    assert pictures and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pictures)


def test_tutorial_converts_to_a_notebook_that_executes(tmp_path, monkeypatch):
    import jupytext  # the dev extra installs both
    import nbclient
    for key, value in quick_env().items():
        monkeypatch.setenv(key, value)
    script = ROOT / "tutorials" / "01_autograd_from_scratch.py"
    notebook = jupytext.read(script)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds.count("markdown") >= 5 and kinds.count("code") >= 5
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    text = "".join(out.get("text", "") for out in outputs)
    assert "tutorial 01 finished" in text
    assert any("image/png" in out.get("data", {}) for out in outputs), "the graph picture is shown inline"
    assert (tmp_path / "output" / "01_diamond_graph.png").exists()


def test_the_training_tutorials_are_found():
    names = [p.name for p in TUTORIALS]
    assert NEEDS_DATA <= set(names)


@no_data
def test_tutorial_03_executes_as_a_notebook_with_its_figures_inline(tmp_path, monkeypatch):
    import jupytext
    import nbclient
    for key, value in quick_env().items():
        monkeypatch.setenv(key, value)
    notebook = jupytext.read(ROOT / "tutorials" / "03_mlp_and_optimizers.py")
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds.count("markdown") >= 8 and kinds.count("code") >= 8
    client = nbclient.NotebookClient(notebook, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert "tutorial 03 finished" in "".join(out.get("text", "") for out in outputs)
    assert sum("image/png" in out.get("data", {}) for out in outputs) >= 3
    for name in ("03_optimizer_curves.png", "03_lr_schedules.png"):
        assert (tmp_path / "output" / name).exists()


def test_tutorial_04_converts_to_a_notebook():
    import jupytext
    notebook = jupytext.read(ROOT / "tutorials" / "04_convolution_and_vgg.py")
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds.count("markdown") >= 10 and kinds.count("code") >= 10
    assert kinds[0] == "markdown" and notebook.cells[0].source.startswith("# Tutorial 04")
