"""Checkpoints: ``save(obj, path)`` and ``load(path)`` in the safetensors format, with no pickle anywhere.

Why safetensors
---------------
``torch.save`` writes a pickle, and unpickling runs whatever code the file asks for: loading a stranger's
checkpoint is running a stranger's program.  A safetensors file (Hugging Face's format) is only data: a
JSON description of the tensors, then their raw bytes.  Reading one cannot execute anything, and the
file can be read by the ``safetensors`` library, by PyTorch users and by this module alike.

The format, byte by byte, and the checks ``load`` makes before it trusts a file, are in
:mod:`tinygrad_edu.safetensors_format`.

Whole training checkpoints
--------------------------
A state_dict (``name -> Tensor``) is written as a plain safetensors file that any tool reads.  A
*checkpoint* can hold more::

    save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3, "best_acc": 0.99},
         "runs/last.safetensors")
    ckpt = load("runs/last.safetensors")
    model.load_state_dict(ckpt["model"]); opt.load_state_dict(ckpt["optimizer"])

Every tensor or array inside is stored under a dotted name built from its path
(``model.fc.weight``, ``optimizer.state.0.exp_avg``); everything else — numbers, strings, bools,
``None``, lists, tuples, dicts with string or integer keys (the optimizer's ``param_groups``, its
``step`` counts, the epoch) — goes into the header as JSON, in ``__metadata__["tinygrad_edu.structure"]``.
That JSON is the object tree with each tensor replaced by a reference to its name, and with tags for what
JSON cannot say directly, so that ``load`` rebuilds the very same structure::

    {"$dict": [[key, value], ...]}   a dict (keys keep their type: 0 stays an int, "0" a string)
    {"$tuple": [...]}                a tuple (a JSON list is a Python list)
    {"$tensor": "model.fc.weight"}   a Tensor;  {"$ndarray": name} a NumPy array
    {"$float": "nan" | "inf" | "-inf"}

Files from PyTorch or Hugging Face
----------------------------------
:func:`load_state_dict_from_safetensors` (or ``load(path, map_name=...)``) reads any safetensors
file as a flat ``name -> Tensor`` dict, passing every name through ``map_name(name)``, which returns the
new name or ``None`` to drop the tensor::

    sd = load_state_dict_from_safetensors("model.safetensors",
                                          map_name=lambda k: k.removeprefix("module."))
    model.load_state_dict(sd)

Writing is atomic: the bytes go to ``PATH.tmp`` beside the destination, are flushed to disk
(``fsync``), and only then does ``os.replace`` give the file its name.  A crash or an error half-way
leaves the old checkpoint untouched, never a torn one.  A save that was killed outright (``kill -9``,
a power cut) cannot clean up after itself and leaves ``PATH.tmp`` behind; the next ``save`` to the
same path removes it before writing.  ``load`` reads only regular files: a directory, a named pipe
(which would block forever waiting for a writer) or a device is refused with a :class:`CheckpointError`.
"""
import json
import math
import os
import stat
import struct
from collections import OrderedDict

import numpy as np

from .backend import Device, array_module, to_device
from .safetensors_format import CODES, CheckpointError, open_regular_file, read_header, read_tensors
from .tensor import Tensor

STRUCTURE_KEY = "tinygrad_edu.structure"


# =====================================================================================================
# Saving
# =====================================================================================================
def save(obj, path, metadata=None):
    """Write ``obj`` to ``path`` as a safetensors file, atomically.

    ``obj`` is a state_dict (``name -> Tensor or ndarray``) or a checkpoint dict that nests
    state_dicts, optimizer states and plain values (see the module docstring).  ``metadata`` is an
    optional ``str -> str`` map stored in the header's ``__metadata__`` (read it back with
    :func:`read_metadata`).  Everything is checked before the file is touched, so a bad value raises
    and leaves any existing file as it was.  The bytes go to ``path + ".tmp"`` first and are renamed
    over ``path`` only when complete; a stale ``path.tmp`` left by an earlier save that was killed is
    removed before writing."""
    path = os.fspath(path)
    tensors, structure = _flatten(obj)
    header_metadata = {"format": "pt"}
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in metadata.items()):
            raise TypeError("save: metadata must be a dict of str -> str")
        if STRUCTURE_KEY in metadata:
            raise ValueError(f"save: metadata key {STRUCTURE_KEY!r} is reserved")
        header_metadata.update(metadata)
    if structure is not None:
        header_metadata[STRUCTURE_KEY] = json.dumps(structure, separators=(",", ":"), allow_nan=False)
    header_bytes, ordered = _layout(tensors, header_metadata)
    _write_atomically(path, header_bytes, ordered)


def _flatten(obj):
    """``(tensors, structure)``: every tensor as ``name -> little-endian C-contiguous ndarray`` in the
    order met, and the JSON skeleton (None when ``obj`` is a plain ``str -> Tensor`` state_dict)."""
    if not isinstance(obj, dict):
        raise TypeError(f"save: expected a dict (a state_dict or a checkpoint dict), got "
                        f"{type(obj).__name__}")
    tensors = {}
    plain = all(isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items())
    if plain:
        for name, value in obj.items():
            _add_tensor(tensors, name, value)
        return tensors, None
    return tensors, _encode(obj, (), tensors)


