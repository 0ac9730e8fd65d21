"""The generated op suite: every entry of ``tests/op_registry`` proven correct several ways.

For each registry entry (an op, or a variant of one):

* ``test_forward``      forward parity with PyTorch in float32: shapes, dtypes, values; where
                        torch raises (an invalid drawn argument), we must raise too;
* ``test_backward``     backward parity with ``torch.autograd.grad`` in float32, with a random
                        ``grad_output``;
* ``test_gradcheck``    float64 central finite differences over every input entry;
* ``test_gradgradcheck`` the same for the backward pass itself (second derivatives);
* ``test_double_backward_raises``  for once-differentiable backwards;
* ``test_edge_shapes``  forward + backward parity on 0-d / all-size-1 and size-0 inputs.

Every check runs with the compiled kernels on, and again with ``use_kernels(False)`` whenever a fast
tier took part (``on_both_tiers``), so each kernel and its NumPy reference face the same draws.

Shapes and arguments are drawn by hypothesis (``tests/conftest.py`` holds the profile).
At the end: targeted tests of error messages and result dtypes.
"""
import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings, strategies as st

import tinygrad_edu as tg
from tinygrad_edu import backend
from tinygrad_edu.autograd import gradcheck, gradgradcheck

from op_registry import ALL_SPECS
from op_registry.spec import make_inputs

_SCALE = settings.default.max_examples / 5   # the default profile draws 5; "thorough" many more


def examples(n):
    return max(1, round(n * _SCALE))


def ids(specs):
    return [s.name for s in specs]


FORWARD = ALL_SPECS
BACKWARD = [s for s in ALL_SPECS if s.has_grad]
GRADCHECK = [s for s in BACKWARD if s.gradcheck]
GRADGRAD = [s for s in GRADCHECK if s.gradgrad]
RAISES = [s for s in ALL_SPECS if s.double_backward_raises]
EDGE = [(s, m) for s in ALL_SPECS for m in s.edge_modes]


# ---------------------------------------------------------------------------------------------
# Comparing results (the inputs come from ``op_registry.spec.make_inputs``)
# ---------------------------------------------------------------------------------------------
def as_tuple(result):
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def run_both(spec, case, dtype=np.float32):
    """Inputs and outputs of both libraries; ``outs_torch`` None when torch raised (then ours must
    raise as well: the drawn argument is invalid for the op)."""
    ins_t = make_inputs(spec, case, "torch", dtype)
    ins_o = make_inputs(spec, case, "ours", dtype)
    try:
        outs_t = as_tuple(spec.ref(*ins_t, **case.kwargs))
    except (RuntimeError, ValueError, IndexError, TypeError) as torch_error:
        with pytest.raises(Exception):
            spec.ours(*ins_o, **case.kwargs)
        return ins_o, None, ins_t, torch_error
    outs_o = as_tuple(spec.ours(*ins_o, **case.kwargs))
    return ins_o, outs_o, ins_t, outs_t


