"""The tests mirror the source: every differentiable op is exercised by the op registry, documents its
gradient, and its module names its tests.

* ``tinygrad_edu/ops/<name>.py`` and ``tinygrad_edu/nn/<name>.py`` are tested by
  ``tests/op_registry/<name>.py`` (specs for ``tests/test_ops_generated.py``); each registry file's
  docstring names its source file, and each op module's docstring ends with a ``Tests:`` line naming
  its registry file (plus the other test files that matter).
* Each spec lives in the registry file of the op it calls: see ``source_of`` for the rule.
* Every ``Function`` subclass of the package (found with ``__subclasses__``, recursively, after
  importing every module of ``tinygrad_edu.ops`` and ``tinygrad_edu.nn``) must be

  (a) *reached*: some spec, run once on a few small drawn cases, has a graph node of that class in its
      output's graph (``grad_fn`` and its ``parents``, recursively), or, for specs that the suite
      gradgradchecks, in the graph of the first derivative taken with ``create_graph=True`` (that is
      how ops used only as the backward of another, such as ``Conv2dInputGrad``, are reached);
  (b) *documented*: see ``documents_gradient`` for the rule.

Real gaps are listed in ``ALLOWED_UNCOVERED`` / ``ALLOWED_UNDOCUMENTED`` with a reason each; an entry
that is no longer a gap fails the test, so the lists only shrink.  Specs the placement rule cannot
judge are in ``PLACED_BY_HAND``.
"""
import importlib
import inspect
import os
import pkgutil
import re
import sys
import warnings
from functools import lru_cache

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

import tinygrad_edu as tg
import tinygrad_edu.nn
import tinygrad_edu.ops
from tinygrad_edu.autograd.function import Function

from op_registry import ALL_SPECS, REGISTRY_FILES
from test_ops_generated import as_tuple, make_inputs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Function subclasses no spec reaches, and why (key: module path below tinygrad_edu + class name).
# Adding a spec adds test ids to the generated suite; these are left to a later change.
ALLOWED_UNCOVERED = {
    "random._bernoulli_op.<locals>.Bernoulli":
        "random sampling with a zero gradient: draws cannot be compared with torch's generator "
        "(distribution checks in tests/test_random.py)",
    "explain.deeplift.DeepLiftRule":
        "not an op: DeepLift's stand-in for a nonlinearity during one attribution, whose backward is the "
        "rescale rule, not a derivative (checked against Captum in tests/test_explain_deeplift_perturbation.py)",
    "explain.guided_backprop.GuidedReLUFunction":
        "not an op: guided backprop's ReLU, whose backward deliberately is not the derivative (checked "
        "against Captum in tests/test_explain_deeplift_perturbation.py)",
    "autograd.hooks._ModuleHookIdentity":
        "the identity a module's backward hooks hang on: not an op (tests/test_hooks.py)",
    "ops.elementwise.Cast": "dtype conversion (x.to(dtype), .double()): no spec converts a dtype yet",
    "ops.elementwise.ToDevice": "x.to(device): needs a second device (CuPy), the registry runs on the CPU",
    "ops.inplace.IndexPut": "x[index] = v is in-place; the registry has out-of-place ops only "
                            "(tests/test_inplace.py, tests/test_indexing_vs_torch.py)",
    "ops.rounding.FloorDivide": "a // b has no derivative (backward raises, as in PyTorch), so its "
                                "specs are forward-only and record no node (tests/test_math_extra.py)",
    "ops.rounding._Rounder": "the base class of Trunc/Floor/Ceil/Round, never applied itself",
    "distributed.sync_batchnorm.SyncBatchNormFunction":
        "batch norm over every rank's batch: a multi-process op, checked bitwise against BatchNorm in a "
        "world of one (tests/test_distributed_ddp.py) and against one process on 2 ranks "
        "(tests/mpi/ddp_checks.py)",
}

# Function subclasses whose docstrings do not pass ``documents_gradient``, and why (none today).
ALLOWED_UNDOCUMENTED = {
}


