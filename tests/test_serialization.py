"""Checkpoints: tinygrad_edu.save / load in the safetensors format.

Round trips for every dtype and awkward shapes, interop with the safetensors library in both
directions (NumPy and PyTorch front ends), atomic writes, hostile files rejected with a clear
CheckpointError before anything large is allocated, whole training checkpoints that resume bit for
bit, and importing PyTorch state_dicts through a name-mapping hook."""
import json
import os
import stat
import struct
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
import tinygrad_edu.optim as optim
from tinygrad_edu.serialization import (CheckpointError, load, load_state_dict_from_safetensors,
                                        read_metadata, save)

ALL_DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
              "uint32", "uint64", "bool"]


def sample_array(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


def assert_same_array(got, expected):
    got = got.numpy() if isinstance(got, tg.Tensor) else got
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


# ---------------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_round_trip_every_dtype_and_shape(tmp_path, dtype):
    arrays = {"matrix": sample_array(dtype, (3, 5)), "scalar": sample_array(dtype, ()),
              "empty": sample_array(dtype, (0, 4)), "cube": sample_array(dtype, (2, 3, 4), seed=1)}
    path = tmp_path / "x.safetensors"
    save({k: tg.tensor(v) for k, v in arrays.items()}, path)
    loaded = load(path)
    assert isinstance(loaded, OrderedDict) and list(loaded) == list(arrays)   # order kept
    for name, array in arrays.items():
        assert isinstance(loaded[name], tg.Tensor)
        assert_same_array(loaded[name], array)
    # and the safetensors library reads exactly the same arrays
    theirs = safetensors.numpy.load_file(str(path))
    for name, array in arrays.items():
        assert_same_array(theirs[name], array)


def test_non_contiguous_big_endian_and_special_floats(tmp_path):
    base = np.arange(60, dtype=np.float64).reshape(6, 10)
    arrays = {"transposed": base.T, "strided": base[::2, 1::3], "big_endian": np.arange(7, dtype=">i4"),
              "special": np.array([np.nan, np.inf, -np.inf, -0.0, 1e-45], dtype=np.float32)}
    assert not arrays["transposed"].flags.c_contiguous
    path = tmp_path / "x.safetensors"
    save(arrays, path)
    loaded = load(path)
    for name, array in arrays.items():
        got = loaded[name]
        assert isinstance(got, np.ndarray) and got.dtype == array.dtype.newbyteorder("=")
        np.testing.assert_array_equal(got, array)
        assert got.flags.c_contiguous and got.flags.writeable
    assert np.signbit(loaded["special"][3])


def test_header_layout_follows_the_spec(tmp_path):
    path = tmp_path / "x.safetensors"
    save({"b": tg.tensor(np.ones(3, np.uint8)), "a": tg.tensor(np.ones((2, 2), np.float64))}, path,
         metadata={"note": "hello"})
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    assert (8 + n) % 8 == 0                      # the data buffer starts 8-byte aligned
    text = raw[8:8 + n].decode("utf-8")
    assert text.startswith("{")
    stripped = text.rstrip(" ")
    assert stripped.endswith("}") and len(text) - len(stripped) < 8   # padded with < 8 spaces only
    header = json.loads(text)
    assert header["__metadata__"] == {"format": "pt", "note": "hello"}
    assert header["a"] == {"dtype": "F64", "shape": [2, 2], "data_offsets": [0, 32]}   # widest first
    assert header["b"] == {"dtype": "U8", "shape": [3], "data_offsets": [32, 35]}
    assert len(raw) == 8 + n + 35
    assert read_metadata(path) == {"format": "pt", "note": "hello"}


def test_nested_checkpoint_rebuilds_the_same_structure(tmp_path):
    ckpt = {
        "model": OrderedDict([("fc.weight", tg.randn(3, 2)), ("fc.bias", tg.zeros(3))]),
        "optimizer": {"state": {0: {"step": 7, "exp_avg": tg.ones(3)}, 1: {}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                                        "amsgrad": False, "params": [0, 1], "name": None}]},
        "epoch": 3, "step": 1200, "best_acc": 0.99, "loss_history": [2.5, 1.25, float("nan")],
        "lr_bound": float("inf"), "tag": "run-1", "mixed": {"1": "string key", 1: "int key"},
        "raw": np.arange(4, dtype=np.int16), "numpy_scalar": np.float32(0.5),
    }
    path = tmp_path / "ckpt.safetensors"
    save(ckpt, path)
    loaded = load(path)
    assert set(loaded) == set(ckpt)
    assert loaded["epoch"] == 3 and loaded["step"] == 1200 and loaded["best_acc"] == 0.99
    assert loaded["tag"] == "run-1" and loaded["lr_bound"] == float("inf")
    assert loaded["loss_history"][:2] == [2.5, 1.25] and np.isnan(loaded["loss_history"][2])
    assert loaded["mixed"] == {"1": "string key", 1: "int key"}
    group = loaded["optimizer"]["param_groups"][0]
    assert group == {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False, "params": [0, 1],
                     "name": None}
    assert isinstance(group["betas"], tuple)
    assert set(loaded["optimizer"]["state"]) == {0, 1}          # int keys stay ints
    assert loaded["optimizer"]["state"][0]["step"] == 7 and loaded["optimizer"]["state"][1] == {}
    assert_same_array(loaded["optimizer"]["state"][0]["exp_avg"], np.ones(3, np.float32))
    for name in ("fc.weight", "fc.bias"):
        assert_same_array(loaded["model"][name], ckpt["model"][name].numpy())
    assert isinstance(loaded["raw"], np.ndarray) and loaded["raw"].dtype == np.int16
    assert loaded["numpy_scalar"] == 0.5
    # the tensors are ordinary safetensors entries with dotted names
    theirs = safetensors.numpy.load_file(str(path))
    assert set(theirs) == {"model.fc.weight", "model.fc.bias", "optimizer.state.0.exp_avg", "raw"}