def _encode(value, path, tensors):
    """The JSON form of ``value`` (found at key path ``path``), storing its tensors in ``tensors``."""
    name = ".".join(str(p) for p in path)
    if isinstance(value, Tensor):
        _add_tensor(tensors, name, value)
        return {"$tensor": name}
    if _is_array(value):
        _add_tensor(tensors, name, value)
        return {"$ndarray": name}
    if isinstance(value, np.generic):       # NumPy scalars become Python numbers
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"save: dict keys must be str or int, got {type(key).__name__} key "
                                f"{key!r} at {name or '<top level>'!r}")
            items.append([key, _encode(item, path + (key,), tensors)])
        return {"$dict": items}
    if isinstance(value, (list, tuple)):
        items = [_encode(item, path + (i,), tensors) for i, item in enumerate(value)]
        return items if isinstance(value, list) else {"$tuple": items}
    raise TypeError(f"save: cannot store a value of type {type(value).__name__} at "
                    f"{name or '<top level>'!r}: only tensors, arrays, numbers, strings, bools, None, "
                    "lists, tuples and dicts can be saved (no pickle)")


def _is_array(value):
    return (isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__")
            or (type(value).__module__.split(".")[0] == "torch" and hasattr(value, "numpy")))


def _add_tensor(tensors, name, value):
    """Convert one tensor/array to what the file stores and record it under ``name``."""
    if name == "__metadata__":
        raise ValueError("save: '__metadata__' is reserved by the safetensors format and cannot name "
                         "a tensor")
    if name in tensors:
        raise ValueError(f"save: two entries both flatten to the tensor name {name!r}; rename one of "
                         "the keys (dots in keys join with the nesting)")
    array = value.array if isinstance(value, Tensor) else value
    if type(array).__module__.split(".")[0] == "torch":
        array = array.detach().cpu().numpy()        # a PyTorch tensor handed to us directly
    elif array_module(array) is not np:
        array = array.get()                         # CuPy -> host
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in CODES:
        raise TypeError(f"save: tensor {name!r} has dtype {array.dtype}, which safetensors cannot store "
                        f"here; supported: {', '.join(str(d) for d in CODES)}")
    # astype(order="C", copy=False), not ascontiguousarray, which would turn a 0-d array into 1-d
    tensors[name] = array.astype(native.newbyteorder("<"), order="C", copy=False)


def _layout(tensors, metadata):
    """The padded header bytes and the arrays in file order.

    Data is laid out largest itemsize first (stable), so that with an 8-aligned header every tensor
    starts at a multiple of its own itemsize — what the safetensors library does too.  The header
    lists the tensors in the order they were given, which is the order :func:`load` returns."""
    ordered = sorted(tensors.items(), key=lambda kv: -kv[1].dtype.itemsize)
    offsets, position = {}, 0
    for name, array in ordered:
        offsets[name] = (position, position + array.nbytes)
        position += array.nbytes
    header = {"__metadata__": metadata}
    for name, array in tensors.items():
        header[name] = {"dtype": CODES[array.dtype.newbyteorder("=")], "shape": list(array.shape),
                        "data_offsets": list(offsets[name])}
    text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)       # pad with spaces: the buffer starts 8-aligned
    return text, [array for _, array in ordered]