# ---------------------------------------------------------------------------------------------
# The classes
# ---------------------------------------------------------------------------------------------
def op_modules():
    """Every module of tinygrad_edu.ops, tinygrad_edu.nn and tinygrad_edu.distributed (subpackages too),
    imported — all of them, whatever other tests ran in this process before, so the set of Function
    classes checked does not depend on the order the tests run in."""
    import tinygrad_edu.distributed
    mods = []
    for pkg in (tinygrad_edu.ops, tinygrad_edu.nn, tinygrad_edu.distributed):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            mods.append(importlib.import_module(info.name))
    return mods


def key(cls):
    return f"{cls.__module__.removeprefix('tinygrad_edu.')}.{cls.__qualname__}"


def function_classes():
    """Every Function subclass defined in tinygrad_edu, by key."""
    op_modules()
    import tinygrad_edu.explain.deeplift  # noqa: F401  (their Functions are not ops: see ALLOWED_UNCOVERED)
    import tinygrad_edu.explain.guided_backprop  # noqa: F401
    import tinygrad_edu.random
    tinygrad_edu.random._bernoulli_op()   # built on first use: make it exist whatever ran before
    found, todo = {}, [Function]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("tinygrad_edu.") and key(sub) not in found:
                found[key(sub)] = sub
            todo.append(sub)
    return found


# ---------------------------------------------------------------------------------------------
# (a) reached by the registry
# ---------------------------------------------------------------------------------------------
def drawn_cases(spec, n=3):
    """``n`` "small" and ``n`` "any" cases of ``spec`` (see spec.py), the same on every run."""
    cases = []

    @settings(max_examples=n, derandomize=True, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), deadline=None)
    @given(st.data())
    def draw(data):
        cases.append(data.draw(spec.cases(mode)))
    for mode in ("small", "any"):
        draw()
    return cases


def graph_classes(outputs):
    """The classes of every node in the graphs of ``outputs``."""
    seen, classes = set(), set()
    todo = [o.grad_fn for o in outputs if isinstance(o, tg.Tensor) and o.grad_fn is not None]
    while todo:
        node = todo.pop()
        if id(node) in seen or not isinstance(node, Function):
            continue
        seen.add(id(node))
        classes.add(type(node))
        todo.extend(p for p in getattr(node, "parents", ()) if isinstance(p, Function))
    return classes


def classes_of_spec(spec):
    """The Function classes one spec's forward (and, where the suite gradgradchecks it, the graph
    of its first derivative) is made of."""
    gradgrad = spec.has_grad and spec.gradcheck and spec.gradgrad and not spec.double_backward_raises
    classes = set()
    for case in drawn_cases(spec):
        inputs = make_inputs(spec, case, "ours", np.float64)
        try:
            outs = as_tuple(spec.ours(*inputs, **case.kwargs))
        except Exception:  # noqa: BLE001  (an invalid drawn argument: the parity tests check the error)
            continue
        classes |= graph_classes(outs)
        wrt = [x for x in inputs if isinstance(x, tg.Tensor) and x.requires_grad]
        diff = [o for o in outs if isinstance(o, tg.Tensor) and o.requires_grad]
        if gradgrad and wrt and diff:
            # the output gradient is an input of the backward graph, as in gradgradcheck: ops that
            # are linear in it (the backward ops) are recorded only when it requires grad
            rng = np.random.default_rng(0)
            seeds = [tg.tensor(rng.standard_normal(o.shape), requires_grad=True) for o in diff]
            grads = tg.autograd.grad(diff, wrt, grad_outputs=seeds, create_graph=True, allow_unused=True)
            classes |= graph_classes([g for g in grads if g is not None])
    return classes


@lru_cache(maxsize=None)
def reached():
    """key -> the first spec that reaches that class."""
    by_class = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for spec in ALL_SPECS:
            for cls in classes_of_spec(spec):
                by_class.setdefault(key(cls), spec.name)
    return by_class


