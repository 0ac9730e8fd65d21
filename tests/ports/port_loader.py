"""Load a PyTorch script as written, or "ported": with ONLY its import lines rewritten to import
tinygrad_edu under the names the script uses (``import torch`` -> ``import tinygrad_edu as torch``,
``import torch.nn as nn`` -> ``import tinygrad_edu.nn as nn``, ``from torch.utils.data import X`` ->
``from tinygrad_edu.utils.data import X``).  Every other line must come out unchanged, and the
rewrite checks that it did: a port that needs any edit beyond the imports does not count.
"""
import re
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
_IMPORT = re.compile(r"^(?P<indent>\s*)import\s+(?P<mod>torch(\.[\w.]+)?)(\s+as\s+(?P<alias>\w+))?\s*$")
_FROM = re.compile(r"^(?P<indent>\s*)from\s+(?P<mod>torch(\.[\w.]+)?)\s+import\s+(?P<names>.+)$")


def _module(name):
    return "tinygrad_edu" + name[len("torch"):]


def rewrite_imports(source):
    """The ported source: each ``import torch...`` / ``from torch... import`` line rewritten, every
    other line kept byte for byte (asserted)."""
    out = []
    for line in source.splitlines(keepends=True):
        body = line.rstrip("\n")
        m = _IMPORT.match(body)
        if m:
            if m.group("alias") is None and m.group("mod") != "torch":
                raise ValueError(f"rewrite_imports: '{body.strip()}' binds the name 'torch' to a package "
                                 "path; write 'import torch' plus 'import torch.x as x'")
            alias = m.group("alias") or "torch"
            body = f"{m.group('indent')}import {_module(m.group('mod'))} as {alias}"
        else:
            m = _FROM.match(body)
            if m:
                body = f"{m.group('indent')}from {_module(m.group('mod'))} import {m.group('names')}"
        out.append(body + line[len(line.rstrip("\n")):])
    ported = "".join(out)
    _assert_only_imports_changed(source, ported)
    return ported


def _is_import(line):
    return bool(_IMPORT.match(line) or _FROM.match(line))


def _assert_only_imports_changed(original, ported):
    a, b = original.splitlines(), ported.splitlines()
    assert len(a) == len(b), "rewrite_imports changed the number of lines"
    for i, (x, y) in enumerate(zip(a, b), 1):
        if x != y:
            assert _is_import(x), f"line {i} changed but is not an import line: {x!r} -> {y!r}"
        assert "torch" not in y or not _is_import(x) or "tinygrad_edu" in y, f"line {i}: {y!r}"


def load_script(name, ported):
    """Execute ``tests/ports/<name>.py`` as a fresh module (torch version, or the ported one)."""
    path = HERE / f"{name}.py"
    source = path.read_text()
    if ported:
        source = rewrite_imports(source)
    mod_name = f"_port_{name}_{'tg' if ported else 'torch'}"
    module = types.ModuleType(mod_name)
    module.__file__ = str(path)
    sys.modules[mod_name] = module
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module
