"""Registry entries for ``tinygrad_edu/nn/loss_regression.py``: ``F.mse_loss``, ``F.l1_loss``,
``F.kl_div`` (probabilities or log-probabilities as target, every reduction), ``F.huber_loss``
(with a weight too) and ``F.smooth_l1_loss`` (beta = 0 included).

Residuals are drawn on both sides of the seams of the piecewise losses, away from them; the
seams themselves are pinned in tests/test_activation_loss.py."""
import numpy as np
from hypothesis import strategies as st

from .cases import REDUCTIONS, f_call, lib_call
from .spec import Case, OpSpec, seeds, shapes, values

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="loss_regression", **kw))


def _pair_loss(domain_diff="real"):
    def cases(mode):
        @st.composite
        def build(draw):
            shape = draw(shapes(mode))
            rng = np.random.default_rng(draw(seeds()))
            target = values(rng, shape)
            x = target + values(rng, shape, domain_diff)
            return Case((x, target), {"reduction": draw(REDUCTIONS)})
        return build()
    return cases


add("F.mse_loss", _pair_loss(), **f_call("mse_loss"))
add("F.l1_loss", _pair_loss("kink"), **f_call("l1_loss"))


def _kl_cases(log_target):
    def cases(mode):
        @st.composite
        def build(draw):
            shape = draw(shapes(mode, 0, 3))
            rng = np.random.default_rng(draw(seeds()))
            logq = -values(rng, shape, "positive")
            target = np.log(values(rng, shape, "prob")) if log_target else values(rng, shape, "prob")
            reduction = draw(st.sampled_from(["batchmean", "sum", "none", "mean"]))
            return Case((logq, target), {"reduction": reduction, "log_target": log_target})
        return build()
    return cases


def _kl(lib, x, t, **k):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # reduction='mean' warns in both libraries
        return lib.kl_div(x, t, **k)


add("F.kl_div", _kl_cases(False), **lib_call(_kl))
add("F.kl_div_log_target", _kl_cases(True), **lib_call(_kl))


def _regression_cases(extra, weight=False):
    def cases(mode):
        @st.composite
        def build(draw):
            shape = draw(shapes(mode))
            rng = np.random.default_rng(draw(seeds()))
            target = values(rng, shape)
            x = target + 1.5 * values(rng, shape, "kink")       # residuals on both sides of the seam
            kwargs = {"reduction": draw(st.sampled_from(["mean", "sum", "none"]))}
            kwargs.update({k: draw(s) for k, s in extra.items()})
            arrays = (x, target) + ((rng.uniform(0.5, 2, shape),) if weight else ())
            return Case(arrays, kwargs)
        return build()
    return cases


add("F.huber_loss", _regression_cases({"delta": st.sampled_from([0.5, 1.0, 2.0])}),
    **lib_call(lambda lib, x, t, **k: lib.huber_loss(x, t, **k)))
add("F.huber_loss_weight", _regression_cases({"delta": st.just(1.0)}, weight=True),
    **lib_call(lambda lib, x, t, w, **k: lib.huber_loss(x, t, weight=w, **k)))
add("F.smooth_l1_loss", _regression_cases({"beta": st.sampled_from([0.5, 1.0, 2.0])}),
    **lib_call(lambda lib, x, t, **k: lib.smooth_l1_loss(x, t, **k)))
add("F.smooth_l1_loss_beta0", _regression_cases({"beta": st.just(0.0)}),
    **lib_call(lambda lib, x, t, **k: lib.smooth_l1_loss(x, t, **k)))
