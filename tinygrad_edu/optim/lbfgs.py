"""L-BFGS: a quasi-Newton method that builds an approximation of the inverse Hessian from the last
``history_size`` steps and gradient changes, and takes several iterations per ``step(closure)``.

Newton's step is d = -H⁻¹g.  BFGS never forms H: each iteration k records the step sₖ = θₖ₊₁ - θₖ
and the gradient change yₖ = gₖ₊₁ - gₖ (which satisfy yₖ ≈ H sₖ, the *secant condition*) and
updates an estimate of H⁻¹ so that it maps yₖ to sₖ.  The *limited-memory* version keeps only the
last m pairs and applies the estimate to -g with the two-loop recursion (ρᵢ = 1/(yᵢ·sᵢ)):

    q ← -g
    for i = newest … oldest:  αᵢ = ρᵢ sᵢ·q;   q ← q - αᵢ yᵢ
    r ← γ q                   with γ = (y·s)/(y·y) of the newest pair ("H_diag", a scale guess)
    for i = oldest … newest:  βᵢ = ρᵢ yᵢ·r;   r ← r + (αᵢ - βᵢ) sᵢ
    d = r                     the search direction

A pair is only kept when y·s > 1e-10 (the curvature condition: it keeps the estimate positive
definite).  The step length t is ``lr`` (the very first one is min(1, 1/‖g‖₁)·lr), or, with
``line_search_fn='strong_wolfe'``, the result of a line search that finds a t with

    f(θ + t d) ≤ f(θ) + c₁ t g·d        (sufficient decrease, c₁ = 1e-4)
    |∇f(θ + t d)·d| ≤ c₂ |g·d|          (curvature, c₂ = 0.9)

by bracketing and cubic interpolation (Nocedal & Wright, "Numerical Optimization", algorithms 3.5
and 3.6).  One ``step`` runs up to ``max_iter`` iterations and ``max_eval`` closure calls, and stops
early when the largest gradient entry is ≤ ``tolerance_grad``, or the step or the change in loss
is below ``tolerance_change``.

As in PyTorch: one parameter group only, all parameters are treated as one flat vector, and the
whole state lives under the first parameter.  The scalars PyTorch keeps as float32 0-d tensors
(y·s, H_diag, αᵢ, t) are NumPy float32 scalars here, so that the float32 runs round alike.
"""
import copy

import numpy as np

from ..autograd import grad_mode
from ..backend import array_module
from ..tensor import Tensor
from .optimizer import Optimizer


