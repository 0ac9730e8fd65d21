"""Generators and sampling (tinygrad_edu/random.py): seeded runs are reproducible, generators are
independent, the ``generator=`` keyword everywhere, the default generator's seed/state functions,
and distribution checks of multinomial/bernoulli/randperm/randint (chi-square statistics with fixed
seeds, so never flaky).  The streams are not PyTorch's (not required); the rules and errors are
compared with PyTorch."""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from tinygrad_edu.data import DataLoader, TensorDataset

# 99.9% quantiles of the chi-square distribution, by degrees of freedom
CHI2_999 = {1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52, 9: 27.88, 23: 49.73}


def chi_square(counts, expected):
    counts, expected = np.asarray(counts, float), np.asarray(expected, float)
    return ((counts - expected) ** 2 / expected).sum()


def test_manual_seed_makes_runs_reproducible_and_returns_the_default_generator():
    g = tg.manual_seed(123)
    assert g is tg.default_generator and isinstance(g, tg.Generator)
    def draws():
        return [tg.rand(5).numpy(), tg.randn(2, 3).numpy(), tg.randint(0, 10, (4,)).numpy(),
                tg.randperm(7).numpy(), tg.multinomial(tg.ones(6), 3).numpy(),
                tg.bernoulli(tg.full((5,), 0.5)).numpy()]
    first = draws()
    tg.manual_seed(123)
    again = draws()
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert tg.initial_seed() == 123


def test_generators_are_independent_of_each_other_and_of_the_default():
    g1, g2 = tg.Generator().manual_seed(0), tg.Generator().manual_seed(0)
    a = tg.rand(4, generator=g1).numpy()
    tg.rand(100)                                   # draws from the default generator in between
    tg.rand(7, generator=tg.Generator().manual_seed(0))
    np.testing.assert_array_equal(tg.rand(4, generator=g2).numpy(), a)
    np.testing.assert_array_equal(tg.rand(3, generator=g1).numpy(), tg.rand(3, generator=g2).numpy())
    tg.manual_seed(7)
    x = tg.rand(3).numpy()
    tg.manual_seed(7)
    tg.randn(5, generator=g1)                      # a generator does not advance the default
    np.testing.assert_array_equal(tg.rand(3).numpy(), x)
    assert not np.array_equal(tg.rand(4, generator=tg.Generator().manual_seed(1)).numpy(),
                              tg.rand(4, generator=tg.Generator().manual_seed(2)).numpy())


def test_generator_keyword_on_every_random_op():
    def draws(g):
        return [tg.rand(3, generator=g), tg.randn(3, generator=g), tg.randint(5, (3,), generator=g),
                tg.randint(2, 9, (3,), generator=g), tg.randperm(6, generator=g),
                tg.multinomial(tg.tensor([1.0, 2.0, 3.0]), 4, True, generator=g),
                tg.tensor([0.2, 0.5, 0.9]).multinomial(2, generator=g),
                tg.bernoulli(tg.full((4,), 0.5), generator=g), tg.zeros(4).bernoulli_(0.5, generator=g),
                tg.tensor([0.5, 0.5]).bernoulli(generator=g)]
    a, b = draws(tg.Generator().manual_seed(11)), draws(tg.Generator().manual_seed(11))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    assert a[2].dtype == tg.int64 and a[4].dtype == tg.int64 and a[5].dtype == tg.int64


