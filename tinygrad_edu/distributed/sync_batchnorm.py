"""``SyncBatchNorm``: batch norm whose statistics are those of the *global* batch (all ranks).

Plain BatchNorm under data parallelism normalises each rank's shard with the shard's own mean and
variance: with b samples per rank that is a different (noisier) model than one process with N·b,
so results change with the number of ranks.  SyncBatchNorm makes the statistics global.

Forward, per channel c, over the set S of all entries of channel c on every rank (M = |S|):

    M = Σ_r M_r,   μ = (Σ_r Σ_{S_r} x) / M          one Allreduce of [Σx per channel, M_r]
    σ² = (Σ_r Σ_{S_r} (x − μ)²) / M                  one Allreduce of the centred sums of squares
    x̂ = (x − μ)·r,  r = 1/√(σ² + ε),  y = γ·x̂ + β

(Two passes instead of Σx and Σx² in one message: E[x²] − μ² cancels catastrophically when
|μ| ≫ σ, and two passes give, in a world of one, exactly the numbers of ``BatchNorm2d``.)  The running
statistics are updated with the global μ and the unbiased σ²·M/(M − 1).

Backward (see ``SyncBatchNormFunction``): the gradient of x needs two more global sums per
channel, Σ g and Σ g·x̂, one more Allreduce; dγ and dβ stay local (DDP averages them with the other
gradients).

``convert_sync_batchnorm(model)`` swaps every BatchNorm1d/2d for a SyncBatchNorm that keeps the same
parameter and buffer objects (call it before building the optimizer and DDP).

Tests: tests/test_distributed_ddp.py, tests/mpi/ddp_checks.py
"""
import numpy as np

from ..autograd.function import Function, once_differentiable
from ..backend import to_device, device_of
from ..nn.batchnorm import _BatchNorm
from ..nn.module import Module
from ..tensor import Tensor
from . import world
from .communicators import _allreduce_sum_

__all__ = ["SyncBatchNorm", "SyncBatchNormFunction", "convert_sync_batchnorm"]


def _global_sum(*arrays):
    """Σ over ranks of each (small, per-channel) array, in one Allreduce."""
    if world.get_world_size() == 1:
        return arrays
    host = [np.asarray(to_device(a, "cpu"), dtype=np.float64).reshape(-1) for a in arrays]
    buffer = np.concatenate(host)
    _allreduce_sum_(buffer)
    out, offset = [], 0
    for a, h in zip(arrays, host):
        part = buffer[offset:offset + h.size].reshape(np.shape(a)).astype(a.dtype)
        out.append(to_device(part, device_of(a)) if hasattr(a, "shape") else part)
        offset += h.size
    return tuple(out)


class SyncBatchNormFunction(Function):
    """y = γ·x̂ + β with the global statistics (module docstring).  Backward, with g = dL/dy, the
    sums Σ over the *global* S of channel c, and M = |S|:

        dL/dβ = Σ_local g                 dL/dγ = Σ_local g·x̂
        dL/dx = γ·r·(g − (Σ g)/M − x̂·(Σ g·x̂)/M)

    Σ g and Σ g·x̂ are summed over every rank (one Allreduce): every rank's output depends on every
    rank's x through μ and σ².  Each rank's loss is the mean over its shard; DDP then averages the
    parameter gradients, which is the gradient of the mean loss over the global batch."""

    @staticmethod
    def forward(ctx, x, w=None, b=None, eps=1e-5, stats_out=None):
        xp = np if isinstance(x, np.ndarray) else __import__("cupy")
        dims = (0,) + tuple(range(2, x.ndim))
        local_count = np.array([x.size // x.shape[1]], dtype=np.float64)
        total, count = _global_sum(x.sum(axis=dims, keepdims=True), local_count)
        count = float(count[0])
        if count <= 1:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel over all ranks "
                             f"when training, got {int(count)}")
        mean = total / count
        xhat = x - mean
        squares, = _global_sum((xhat * xhat).sum(axis=dims, keepdims=True))
        var = squares / count
        rstd = 1.0 / xp.sqrt(var + eps)
        xhat *= rstd
        if stats_out is not None:
            stats_out.append((mean, var, count))
        y = xhat if w is None else xhat * w
        if b is not None:
            y += b
        ctx.dims, ctx.mean, ctx.rstd, ctx.count = dims, mean, rstd, count
        ctx.save_for_backward(*((x,) if w is None else (x, w)))
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, w = (ctx.saved_tensors + (None,))[:2]
        need_x, need_w, need_b = ctx.needs_input_grad
        g, x = grad.array, x.array
        xhat = x - ctx.mean
        xhat *= ctx.rstd
        sum_g = g.sum(axis=ctx.dims, keepdims=True)
        sum_gx = (g * xhat).sum(axis=ctx.dims, keepdims=True)
        gw = Tensor._wrap(sum_gx) if need_w else None     # shapes (1, C, 1, …): those of w and b
        gb = Tensor._wrap(sum_g) if need_b else None
        gx = None
        if need_x:
            all_g, all_gx = _global_sum(sum_g, sum_gx)
            gx = g - all_g / ctx.count
            xhat *= all_gx / ctx.count
            gx -= xhat
            gx *= ctx.rstd if w is None else w.array * ctx.rstd
            gx = Tensor._wrap(gx)
        return gx, gw, gb


class SyncBatchNorm(_BatchNorm):
    """``torch.nn.SyncBatchNorm``: BatchNorm over (N, C, …) inputs with global batch statistics
    in training (evaluation uses the running statistics, as BatchNorm does)."""

    _accepted_dims = (2, 3, 4, 5)

    def forward(self, input):  # noqa: A002
        self._check_input_dim(input)
        if not self.training:
            return super().forward(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.array[...] += 1
            self.num_batches_tracked._version_box[0] += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.array)
        bshape = (1, self.num_features) + (1,) * (input.ndim - 2)
        w = self.weight.reshape(bshape) if self.weight is not None else None
        b = self.bias.reshape(bshape) if self.bias is not None else None
        stats = []
        out = SyncBatchNormFunction.apply(input, w, b, eps=self.eps, stats_out=stats)
        if self.track_running_stats:
            mean, var, count = stats[0]
            for running, value in ((self.running_mean, mean.reshape(-1)),
                                   (self.running_var, var.reshape(-1) * (count / (count - 1)))):
                running.array[...] = (1 - factor) * running.array + factor * value.astype(running.dtype)
                running._version_box[0] += 1
        return out


def convert_sync_batchnorm(module):
    """``torch.nn.SyncBatchNorm.convert_sync_batchnorm``: every BatchNorm1d/2d in ``module`` replaced
    by a SyncBatchNorm holding the same parameters and buffers (and train/eval mode)."""
    if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
        new = SyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, bias=module.bias is not None or not module.affine)
        for name in ("weight", "bias"):
            if name in module._parameters:
                new._parameters[name] = module._parameters[name]
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            new._buffers[name] = module._buffers.get(name)
        new.train(module.training)
        return new
    if isinstance(module, Module):
        for name, child in list(module._modules.items()):
            if child is not None:
                module._modules[name] = convert_sync_batchnorm(child)
    return module


SyncBatchNorm.convert_sync_batchnorm = staticmethod(convert_sync_batchnorm)