def to_numpy(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    assert isinstance(t, tg.Tensor), f"expected a tinygrad_edu Tensor, got {type(t).__name__}"
    return np.asarray(t.detach())


def assert_close(ours, ref, tol, what):
    assert len(ours) == len(ref), f"{what}: {len(ours)} results, torch gives {len(ref)}"
    atol, rtol = tol
    for k, (o, r) in enumerate(zip(ours, ref)):
        o_np, r_np = to_numpy(o), to_numpy(r)
        assert o_np.shape == r_np.shape, f"{what} {k}: shape {o_np.shape}, torch {r_np.shape}"
        assert o_np.dtype == r_np.dtype, f"{what} {k}: dtype {o_np.dtype}, torch {r_np.dtype}"
        np.testing.assert_allclose(o_np, r_np, atol=atol, rtol=rtol, equal_nan=True,
                                   err_msg=f"{what} {k}")


# ---------------------------------------------------------------------------------------------
# The checks (also used by the edge-shape test)
# ---------------------------------------------------------------------------------------------
def on_both_tiers(check):
    """Run ``check()`` with the compiled kernels on; if any fast tier took part, run it again with
    ``use_kernels(False)``: both the kernel and the NumPy reference must pass the same check on the
    same drawn inputs."""
    with backend.record_kernel_dispatch() as used:
        check()
    if used:
        previous = backend.use_kernels(False)
        try:
            check()
        finally:
            backend.use_kernels(previous)
    return used


def check_forward(spec, case):
    on_both_tiers(lambda: _check_forward(spec, case))


def check_backward(spec, case):
    on_both_tiers(lambda: _check_backward(spec, case))


def _check_forward(spec, case):
    _, outs_o, _, outs_t = run_both(spec, case)
    if outs_o is None:
        return
    assert_close(outs_o, outs_t, spec.fwd_tol, f"{spec.name} output")


def _check_backward(spec, case):
    ins_o, outs_o, ins_t, outs_t = run_both(spec, case)
    if outs_o is None:
        return
    wrt_t = [t for t in ins_t if isinstance(t, torch.Tensor) and t.requires_grad]
    wrt_o = [t for t in ins_o if isinstance(t, tg.Tensor) and t.requires_grad]
    diff = [k for k, r in enumerate(outs_t) if r.requires_grad]
    for k, (o, r) in enumerate(zip(outs_o, outs_t)):
        if r.dtype.is_floating_point:
            assert o.requires_grad == r.requires_grad, \
                f"{spec.name}: output {k} requires_grad={o.requires_grad}, torch {r.requires_grad}"
    if not diff or not wrt_t:
        return
    rng = np.random.default_rng(1234)
    seeds = [rng.standard_normal(outs_t[k].shape).astype(np.float32) for k in diff]
    grads_t = torch.autograd.grad([outs_t[k] for k in diff], wrt_t,
                                  grad_outputs=[torch.from_numpy(g) for g in seeds],
                                  allow_unused=True)
    grads_o = tg.autograd.grad([outs_o[k] for k in diff], wrt_o,
                               grad_outputs=[tg.tensor(g) for g in seeds], allow_unused=True)
    grads_t = [torch.zeros_like(x) if g is None else g for x, g in zip(wrt_t, grads_t)]
    grads_o = [tg.zeros_like(x) if g is None else g for x, g in zip(wrt_o, grads_o)]
    assert_close(grads_o, grads_t, spec.bwd_tol, f"{spec.name} gradient of input")


def float64_inputs(spec, case):
    """The op as a function of float64 tensors, for (grad)gradcheck.  Cases where the op is not
    differentiable (``spec.smooth_at``) are rejected: finite differences there measure nothing."""
    if spec.smooth_at is not None:
        assume(spec.smooth_at(case))
    inputs = make_inputs(spec, case, "ours", np.float64)

    def fn(*xs):
        return spec.ours(*xs, **case.kwargs)
    return fn, inputs


# ---------------------------------------------------------------------------------------------
# Generated tests
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", FORWARD, ids=ids(FORWARD))
@settings(max_examples=examples(8))
@given(data=st.data())
def test_forward(spec, data):
    check_forward(spec, data.draw(spec.cases("any"), label="case"))


@pytest.mark.parametrize("spec", BACKWARD, ids=ids(BACKWARD))
@settings(max_examples=examples(8))
@given(data=st.data())
def test_backward(spec, data):
    check_backward(spec, data.draw(spec.cases("any"), label="case"))


@pytest.mark.parametrize("spec", GRADCHECK, ids=ids(GRADCHECK))
@settings(max_examples=examples(5))
@given(data=st.data())
def test_gradcheck(spec, data):
    case = data.draw(spec.cases("any"), label="case")
    fn, inputs = float64_inputs(spec, case)
    atol, rtol = spec.gc_tol
    on_both_tiers(lambda: _assert(gradcheck(fn, inputs, eps=spec.eps, atol=atol, rtol=rtol)))


def _assert(ok):
    assert ok


@pytest.mark.parametrize("spec", GRADGRAD, ids=ids(GRADGRAD))
@settings(max_examples=examples(3))
@given(data=st.data())
def test_gradgradcheck(spec, data):
    case = data.draw(spec.cases("small"), label="case")
    fn, inputs = float64_inputs(spec, case)
    atol, rtol = spec.gc_tol
    assert gradgradcheck(fn, inputs, eps=spec.eps, atol=atol, rtol=rtol)


@pytest.mark.parametrize("spec", RAISES, ids=ids(RAISES))
@settings(max_examples=examples(2))
@given(data=st.data())
def test_double_backward_raises(spec, data):
    """A once-differentiable backward must refuse create_graph=True, not give wrong numbers."""
    case = data.draw(spec.cases("any"), label="case")
    fn, inputs = float64_inputs(spec, case)
    wrt = [x for x in inputs if isinstance(x, tg.Tensor) and x.requires_grad]
    out = as_tuple(fn(*inputs))[0]
    with pytest.raises(RuntimeError):
        first = tg.autograd.grad(out.sum(), wrt, create_graph=True)
        tg.autograd.grad(sum(g.sum() for g in first), wrt)


@pytest.mark.parametrize("spec,mode", EDGE, ids=[f"{s.name}-{m}" for s, m in EDGE])
@settings(max_examples=examples(2))
@given(data=st.data())
def test_edge_shapes(spec, mode, data):
    """0-d / all-size-1 inputs and inputs with a size-0 dim: forward and backward parity."""
    case = data.draw(spec.cases(mode), label="case")
    check_forward(spec, case)
    if spec.has_grad:
        check_backward(spec, case)


def test_registry_covers_the_issue_ops():
    """Every op named by the issue has at least one registry entry (by name prefix)."""
    required = """add sub mul div pow neg rsub rdiv rpow matmul_1d_1d matmul_2d_2d matmul_batched
        exp log log1p sqrt rsqrt sin cos tanh sigmoid relu leaky_relu elu gelu_exact gelu_tanh silu
        softplus abs sign clamp maximum minimum where masked_fill tril triu sum mean max min amax amin
        prod var std logsumexp softmax log_softmax cumsum argmax argmin reshape view permute
        transpose expand broadcast_to squeeze unsqueeze flatten contiguous cat stack split chunk
        pad repeat flip gather getitem_int getitem_slices_with_steps getitem_none_ellipsis
        getitem_int_array_dups getitem_bool_mask one_hot compare_lt compare_eq F.linear F.dropout
        F.mse_loss F.l1_loss F.nll_loss F.cross_entropy_indices F.cross_entropy_probabilities
        F.cross_entropy_weight F.cross_entropy_ignore_index F.cross_entropy_label_smoothing
        F.binary_cross_entropy F.binary_cross_entropy_with_logits F.softmax F.log_softmax
        F.embedding""".split()
    names = [s.name for s in ALL_SPECS]
    missing = [r for r in required if not any(n == r or n.startswith(r) for n in names)]
    assert not missing, f"ops without a registry entry: {missing}"


# ---------------------------------------------------------------------------------------------
# Targeted tests: error messages name the op and the shapes
# ---------------------------------------------------------------------------------------------
def test_matmul_error_message():
    with pytest.raises(ValueError, match=r"^matmul: shapes \(3, 4\) and \(5, 2\) are not aligned: 4 != 5$"):
        tg.zeros(3, 4) @ tg.zeros(5, 2)


@pytest.mark.parametrize("expr,op", [
    (lambda: tg.zeros(3, 4) + tg.zeros(5), "add"),
    (lambda: tg.zeros(2, 3) * tg.zeros(3, 2), "mul"),
    (lambda: tg.zeros(2, 3) - tg.zeros(4, 3), "sub"),
    (lambda: tg.zeros(2, 3) / tg.ones(2, 2), "div"),
    (lambda: tg.maximum(tg.zeros(2, 3), tg.zeros(4)), "maximum"),
    (lambda: tg.where(tg.zeros(2, 3) > 0, tg.zeros(4), 1.0), "where"),
])
def test_broadcast_errors_name_the_op_and_shapes(expr, op):
    with pytest.raises(ValueError) as info:
        expr()
    text = str(info.value)
    assert text.startswith(op), text
    assert "broadcast" in text, text


def test_broadcast_error_message_exact():
    with pytest.raises(ValueError, match=r"^add: shapes \(3, 4\) and \(5,\) cannot be broadcast together"):
        tg.zeros(3, 4) + tg.zeros(5)


@pytest.mark.parametrize("expr,pattern", [
    (lambda: tg.zeros(2, 3).reshape(4, 2), r"reshape: shape \(4, 2\) is invalid for input of size 6"),
    (lambda: tg.zeros(2, 3).view(-1, -1), r"reshape: shape \(-1, -1\) is invalid"),
    (lambda: tg.zeros(2, 3).expand(4, 3), r"expand: the expanded size 4 must match the existing size 2"),
    (lambda: tg.cat([tg.zeros(2, 3), tg.zeros(2, 4)], dim=0),
     r"cat: expected all tensors to have the same shape except in dim 0; got \(2, 3\) and \(2, 4\)"),
    (lambda: tg.zeros(2, 3).gather(1, tg.tensor([[0], [5]])),
     r"gather: index out of range for dim 1 of size 3"),
    (lambda: tg.zeros(2, 3).gather(1, tg.tensor([0, 1])),
     r"gather: index \(2,\) and input \(2, 3\) must have the same number of dims"),
    (lambda: tg.zeros(2, 3).sum(dim=2), r"sum: dim 2 is out of range for a tensor with 2 dims"),
    (lambda: tg.zeros(2, 3).permute(0, 0), r"permute: dims \(0, 0\) are not a permutation"),
])
def test_shape_errors_name_the_op(expr, pattern):
    with pytest.raises((ValueError, IndexError, RuntimeError, TypeError), match=pattern):
        expr()


# ---------------------------------------------------------------------------------------------
# Targeted tests: result dtypes follow PyTorch's promotion rules
# ---------------------------------------------------------------------------------------------
def _ours_and_torch(make):
    return make(tg), make(torch)


@pytest.mark.parametrize("name,make", [
    ("int tensor + 2.5", lambda m: m.tensor([1, 2]) + 2.5),
    ("2.5 * int tensor", lambda m: 2.5 * m.tensor([1, 2])),
    ("int / int", lambda m: m.tensor([1, 2]) / m.tensor([2, 4])),
    ("int / 2", lambda m: m.tensor([1, 2]) / 2),
    ("int + 2", lambda m: m.tensor([1, 2]) + 2),
    ("int + float32 tensor", lambda m: m.tensor([1, 2]) + m.tensor([0.5, 1.5])),
    ("bool + int", lambda m: m.tensor([True, False]) + m.tensor([1, 2])),
    ("sum of int", lambda m: m.tensor([[1, 2], [3, 4]]).sum()),
    ("sum of int along dim", lambda m: m.tensor([[1, 2], [3, 4]]).sum(dim=0)),
    ("sum of bool", lambda m: m.tensor([True, True, False]).sum()),
    ("float32 * float64 scalar", lambda m: m.tensor([1.0]) * 2.0),
    ("float64 tensor + float32 tensor", lambda m: m.tensor([1.0], dtype=m.float64) + m.tensor([1.0])),
    ("comparison", lambda m: m.tensor([1.0, 2.0]) < 1.5),
    ("argmax", lambda m: m.tensor([1.0, 3.0, 2.0]).argmax()),
    ("mean of float64", lambda m: m.tensor([1.0, 2.0], dtype=m.float64).mean()),
])
def test_result_dtype_matches_torch(name, make):
    ours, ref = _ours_and_torch(make)
    assert np.asarray(ours).dtype == ref.numpy().dtype, f"{name}: {np.asarray(ours).dtype} vs {ref.dtype}"
    np.testing.assert_allclose(np.asarray(ours), ref.numpy())


def test_int_tensor_plus_float_is_float32():
    assert (tg.tensor([1, 2]) + 2.5).dtype == tg.float32
    assert (tg.tensor([1, 2]) / tg.tensor([2, 4])).dtype == tg.float32
    assert tg.tensor([1, 2]).sum().dtype == tg.int64


def test_both_tiers_really_run_for_an_op_with_a_kernel():
    """The second, reference-tier run happens, and only when a fast tier took part."""
    seen = []

    def check():
        with backend.record_kernel_dispatch() as used:
            tg.erf(tg.tensor([0.25, -1.0])).numpy()
        seen.append((backend._use_fast, sorted(used)))
    on_both_tiers(check)
    assert seen == [(True, ["erf"]), (False, [])]
    seen.clear()
    on_both_tiers(lambda: seen.append(tg.tensor([1.0]).neg().item()))
    assert seen == [-1.0]
