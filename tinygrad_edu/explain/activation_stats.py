"""``ActivationStatistics``: watch a network's activations, gradients and updates while it trains.

When a network does not learn, the loss curve only says *that* something is wrong.  The numbers
below say *where*: which layer's units died, which nonlinearity saturated, which weights do not
move (or move far too much).  They are the checks of Karpathy's "A Recipe for Training Neural
Networks" and of his makemore lectures, recorded every few steps during training::

    stats = ActivationStatistics(model, every=10)     # forward hooks on the layers of interest
    for x, y in batches:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        stats.step(optimizer)                          # after every optimizer step
    stats.remove()                                     # or: with ActivationStatistics(model) as stats:
    stats.save("activations.json")
    plot_activation_statistics(stats, "activations.png")

**What is recorded, per layer** (a layer's output ``y`` has shape (N, ...), N the batch):

=============  ==================================================================================
statistic      definition, and what a healthy value looks like
=============  ==================================================================================
mean, std      of all N·units numbers of ``y`` (population std).  Healthy: std of order 1 and not
               shrinking or growing layer after layer; a collapse towards 0 (vanishing
               activations) or an explosion shows a bad initialisation (Kaiming He et al. 2015).
min, max       the extremes; a histogram of ``y`` with ``bins`` bins over [min, max] (see below).
nonfinite      fraction of NaN or ±inf numbers: anything above 0 means the run has diverged.
dead           ReLU and ReLU6 only: the fraction of *units* (the positions of ``y`` after the
               batch dimension: one feature of a Linear layer, one (channel, row, column) of a
               convolution) whose output is exactly 0 for *every* example of the batch.  Such a
               unit passes no gradient for any of these examples, so its incoming weights stop
               learning; one that stays dead over many batches is dead for good.  Healthy: a few
               percent; 0.5 or more means a too-large learning rate or a negative bias killed them.
saturation     the fraction of the N·units numbers in a nonlinearity's flat region, where its
               derivative is almost 0 and the gradient vanishes:
               Tanh: ``|y| > 0.97`` (tanh' = 1 − y² < 0.06);  Sigmoid: ``y < 0.03`` or ``y > 0.97``
               (σ' = y(1 − y) < 0.03);  GELU: its *input* ``x < −3`` (there y = x·Φ(x) ≈ 0 and
               GELU'(x) = Φ(x) + x·φ(x) ≈ −0.01).  Healthy: below 5 %; near 1 the layer is stuck.
=============  ==================================================================================

**Per parameter** ``w`` (every parameter of the model that requires grad):

* ``grad_norm`` ``‖∂L/∂w‖₂``, the norm of ``w.grad`` after the step's ``backward()``.  Norms that
  shrink towards the input layers vanish, norms that blow up explode.
* ``update_ratio`` ``‖Δw‖ / ‖w‖``: the norm of what the optimizer step changed, over the norm of
  the weights before the step (``‖·‖`` the Frobenius norm, ``Δw = w_after − w_before``).
  Karpathy's rule of thumb: about **1e-3** (−3 on a log10 scale).  Much smaller (1e-5) and the
  learning rate is too low, the weights barely move; much larger (1e-1) and each step throws away
  a tenth of what the weights were, the training is unstable.  ``None`` where ``‖w‖ = 0`` (a bias
  initialised to zeros, at its first step).
* ``weight_norm`` ``‖w‖`` before the step and ``update_norm`` ``‖Δw‖``.

**When.**  The training step counter starts at ``start_step`` (0) and ``stats.step()`` adds one
after every optimizer step.  Step ``k`` is *recorded* when ``k % every == 0`` (so steps 0, every,
2·every, ...; step 0 shows the network at its initialisation).  On a recorded step the hooks keep
the statistics of the first forward pass *in training mode* (``module.training``): evaluation passes
in eval mode between steps are not recorded, and with gradient accumulation only the first
micro-batch is.  The weights are copied at the start of that forward pass (a forward pre-hook on
the model), and ``step()``, called after ``optimizer.step()``, compares them with the weights after
the step.  Call it before the next ``zero_grad()``, so that the gradients are still there.

**It changes nothing.**  The hooks only read the arrays and return ``None``; every statistic is
turned into Python floats at once, so no tensor and no graph outlives its step, and training with
or without the statistics gives the same numbers.

**Histograms.**  Each recorded step keeps a histogram of ``y`` with ``bins`` bins over *that step's*
[min, max] of the finite values (its counts and its bins + 1 edges).  To draw the steps side by side,
``plot_activation_statistics`` re-bins every step onto one common grid over the layer's overall range,
spreading each bin's count uniformly over the bin (linear interpolation of the cumulative counts).
"""
import json
import math
import os

