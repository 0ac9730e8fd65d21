"""The floor of a benchmark row (benchmarks/floors.py): the matrix products a step makes, found by
recording its graph nodes, then timed alone.  These tests check the products counted, not timings."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.autograd.function import Function
from tinygrad_edu.nn import functional as F

from benchmarks import floors, harness
from benchmarks.bench_engine import mlp_row


def _shapes(gemms):
    return sorted((tuple(b), a, c) for b, a, c in gemms)


def test_linear_products_follow_what_needs_a_gradient():
    first, second = nn.Linear(5, 4), nn.Linear(4, 3)
    x = tg.randn(6, 5)                      # the input needs no gradient: no dx product for it
    with floors.record_gemms() as gemms:
        second(first(x).relu()).sum().backward()
    assert _shapes(gemms) == _shapes([
        ((), (6, 5), (5, 4)), ((), (4, 6), (6, 5)),                       # first: y, dW
        ((), (6, 4), (4, 3)), ((), (6, 3), (3, 4)), ((), (3, 6), (6, 4))])  # second: y, dx, dW
    assert floors.gemm_flops(gemms) == 2 * (6 * 5 * 4 * 2 + 6 * 4 * 3 * 3)


def test_backward_products_are_not_counted_twice_and_eval_counts_forward_only():
    lin = nn.Linear(3, 2)
    with floors.record_gemms() as gemms:
        with tg.no_grad():
            lin(tg.randn(4, 3))
    assert _shapes(gemms) == [((), (4, 3), (3, 2))]
    assert Function.__dict__["apply"] is not None and not hasattr(Function.apply, "__wrapped__")


def test_conv_and_attention_products():
    conv = nn.Conv2d(3, 8, 3, padding=1)
    x = tg.randn(2, 3, 5, 5)
    with floors.record_gemms() as gemms:
        conv(x).sum().backward()
    assert _shapes(gemms) == _shapes([((1,), (8, 27), (27, 50)), ((1,), (8, 50), (50, 27))])
    q, k, v = (tg.randn(2, 4, 7, 3, requires_grad=True) for _ in range(3))
    with floors.record_gemms() as gemms:
        F.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()
    assert len(gemms) == 6 and all(b == (2, 4) for b, _, _ in gemms)
    assert ((2, 4), (7, 3), (3, 7)) in gemms      # q kᵀ


def test_recorder_restores_apply_even_after_an_error():
    original = Function.__dict__["apply"]
    with pytest.raises(RuntimeError):
        with floors.record_gemms():
            raise RuntimeError("boom")
    assert Function.__dict__["apply"] is original


def test_decode_floor_counts_one_row_per_token_after_the_prompt():
    from tinygrad_edu.models.gpt import GPTConfig
    config = GPTConfig(n_layer=2, n_head=2, n_embd=8, block_size=16, vocab_size=11)
    gemms = floors.gpt_decode_gemms(config, prompt_len=3, new_tokens=4)
    assert len(gemms) == 4 * (2 * 6 + 1)
    assert gemms[0] == ((), (3, 8), (8, 24)) and gemms[13] == ((), (1, 8), (8, 24))
    assert ((1, 2), (1, 4), (4, 6)) in gemms       # the last token attends to 3 + 3 cached keys


def test_a_row_reports_its_floor_ratio():
    row = mlp_row(batch=8, sizes=(16, 8, 4))
    result = harness.time_row(row, warmup=0, repeat=1, min_round_s=0.0)
    table = harness.table_rows({"results": [result]})
    header, line = table[0], table[1]
    ratio = float(line[header.index("tg/floor")])
    floor_ms = float(line[header.index("floor")])
    assert floor_ms > 0 and ratio > 0
    np.testing.assert_allclose(ratio, result.timings["tinygrad_edu"].median_s
                               / result.timings["floor"].median_s, rtol=0.02)