def test_values_that_cannot_be_saved_raise_before_touching_the_file(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match="cannot store a value of type function at 'extra.fn'"):
        save({"extra": {"fn": lambda: 0}}, path)
    with pytest.raises(TypeError, match="complex128"):
        save({"z": np.ones(2, dtype=np.complex128)}, path)
    with pytest.raises(TypeError, match="dict keys must be str or int"):
        save({"k": {(1, 2): 3}}, path)
    with pytest.raises(ValueError, match="both flatten to the tensor name 'a.b'"):
        save({"a.b": tg.ones(1), "a": {"b": tg.ones(1)}}, path)
    with pytest.raises(TypeError, match="expected a dict"):
        save([tg.ones(1)], path)
    with pytest.raises(FileNotFoundError, match="folder .*missing does not exist"):
        save({"w": tg.ones(1)}, tmp_path / "missing" / "x.safetensors")
    assert not path.exists() and os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# Interop with the safetensors library
# ---------------------------------------------------------------------------------------------
def test_pytorch_reads_our_files(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    path = tmp_path / "model.safetensors"
    save(model.state_dict(), path)
    theirs = safetensors.torch.load_file(str(path))
    torch_model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    torch_model.load_state_dict(theirs)                         # same key names as PyTorch
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    with tg.no_grad():
        ours = model(tg.tensor(x)).numpy()
    np.testing.assert_allclose(torch_model(torch.tensor(x)).detach().numpy(), ours, rtol=1e-6, atol=1e-6)


def test_we_read_files_written_by_the_library(tmp_path):
    arrays = {name: sample_array(name, (2, 3)) for name in ALL_DTYPES}
    arrays["scalar"] = np.array(1.5, dtype=np.float32)
    arrays["empty"] = np.zeros((0,), dtype=np.int32)
    path = tmp_path / "numpy.safetensors"
    safetensors.numpy.save_file(arrays, str(path), metadata={"who": "numpy"})
    loaded = load(path)
    assert set(loaded) == set(arrays)
    for name, array in arrays.items():
        assert_same_array(loaded[name], array)
    assert read_metadata(path) == {"who": "numpy"}


def test_bfloat16_from_pytorch_is_widened_exactly_to_float32(tmp_path):
    values = torch.randn(4, 5, generator=torch.Generator().manual_seed(0)).to(torch.bfloat16)
    path = tmp_path / "bf16.safetensors"
    safetensors.torch.save_file({"w": values, "b": torch.arange(3)}, str(path))
    loaded = load(path)
    assert loaded["w"].dtype == np.float32
    np.testing.assert_array_equal(loaded["w"].numpy(), values.float().numpy())
    np.testing.assert_array_equal(loaded["b"].numpy(), np.arange(3))


def test_import_pytorch_state_dict_with_name_mapping(tmp_path):
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    # as saved from a DataParallel-wrapped model, with an extra tensor we do not want
    state = {"module." + k: v for k, v in theirs.state_dict().items()}
    state["module.num_batches_tracked"] = torch.tensor(5)
    path = tmp_path / "hf.safetensors"
    safetensors.torch.save_file(state, str(path))

    def map_name(key):
        return None if key.endswith("num_batches_tracked") else key.removeprefix("module.")

    sd = load_state_dict_from_safetensors(path, map_name=map_name)
    assert set(sd) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    ours = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    ours.load_state_dict(sd)                                     # strict: exactly the right keys
    x = np.random.default_rng(1).standard_normal((6, 4)).astype(np.float32)
    with tg.no_grad():
        got = ours(tg.tensor(x)).numpy()
    np.testing.assert_allclose(got, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-6)
    assert set(load(path, map_name=map_name)) == set(sd)
    with pytest.raises(ValueError, match="maps two tensors to the same name 'w'"):
        load_state_dict_from_safetensors(path, map_name=lambda k: "w")
    with pytest.raises(TypeError, match="must return a str or None"):
        load_state_dict_from_safetensors(path, map_name=lambda k: 3)


def test_flat_view_of_a_nested_checkpoint(tmp_path):
    model = nn.Linear(3, 2)
    path = tmp_path / "ckpt.safetensors"
    save({"model": model.state_dict(), "epoch": 1}, path)
    sd = load_state_dict_from_safetensors(
        path, map_name=lambda k: k.removeprefix("model.") if k.startswith("model.") else None)
    fresh = nn.Linear(3, 2)
    fresh.load_state_dict(sd)
    np.testing.assert_array_equal(fresh.weight.detach().numpy(), model.weight.detach().numpy())


# ---------------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------------
def test_a_failing_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    save({"w": tg.ones(3)}, path)
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        save({"w": tg.zeros(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]          # no temp file left behind
    assert_same_array(load(path)["w"], np.ones(3, np.float32))


def test_a_writer_that_dies_midway_leaves_the_old_file_intact(tmp_path, monkeypatch):
    """The data is written, then something raises between two tensors: the old checkpoint stays."""
    path = tmp_path / "ckpt.safetensors"
    save({"w": tg.ones(3)}, path)
    before = path.read_bytes()
    real_fdopen, writes = os.fdopen, []

    class DiesOnSecondTensor:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            writes.append(len(data))
            if len(writes) == 4:                # length, header, first tensor, then die
                raise KeyboardInterrupt("killed while writing (simulated)")
            return self.f.write(data)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.f.__exit__(*exc)

    monkeypatch.setattr(os, "fdopen", lambda *a, **k: DiesOnSecondTensor(real_fdopen(*a, **k)))
    with pytest.raises(KeyboardInterrupt):
        save({"a": tg.zeros(1000), "b": tg.zeros(10, dtype=tg.int64)}, path)
    monkeypatch.undo()
    assert len(writes) == 4
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]          # the temp file was removed


def test_save_removes_a_stale_tmp_file_of_a_killed_save(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"w": tg.ones(3)}, path)
    stale = tmp_path / "ckpt.safetensors.tmp"
    stale.write_bytes(b"half a checkpoint from a save that was kill -9'd")
    os.chmod(stale, 0o400)                                      # even a read-only leftover
    save({"w": tg.full((2,), 5.0)}, path)
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]
    assert_same_array(load(path)["w"], np.full(2, 5.0, np.float32))
    assert "stale" in save.__doc__ and ".tmp" in save.__doc__