import numpy as np

from ..backend import array_module
from ..nn.activation import (CELU, ELU, GELU, LeakyReLU, LogSigmoid, Mish, PReLU, ReLU, SELU, Sigmoid,
                             SiLU, Softplus, Softsign, Tanh, Tanhshrink)
from ..nn.activation_hard import Hardshrink, Hardsigmoid, Hardswish, Hardtanh, ReLU6, Softshrink
from ..nn.conv import Conv2d
from ..nn.conv_nd import Conv1d, Conv3d
from ..nn.conv_transpose import ConvTranspose1d, ConvTranspose2d
from ..nn.linear import Linear
from ..nn.module import Module
from ..tensor import Tensor
from ..training.plots import _pyplot
from ..training.run_folder import write_json_atomic
from .render import save_figure

FORMAT = "tinygrad_edu.activation_statistics"
VERSION = 1

ACTIVATIONS = (CELU, ELU, GELU, LeakyReLU, LogSigmoid, Mish, PReLU, ReLU, SELU, Sigmoid, SiLU, Softplus,
               Softsign, Tanh, Tanhshrink, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, ReLU6, Softshrink)
WEIGHTED = (Linear, Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d)

TANH_LIMIT = 0.97                  # |tanh| above it: saturated
SIGMOID_LIMIT = 0.03               # sigmoid below it or above 1 - it: saturated
GELU_FLAT = -3.0                   # GELU inputs below it: its flat negative region
UPDATE_RATIO_RULE = 1e-3           # Karpathy's rule of thumb for ||dw|| / ||w||


def _is_default_layer(module):
    return isinstance(module, ACTIVATIONS + WEIGHTED)


