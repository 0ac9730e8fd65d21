"""Saving and loading a module's weights: ``state_dict()`` and ``load_state_dict()``.

``ModuleState`` is a mixin of ``Module`` (nn/module.py).  A state dict maps dotted names
(``encoder.layer.weight``, the same keys as PyTorch) to tensors: every parameter and every
persistent buffer, walked in PyTorch's order.  tinygrad_edu/serialization.py writes it to disk
(safetensors, ``.pt``); ``load_state_dict`` checks it all before copying anything.
"""
from collections import OrderedDict, namedtuple

import numpy as np

from ..autograd import grad_mode
from ..backend import to_device
from ..tensor import Tensor

_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class ModuleState:
    """``state_dict`` and ``load_state_dict`` of ``Module``."""

    def state_dict(self, *, destination=None, prefix="", keep_vars=False):
        """Every parameter and persistent buffer by dotted name, in PyTorch's order (a module's
        own parameters, then its buffers, then each child's entries) and with PyTorch's keys
        (``0.weight``, ``encoder.layer.bias``).  Values are detached tensors sharing memory."""
        if destination is None:
            destination = OrderedDict()
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buffer if keep_vars else buffer.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy the values of ``state_dict`` into this module's parameters and buffers.

        Values may be Tensors, NumPy arrays or anything ``numpy.asarray`` reads (PyTorch CPU
        tensors included); each is cast to the destination's dtype and device.  Everything is
        checked before anything is copied: a shape mismatch always raises, and with ``strict``
        so do missing and unexpected keys — one error listing every problem.  Returns
        ``(missing_keys, unexpected_keys)``.
        """
        own = self.state_dict(keep_vars=True)
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        errors = []
        if strict:
            if missing:
                errors.append("Missing key(s) in state_dict: " +
                              ", ".join(f'"{k}"' for k in missing) + ".")
            if unexpected:
                errors.append("Unexpected key(s) in state_dict: " +
                              ", ".join(f'"{k}"' for k in unexpected) + ".")
        arrays = {}
        for key, dest in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            if isinstance(value, Tensor):
                array = value.array
            elif hasattr(value, "__cuda_array_interface__") or isinstance(value, np.ndarray):
                array = value            # a NumPy or CuPy array as it is
            else:
                array = np.asarray(value)  # lists, PyTorch CPU tensors, …
            if tuple(array.shape) != tuple(dest.shape):
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{tuple(array.shape)} from checkpoint, the shape in current model is "
                              f"{tuple(dest.shape)}.")
            arrays[key] = array
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {self._get_name()}:\n\t" +
                               "\n\t".join(errors))
        with grad_mode.no_grad():
            for key, array in arrays.items():
                dest = own[key]
                array = to_device(array, dest.device)
                if assign:
                    dest.array = array.astype(dest.dtype, copy=True)
                else:
                    dest.array[...] = array
                dest._version_box[0] += 1
        return _IncompatibleKeys(missing, unexpected)
