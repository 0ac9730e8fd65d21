"""Lab 8, hidden checks (``lab grade`` only): chunk_bounds on random sizes, the ring's edge cases (one
rank, fewer elements than ranks, an empty array, a 3-d array), and data-parallel SGD with momentum on
three ranks."""
from tinygrad_edu.labs.testing import lab_test

from ..public_tests import check_chunk_bounds, check_ring_job, check_sgd_job


@lab_test("chunk_bounds", points=2)
def test_chunk_bounds_random_sizes(student, ctx):
    for _ in range(30):
        size = int(ctx.rng.integers(1, 9))
        n = int(ctx.rng.integers(0, 40))
        check_chunk_bounds(student, n, size)


@lab_test("ring_allreduce", points=3)
def test_ring_edge_cases(student, ctx):
    check_ring_job(ctx, "ring_edges", 1)
    check_ring_job(ctx, "ring_edges", 3)


@lab_test("dp_sgd_step", points=3, slow=True)
def test_dp_sgd_momentum_three_ranks(student, ctx):
    check_sgd_job(ctx, "dp_sgd_momentum", 3)
