"""The op registry: ONE description of every op, from which ``tests/test_ops_generated.py``
generates forward parity, backward parity, gradcheck and gradgradcheck tests.

The tests mirror the source: the specs of an op defined in ``tinygrad_edu/ops/<name>.py`` or
``tinygrad_edu/nn/<name>.py`` live in ``tests/op_registry/<name>.py`` (the file of the function or
method a spec's ``ours`` calls: ``F.conv2d`` -> nn/conv.py -> ``conv.py``, ``x + y`` ->
ops/elementwise.py -> ``elementwise.py``).  Each file starts with a docstring naming its source file
and holds a ``SPECS`` list of ``OpSpec`` (see ``spec.py`` for what an entry says; case builders
shared by several files are in ``cases.py``).  ``ALL_SPECS`` is their concatenation, in the fixed
order of ``REGISTRY_FILES`` (ops/ first, then nn/); test ids are the spec names, which are unique.
``tests/test_op_registry_coverage.py`` checks that every ``Function`` of the package is reached.
"""
from . import (  # ops/
    elementwise, unary_math, nonlinearity, where_clamp, comparison, matmul, reduce, shape, join_split,
    indexing, selection, sorting, scan, layout, scatter, einsum, rounding, trig)
from . import (  # nn/
    linear, dropout, loss, loss_binary, loss_regression, softmax, embedding, activation,
    activation_hard, distance, conv, conv_nd, conv_transpose, pooling, pooling_nd, unpooling, padding,
    pixel_shuffle, fold, upsampling, batchnorm, normalization, attention)
from .spec import Case, OpSpec, values  # noqa: F401

REGISTRY_FILES = (
    elementwise, unary_math, nonlinearity, where_clamp, comparison, matmul, reduce, shape, join_split,
    indexing, selection, sorting, scan, layout, scatter, einsum, rounding, trig,
    linear, dropout, loss, loss_binary, loss_regression, softmax, embedding, activation,
    activation_hard, distance, conv, conv_nd, conv_transpose, pooling, pooling_nd, unpooling, padding,
    pixel_shuffle, fold, upsampling, batchnorm, normalization, attention)

ALL_SPECS = [spec for module in REGISTRY_FILES for spec in module.SPECS]

_names = [s.name for s in ALL_SPECS]
_dups = sorted({n for n in _names if _names.count(n) > 1})
assert not _dups, f"op registry: duplicate names {_dups}"
