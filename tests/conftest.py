"""Test-suite settings shared by every test file.

Hypothesis profile ``tinygrad_edu`` (loaded by default; ``HYPOTHESIS_PROFILE=<name>`` picks
another): ``derandomize=True`` makes every run draw the same examples (reproducible CI: a failure
seen once is seen again), ``deadline=None`` because the first call of a numba kernel compiles
for a second, and few examples per test because the generated op suite has about a thousand
tests.  ``HYPOTHESIS_PROFILE=thorough`` draws many more examples, randomly, for a local hunt.
"""
import os
import sys

from hypothesis import HealthCheck, settings

# benchmarks/ is a folder of the repository, not part of the installed package; tests import from it
# (benchmarks.torch_twins, the benchmark rows), so the repository root goes on the path however pytest
# was started (``python -m pytest`` adds the working directory, a bare ``pytest`` does not).
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

settings.register_profile(
    "tinygrad_edu",
    deadline=None,
    derandomize=True,
    database=None,
    max_examples=5,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
settings.register_profile(
    "thorough",
    deadline=None,
    derandomize=False,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "tinygrad_edu"))

# One BLAS thread and one torch thread per test process: `pytest -n 2` runs two workers on these
# 2-core machines, and letting each also spawn 2 OpenBLAS and 2 torch threads oversubscribes the
# cores (a 200-step MLP run went from 0.7 s to 26 s).  Results do not depend on the thread count.
try:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
except ImportError:  # threadpoolctl is in the dev extra; without it the suite is only slower
    pass
try:
    import torch

    torch.set_num_threads(1)
except ImportError:
    pass

# tiny fine-tuned runs as module-scoped fixtures for every test file (tests/run_factories.py)
from run_factories import ner_run, sst2_run, tiny_bert_dir  # noqa: E402,F401