def test_generator_seed_state_and_torch_like_api():
    g = tg.Generator()
    assert g.device == "cpu" and tg.Generator("cuda").device == tg.device("cuda", 0)
    assert g.manual_seed(-1).initial_seed() == torch.Generator().manual_seed(-1).initial_seed() == 2 ** 64 - 1
    s = g.seed()
    assert g.initial_seed() == s and isinstance(s, int)
    state = g.get_state()
    assert state.dtype == tg.uint8 and state.ndim == 1
    x = tg.rand(5, generator=g).numpy()
    np.testing.assert_array_equal(tg.rand(5, generator=g.set_state(state)).numpy(), x)
    saved = tg.get_rng_state()
    y = tg.randn(4).numpy()
    tg.set_rng_state(saved)
    np.testing.assert_array_equal(tg.randn(4).numpy(), y)
    new_seed = tg.seed()
    assert tg.initial_seed() == new_seed
    with pytest.raises(TypeError, match="manual_seed expected an int seed, got float"):
        g.manual_seed(1.5)
    with pytest.raises(TypeError, match="set_state expected the uint8 tensor"):
        g.set_state(tg.zeros(3))
    with pytest.raises(RuntimeError, match="set_state: not a state saved by get_state"):
        g.set_state(tg.tensor(np.frombuffer(b"junk", np.uint8).copy()))
    with pytest.raises(TypeError, match="generator must be a tinygrad_edu.Generator"):
        tg.rand(2, generator="seed")


def test_reseeding_a_generator_reaches_a_dataloader_holding_it():
    g = tg.Generator().manual_seed(0)
    loader = DataLoader(TensorDataset(np.arange(10)), batch_size=10, shuffle=True, generator=g)
    first = next(iter(loader))[0].numpy()
    g.manual_seed(0)
    np.testing.assert_array_equal(next(iter(loader))[0].numpy(), first)
    assert sorted(first) == list(range(10))


# ---- multinomial -------------------------------------------------------------------------------------
def test_multinomial_with_replacement_frequencies_match_the_weights():
    weights = np.array([1.0, 0.0, 2.0, 3.0, 4.0])
    out = tg.multinomial(tg.tensor(weights), 20000, replacement=True, generator=tg.Generator().manual_seed(0))
    assert out.shape == (20000,) and out.dtype == tg.int64
    counts = np.bincount(out.numpy(), minlength=5)
    assert counts[1] == 0                                      # zero weight: never drawn
    keep = weights > 0
    assert chi_square(counts[keep], 20000 * weights[keep] / weights.sum()) < CHI2_999[3]


def test_multinomial_without_replacement_2d_first_draw_and_pair_frequencies():
    """Rows are distributions; each row's samples are distinct; the first sample is category i with
    probability wᵢ/Σw and the ordered pair (i, j) with wᵢ/Σw · wⱼ/(Σw - wᵢ) (sequential draws)."""
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    rows = 6000
    out = tg.multinomial(tg.tensor(np.tile(w, (rows, 1))), 2, generator=tg.Generator().manual_seed(1)).numpy()
    assert out.shape == (rows, 2) and (out[:, 0] != out[:, 1]).all()
    assert chi_square(np.bincount(out[:, 0], minlength=5), rows * w / w.sum()) < CHI2_999[4]
    total = w.sum()
    pairs = {(i, j): w[i] / total * w[j] / (total - w[i]) for i in range(5) for j in range(5) if i != j}
    counts = {key: 0 for key in pairs}
    for i, j in out:
        counts[(i, j)] += 1
    keys = sorted(pairs)
    assert chi_square([counts[k] for k in keys], [rows * pairs[k] for k in keys]) < CHI2_999[23] + 10
    full = tg.multinomial(tg.tensor([[0.0, 5.0, 1.0, 0.0]]), 4,
                          generator=tg.Generator().manual_seed(2)).numpy()
    assert sorted(full[0]) == [0, 1, 2, 3] and set(full[0, 2:]) == {0, 3}   # zero weights come last
    torch_full = torch.multinomial(torch.tensor([[0.0, 5.0, 1.0, 0.0]]), 4)
    assert set(torch_full[0, 2:].tolist()) == {0, 3}


def test_multinomial_errors_like_torch():
    cases = [(tg.tensor([1.0, -1.0]), 1, False, "probability tensor contains either `inf`, `nan` or element"),
             (tg.tensor([1.0, float("nan")]), 1, False, "probability tensor contains either"),
             (tg.tensor([1.0, float("inf")]), 1, True, "probability tensor contains either"),
             (tg.zeros(3), 1, False, r"invalid multinomial distribution \(sum of probabilities <= 0\)"),
             (tg.ones(2), 3, False, "cannot sample n_sample > prob_dist.size"),
             (tg.ones(2), 0, True, "cannot sample n_sample <= 0 samples"),
             (tg.ones(2, 2, 2), 1, False, "prob_dist must be 1 or 2 dim")]
    for probs, n, replacement, message in cases:
        with pytest.raises(RuntimeError, match=message):
            tg.multinomial(probs, n, replacement)
        with pytest.raises(RuntimeError):
            torch.multinomial(torch.tensor(probs.numpy()), n, replacement)
    with pytest.raises(RuntimeError, match="only supports floating-point dtypes"):
        tg.multinomial(tg.tensor([1, 2]), 1)