def test_save_refuses_a_directory_as_the_path(tmp_path):
    (tmp_path / "ckpt.safetensors").mkdir()
    with pytest.raises(IsADirectoryError, match="ckpt.safetensors"):
        save({"w": tg.ones(3)}, tmp_path / "ckpt.safetensors")


def test_overwrite_replaces_the_file_and_keeps_its_mode(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"w": tg.ones(3)}, path)
    os.chmod(path, 0o640)
    save({"w": tg.full((2,), 7.0)}, str(path))
    assert_same_array(load(path)["w"], np.full(2, 7.0, np.float32))
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


# ---------------------------------------------------------------------------------------------
# Corrupt, truncated and hostile files
# ---------------------------------------------------------------------------------------------
def raw_file(path, header, data=b"", length=None, pad=True):
    """Write a safetensors-shaped file by hand: ``header`` is a dict (JSON-encoded) or raw bytes."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    if pad:
        text += b" " * (-(8 + len(text)) % 8)
    n = len(text) if length is None else length
    path.write_bytes(struct.pack("<Q", n) + text + data)
    return path


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


HOSTILE = [
    ("too_short", lambda p: p.write_bytes(b"\x01\x02\x03"), "too short"),
    ("header_beyond_file", lambda p: raw_file(p, {"a": entry("U8", [1], 0, 1)}, b"x", length=10_000),
     "beyond the end"),
    ("huge_header", lambda p: raw_file(p, {}, length=2 ** 40), "exceeds"),
    ("not_json", lambda p: raw_file(p, b"{this is not json}"), "not a valid JSON"),
    ("not_an_object", lambda p: raw_file(p, b"[1, 2, 3]"), "does not start with"),
    ("not_utf8", lambda p: raw_file(p, b"{\xff\xfe}"), "not a valid JSON"),
    ("duplicate_name", lambda p: raw_file(
        p, b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
           b'"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"x"), "duplicate name 'a'"),
    ("unknown_dtype", lambda p: raw_file(p, {"a": entry("C64", [1], 0, 8)}, b"x" * 8), "unknown"),
    ("size_mismatch", lambda p: raw_file(p, {"a": entry("F32", [3], 0, 8)}, b"x" * 8),
     "needs 12 bytes but data_offsets"),
    ("offsets_out_of_range", lambda p: raw_file(p, {"a": entry("F32", [2 ** 40], 0, 2 ** 42)}, b"x" * 8),
     "beyond the 8-byte data buffer"),
    ("overlap", lambda p: raw_file(p, {"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 4, 12)},
                                   b"x" * 12), "overlaps"),
    ("hole", lambda p: raw_file(p, {"a": entry("U8", [2], 0, 2), "b": entry("U8", [2], 4, 6)}, b"x" * 6),
     "hole"),
    ("trailing_bytes", lambda p: raw_file(p, {"a": entry("U8", [2], 0, 2)}, b"x" * 5), "trailing"),
    ("negative_dim", lambda p: raw_file(p, {"a": entry("U8", [-1], 0, 0)}), "non-negative integers"),
    ("float_dim", lambda p: raw_file(p, {"a": entry("U8", [1.5], 0, 1)}, b"x"), "non-negative integers"),
    ("reversed_offsets", lambda p: raw_file(p, {"a": entry("U8", [0], 4, 0)}, b"x" * 4), "begin <= end"),
    ("extra_field", lambda p: raw_file(p, {"a": {**entry("U8", [1], 0, 1), "x": 1}}, b"x"), "exactly"),
    ("metadata_not_strings", lambda p: raw_file(p, {"__metadata__": {"a": 1}}), "strings to strings"),
    ("bad_bool", lambda p: raw_file(p, {"a": entry("BOOL", [2], 0, 2)}, b"\x01\x07"), "other than 0 and 1"),
    ("deep_json", lambda p: raw_file(p, b"{\"a\":" + b"[" * 100_000 + b"]" * 100_000 + b"}"),
     "not a valid JSON"),
    ("structure_missing_tensor", lambda p: raw_file(
        p, {"__metadata__": {"tinygrad_edu.structure": '{"$dict":[["w",{"$tensor":"nope"}]]}'}}),
     "refers to tensor 'nope'"),
    ("structure_unknown_tag", lambda p: raw_file(
        p, {"__metadata__": {"tinygrad_edu.structure": '{"$pickle":"os.system"}'}}), "unknown tag"),
]


@pytest.mark.parametrize("make,message", [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_hostile_files_raise_a_clear_error(tmp_path, make, message):
    path = tmp_path / "bad.safetensors"
    make(path)
    with pytest.raises(CheckpointError, match=message) as info:
        load(path)
    assert str(path) in str(info.value)                        # the error names the file
    assert isinstance(info.value, ValueError)


def test_truncated_file_is_rejected_at_every_offset(tmp_path):
    """A real training checkpoint (nested structure, several dtypes) cut at every byte offset: each
    cut gives one CheckpointError (a ValueError) naming the file, never another exception."""
    path = tmp_path / "ckpt.safetensors"
    model = make_model(0)
    opt = optim.Adam(list(model.parameters()), lr=0.01)
    train(model, opt, batches(1, 0))
    save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
          "ids": np.arange(5, dtype=np.int64)}, path)
    raw = path.read_bytes()
    header_end = 8 + struct.unpack("<Q", raw[:8])[0]
    cuts = sorted(set(range(0, header_end + 16)) | set(range(header_end, len(raw), 97)) | {len(raw) - 1})
    for cut in cuts:
        path.write_bytes(raw[:cut])
        with pytest.raises(CheckpointError) as info:
            load(path)
        assert str(path) in str(info.value), cut
        with pytest.raises(CheckpointError):
            read_metadata(path) if cut < header_end else load_state_dict_from_safetensors(path)


def test_a_directory_is_refused(tmp_path):
    folder = tmp_path / "ckpt.safetensors"
    folder.mkdir()
    for reader in (load, load_state_dict_from_safetensors, read_metadata):
        with pytest.raises(CheckpointError, match=r"is a directory, not a regular file") as info:
            reader(folder)
        assert str(folder) in str(info.value) and isinstance(info.value, ValueError)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_without_hanging(tmp_path):
    """open() on a FIFO blocks until a writer comes, which would hang load forever.  The load runs in a
    subprocess with a timeout, so that this test fails (rather than hangs) if the check is broken."""
    fifo = tmp_path / "ckpt.safetensors"
    os.mkfifo(fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    code = ("import sys, tinygrad_edu as tg\n"
            "try:\n    tg.load(sys.argv[1])\n"
            "except ValueError as exc:\n    print('ValueError:', exc)\n")
    try:
        done = subprocess.run([sys.executable, "-c", code, str(fifo)], capture_output=True, text=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("tg.load hung on a named pipe")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ValueError: {fifo} is a named pipe (FIFO), not a regular file; " \
                                  "a checkpoint must be a .safetensors file"


def test_a_character_device_is_refused(tmp_path):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    with pytest.raises(CheckpointError, match="/dev/zero is a character device"):
        load("/dev/zero")


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.safetensors"):
        load(tmp_path / "nothere.safetensors")


# ---------------------------------------------------------------------------------------------
# Resuming training exactly
# ---------------------------------------------------------------------------------------------
def make_model(seed):
    tg.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 4))


def batches(k, offset):
    rng = np.random.default_rng(100 + offset)
    return [(tg.tensor(rng.standard_normal((8, 6)).astype(np.float32)), tg.tensor(rng.integers(0, 4, 8)))
            for _ in range(k)]


def train(model, opt, data):
    for x, y in data:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()


@pytest.mark.parametrize("make_opt", [
    lambda params: optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda params: optim.Adam(params, lr=0.01, betas=(0.8, 0.99), amsgrad=True),
    lambda params: optim.AdamW([{"params": params[:2], "lr": 0.02}, {"params": params[2:]}], lr=0.01),
], ids=["sgd_momentum", "adam_amsgrad", "adamw_groups"])
def test_save_load_resumes_training_exactly(tmp_path, make_opt):
    k = 5
    first, second = batches(k, 0), batches(k, 1)
    model = make_model(0)
    opt = make_opt(list(model.parameters()))
    train(model, opt, first)
    path = tmp_path / "ckpt.safetensors"
    save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 1, "step": k}, path)
    train(model, opt, second)                                   # the uninterrupted run

    resumed = make_model(1)                                     # different initial weights
    resumed_opt = make_opt(list(resumed.parameters()))
    ckpt = load(path)
    resumed.load_state_dict(ckpt["model"])
    resumed_opt.load_state_dict(ckpt["optimizer"])
    assert ckpt["step"] == k and ckpt["epoch"] == 1
    train(resumed, resumed_opt, second)

    for (name, p), (_, q) in zip(model.named_parameters(), resumed.named_parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=name)
    assert resumed_opt.state_dict()["param_groups"] == opt.state_dict()["param_groups"]
