"""Changing every tensor of a module at once: ``to(device/dtype)``, ``float()``, ``cuda()``, ``apply(fn)``.

``ModuleConvert`` is a mixin of ``Module`` (nn/module.py).  ``to()`` changes the parameters *in
place* — each ``Parameter`` object stays the same, only its ``.array`` is replaced — so an
optimizer built before ``model.cuda()`` still holds the right tensors.  ``apply(fn)`` calls ``fn``
on every submodule (custom weight init).
"""
from .. import dtypes as _dt
from ..backend import Device, to_device
from ..tensor import Tensor


class ModuleConvert:
    """``apply``, ``to`` and the dtype/device shortcuts of ``Module``."""

    def apply(self, fn):
        """Call ``fn(module)`` on every descendant, then on this module (e.g. custom init)."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- moving and converting -------------------------------------------------------------------
    def _apply_to_arrays(self, convert):
        """Replace the data of every parameter, buffer and gradient by ``convert(array)``,
        keeping each Parameter object (so optimizers holding it stay valid)."""
        for module in self.modules():
            for table in (module._parameters, module._buffers):
                for name, t in table.items():
                    if t is None:
                        continue
                    t.array = convert(t.array)
                    if t.grad is not None:
                        t.grad = Tensor._wrap(convert(t.grad.array))
        return self

    def to(self, *args, **kwargs):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(tensor)``: move and/or cast
        every parameter and buffer in place (a dtype applies to floating point ones only)."""
        device = kwargs.pop("device", None)
        dtype = kwargs.pop("dtype", None)
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, (str, Device)) and str(a).split(":")[0] in ("cpu", "cuda"):
                device = a
            else:
                dtype = a
        dtype = _dt.as_dtype(dtype)
        if dtype is not None and dtype.kind not in "fc":
            raise TypeError(f"Module.to: only floating point dtypes are accepted, got {dtype}")

        def convert(array):
            if dtype is not None and array.dtype.kind in "fc" and array.dtype != dtype:
                array = array.astype(dtype)
            if device is not None:
                array = to_device(array, device)
            return array
        return self._apply_to_arrays(convert)

    def float(self):
        return self.to(_dt.float32)

    def double(self):
        return self.to(_dt.float64)

    def half(self):
        return self.to(_dt.float16)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{device}")