def _float(value):
    """A Python float, or None for NaN and ±inf (JSON has no NaN)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _norm(array):
    """The Frobenius norm ``sqrt(Σ a²)`` of an array, as a Python float (in float64)."""
    xp = array_module(array)
    a = array.astype(xp.float64, copy=False)
    return float(xp.sqrt((a * a).sum()))


def dead_fraction(y):
    """The fraction of units (the positions of ``y`` after the batch dimension) that are 0 for
    every example of the batch: ``mean over units of [y[n, unit] == 0 for all n]``."""
    xp = array_module(y)
    flat = y.reshape(y.shape[0], -1) if y.ndim > 1 else y.reshape(-1, 1)
    return float(xp.all(flat == 0, axis=0).mean())


def saturation_fraction(module, x, y):
    """The fraction of numbers in the flat region of ``module``'s nonlinearity (None for a layer
    that has no such region here): Tanh ``|y| > 0.97``, Sigmoid ``y < 0.03 or y > 0.97``, GELU
    ``x < −3`` (its input)."""
    xp = array_module(y)
    if isinstance(module, Tanh):
        return float((xp.abs(y) > TANH_LIMIT).mean())
    if isinstance(module, Sigmoid):
        return float(((y < SIGMOID_LIMIT) | (y > 1 - SIGMOID_LIMIT)).mean())
    if isinstance(module, GELU) and x is not None:
        return float((x < GELU_FLAT).mean())
    return None


def _has_dead_units(module):
    return type(module) in (ReLU, ReLU6)


def layer_statistics(module, x, y, bins):
    """The statistics of one layer's output ``y`` (and input ``x``, for GELU) as plain Python values:
    mean, std, min, max, nonfinite, the histogram, and dead / saturation where they apply."""
    xp = array_module(y)
    values = y.astype(xp.float64, copy=False).reshape(-1)
    finite = values[xp.isfinite(values)]
    with np.errstate(invalid="ignore", over="ignore"):          # inf - inf in the std of a diverged run
        mean, std = _float(values.mean()), _float(values.std())
    stats = {"shape": [int(s) for s in y.shape], "mean": mean, "std": std,
             "nonfinite": float(1.0 - finite.size / max(values.size, 1))}
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        counts, edges = xp.histogram(finite, bins=bins, range=(lo, hi) if hi > lo else (lo - 0.5, lo + 0.5))
        histogram = {"counts": [int(c) for c in counts.tolist()], "edges": [float(e) for e in edges.tolist()]}
        stats.update(min=lo, max=hi, histogram=histogram)
    else:
        stats.update(min=None, max=None, histogram=None)
    if _has_dead_units(module):
        stats["dead"] = dead_fraction(y)
    saturation = saturation_fraction(module, x, y)
    if saturation is not None:
        stats["saturation"] = saturation
    return stats


class ActivationStatistics:
    """Per-layer activation statistics and per-parameter gradient and update statistics, recorded
    every ``every`` training steps by forward hooks (see the module docstring for every statistic).

    Args:
        model: the ``nn.Module`` being trained.
        layers: the layers to watch: names from ``model.named_modules()`` (``"layers.2"``) or the
            modules themselves.  Default: every activation module (ReLU, GELU, Tanh, Sigmoid,
            LeakyReLU, ...) and every Linear and convolution.
        every: record the training steps ``k`` with ``k % every == 0``.
        bins: the number of histogram bins.
        start_step: the number of optimizer steps already taken (a resumed run).
        previous: the records of an earlier part of the run (a dict from ``to_dict()`` or
            ``load()``): those before ``start_step`` are kept, in front of the new ones.

    Use ``stats.step(optimizer)`` after every ``optimizer.step()``; ``stats.remove()`` (or leaving a
    ``with`` block) takes the hooks out; ``to_dict()``, ``save(path)`` and ``ActivationStatistics.load(path)``
    keep the records as JSON.
    """

    def __init__(self, model, layers=None, every=1, bins=30, start_step=0, previous=None):
        if not isinstance(model, Module):
            raise TypeError(f"ActivationStatistics: model must be an nn.Module, got {type(model).__name__}")
        for name, value in (("every", every), ("bins", bins)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"ActivationStatistics: {name} must be a positive integer, got {value!r}")
        if not isinstance(start_step, int) or isinstance(start_step, bool) or start_step < 0:
            raise ValueError(f"ActivationStatistics: start_step must be an integer >= 0, got {start_step!r}")
        self.model, self.every, self.bins = model, every, bins
        self.layers = self._select_layers(model, layers)
        self.parameters = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
        self.steps_done = start_step
        self.records = self._previous_records(previous, start_step)
        self._pending = {}               # layer name -> statistics of this step's first forward
        self._weights_before = None      # parameter name -> copy of the weights before this step
        self._handles = [model.register_forward_pre_hook(self._before_forward)]
        for name, module in self.layers.items():
            self._handles.append(module.register_forward_hook(self._hook(name)))

    # ---- which layers -----------------------------------------------------------------------------
    @staticmethod
    def _select_layers(model, layers):
        named = dict(model.named_modules())
        if layers is None:
            return {name: module for name, module in named.items() if name and _is_default_layer(module)}
        if isinstance(layers, (str, Module)):
            layers = [layers]
        by_identity = {id(module): name for name, module in named.items()}
        chosen = {}
        for layer in layers:
            if isinstance(layer, Module):
                if id(layer) not in by_identity:
                    raise ValueError(f"ActivationStatistics: layer {type(layer).__name__} is not a module "
                                     "of the model")
                chosen[by_identity[id(layer)]] = layer
            elif isinstance(layer, str) and layer in named:
                chosen[layer] = named[layer]
            else:
                known = ", ".join(repr(n) for n in named if n) or "none"
                raise ValueError(f"ActivationStatistics: the model has no layer {layer!r}; its layers are "
                                 f"{known}")
        return chosen

    @staticmethod
    def _previous_records(previous, start_step):
        if previous is None:
            return []
        if not isinstance(previous, dict) or previous.get("format") != FORMAT:
            raise ValueError("ActivationStatistics: previous must be a dict from to_dict() or load(), got "
                             f"{type(previous).__name__}")
        return [record for record in previous.get("records", []) if record["step"] < start_step]

    # ---- the hooks ----------------------------------------------------------------------------------
    @property
    def recording(self):
        """Whether the current training step (``steps_done``) is one that gets recorded."""
        return self.steps_done % self.every == 0

    def _before_forward(self, module, args):
        if self.recording and module.training and self._weights_before is None:
            self._weights_before = {name: p.array.copy() for name, p in self.parameters}

    def _hook(self, name):
        def hook(module, args, output):
            if not (self.recording and module.training) or name in self._pending:
                return None
            if not isinstance(output, Tensor):
                return None
            x = args[0].array if args and isinstance(args[0], Tensor) else None
            self._pending[name] = layer_statistics(module, x, output.array, self.bins)
            return None
        return hook

    # ---- the training step ------------------------------------------------------------------------------
    def step(self, optimizer=None):
        """Tell the statistics that one optimizer step was taken; call it right after
        ``optimizer.step()`` (before the next ``zero_grad()``).  On a recorded step it stores the
        layers' statistics of that step's forward pass and each parameter's gradient norm and update
        ratio; ``optimizer`` (optional) adds its learning rate.  Returns the new record or None."""
        if self._handles is None:
            raise RuntimeError("ActivationStatistics: step() after remove(); the hooks are gone, so "
                               "nothing more can be recorded")
        record = None
        if self.recording:
            record = {"step": self.steps_done, "activations": self._pending,
                      "parameters": self._parameter_statistics()}
            if optimizer is not None and getattr(optimizer, "param_groups", None):
                record["lr"] = _float(optimizer.param_groups[0]["lr"])
            self.records.append(record)
        self._pending, self._weights_before = {}, None
        self.steps_done += 1
        return record

    def _parameter_statistics(self):
        out = {}
        before = self._weights_before or {}
        for name, p in self.parameters:
            entry = {"grad_norm": _float(_norm(p.grad.array)) if p.grad is not None else None,
                     "weight_norm": None, "update_norm": None, "update_ratio": None}
            if name in before:
                weight_norm = _norm(before[name])
                update_norm = _norm(p.array - before[name])
                entry.update(weight_norm=_float(weight_norm), update_norm=_float(update_norm),
                             update_ratio=_float(update_norm / weight_norm) if weight_norm > 0 else None)
            out[name] = entry
        return out

    # ---- hooks out -----------------------------------------------------------------------------------
    def remove(self):
        """Take every hook out of the model (safe to call twice); the records stay."""
        for handle in self._handles or ():
            handle.remove()
        self._handles = None
        self._pending, self._weights_before = {}, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

    # ---- saving -------------------------------------------------------------------------------------
    def to_dict(self):
        """Everything as plain JSON values: the settings, the watched layers (name → module type),
        the parameters' names, and the list of records (one per recorded step)."""
        return {"format": FORMAT, "version": VERSION, "every": self.every, "bins": self.bins,
                "layers": {name: type(module).__name__ for name, module in self.layers.items()},
                "parameters": [name for name, _ in self.parameters],
                "records": json.loads(json.dumps(self.records, allow_nan=False))}

    def save(self, path):
        """Write ``to_dict()`` as JSON to ``path`` atomically (a temporary file, then a rename), so
        a crash never leaves half a file.  Returns ``path``."""
        return write_json_atomic(path, self.to_dict(), allow_nan=False)

    @staticmethod
    def load(path):
        """The dict a ``save`` wrote (the module's ``load``); pass it as ``previous=`` to continue the
        records, or to ``plot_activation_statistics``."""
        return load(path)


