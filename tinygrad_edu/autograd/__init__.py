"""Automatic differentiation: the ``Function`` pattern, the backward engine, grad mode and
gradient checking."""
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .function import Function, once_differentiable  # noqa: F401
from .engine import backward, grad  # noqa: F401
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: F401
