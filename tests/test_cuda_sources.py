"""The CUDA sources of the CuPy tier, checked without a GPU: every ``kernels/*.cu`` compiles to PTX with
NVRTC, has float and double versions of its entry points, and every ``raw_kernel("name", "fn")`` call in
``kernels/*.py`` names a ``.cu`` file that exists and an entry point its PTX defines — so a typo shows on
the CPU, not on the GPU machine.  Skipped (with the reason) only when NVRTC cannot be loaded."""
import ast
import itertools
import os
import re

import pytest

from tinygrad_edu.kernels import cuda_source

try:
    BACKEND = cuda_source.nvrtc_backend()
    NVRTC_MISSING = None
except OSError as exc:
    BACKEND, NVRTC_MISSING = None, str(exc)

needs_nvrtc = pytest.mark.skipif(NVRTC_MISSING is not None, reason=f"NVRTC unavailable: {NVRTC_MISSING}")
SOURCES = cuda_source.cuda_sources()
KERNEL_FILES = sorted(f for f in os.listdir(cuda_source.HERE) if f.endswith(".py") and f != "cuda_source.py")
FLOAT, DOUBLE = ("_float", "_f32"), ("_double", "_f64")


@pytest.fixture(scope="module")
def ptx():
    """name -> PTX text of every ``.cu`` (compiled once for the module)."""
    return {name: cuda_source.compile_to_ptx(name) for name in SOURCES}


def _entry_points_in_source(text):
    return re.findall(r'extern\s+"C"\s+__global__\s+void\s+([A-Za-z_]\w*)\s*\(', text)


# ---------------------------------------------------------------------------------------------
# NVRTC works, and reports errors with the compiler's log
# ---------------------------------------------------------------------------------------------
@needs_nvrtc
def test_nvrtc_compiles_a_kernel_and_reports_errors():
    good = 'extern "C" __global__ void twice(float* x, int n) { int i = threadIdx.x; if (i < n) x[i] *= 2; }'
    assert cuda_source.ptx_entry_points(cuda_source.compile_source_to_ptx(good)) == ["twice"]
    with pytest.raises(cuda_source.NVRTCError, match="undefined"):
        cuda_source.compile_source_to_ptx(good.replace("x[i] *= 2", "x[i] *= y"))


@needs_nvrtc
@pytest.mark.parametrize("name", SOURCES)
def test_source_compiles_to_ptx_with_every_entry_point(name, ptx):
    declared = _entry_points_in_source(cuda_source.read_cuda_source(name))
    assert declared, f"kernels/{name}.cu declares no extern \"C\" __global__ entry point"
    assert sorted(cuda_source.ptx_entry_points(ptx[name])) == sorted(declared)


@pytest.mark.parametrize("name", SOURCES)
def test_float_and_double_versions(name):
    """Entry points named ``..._float``/``..._f32`` come with ``..._double``/``..._f64`` and back."""
    entries = set(_entry_points_in_source(cuda_source.read_cuda_source(name)))
    typed = [e for e in entries if e.endswith(FLOAT + DOUBLE)]
    assert typed, f"kernels/{name}.cu has no float/double entry points (names ending in {FLOAT + DOUBLE})"
    missing = []
    for entry in typed:
        for mine, other in ((FLOAT, DOUBLE), (DOUBLE, FLOAT)):
            for suffix, twin in zip(mine, other):
                if entry.endswith(suffix) and entry[: -len(suffix)] + twin not in entries:
                    missing.append(entry[: -len(suffix)] + twin)
    assert not missing, f"kernels/{name}.cu lacks {missing}"


# ---------------------------------------------------------------------------------------------
# raw_kernel("name", "function") calls name real files and real entry points
# ---------------------------------------------------------------------------------------------
def _string_patterns(node, assigned):
    """Regexes for every string ``node`` can be: constants exactly, f-string holes and unknown names
    as ``\\w+``; names assigned in the same function (``suffix = "float" if ... else "double"``)
    are followed."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [re.escape(node.value)]
    if isinstance(node, ast.IfExp):
        return _string_patterns(node.body, assigned) + _string_patterns(node.orelse, assigned)
    if isinstance(node, ast.Name) and node.id in assigned:
        return [p for value in assigned[node.id] for p in _string_patterns(value, {})]
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                parts.append(_string_patterns(value.value, assigned))
            else:
                parts.append(_string_patterns(value, assigned))
        return ["".join(combo) for combo in itertools.product(*parts)]
    return [r"\w+"]


def raw_kernel_calls():
    """(file, line, source-name patterns, function-name patterns) of every ``raw_kernel(...)`` call."""
    calls = []
    for filename in KERNEL_FILES:
        with open(os.path.join(cuda_source.HERE, filename), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        scopes = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.Module))]
        for scope in scopes:
            assigned = {}
            for node in ast.walk(scope):
                if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                        and isinstance(node.targets[0], ast.Name):
                    assigned.setdefault(node.targets[0].id, []).append(node.value)
            for node in ast.walk(scope) if isinstance(scope, ast.FunctionDef) else ():
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) \
                        == "raw_kernel" and len(node.args) == 2:
                    calls.append((filename, node.lineno, _string_patterns(node.args[0], assigned),
                                  _string_patterns(node.args[1], assigned)))
    return calls


CALLS = raw_kernel_calls()


def test_raw_kernel_calls_are_found():
    """The parser sees the calls (a kernel file with a CuPy tier in CUDA C calls raw_kernel)."""
    users = {f for f in KERNEL_FILES
             if "raw_kernel(" in open(os.path.join(cuda_source.HERE, f), encoding="utf-8").read()}
    assert {c[0] for c in CALLS} == users


@needs_nvrtc
@pytest.mark.parametrize("call", CALLS, ids=[f"{c[0]}:{c[1]}" for c in CALLS])
def test_raw_kernel_names_an_entry_point(call, ptx):
    filename, line, sources, functions = call
    names = [s for s in SOURCES if any(re.fullmatch(p, s) for p in sources)]
    assert names, f"{filename}:{line}: raw_kernel names a source {sources} but kernels/ has only {SOURCES}"
    entries = {e for n in names for e in cuda_source.ptx_entry_points(ptx[n])}
    for pattern in functions:
        assert any(re.fullmatch(pattern, e) for e in entries), \
            f"{filename}:{line}: no entry point matching {pattern!r} in {names}: {sorted(entries)}"