def load(path):
    """The dict that ``ActivationStatistics.save`` wrote to ``path``; a ValueError names a file that
    is not such a file."""
    with open(path) as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as exc:
            raise ValueError(f"load: {path} is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"load: {path} is not an activation statistics file (no format {FORMAT!r})")
    return data


def _as_data(stats_or_path):
    if isinstance(stats_or_path, ActivationStatistics):
        return stats_or_path.to_dict()
    if isinstance(stats_or_path, dict):
        return stats_or_path
    if isinstance(stats_or_path, (str, os.PathLike)):
        return load(stats_or_path)
    raise TypeError("plot_activation_statistics: expected an ActivationStatistics, its to_dict() or a path, "
                    f"got {type(stats_or_path).__name__}")


# ---- the figure ------------------------------------------------------------------------------------
def rebin(counts, edges, grid):
    """A histogram (``counts`` over ``edges``) re-binned onto the bin edges ``grid``, each count spread
    uniformly over its bin: the cumulative count is linear inside a bin, so it is interpolated at the
    new edges and differenced.  The total is kept for the part of the range that ``grid`` covers."""
    cumulative = np.concatenate([[0.0], np.cumsum(np.asarray(counts, np.float64))])
    return np.diff(np.interp(grid, np.asarray(edges, np.float64), cumulative))


def _series(records, layer, key):
    return [np.nan if record["activations"].get(layer, {}).get(key) is None
            else record["activations"][layer][key] for record in records]


def plot_activation_statistics(stats_or_path, out_png, bins=None):
    """One figure of a run's statistics, saved as a PNG at ``out_png`` (returns the path).

    One row per layer: left, the histograms over time as a heatmap (x: the recorded step, y: the
    activation value on a common grid of ``bins`` bins over the layer's range (default: as many as
    were recorded), colour: log(1 + count)); right, its mean ± std and, where they apply, the dead
    fraction and the saturation (0 to 1).  A last row: every parameter's update ratio ‖Δw‖/‖w‖ (log
    scale, the dashed line is the ~1e-3 rule of thumb) and gradient norm over the steps.
    ``stats_or_path``: an ``ActivationStatistics``, its ``to_dict()``, or the path of a saved file."""
    data = _as_data(stats_or_path)
    bins = bins or data["bins"]
    records = data["records"]
    layers = list(data["layers"])
    steps = np.asarray([record["step"] for record in records], np.float64)
    plt = _pyplot()
    rows = len(layers) + 1
    fig, axes = plt.subplots(rows, 2, figsize=(11, 1.9 * rows + 0.6), squeeze=False)
    for row, layer in enumerate(layers):
        _plot_histograms(axes[row][0], records, layer, steps, bins, f"{layer} ({data['layers'][layer]})")
        _plot_health(axes[row][1], records, layer, steps)
    _plot_parameters(axes[-1][0], axes[-1][1], records, data["parameters"], steps)
    fig.tight_layout()
    save_figure(fig, out_png, dpi=80 if rows > 12 else 100)
    plt.close(fig)
    return out_png


def _plot_histograms(ax, records, layer, steps, bins, title):
    hists = [record["activations"].get(layer, {}).get("histogram") for record in records]
    present = [h for h in hists if h]
    ax.set_title(title, fontsize=9, loc="left")
    if not present:
        ax.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=ax.transAxes)
        return
    lo = min(h["edges"][0] for h in present)
    hi = max(h["edges"][-1] for h in present)
    grid = np.linspace(lo, hi, bins + 1)
    image = np.stack([rebin(h["counts"], h["edges"], grid) if h else np.zeros(bins) for h in hists], axis=1)
    ax.pcolormesh(_column_edges(steps), grid, np.log1p(image), cmap="viridis", shading="flat")
    ax.set_ylabel("value", fontsize=8)
    ax.tick_params(labelsize=7)


