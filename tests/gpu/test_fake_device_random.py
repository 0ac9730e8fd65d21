"""Random draws made on the device (dropout's masks), on the fake 'cuda' device of ``fake_cupy``.

On a GPU, dropout draws its uniforms where the array lives (``random.uniform_like`` ->
``random.counter_uniform``, a splitmix64 counter generator in array ops), instead of drawing on the
host and copying: here the same code runs on the fake device (NumPy inside), against NumPy itself and
against the statistics a uniform generator must have.
"""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import random as tg_random
import tinygrad_edu.nn.functional as F

import fake_cupy


def test_counter_uniform_is_the_same_on_numpy_and_on_the_device(fake_gpu):
    host = tg_random.counter_uniform(np, (3, 1000), 12345)
    device = tg_random.counter_uniform(fake_gpu, (3, 1000), 12345)
    assert type(device) is fake_gpu.ndarray and device.dtype == np.float32 and device.shape == (3, 1000)
    np.testing.assert_array_equal(fake_gpu.asnumpy(device), host)


def test_counter_uniform_has_the_statistics_of_a_uniform_generator():
    n = 1 << 20
    u = tg_random.counter_uniform(np, (n,), 7).astype(np.float64)
    assert u.min() >= 0.0 and u.max() < 1.0
    # mean 1/2 and variance 1/12, each within 5 standard errors
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / n)
    # 64 equal bins: a chi-square with 63 degrees of freedom, far below its 1e-6 tail (~125)
    counts = np.bincount((u * 64).astype(int), minlength=64)
    assert ((counts - n / 64) ** 2 / (n / 64)).sum() < 125
    # neighbouring entries are uncorrelated, and another seed gives other numbers
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 5 / np.sqrt(n)
    other = tg_random.counter_uniform(np, (n,), 8)
    assert np.mean(other == u) < 1e-3


def test_uniform_like_draws_from_the_generator_and_is_reproducible(fake_gpu):
    tg.manual_seed(3)
    a = tg_random.uniform_like((4, 5), np)
    tg.manual_seed(3)
    assert np.array_equal(a, tg_random.default_generator.random((4, 5)))   # the CPU: the generator's stream
    tg.manual_seed(3)
    d1, d2 = tg_random.uniform_like((4, 5), fake_gpu), tg_random.uniform_like((4, 5), fake_gpu)
    tg.manual_seed(3)
    again = tg_random.uniform_like((4, 5), fake_gpu)
    assert type(d1) is fake_gpu.ndarray
    assert np.array_equal(fake_gpu.asnumpy(again), fake_gpu.asnumpy(d1))
    assert not np.array_equal(fake_gpu.asnumpy(d1), fake_gpu.asnumpy(d2))   # a new seed per call


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_on_the_device_drops_p_and_its_gradient_uses_the_same_mask(fake_gpu, p):
    x = tg.ones(200, 300, device="cuda", requires_grad=True)
    tg.manual_seed(11)
    y = F.dropout(x, p=p)
    y.sum().backward()
    values = y.detach().cpu().numpy()
    kept = values != 0
    assert abs(1 - kept.mean() - p) < 5 * np.sqrt(p * (1 - p) / kept.size)
    np.testing.assert_allclose(values[kept], 1 / (1 - p), rtol=1e-6)
    np.testing.assert_array_equal(x.grad.cpu().numpy(), values)              # dL/dx = m / (1 - p)
    tg.manual_seed(11)
    np.testing.assert_array_equal(F.dropout(x, p=p).detach().cpu().numpy(), values)


def test_attention_dropout_on_the_device_is_reproducible(fake_gpu):
    rng = np.random.default_rng(0)
    q, k, v = (tg.tensor(rng.standard_normal((2, 3, 16, 8)).astype(np.float32), device="cuda")
               for _ in range(3))
    outs = []
    for _ in range(2):
        tg.manual_seed(5)
        outs.append(F.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True).cpu().numpy())
    np.testing.assert_array_equal(outs[0], outs[1])
    no_dropout = F.scaled_dot_product_attention(q, k, v, is_causal=True).cpu().numpy()
    assert not np.allclose(outs[0], no_dropout)


def test_a_gpt_train_step_with_dropout_copies_nothing_that_grows_with_the_batch(fake_gpu):
    """Dropout's masks (and everything else that scales with the activations) are made on the device:
    besides its input batch, a training step copies only small constants to the device (the causal
    mask, T×T booleans a layer, and the position ids), the same at batch 4 and at batch 16.  (Drawing
    the masks on the host took 2.3 s of a 2.4 s nanoGPT step on an H200.)"""
    from tinygrad_edu.models.gpt import GPT, GPTConfig
    from tinygrad_edu.nn.utils import clip_grad_norm_
    tg.manual_seed(0)
    model = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=32, vocab_size=65, dropout=0.2,
                          bias=False)).to("cuda")
    model.train()
    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99))
    rng = np.random.default_rng(0)

    def copied_besides_the_batch(batch_size):
        batch = rng.integers(0, 65, (batch_size, 32))
        before = fake_cupy.host_to_device_bytes
        x, y = tg.tensor(batch, device="cuda"), tg.tensor((batch + 1) % 65, device="cuda")
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return fake_cupy.host_to_device_bytes - before - 2 * batch.nbytes
    copied_besides_the_batch(4)                         # the first step may make cached constants
    small, large = copied_besides_the_batch(4), copied_besides_the_batch(16)
    assert small == large, f"batch 4 copied {small} bytes besides its batch, batch 16 {large}"
    assert small <= 2 * 32 * 32 + 32 * 8, small         # two layers' causal masks and the positions
