"""One op spec, run on the CPU and on the 'cuda' device, compared: shared by the fake-device suite
(``test_fake_device_ops.py``, CPU only) and the real-GPU suite (``test_gpu_ops.py``).

``compare_devices(spec, case)`` builds the spec's inputs twice from the same drawn case — CPU tensors
and device tensors — seeds the random generator the same way before each run, and checks that the
device run gives the CPU's outputs (shape, dtype, values, and that they live on the device), raises
where the CPU raises, and (for differentiable specs) gives the CPU's input gradients, on the device.
"""
import re

import numpy as np

import tinygrad_edu as tg
from op_registry.spec import make_inputs


def _as_tuple(result):
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def _run(spec, case, device):
    tg.manual_seed(1234)
    ins = make_inputs(spec, case, "ours", np.float32, device=device)
    try:
        return ins, _as_tuple(spec.ours(*ins, **case.kwargs)), None
    except Exception as exc:  # noqa: BLE001  (the CPU's error decides whether the device must raise)
        return ins, None, exc


def _host(t):
    return np.asarray(t.detach().cpu().array)


def _check_same(cpu, dev, device, tol, what):
    assert len(cpu) == len(dev), f"{what}: {len(dev)} results on {device}, {len(cpu)} on the CPU"
    for k, (c, d) in enumerate(zip(cpu, dev)):
        if not isinstance(c, tg.Tensor):
            assert not isinstance(d, tg.Tensor), f"{what} {k}: a Tensor on {device}, {type(c)} on the CPU"
            continue
        assert isinstance(d, tg.Tensor), f"{what} {k}: {type(d).__name__} on {device}"
        assert d.device == device, f"{what} {k}: the result is on {d.device}, not {device}"
        c_np, d_np = _host(c), _host(d)
        assert c_np.shape == d_np.shape, f"{what} {k}: shape {d_np.shape} on {device}, CPU {c_np.shape}"
        assert c_np.dtype == d_np.dtype, f"{what} {k}: dtype {d_np.dtype} on {device}, CPU {c_np.dtype}"
        if np.isinf(tol[0]):
            continue
        np.testing.assert_allclose(d_np, c_np, atol=tol[0], rtol=tol[1], equal_nan=True,
                                   err_msg=f"{what} {k} ({device} vs CPU)")


# ops whose device tier may draw its own random numbers (CuPy's generator): compared by shape, dtype
# and device only on a real GPU
RANDOM_OPS = re.compile(r"dropout|bernoulli|multinomial|rrelu|\brand")


def compare_devices(spec, case, device="cuda", tol=(1e-5, 1e-5), values=True):
    """Run ``spec`` on ``case`` on the CPU and on ``device``; assert the device matches the CPU
    (``values=False``: shapes, dtypes and devices only).  Returns the largest absolute difference
    seen (forward and gradients), for parity summaries."""
    if not values:
        tol = (np.inf, np.inf)
    ins_c, outs_c, err_c = _run(spec, case, "cpu")
    ins_d, outs_d, err_d = _run(spec, case, device)
    if err_c is not None:
        assert err_d is not None, f"{spec.name}: the CPU raised {err_c!r}, {device} did not"
        return 0.0
    if err_d is not None:
        raise AssertionError(f"{spec.name}: raised on {device} but not on the CPU: "
                             f"{err_d.__class__.__name__}: {err_d}") from err_d
    _check_same(outs_c, outs_d, device, tol, f"{spec.name} output")
    worst = _max_error(outs_c, outs_d)
    if not spec.has_grad:
        return worst
    diff = [k for k, o in enumerate(outs_c) if isinstance(o, tg.Tensor) and o.requires_grad]
    wrt_c = [t for t in ins_c if isinstance(t, tg.Tensor) and t.requires_grad]
    wrt_d = [t for t in ins_d if isinstance(t, tg.Tensor) and t.requires_grad]
    if not diff or not wrt_c:
        return worst
    rng = np.random.default_rng(99)
    seeds = [rng.standard_normal(outs_c[k].shape).astype(outs_c[k].dtype) for k in diff]
    grads = []
    for outs, wrt, device_ in ((outs_c, wrt_c, "cpu"), (outs_d, wrt_d, device)):
        try:
            g = tg.autograd.grad([outs[k] for k in diff], wrt, allow_unused=True,
                                 grad_outputs=[tg.tensor(s, device=device_) for s in seeds])
        except Exception as exc:  # noqa: BLE001
            raise AssertionError(f"{spec.name}: backward on {device_} raised "
                                 f"{exc.__class__.__name__}: {exc}") from exc
        grads.append([tg.zeros_like(x) if gi is None else gi for x, gi in zip(wrt, g)])
    _check_same(grads[0], grads[1], device, (tol[0] * 10, tol[1] * 10), f"{spec.name} gradient")
    return max(worst, _max_error(grads[0], grads[1]))


def parity_table(specs, device, log=print):
    """One drawn case of each spec on ``device`` against the CPU: a row per op with the largest
    difference (or why it failed), logged as it goes; hypothesis does not shrink a failure (time)."""
    from hypothesis import HealthCheck, Phase, given, settings, strategies as st
    rows = []
    for spec in specs:
        found = {}

        @settings(max_examples=1, derandomize=True, database=None, deadline=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(data=st.data())
        def one(data):
            found["err"] = compare_devices(spec, data.draw(spec.cases("any")), device, tol=(1e-4, 1e-3),
                                           values=not RANDOM_OPS.search(spec.name))
        try:
            one()
            rows.append({"op": spec.name, "ok": True, "max_abs": found.get("err", 0.0)})
        except Exception as exc:  # noqa: BLE001  (the summary lists every failing op with why)
            rows.append({"op": spec.name, "ok": False, "error": f"{exc.__class__.__name__}: {exc}"[:300]})
        r = rows[-1]
        log(f"{r['op']:44s} {'max |diff| %.2e' % r['max_abs'] if r['ok'] else 'FAIL ' + r['error'][:120]}")
    failed = [r["op"] for r in rows if not r["ok"]]
    log(f"parity: {len(rows) - len(failed)}/{len(rows)} ops match the CPU; failing: {failed}")
    return rows


def _max_error(cpu, dev):
    worst = 0.0
    for c, d in zip(cpu, dev):
        if isinstance(c, tg.Tensor) and c.numel() and c.dtype.kind in "fc":
            with np.errstate(invalid="ignore"):   # inf - inf where both are inf
                diff = np.abs(_host(c).astype(np.float64) - _host(d))
            if np.isfinite(diff).any():
                worst = max(worst, float(np.nanmax(diff[np.isfinite(diff)])))
    return worst
