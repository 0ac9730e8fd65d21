"""The ``gpu``, ``mpi`` and ``slow`` markers (declared in setup.cfg) are where they belong.

A test that needs CuPy or a CUDA device must carry ``@pytest.mark.gpu`` (or sit in a module whose
``pytestmark`` has it), so that ``pytest -m gpu`` runs exactly the GPU tests on a machine with a GPU
and ``-m "not gpu"`` leaves them out; likewise ``mpi`` for tests that need mpi4py or ``mpiexec``.
This is a source scan (the ``ast`` of every test file), so it costs nothing and needs no GPU:

* a test *needs a GPU* when its body imports ``cupy``/``cupyx`` (or calls ``importorskip("cupy")``),
  or one of its ``skipif`` conditions is ``not <something about cuda/cupy/gpu>`` (it skips where there
  is no GPU); a module-level ``import cupy`` makes every test of the module need one;
* it *needs MPI* when it imports ``mpi4py`` or names ``mpiexec``.
"""
import ast
import configparser
import os

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)
GPU_WORDS = ("cuda", "cupy", "gpu")


def python_test_files():
    for folder, _, names in os.walk(TESTS):
        for name in sorted(names):
            if name.startswith("test_") and name.endswith(".py"):
                yield os.path.join(folder, name)


def _dotted(node):
    """``pytest.mark.gpu`` for the expression ``pytest.mark.gpu`` (calls and subscripts unwrapped)."""
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _marks(expressions):
    """The marker names among decorators or a ``pytestmark`` value (a mark or a list of marks)."""
    names = set()
    for expr in expressions:
        items = expr.elts if isinstance(expr, (ast.List, ast.Tuple)) else [expr]
        for item in items:
            dotted = _dotted(item)
            if dotted.startswith("pytest.mark."):
                names.add(dotted.split(".")[2])
    return names


def _imports(nodes, prefixes):
    """Does any of ``nodes`` (from ``ast.walk``) import a module of ``prefixes``?"""
    for node in nodes:
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] in prefixes for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in prefixes:
            return True
        if (isinstance(node, ast.Call) and _dotted(node.func).endswith("importorskip") and node.args
                and isinstance(node.args[0], ast.Constant)
                and str(node.args[0].value).split(".")[0] in prefixes):
            return True
    return False


def _skips_without_gpu(decorators):
    """A ``skipif(not <about the GPU>, ...)``: the test runs only where there is a GPU."""
    for dec in decorators:
        if isinstance(dec, ast.Call) and _dotted(dec.func).endswith("mark.skipif") and dec.args:
            condition = dec.args[0]
            if isinstance(condition, ast.UnaryOp) and isinstance(condition.op, ast.Not):
                text = ast.unparse(condition.operand).lower()
                if any(word in text for word in GPU_WORDS):
                    return True
    return False


def _names_mpiexec(nodes):
    return any(isinstance(n, ast.Constant) and isinstance(n.value, str) and "mpiexec" in n.value
               for n in nodes)


def needs_and_marks(path):
    """``[(test name, needs, marks)]`` for every test function of the file at ``path``, where
    ``needs`` is the subset of {"gpu", "mpi"} the test needs and ``marks`` the markers it carries."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    module_marks, module_needs = set(), set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "pytestmark" for t in node.targets):
            module_marks |= _marks([node.value])
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if _imports([node], {"cupy", "cupyx"}):
                module_needs.add("gpu")
            if _imports([node], {"mpi4py"}):
                module_needs.add("mpi")
    found = []

    def visit(body, class_marks=frozenset()):
        for node in body:
            if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                visit(node.body, class_marks | _marks(node.decorator_list))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                needs, nodes = set(module_needs), list(ast.walk(node))
                if _imports(nodes, {"cupy", "cupyx"}) or _skips_without_gpu(node.decorator_list):
                    needs.add("gpu")
                if _imports(nodes, {"mpi4py"}) or _names_mpiexec(nodes):
                    needs.add("mpi")
                found.append((node.name, needs, module_marks | class_marks | _marks(node.decorator_list)))

    visit(tree.body)
    return found


def test_markers_are_declared_in_setup_cfg():
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, "setup.cfg"))
    declared = {line.split(":")[0].strip() for line in config["tool:pytest"]["markers"].splitlines()
                if line.strip()}
    assert {"slow", "mpi", "gpu"} <= declared
    assert "--strict-markers" in config["tool:pytest"]["addopts"]     # a misspelt marker is an error


def test_every_test_that_needs_a_gpu_or_mpi_carries_the_marker():
    missing = []
    for path in python_test_files():
        for name, needs, marks in needs_and_marks(path):
            missing += [f"{os.path.relpath(path, ROOT)}::{name} needs @pytest.mark.{need}"
                        for need in sorted(needs - marks)]
    assert not missing, "\n".join(missing)


def test_the_gpu_tests_are_found(tmp_path):
    """The scan sees the forms it is meant to see (so an empty result above means something)."""
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "import pytest\n"
        "from tinygrad_edu import backend\n"
        "@pytest.mark.skipif(not backend.cuda_is_available(), reason='no GPU')\n"
        "def test_skips_without_gpu(): pass\n"
        "def test_imports_cupy():\n    import cupy\n"
        "def test_importorskip():\n    pytest.importorskip('cupyx.scipy')\n"
        "@pytest.mark.gpu\n"
        "def test_marked():\n    import cupy\n"
        "@pytest.mark.skipif(backend.cuda_is_available(), reason='a GPU is here')\n"
        "def test_runs_without_gpu(): pass\n"
        "def test_mpi():\n    run(['MPIEXEC', '-n', '2'])\n".replace("MPIEXEC", "MPIEXEC".lower()))
    got = {name: (needs, marks) for name, needs, marks in needs_and_marks(str(sample))}
    assert got["test_skips_without_gpu"] == ({"gpu"}, {"skipif"})
    assert got["test_imports_cupy"][0] == got["test_importorskip"][0] == {"gpu"}
    assert got["test_marked"] == ({"gpu"}, {"gpu"})
    assert got["test_runs_without_gpu"][0] == set()
    assert got["test_mpi"][0] == {"mpi"}
    assert any(os.path.basename(p) == "test_kernels.py" for p in python_test_files())


@pytest.mark.parametrize("module", ["test_kernels.py", "test_tensor_api.py"])
def test_the_known_gpu_tests_are_marked(module):
    found = needs_and_marks(os.path.join(TESTS, module))
    assert any("gpu" in needs and "gpu" in marks for _, needs, marks in found), module