# ---- bernoulli -----------------------------------------------------------------------------------------
def test_bernoulli_frequencies_dtype_and_zero_gradient_like_torch():
    p = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    probs = tg.tensor(np.tile(p, (4000, 1)).astype(np.float32), requires_grad=True)
    out = tg.bernoulli(probs, generator=tg.Generator().manual_seed(3))
    assert out.dtype == tg.float32 and out.shape == (4000, 5)
    means = out.detach().numpy().mean(axis=0)
    assert means[0] == 0 and means[4] == 1
    for k in (1, 2, 3):                                       # binomial z-score under 4
        assert abs(means[k] - p[k]) < 4 * np.sqrt(p[k] * (1 - p[k]) / 4000)
    theirs = torch.bernoulli(torch.tensor(np.tile(p, (3, 1)), dtype=torch.float32, requires_grad=True))
    assert out.requires_grad == theirs.requires_grad
    out.sum().backward()
    np.testing.assert_array_equal(probs.grad.numpy(), 0)
    assert tg.bernoulli(tg.zeros(3, dtype=tg.float64), 0.5).dtype == tg.float64
    f = tg.bernoulli(tg.zeros(20000), 0.25, generator=tg.Generator().manual_seed(4)).numpy()
    assert abs(f.mean() - 0.25) < 4 * np.sqrt(0.25 * 0.75 / 20000)
    assert tg.bernoulli(tg.zeros(0)).shape == (0,)


def test_bernoulli_in_place():
    x = tg.zeros(2, 10000)
    version = x._version
    assert x.bernoulli_(0.3, generator=tg.Generator().manual_seed(5)) is x
    assert x._version > version
    assert abs(x.numpy().mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 20000)
    y = tg.ones(3, 4).bernoulli_(tg.tensor([0.0, 1.0, 0.0, 1.0]))    # a tensor p broadcasts
    np.testing.assert_array_equal(y.numpy(), np.tile([0.0, 1.0, 0.0, 1.0], (3, 1)))
    w = tg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w.bernoulli_(0.5)
    with pytest.raises(RuntimeError):
        torch.zeros(3, requires_grad=True).bernoulli_(0.5)


def test_bernoulli_errors():
    with pytest.raises(RuntimeError, match="bernoulli: expected every probability p to satisfy 0 <= p <= 1, "
                                           "got 1.5"):
        tg.bernoulli(tg.tensor([0.5, 1.5]))
    with pytest.raises(RuntimeError):
        torch.bernoulli(torch.tensor([0.5, 1.5]))
    with pytest.raises(RuntimeError, match="got nan"):
        tg.zeros(2).bernoulli_(float("nan"))


# ---- randperm / randint distributions --------------------------------------------------------------
def test_randperm_is_a_uniform_permutation():
    g = tg.Generator().manual_seed(6)
    first = np.array([tg.randperm(4, generator=g).numpy() for _ in range(3000)])
    assert (np.sort(first, axis=1) == np.arange(4)).all()
    for position in range(4):
        assert chi_square(np.bincount(first[:, position], minlength=4), [750] * 4) < CHI2_999[3]
    assert tg.randperm(0).shape == (0,) and tg.randperm(5).dtype == tg.int64


def test_randint_is_uniform():
    out = tg.randint(3, 13, (10000,), generator=tg.Generator().manual_seed(8)).numpy()
    assert out.min() == 3 and out.max() == 12
    assert chi_square(np.bincount(out - 3, minlength=10), [1000] * 10) < CHI2_999[9]
