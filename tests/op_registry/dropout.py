"""Registry entries for ``tinygrad_edu/nn/dropout.py``: ``F.dropout`` in its deterministic settings
only (p=0, or training=False); the random masks are tested by their statistics in
tests/test_nn_functional.py."""
from .cases import f_call, simple
from .spec import OpSpec

SPECS = []


def add(name, cases, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="dropout", **kw))


add("F.dropout_p0", lambda m: simple(m, {"p": 0.0}), **f_call("dropout"))
add("F.dropout_eval", lambda m: simple(m, {"p": 0.5, "training": False}), **f_call("dropout"))
