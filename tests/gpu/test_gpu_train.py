"""Train steps on the real GPU equal the CPU's: an MLP, mini-VGG, airbench, GPT and BERT at tiny sizes
(``benchmarks.bench_gpu``'s smoke configurations), one step each: the loss and every gradient (and, for
SGD, every parameter after the step; Adam's first step lr·g/|g| magnifies float32 rounding where g ~ 0,
so the weights after an Adam step are not compared).  Also checkpoints across the two devices."""
import pytest

import tinygrad_edu as tg

from checkpoint_roundtrip import assert_same_outputs, assert_state_loaded, saved_checkpoint, tiny_model
from gpu_available import requires_gpu

pytestmark = requires_gpu
TASKS = ["mlp", "vgg", "airbench", "gpt", "bert"]


def _task(key):
    from benchmarks import bench_gpu
    if key == "mlp":
        return bench_gpu.mlp_task(smoke=True)
    return bench_gpu.TASKS[key](smoke=True)


def _step_matches(key):
    from benchmarks.bench_gpu import compare_outputs, ours_step
    task = _task(key)
    results = []
    for device in ("cpu", "cuda"):
        step, outputs, model = ours_step(task, device)
        step()
        assert all(p.device.type == device.split(":")[0] for p in model.parameters())
        results.append(outputs())
    adam = key in ("gpt", "bert")
    keep = [k for k in results[0] if k == "loss" or k.endswith(".grad") or not adam]
    bad, worst = compare_outputs({k: results[0][k] for k in keep}, results[1], rtol=2e-3, atol=2e-5)
    assert not bad, f"{task.name}: {bad[:5]} differ on the GPU (max |diff| {worst:.2e})"


@pytest.mark.parametrize("key", TASKS)
def test_train_step_on_gpu_equals_cpu(key):
    _step_matches(key)


def _checkpoint_round_trip(tmp_path):
    model, path = saved_checkpoint(tmp_path, tg.optim.AdamW)
    assert_state_loaded(model, tg.load(path, map_location="cuda")["model"], "cuda:0")
    cpu_model = tiny_model()
    cpu_model.load_state_dict(tg.load(path)["model"])
    assert_same_outputs(model, cpu_model, rtol=1e-5, atol=1e-6)


def test_checkpoint_round_trip_on_gpu(tmp_path):
    _checkpoint_round_trip(tmp_path)