def _column_edges(steps):
    """The x edges of one heatmap column per recorded step: halfway between neighbouring steps."""
    if len(steps) == 1:
        return np.array([steps[0] - 0.5, steps[0] + 0.5])
    middle = (steps[1:] + steps[:-1]) / 2
    return np.concatenate([[2 * steps[0] - middle[0]], middle, [2 * steps[-1] - middle[-1]]])


def _plot_health(ax, records, layer, steps):
    mean, std = np.asarray(_series(records, layer, "mean")), np.asarray(_series(records, layer, "std"))
    ax.plot(steps, mean, color="tab:blue", label="mean")
    ax.fill_between(steps, mean - std, mean + std, color="tab:blue", alpha=0.2, label="± std")
    ax.set_ylabel("value", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    fractions = [(key, colour) for key, colour in (("dead", "tab:red"), ("saturation", "tab:orange"))
                 if any(record["activations"].get(layer, {}).get(key) is not None for record in records)]
    if fractions:
        twin = ax.twinx()
        for key, colour in fractions:
            twin.plot(steps, _series(records, layer, key), color=colour, label=f"{key} fraction")
        twin.set_ylim(-0.02, 1.02)
        twin.tick_params(labelsize=7)
        twin.legend(loc="upper right", fontsize=7)
    ax.legend(loc="upper left", fontsize=7)


def _parameter_series(records, name, key):
    return np.asarray([np.nan if record["parameters"].get(name, {}).get(key) is None
                       else record["parameters"][name][key] for record in records], np.float64)


def _plot_parameters(ax_ratio, ax_grad, records, parameters, steps):
    for ax, key, title in ((ax_ratio, "update_ratio", "update ratio ||dw|| / ||w|| (dashed: the ~1e-3 rule)"),
                           (ax_grad, "grad_norm", "gradient norm ||dL/dw||")):
        positive = False
        for name in parameters:
            values = _parameter_series(records, name, key)
            positive = positive or bool(np.any(values > 0))
            ax.plot(steps, values, label=name, linewidth=1)
        if key == "update_ratio":
            ax.axhline(UPDATE_RATIO_RULE, color="black", linestyle="--", linewidth=1)
        if positive:
            ax.set_yscale("log")
        ax.set_title(title, fontsize=9, loc="left")
        ax.set_xlabel("training step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if 0 < len(parameters) <= 12:
            ax.legend(fontsize=6, ncol=2)
