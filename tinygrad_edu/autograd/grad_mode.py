"""Grad mode: whether ops record the graph.

Inside ``with no_grad():`` ops compute their result and record nothing — no ``grad_fn``, nothing
saved — which is what evaluation and hand-written optimizer updates want.  ``enable_grad()`` turns
recording back on inside a ``no_grad`` block.  Both work as decorators too, as in PyTorch.
"""
import functools


class _GradMode:
    enabled = True


state = _GradMode()


def is_grad_enabled():
    return state.enabled


class set_grad_enabled:
    """Context manager (or plain call) that sets grad mode to ``mode``."""

    def __init__(self, mode):
        self.previous = state.enabled
        state.enabled = bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        state.enabled = self.previous
        return False


class _GradModeContext:
    mode = True

    def __enter__(self):
        self.previous = state.enabled
        state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        state.enabled = self.previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradModeContext):
    """``with no_grad():`` — ops inside record no graph."""
    mode = False


class enable_grad(_GradModeContext):
    """``with enable_grad():`` — ops inside record the graph, even within ``no_grad``."""
    mode = True