def _write_atomically(path, header_bytes, arrays):
    """Write to ``path.tmp``, fsync it, then rename it over ``path``.

    A ``path.tmp`` that already exists is the leftover of a save that was killed before it could
    clean up (an error or Ctrl-C cleans up below); it is removed, then the temp file is created with
    ``O_EXCL`` so that it is always a fresh file of our own.  (Two processes saving to the same path
    at the same moment are not supported: one would remove the other's temp file.)"""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: cannot write {path}: folder {folder} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"save: cannot write {path}: it is a directory")
    mode = stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else 0o644
    tmp_path = path + ".tmp"
    if os.path.lexists(tmp_path):
        if os.path.isdir(tmp_path) and not os.path.islink(tmp_path):
            raise IsADirectoryError(f"save: cannot write {path}: {tmp_path} is a directory in the way")
        os.remove(tmp_path)                         # stale, from a save that was killed
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(header_bytes)))
            f.write(header_bytes)
            for array in arrays:
                if array.nbytes:
                    f.write(array.reshape(-1).view(np.uint8).data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp_path, mode)
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder):
    """Make the rename itself durable (POSIX); harmless to skip where folders can't be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# =====================================================================================================
# Loading
# =====================================================================================================
def _placer(map_location):
    """``array -> Tensor`` on the device ``map_location`` names (torch's argument: a device string or
    Device, or a dict ``{saved device: new device}``).  The file holds host bytes, so a tensor is
    "saved on" the CPU: a dict is looked up under ``'cpu'``; None keeps tensors on the CPU."""
    if isinstance(map_location, dict):
        map_location = {str(Device(k)): v for k, v in map_location.items()}.get("cpu")
    if map_location is None:
        return Tensor._wrap
    if callable(map_location) and not isinstance(map_location, (str, Device)):
        raise TypeError("load: map_location must be a device ('cpu', 'cuda', 'cuda:1'), a Device or a "
                        "dict of devices; functions of torch storages do not apply here")
    device = Device(map_location)
    return lambda array: Tensor._wrap(to_device(array, device))


def load(path, map_name=None, map_location=None):
    """Read a file written by :func:`save` (or any safetensors file) and rebuild what was saved.

    A plain state_dict comes back as an ``OrderedDict`` of name -> Tensor; a checkpoint dict comes
    back with the same nesting, keys and values it was saved with (tensors as Tensors, arrays as
    NumPy arrays).  With ``map_name`` the file is read as a flat state_dict instead, as
    :func:`load_state_dict_from_safetensors` does.  Tensors are loaded onto the CPU, or onto
    ``map_location`` (``load(path, map_location="cuda")``, as in torch); NumPy arrays stay NumPy."""
    if map_name is not None:
        return load_state_dict_from_safetensors(path, map_name, map_location=map_location)
    place = _placer(map_location)
    path = os.fspath(path)
    header, metadata, arrays = read_tensors(path)
    structure = metadata.get(STRUCTURE_KEY)
    if structure is None:
        return OrderedDict((name, place(array)) for name, array in arrays.items())
    try:
        skeleton = json.loads(structure)
        used = set()
        obj = _decode(skeleton, arrays, used, path, place)
    except RecursionError:
        raise CheckpointError(f"{path}: the {STRUCTURE_KEY} metadata is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: the {STRUCTURE_KEY} metadata is not valid JSON ({exc})") from None
    unused = [name for name in arrays if name not in used]
    if unused:
        raise CheckpointError(f"{path}: tensors {unused[:5]} are in the file but not in its "
                              f"{STRUCTURE_KEY} metadata; the file was modified after it was saved")
    return obj


def load_state_dict_from_safetensors(path, map_name=None, map_location=None):
    """Every tensor of a safetensors file as an ``OrderedDict`` of name -> Tensor (ignoring any
    checkpoint structure), for importing PyTorch / Hugging Face weights.

    ``map_name(name)`` returns the name to use, or ``None`` to drop that tensor; two names mapped to
    the same new name is an error.  Example: ``map_name=lambda k: k.removeprefix("model.")``.
    ``map_location`` puts the tensors on a device, as in :func:`load`."""
    place = _placer(map_location)
    path = os.fspath(path)
    _, _, arrays = read_tensors(path)
    result = OrderedDict()
    for name, array in arrays.items():
        new_name = name if map_name is None else map_name(name)
        if new_name is None:
            continue
        if not isinstance(new_name, str):
            raise TypeError(f"map_name must return a str or None, got {type(new_name).__name__} for "
                            f"{name!r}")
        if new_name in result:
            raise ValueError(f"{path}: map_name maps two tensors to the same name {new_name!r}")
        result[new_name] = place(array)
    return result


def read_metadata(path):
    """The ``__metadata__`` map (str -> str) of a safetensors file, without reading any tensor."""
    path = os.fspath(path)
    with open_regular_file(path) as f:
        size = os.fstat(f.fileno()).st_size
        _, metadata, _ = read_header(f, path, size)
    return metadata


def _decode(value, arrays, used, path, place=Tensor._wrap):
    """Invert :func:`_encode`; every tag and reference is checked; ``place`` makes a Tensor."""
    if isinstance(value, list):
        return [_decode(v, arrays, used, path, place) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise CheckpointError(f"{path}: malformed {STRUCTURE_KEY} entry {str(value)[:80]}")
    (tag, body), = value.items()
    if tag in ("$tensor", "$ndarray"):
        if not isinstance(body, str) or body not in arrays:
            raise CheckpointError(f"{path}: {STRUCTURE_KEY} refers to tensor {body!r}, which is not in "
                                  "the file")
        used.add(body)
        return place(arrays[body]) if tag == "$tensor" else arrays[body]
    if tag == "$dict" and isinstance(body, list):
        result = {}
        for pair in body:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (str, int))
                    and not isinstance(pair[0], bool)):
                raise CheckpointError(f"{path}: malformed dict entry {str(pair)[:80]} in "
                                      f"{STRUCTURE_KEY}")
            result[pair[0]] = _decode(pair[1], arrays, used, path, place)
        return result
    if tag == "$tuple" and isinstance(body, list):
        return tuple(_decode(v, arrays, used, path, place) for v in body)
    if tag == "$float" and body in ("nan", "inf", "-inf"):
        return float(body)
    raise CheckpointError(f"{path}: unknown tag {tag!r} in {STRUCTURE_KEY}")


__all__ = ["CheckpointError", "load", "load_state_dict_from_safetensors", "read_metadata", "save"]