class LBFGS(Optimizer):
    """L-BFGS with PyTorch's options and defaults; ``step(closure)`` needs the closure, which must
    zero the gradients, compute the loss, call ``backward()`` and return the loss."""

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if lr < 0.0:
            raise ValueError(f"LBFGS: invalid learning rate {lr} (must be >= 0)")
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got "
                             f"{line_search_fn!r}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                                      history_size=history_size, line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    # ---- the parameters as one flat vector ------------------------------------------------------
    def _flat_grad(self):
        xp = array_module(self._params[0].array)
        return xp.concatenate([xp.zeros(p.array.size, p.array.dtype) if p.grad is None
                               else p.grad.array.reshape(-1) for p in self._params])

    def _add_to_params(self, step, direction):
        """θ ← θ + step · direction (direction is flat)."""
        offset = 0
        for p in self._params:
            n = p.array.size
            p.array += step * direction[offset:offset + n].reshape(p.array.shape)
            p._version_box[0] += 1
            offset += n

    def _set_params(self, arrays):
        for p, saved in zip(self._params, arrays):
            p.array[...] = saved
            p._version_box[0] += 1

    def _evaluate(self, closure):
        with grad_mode.enable_grad():
            loss = closure()
        return loss

    def _directional_evaluate(self, closure, start, t, d):
        """Loss and flat gradient at θ + t d; the parameters go back to ``start`` afterwards."""
        self._add_to_params(t, d)
        loss = float(self._evaluate(closure))
        flat_grad = self._flat_grad()
        self._set_params(start)
        return loss, flat_grad

    def step(self, closure=None):
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss of the first closure call."""
        if closure is None:
            raise RuntimeError("LBFGS.step needs a closure that re-evaluates the model and returns "
                               "the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = self._evaluate(closure)
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if abs(flat_grad).max() <= tolerance_grad:   # already at a stationary point
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_flat_grad = state.get("H_diag"), state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:                 # no history yet: steepest descent
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                h_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:                       # curvature condition: keep the pair
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / y.dot(y)
                d = _two_loop(flat_grad, old_dirs, old_stps, ro, h_diag, state, history_size)
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            t = min(1.0, 1.0 / abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad.dot(d)                   # directional derivative
            if gtd > -tolerance_change:              # not a descent direction (any more)
                break

            ls_func_evals = 0
            if group["line_search_fn"] is not None:
                start = [p.array.copy() for p in self._params]
                loss, flat_grad, t, ls_func_evals = strong_wolfe(
                    lambda x, step, direction: self._directional_evaluate(closure, x, step, direction),
                    start, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
                self._add_to_params(t, d)
                opt_cond = abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_to_params(t, d)
                opt_cond = False
                if n_iter != max_iter:               # the last iteration's loss is not needed
                    loss = float(self._evaluate(closure))
                    flat_grad = self._flat_grad()
                    opt_cond = abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if abs(d * t).max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    # ---- saving and restoring: the history lists hold arrays too ------------------------------
    def state_dict(self):
        saved = super().state_dict()
        for values in saved["state"].values():
            for key, value in list(values.items()):
                if isinstance(value, list):
                    values[key] = [_snapshot(v) for v in value]
                elif isinstance(value, np.generic):
                    values[key] = value.item()
        return saved

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self._params = self.param_groups[0]["params"]
        for values in self.state.values():
            for key, value in list(values.items()):
                if isinstance(value, list):
                    values[key] = [_unsnapshot(v, self._params[0]) for v in value]
                elif isinstance(value, Tensor) or (hasattr(value, "shape") and value.shape == ()):
                    values[key] = _unsnapshot(value, self._params[0])


def _two_loop(flat_grad, old_dirs, old_stps, ro, h_diag, state, history_size):
    """The L-BFGS direction -H⁻¹g from the stored (s, y) pairs (see the module docstring)."""
    if "al" not in state:
        state["al"] = [None] * history_size
    al = state["al"]
    q = -flat_grad
    for i in range(len(old_dirs) - 1, -1, -1):
        al[i] = old_stps[i].dot(q) * ro[i]
        q -= al[i] * old_dirs[i]
    r = q * h_diag
    for i in range(len(old_dirs)):
        be_i = old_dirs[i].dot(r) * ro[i]
        r += (al[i] - be_i) * old_stps[i]
    return r


def _snapshot(value):
    if hasattr(value, "shape") and not isinstance(value, np.generic):
        return Tensor._wrap(value.copy())
    return value.item() if isinstance(value, np.generic) else copy.deepcopy(value)


def _unsnapshot(value, param):
    if isinstance(value, Tensor):
        value = value.array
    if hasattr(value, "shape"):
        array = np.asarray(value) if array_module(value) is np else value
        if array.shape == ():
            return array.astype(param.dtype)[()]  # a float32 scalar, as the step computes them
        return array.astype(param.dtype)
    return value


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, clamped to
    ``bounds`` (default: the interval between x1 and x2); the midpoint when the cubic has no
    minimum (Nocedal & Wright, equation 3.59)."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, lo), hi)
    return (lo + hi) / 2.0


def strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step length t along d satisfying the strong Wolfe conditions (module docstring).

    ``obj_func(x, t, d)`` returns (loss, flat gradient) at x + t d.  Phase 1 grows t until an
    interval [t_lo, t_hi] is known to contain an acceptable step; phase 2 ("zoom") shrinks the
    interval by cubic interpolation.  Returns (loss, gradient, t, number of evaluations)."""
    d_norm = abs(d).max()
    f_new, g_new = obj_func(x, t, d)
    evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    # phase 1: bracketing
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:                # t itself satisfies both conditions
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:                             # slope turned positive: minimum inside
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        min_step, max_step = t + 0.01 * (t - t_prev), t * 10
        t_prev, t = t, cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                         bounds=(min_step, max_step))
        f_prev, g_prev, gtd_prev = f_new, g_new, gtd_new
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:                            # ran out of evaluations
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]
    # phase 2: zoom into the bracket
    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                              bracket[1], bracket_f[1], bracket_gtd[1])
        # keep t away from the ends of the bracket (at least 10% of its width inside)
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insufficient_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) \
                    else min(bracket) + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high] = t, f_new      # t too far: it is the new high end
            bracket_g[high], bracket_gtd[high] = g_new, gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new        # t is the new low end
            bracket_g[low], bracket_gtd[low] = g_new, gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evals
