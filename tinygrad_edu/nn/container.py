"""Containers: ``Sequential``, ``ModuleList`` and ``ModuleDict``, modules that hold other modules.

A container registers its children, so their parameters appear in ``parameters()`` and their
state under ``name.param`` in ``state_dict()`` (a plain Python list or dict would hide them).
``Sequential`` and ``ModuleList`` name their children "0", "1", … (PyTorch's keys), ``ModuleDict``
by the keys given.  Only ``Sequential`` has a ``forward``: it calls its children in order.
"""
import operator
from collections import OrderedDict

from .module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict"]


def _index(name, idx, size):
    idx = operator.index(idx)
    if not -size <= idx < size:
        raise IndexError(f"{name}: index {idx} is out of range for {size} modules")
    return idx % size


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(Linear(2, 3), ReLU())(x)``.
    Children are named "0", "1", … (or by the keys of an OrderedDict)."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        keys = list(self._modules)
        return self._modules[keys[_index("Sequential", idx, len(keys))]]

    def __setitem__(self, idx, module):
        keys = list(self._modules)
        setattr(self, keys[_index("Sequential", idx, len(keys))], module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        doomed = keys[idx] if isinstance(idx, slice) else [keys[_index("Sequential", idx, len(keys))]]
        for key in doomed:
            del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def forward(self, input):  # noqa: A002
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain Python list hides them from
    ``parameters()`` and ``state_dict()``).  It has no forward: you decide how to call them."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(_index("ModuleList", idx, len(self)))]

    def __setitem__(self, idx, module):
        self.add_module(str(_index("ModuleList", idx, len(self))), module)

    def __delitem__(self, idx):
        modules = list(self._modules.values())
        if isinstance(idx, slice):
            del modules[idx]
        else:
            del modules[_index("ModuleList", idx, len(modules))]
        self._modules.clear()
        for i, module in enumerate(modules):  # keep the names 0..n-1
            self._modules[str(i)] = module

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return type(self)(list(self) + list(other))

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(modules):
            self.add_module(str(i), m)

    def __repr__(self):
        """Runs of identical modules collapse as in PyTorch: ``(0-2): 3 x Linear(...)``."""
        modules = list(self._modules.values())
        if not modules:
            return "ModuleList()"
        lines, start = [], 0
        reprs = [repr(m) for m in modules]
        while start < len(reprs):
            end = start
            while end + 1 < len(reprs) and reprs[end + 1] == reprs[start]:
                end += 1
            text = reprs[start].replace("\n", "\n  ")
            if end > start:
                lines.append(f"({start}-{end}): {end - start + 1} x {text}")
            else:
                lines.append(f"({start}): {text}")
            start = end + 1
        return "ModuleList(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """A dict of modules whose parameters are registered, keys in insertion order (the state_dict
    keys are ``name.param``).  Like ``ModuleList`` it has no forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        if key not in self._modules:
            raise KeyError(f"ModuleDict: no module named {key!r}; it has {list(self._modules)}")
        return self._modules[key]

    def __setitem__(self, key, module):
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict: keys must be strings, got {type(key).__name__}")
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key):
        module = self[key]
        del self._modules[key]
        return module

    def clear(self):
        self._modules.clear()

    def update(self, modules):
        """Add (name, module) pairs from a mapping or an iterable of pairs, in order."""
        pairs = modules.items() if hasattr(modules, "items") else modules
        for pair in pairs:
            if len(pair) != 2:
                raise ValueError(f"ModuleDict.update: expected (name, module) pairs, got {pair!r}")
            self[pair[0]] = pair[1]
        return self