def test_every_function_is_reached_by_a_spec():
    classes, hit = function_classes(), reached()
    missing = sorted(k for k in classes if k not in hit and k not in ALLOWED_UNCOVERED)
    assert not missing, (f"Function classes no spec of tests/op_registry reaches (add a spec, or an "
                         f"ALLOWED_UNCOVERED entry with the reason): {missing}")
    stale = sorted(k for k in ALLOWED_UNCOVERED if k not in classes or k in hit)
    assert not stale, f"ALLOWED_UNCOVERED entries that are no longer gaps (remove them): {stale}"


# ---------------------------------------------------------------------------------------------
# (b) the gradient is documented
# ---------------------------------------------------------------------------------------------
# a derivative written out: a quotient dL/dx, d(out)/dg, ∂; a gradient assigned (dx = …, gx = …); or a
# rule in terms of g, this code's name for the incoming gradient dL/dy ("the larger input gets g")
FORMULA = re.compile(r"\bd\S*\s*/\s*d\w|∂|\b[dg][a-z]{1,2}\s*=\s|(?<![\w.])g(?!\w|\.\w)")
# a pointer: the docstring talks about the gradient, which is then written out elsewhere
POINTER = re.compile(r"gradient|derivative|backward", re.IGNORECASE)


def documents_gradient(cls):
    """The rule: the class docstring (or its ``backward``'s) writes the derivative out (``FORMULA``),
    or it points to one (``POINTER``: it mentions the gradient, the derivative or the backward, e.g.
    "see the module docstring for the gradients", "dL/dx = ``AvgPool2dTranspose`` of g") and the
    module docstring writes a derivative out."""
    backward = cls.__dict__.get("backward")
    backward = getattr(backward, "__func__", backward)
    own = (inspect.getdoc(cls) or "") + "\n" + ((backward.__doc__ or "") if backward else "")
    module_doc = sys.modules[cls.__module__].__doc__ or ""
    return bool(FORMULA.search(own) or (POINTER.search(own) and FORMULA.search(module_doc)))


def test_rule_for_documented_gradients():
    """The rule accepts what it should and rejects what it should."""
    assert FORMULA.search("y = e^x.   dL/dx = g * y.")
    assert FORMULA.search("dx = g/divisor added into every window")
    assert FORMULA.search("The larger input gets g; a tie splits it, g/2 each.")
    assert not FORMULA.search("y = the entries of x, e.g. a copy.")
    assert not FORMULA.search("out = dropout(softmax(q·kᵀ·scale)) · v in one graph node.")


def test_every_function_documents_its_gradient():
    classes = function_classes()
    missing = sorted(k for k, c in classes.items()
                     if not documents_gradient(c) and k not in ALLOWED_UNDOCUMENTED)
    assert not missing, (f"Function classes whose docstring (class, backward or module) gives no gradient "
                         f"formula nor a pointer to one: {missing}")
    stale = sorted(k for k in ALLOWED_UNDOCUMENTED if k not in classes or documents_gradient(classes[k]))
    assert not stale, f"ALLOWED_UNDOCUMENTED entries that are no longer gaps (remove them): {stale}"


# ---------------------------------------------------------------------------------------------
# The mirror: registry files name their source, op modules name their tests
# ---------------------------------------------------------------------------------------------
def source_path(name):
    """tinygrad_edu/ops/<name>.py or tinygrad_edu/nn/<name>.py, whichever exists (None: neither)."""
    for pkg in ("ops", "nn"):
        path = f"tinygrad_edu/{pkg}/{name}.py"
        if os.path.exists(os.path.join(ROOT, path)):
            return path
    return None


def registry_name(module):
    return module.__name__.rsplit(".", 1)[-1]


def test_registry_files_are_named_after_their_source_file():
    for module in REGISTRY_FILES:
        name = registry_name(module)
        source = source_path(name)
        assert source, f"tests/op_registry/{name}.py: no tinygrad_edu/ops/{name}.py or nn/{name}.py"
        first_line = (module.__doc__ or "").splitlines()[0] if module.__doc__ else ""
        assert source in first_line, \
            f"tests/op_registry/{name}.py: its docstring must start by naming {source}"
        assert all(s.family == name for s in module.SPECS), f"tests/op_registry/{name}.py: family != {name!r}"


