"""nn.ModuleDict and nn.init.trunc_normal_, against torch."""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from tinygrad_edu import nn


def test_module_dict_registers_parameters_with_torchs_key_names():
    ours = nn.ModuleDict({"encoder": nn.Linear(3, 4), "head": nn.Linear(4, 2)})
    theirs = torch.nn.ModuleDict({"encoder": torch.nn.Linear(3, 4), "head": torch.nn.Linear(4, 2)})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert len(list(ours.parameters())) == 4
    assert list(ours.keys()) == ["encoder", "head"] and "head" in ours and len(ours) == 2
    ours["extra"] = nn.ReLU()
    assert list(ours) == ["encoder", "head", "extra"]
    popped = ours.pop("extra")
    assert isinstance(popped, nn.ReLU) and "extra" not in ours
    with pytest.raises(KeyError, match="no module named 'missing'"):
        ours["missing"]
    with pytest.raises(TypeError, match="keys must be strings"):
        ours[3] = nn.ReLU()
    ours.update([("tail", nn.Linear(2, 1))])
    assert "tail.weight" in ours.state_dict()


def test_trunc_normal_stays_in_bounds_and_matches_the_truncated_moments():
    tg.manual_seed(0)
    w = tg.empty(200, 500)
    nn.init.trunc_normal_(w, mean=0.5, std=1.0, a=-0.5, b=1.0)
    data = w.numpy()
    assert data.min() >= -0.5 and data.max() <= 1.0 and data.dtype == np.float32
    ref = torch.empty(200, 500)
    torch.manual_seed(0)
    torch.nn.init.trunc_normal_(ref, mean=0.5, std=1.0, a=-0.5, b=1.0)
    assert abs(data.mean() - ref.mean().item()) < 0.01
    assert abs(data.std() - ref.std().item()) < 0.01


def test_trunc_normal_rejects_bad_bounds():
    with pytest.raises(ValueError, match="lower bound"):
        nn.init.trunc_normal_(tg.empty(3), a=1.0, b=0.0)
