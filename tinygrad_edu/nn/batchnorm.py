"""Batch norm: ``F.batch_norm`` and ``nn.BatchNorm1d`` / ``nn.BatchNorm2d``.

The math, the running statistics and the backward (one fused ``Normalize`` node) are explained in
``normalization.py``'s docstring; this file adds what is particular to batch norm: the batch's
statistics in training, the running averages (updated in place) in evaluation, and the module's
buffers with PyTorch's names (``bn1.running_mean``, ``bn1.num_batches_tracked``).

Tests: tests/op_registry/batchnorm.py, tests/test_conv_layers.py
"""
from .. import creation
from .. import dtypes as _dt
from ..autograd.function import OpValueError
from ..backend import array_module
from ..tensor import Tensor
from .module import Module
from .normalization import Normalize, NormError, _register_affine, _reset_affine

__all__ = ["batch_norm", "BatchNorm1d", "BatchNorm2d"]


def batch_norm(input, running_mean, running_var, weight=None, bias=None,  # noqa: A002
               training=False, momentum=0.1, eps=1e-5):
    """Batch normalisation over dims (0, 2, 3, …) of an (N, C, …) input, as
    ``torch.nn.functional.batch_norm`` (see ``normalization.py``'s docstring for the math and the running
    statistics, updated in place when ``training``)."""
    op = "batch_norm"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor input, got {type(input).__name__}")
    if input.ndim < 2:
        raise NormError(f"{op}: expected an input of shape (N, C, ...) with at least 2 dims, got "
                        f"shape {tuple(input.shape)}")
    channels = input.shape[1]
    for name, p in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != (channels,):
            raise NormError(f"{op}: {name} must have shape ({channels},) for an input of shape "
                            f"{tuple(input.shape)} ({channels} channels), got {tuple(p.shape)}")
    dims = (0,) + tuple(range(2, input.ndim))
    bshape = (1, channels) + (1,) * (input.ndim - 2)
    w = weight.reshape(bshape) if weight is not None else None
    b = bias.reshape(bshape) if bias is not None else None
    if not training:
        if running_mean is None or running_var is None:
            raise NormError(f"{op}: running_mean and running_var must be given in evaluation mode "
                            "(training=False)")
        return _batch_norm_eval(input, running_mean, running_var, w, b, bshape, eps)
    count = input.array.size // max(channels, 1)
    if count == 1:
        raise NormError(f"{op}: expected more than 1 value per channel when training, got input "
                        f"of shape {tuple(input.shape)}")
    stats = []
    out = Normalize.apply(input, w, b, dims=dims, eps=eps, stats_out=stats)
    if count > 1 and (running_mean is not None or running_var is not None):
        mean, var = stats[0]
        _blend_(running_mean, mean.reshape(-1), momentum)
        _blend_(running_var, var.reshape(-1) * (count / (count - 1)), momentum)
    return out


def _blend_(running, value, momentum):
    """running ← (1 − momentum)·running + momentum·value, in place and outside the graph."""
    if running is None:
        return
    running.array[...] = (1 - momentum) * running.array + momentum * value.astype(running.dtype)
    running._version_box[0] += 1


def _batch_norm_eval(x, running_mean, running_var, w, b, bshape, eps):
    """y = x · scale + shift with scale = γ/√(running_var + ε), shift = β − running_mean · scale:
    an affine map of x (the statistics are constants), written in Tensor ops so autograd
    differentiates it to any order."""
    xp = array_module(x.array)
    rstd = Tensor._wrap((1.0 / xp.sqrt(running_var.array + eps)).astype(x.dtype).reshape(bshape))
    mean = Tensor._wrap(running_mean.array.astype(x.dtype).reshape(bshape))
    scale = rstd if w is None else w * rstd
    shift = -mean * scale
    if b is not None:
        shift = shift + b
    return x * scale + shift


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
class _BatchNorm(Module):
    """Shared by BatchNorm1d and BatchNorm2d (they differ only in the input dims they accept).

    Parameters ``weight`` (γ, ones) and ``bias`` (β, zeros; none with ``bias=False``) when
    ``affine``; buffers
    ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked`` (int64 0) when
    ``track_running_stats``.  In ``train()`` mode a batch is normalised with its own statistics
    and the running ones are updated (``momentum=None``: a cumulative average over all batches
    seen); in ``eval()`` mode the running statistics are used (or the batch's, if none are
    tracked)."""

    _accepted_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _register_affine(self, (num_features,), affine, bias, dtype, device)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, dtype=dtype,
                                                                device=device))
            self.register_buffer("running_var", creation.ones(num_features, dtype=dtype,
                                                              device=device))
            self.register_buffer("num_batches_tracked", creation.tensor(0, dtype=_dt.int64,
                                                                        device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0
            for b in (self.running_mean, self.running_var, self.num_batches_tracked):
                b._version_box[0] += 1

    def reset_parameters(self):
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input_dim(self, input):  # noqa: A002
        if input.ndim not in self._accepted_dims:
            dims = " or ".join(f"{d}D" for d in self._accepted_dims)
            raise OpValueError(f"{type(self).__name__}: expected {dims} input (got {input.ndim}D "
                               f"input of shape {tuple(input.shape)})")
        if input.shape[1] != self.num_features:
            raise OpValueError(f"{type(self).__name__}: expected an input with "
                               f"{self.num_features} channels (dim 1), got shape "
                               f"{tuple(input.shape)}")

    def forward(self, input):  # noqa: A002
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array[...] += 1
            self.num_batches_tracked._version_box[0] += 1
            if self.momentum is None:  # a cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.array)
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        keep_stats = not self.training or self.track_running_stats
        return batch_norm(input, self.running_mean if keep_stats else None,
                          self.running_var if keep_stats else None, self.weight, self.bias,
                          use_batch_stats, factor, self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, " \
               f"affine={self.affine}, bias={self.bias is not None}, " \
               f"track_running_stats={self.track_running_stats}"


class BatchNorm1d(_BatchNorm):
    """Batch norm of (N, C) or (N, C, L) inputs, per channel C."""
    _accepted_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm of (N, C, H, W) inputs, per channel C."""
    _accepted_dims = (4,)
