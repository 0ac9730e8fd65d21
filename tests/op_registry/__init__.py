"""The op registry: ONE description of every op, from which ``tests/test_ops_generated.py``
generates forward parity, backward parity, gradcheck and gradgradcheck tests.

One file per op family; each holds a ``SPECS`` list of ``OpSpec`` (see ``spec.py`` for what an
entry says).  ``ALL_SPECS`` is their concatenation, in a fixed order (test ids are stable)."""
from . import arith, elementwise, functional, indexing, reduce, shape_ops
from .spec import Case, OpSpec, values  # noqa: F401

ALL_SPECS = (arith.SPECS + elementwise.SPECS + reduce.SPECS + shape_ops.SPECS + indexing.SPECS
             + functional.SPECS)
from . import conv_norm  # noqa: E402  (conv2d, pooling, normalisation)
ALL_SPECS = ALL_SPECS + conv_norm.SPECS
from . import attention  # noqa: E402  (scaled_dot_product_attention)
ALL_SPECS = ALL_SPECS + attention.SPECS
from . import select_sort_scan  # noqa: E402  (sort, topk, median, mode, cumprod, cummax …)
ALL_SPECS = ALL_SPECS + select_sort_scan.SPECS

from . import conv_family  # noqa: E402  (conv1d, conv_transpose, pad modes, pixel_shuffle)
ALL_SPECS = ALL_SPECS + conv_family.SPECS
from . import math_extra  # noqa: E402  (div modes, fmod, remainder, rounding, trig)
ALL_SPECS = ALL_SPECS + math_extra.SPECS
from . import activation_loss  # noqa: E402  (more activations, distances, losses, bilinear, GQA)
ALL_SPECS = ALL_SPECS + activation_loss.SPECS
_names = [s.name for s in ALL_SPECS]
_dups = sorted({n for n in _names if _names.count(n) > 1})
assert not _dups, f"op registry: duplicate names {_dups}"
from . import semantics_more  # noqa: E402  (copysign)
ALL_SPECS = ALL_SPECS + semantics_more.SPECS
from . import conv_pool_3d  # noqa: E402  (conv3d, 3-D pooling, max_unpool1d/2d/3d, 3-D pad modes)
ALL_SPECS = ALL_SPECS + conv_pool_3d.SPECS