def named_test_files(module):
    """The paths of the ``Tests:`` line of a module docstring ([] when there is none)."""
    match = re.search(r"^Tests: (.+)$", module.__doc__ or "", re.MULTILINE)
    return [p.strip() for p in match.group(1).split(",")] if match else []


# specs whose last call is not the op under test (its result is combined with another op), and the
# registry file they belong in
PLACED_BY_HAND = {
    "where_scalar_other": "selection",                # tg.where(c, a, 0.5) * b
    "var_mean_dim_int_correction": "reduce",          # var_mean(x)[0] + 3 * var_mean(x)[1]
    "var_mean_dim_tuple_unbiased": "reduce",
    "std_mean_dim_int_correction": "reduce",
    "std_mean_dim_tuple_unbiased": "reduce",
}
PACKAGE = os.path.join(ROOT, "tinygrad_edu") + os.sep
REGISTRY_DIR = os.path.join(ROOT, "tests", "op_registry") + os.sep


def source_of(spec, case):
    """The registry file a spec belongs in, by the rule: of the calls the spec's code (in
    tests/op_registry/) makes into the package, take the last one (the outermost op of an expression:
    ``(a * 0.7).tan()`` tests tan); its op module is the first module it enters that has a registry
    file (``F.conv2d`` is in nn/conv.py itself; ``x + y`` enters tensor_arithmetic.py, then ops/elementwise.py)."""
    registry = {registry_name(m) for m in REGISTRY_FILES}
    calls = []

    def op_module(filename):
        if not filename.startswith(PACKAGE):
            return None
        parts = os.path.relpath(filename, PACKAGE).split(os.sep)
        name = parts[-1][:-3]
        return name if len(parts) == 2 and parts[0] in ("ops", "nn") and name in registry else None

    def profile(frame, event, arg):
        if event != "call" or not frame.f_code.co_filename.startswith(PACKAGE):
            return
        caller = frame.f_back.f_code.co_filename if frame.f_back else ""
        if caller.startswith(REGISTRY_DIR):
            calls.append(op_module(frame.f_code.co_filename))
        elif calls and calls[-1] is None:
            calls[-1] = op_module(frame.f_code.co_filename)

    inputs = make_inputs(spec, case, "ours", np.float64)
    sys.setprofile(profile)
    try:
        spec.ours(*inputs, **case.kwargs)
    finally:
        sys.setprofile(None)
    found = [c for c in calls if c is not None]
    return found[-1] if found else None


def test_each_spec_lives_in_the_registry_file_of_its_op():
    misplaced = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for module in REGISTRY_FILES:
            for spec in module.SPECS:
                want = PLACED_BY_HAND.get(spec.name)
                for case in drawn_cases(spec, n=1):
                    if want is not None:
                        break
                    try:
                        want = source_of(spec, case)
                    except Exception:  # noqa: BLE001  (an invalid drawn argument: try the next case)
                        continue
                if want != registry_name(module):
                    misplaced.append(f"{spec.name}: in {registry_name(module)}.py, its op is in {want}.py")
    assert not misplaced, "specs in the wrong registry file:\n" + "\n".join(misplaced)


def test_op_modules_name_their_test_files():
    registry = {registry_name(m) for m in REGISTRY_FILES}
    with_functions = {sys.modules[c.__module__] for c in function_classes().values()}
    problems = []
    for module in op_modules():
        name = module.__name__.rsplit(".", 1)[-1]
        defines_ops = name in registry or module in with_functions
        paths = named_test_files(module)
        if defines_ops and not paths:
            problems.append(f"{module.__name__}: no 'Tests: ...' line in its docstring")
        if name in registry and f"tests/op_registry/{name}.py" not in paths:
            problems.append(f"{module.__name__}: its Tests: line must name tests/op_registry/{name}.py")
        problems += [f"{module.__name__}: Tests: names {p}, which does not exist"
                     for p in paths if not os.path.exists(os.path.join(ROOT, p))]
    assert not problems, "\n".join(problems)
