"""Registry entries for ``tinygrad_edu/ops/comparison.py``: comparisons (< <= > >= == != against
tensors and numbers) and the logical & | ~ on their bool results: forward only, no gradient."""
from .spec import OpSpec, binary, same, unary

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="comparison", **kw))


# ---- comparisons: bool results, no gradient ---------------------------------------------------
for _name, _expr in [("lt", lambda a, b: a < b), ("le", lambda a, b: a <= b),
                     ("gt", lambda a, b: a > b), ("ge", lambda a, b: a >= b),
                     ("eq", lambda a, b: a == b), ("ne", lambda a, b: a != b)]:
    add(f"compare_{_name}", binary("ties", "ties"), has_grad=False, **same(_expr))
add("compare_gt_scalar", unary("ties"), has_grad=False, **same(lambda a: a > 0))
add("compare_eq_scalar", unary("ties"), has_grad=False, **same(lambda a: a == 1.0))
add("compare_and", binary("ties", "ties"), has_grad=False,
    **same(lambda a, b: (a > 0) & (b < 1)))
add("compare_or_not", binary("ties", "ties"), has_grad=False,
    **same(lambda a, b: ~((a > 0) | (b < 1))))
