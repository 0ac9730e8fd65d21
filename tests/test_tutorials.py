"""The tutorials run top to bottom (they assert their own numbers), as scripts and as notebooks."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py"))


def quick_env():
    env = dict(os.environ, TUTORIAL_QUICK="1", MPLBACKEND="Agg")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_the_tutorials_are_found():
    names = [p.name for p in TUTORIALS]
    assert "01_autograd_from_scratch.py" in names and "02_gradient_checking.py" in names


@pytest.mark.parametrize("script", TUTORIALS, ids=[p.stem for p in TUTORIALS])
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
