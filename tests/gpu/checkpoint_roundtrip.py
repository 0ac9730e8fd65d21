"""The checkpoint round trip shared by the fake-device suite (``test_fake_device.py``) and the real-GPU
suite (``test_gpu_train.py``): a tiny model with BatchNorm trained one step on 'cuda' and saved with its
optimizer state; the state it loads back; a CPU twin that must give the device model's outputs."""
import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn


def tiny_model():
    """Linear + BatchNorm1d (parameters and running buffers), on the CPU."""
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))


def saved_checkpoint(tmp_path, optimizer):
    """A seeded ``tiny_model`` on 'cuda' after one ``optimizer`` step (lr 0.1), saved with the
    optimizer's state as {"model", "optimizer"}: (model, path)."""
    tg.manual_seed(0)
    model = tiny_model().cuda()
    opt = optimizer(model.parameters(), lr=0.1)
    model(tg.randn(6, 3, device="cuda")).sum().backward()
    opt.step()
    path = tmp_path / "ckpt.safetensors"
    tg.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, path)
    return model, path


def assert_state_loaded(model, state, device):
    """``state`` (a loaded state dict) is on ``device`` and holds ``model``'s values exactly."""
    for name, value in model.state_dict().items():
        assert state[name].device == device, name
        np.testing.assert_array_equal(state[name].cpu().numpy(), value.cpu().numpy())


def assert_same_outputs(gpu_model, cpu_model, **tol):
    """In eval mode, one random batch through both models gives the same outputs (``tol``: rtol/atol)."""
    gpu_model.eval(), cpu_model.eval()
    x = tg.randn(2, 3)
    np.testing.assert_allclose(gpu_model(x.cuda()).detach().cpu().numpy(), cpu_model(x).detach().numpy(),
                               **tol)
