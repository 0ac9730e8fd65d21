"""How a module prints: ``Linear(in_features=2, out_features=3, bias=True)`` and nested children.

``ModuleRepr`` is a mixin of ``Module`` (nn/module.py).  A layer overrides ``extra_repr()`` to say
what goes inside its parentheses; ``__repr__`` adds one indented line per child, as PyTorch does.
"""


class ModuleRepr:
    """``__repr__``, ``extra_repr`` and ``_get_name`` of ``Module``."""

    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        """The text inside the parentheses of this module's repr (override it in layers)."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _indent(repr(module), 2)
                       for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        text = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                text += extra_lines[0]
            else:
                text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"


def _indent(text, spaces):
    """Indent every line but the first (how nested reprs line up)."""
    first, *rest = text.split("\n")
    if not rest:
        return text
    return first + "\n" + "\n".join(" " * spaces + line for line in rest)
