"""Registry entries for ``tinygrad_edu/ops/scan.py``: cumprod (with exact zeros too), cummax,
cummin (values only; indices are tested in tests/test_select_sort_scan.py) and logcumsumexp."""
from .cases import values_of
from .spec import OpSpec, reduction

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="scan", **kw))


add("cumprod", reduction(dim="int", keepdim=False), ours=lambda x, **kw: x.cumprod(**kw),
    ref=lambda x, **kw: x.cumprod(**kw))
add("cumprod_with_zeros", reduction("zeros", dim="int", keepdim=False),
    ours=lambda x, **kw: x.cumprod(**kw), ref=lambda x, **kw: x.cumprod(**kw))
for _op in ("cummax", "cummin"):
    add(_op, reduction("distinct", dim="int", keepdim=False),
        **values_of(lambda x, _op=_op, **kw: getattr(x, _op)(**kw)))
add("logcumsumexp", reduction(dim="int", keepdim=False), ours=lambda x, **kw: x.logcumsumexp(**kw),
    ref=lambda x, **kw: x.logcumsumexp(**kw))
add("logcumsumexp_large_inputs", reduction("big", dim="int", keepdim=False),
    ours=lambda x, **kw: x.logcumsumexp(**kw), ref=lambda x, **kw: x.logcumsumexp(**kw))
