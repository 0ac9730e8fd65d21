"""The safetensors format: what the bytes of a file mean, and a reader that trusts none of them.

:mod:`tinygrad_edu.serialization` (``save``/``load``) writes and reads checkpoints through this module.

The format, byte by byte
------------------------
::

    ┌───────────────┬───────────────────────────────────┬───────────────────────────────────────┐
    │ 8 bytes       │ N bytes                           │ the rest of the file: the byte buffer │
    │ N, an unsigned│ a JSON object, UTF-8, padded at   │ every tensor's raw bytes, little-     │
    │ 64-bit little-│ the end with spaces (0x20) so     │ endian, C (row-major) order, one      │
    │ endian integer│ that 8 + N is a multiple of 8     │ after the other with no gaps          │
    └───────────────┴───────────────────────────────────┴───────────────────────────────────────┘

The header maps each tensor's name to its dtype, shape and the [begin, end) byte range it occupies in
the buffer (offsets count from the start of the buffer, not of the file)::

    {"__metadata__": {"format": "pt"},
     "fc.weight": {"dtype": "F32", "shape": [10, 784], "data_offsets": [0, 31360]},
     "fc.bias":   {"dtype": "F32", "shape": [10],      "data_offsets": [31360, 31400]}}

``__metadata__`` is optional and may only hold strings (a ``str -> str`` map).  Dtype codes: F16, F32,
F64 (floats), I8, I16, I32, I64 (signed), U8, U16, U32, U64 (unsigned), BOOL (one byte, 0 or 1) and
BF16 (bfloat16: the top 16 bits of a float32; NumPy has no such type, so it is read as float32 by
shifting each value 16 bits left, which is exact).

Reading without trusting
------------------------
The reader trusts nothing.  Before allocating a single array it checks that the header length fits in
the file (and is at most 100 MB, the safetensors library's own limit), that the header is a JSON object
with no duplicate names, that every dtype is known, that shape × itemsize equals the byte range, and
that the ranges tile the buffer exactly — start at 0, no overlap, no hole, end at the end of the file
(the rule that keeps a safetensors file from also being some other kind of file).  Any failure raises a
:class:`CheckpointError` (a ``ValueError``) naming the file and the problem.

A checkpoint must also be a *regular file*: ``open()`` on a named pipe blocks until another process
writes to it, and a directory or a device is no checkpoint either, so :func:`open_regular_file` refuses
them with a :class:`CheckpointError` before reading a byte.
"""
import json
import math
import os
import stat
import struct

import numpy as np

MAX_HEADER_BYTES = 100_000_000   # the safetensors library refuses larger headers too
MAX_NDIM = 64                    # NumPy's limit on the number of dimensions

# safetensors dtype code <-> NumPy dtype (always little-endian in the file).
DTYPES = {
    "F16": np.dtype("<f2"), "F32": np.dtype("<f4"), "F64": np.dtype("<f8"),
    "I8": np.dtype("i1"), "I16": np.dtype("<i2"), "I32": np.dtype("<i4"), "I64": np.dtype("<i8"),
    "U8": np.dtype("u1"), "U16": np.dtype("<u2"), "U32": np.dtype("<u4"), "U64": np.dtype("<u8"),
    "BOOL": np.dtype("?"),
    "BF16": np.dtype("<u2"),     # read as raw 16-bit words, then widened to float32
}
CODES = {np.dtype(dt).newbyteorder("="): code for code, dt in DTYPES.items() if code != "BF16"}


class CheckpointError(ValueError):
    """A checkpoint file is corrupt, truncated or not what it claims to be."""


def read_tensors(path):
    """``(header, metadata, arrays)`` with every tensor read into its own writable array, in the
    header's order."""
    with open_regular_file(path) as f:
        size = os.fstat(f.fileno()).st_size
        header, metadata, entries = read_header(f, path, size)
        data_start = 8 + header
        arrays = {}
        for name, (dtype_code, shape, begin, end) in entries.items():
            stored = DTYPES[dtype_code]
            try:                                    # size checked: end - begin bytes exist in the file
                array = np.empty(shape, dtype=stored)
            except (ValueError, OverflowError, MemoryError) as exc:
                raise CheckpointError(f"{path}: tensor {name!r} has an impossible shape {shape} "
                                      f"({exc})") from None
            if end > begin:
                f.seek(data_start + begin)
                got = f.readinto(array.reshape(-1).view(np.uint8))
                if got != end - begin:
                    raise CheckpointError(f"{path}: tensor {name!r} is truncated (read {got} of "
                                          f"{end - begin} bytes); the file changed while being read")
            if dtype_code == "BOOL" and array.size and array.view(np.uint8).max() > 1:
                raise CheckpointError(f"{path}: BOOL tensor {name!r} holds bytes other than 0 and 1")
            if dtype_code == "BF16":                 # bfloat16 = the high half of a float32
                array = (array.astype(np.uint32) << 16).view(np.float32)
            elif array.dtype.byteorder not in ("=", "|"):
                array = array.astype(array.dtype.newbyteorder("="))  # only on big-endian machines
            arrays[name] = array
    return header, metadata, arrays


def open_regular_file(path):
    """Open ``path`` for reading, refusing anything that is not a regular file.

    ``open()`` on a named pipe (FIFO) blocks until some other process writes to it, so a plain
    ``open`` would hang ``load`` forever.  The file is opened with ``O_NONBLOCK`` (which returns at
    once for a FIFO and changes nothing for a regular file), and what was opened is checked with
    ``fstat`` -- the very file read, not a name that could change between a check and the open."""
    kind = _file_kind(path)                         # a clear message before opening anything
    if kind != "regular":
        raise CheckpointError(f"{path} is {kind}, not a regular file; a checkpoint must be a "
                              ".safetensors file")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"checkpoint {path} does not exist") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):      # replaced between the check and the open
        os.close(fd)
        raise CheckpointError(f"{path} is not a regular file; a checkpoint must be a .safetensors file")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _file_kind(path):
    """``"regular"``, or what else ``path`` is, in words (it must exist)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"checkpoint {path} does not exist") from None
    if stat.S_ISREG(mode):
        return "regular"
    kinds = [(stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
             (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device")]
    return next((words for test, words in kinds if test(mode)), "a special file")


def read_header(f, path, size):
    """Parse and validate the header; returns ``(header_length, metadata, entries)`` where entries
    maps name -> (dtype code, shape, begin, end), all checked against the file size."""
    if size < 8:
        raise CheckpointError(f"{path}: file is {size} bytes, too short to be a safetensors file (the "
                              "first 8 bytes give the header length)")
    n = struct.unpack("<Q", f.read(8))[0]
    if n > MAX_HEADER_BYTES:
        raise CheckpointError(f"{path}: header length {n} exceeds the {MAX_HEADER_BYTES}-byte limit; "
                              "not a safetensors file or corrupt")
    if 8 + n > size:
        raise CheckpointError(f"{path}: header length {n} goes beyond the end of the {size}-byte file; "
                              "the file is truncated or not a safetensors file")
    raw = f.read(n)
    try:
        text = raw.decode("utf-8")
        if not text.startswith("{"):
            raise ValueError("it does not start with '{'")
        header = json.loads(text, object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path}: header is not a valid JSON object ({exc})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"{path}: __metadata__ must map strings to strings")
    buffer_len = size - 8 - n
    entries = {}
    for name, info in header.items():
        entries[name] = _check_entry(path, name, info, buffer_len)
    _check_tiling(path, entries, buffer_len)
    return n, metadata, entries


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"duplicate name {dup!r}")
    return dict(pairs)


def _check_entry(path, name, info, buffer_len):
    where = f"{path}: tensor {name!r}"
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise CheckpointError(f"{where}: entry must have exactly 'dtype', 'shape' and 'data_offsets', "
                              f"got {str(info)[:80]}")
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if code not in DTYPES:
        raise CheckpointError(f"{where}: unknown or unsupported dtype {code!r}; supported: "
                              f"{', '.join(DTYPES)}")
    if (not isinstance(shape, list) or len(shape) > MAX_NDIM
            or not all(type(d) is int and d >= 0 for d in shape)):
        raise CheckpointError(f"{where}: shape {str(shape)[:80]} is not a list of at most {MAX_NDIM} "
                              "non-negative integers")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(type(o) is int and o >= 0 for o in offsets) or offsets[0] > offsets[1]):
        raise CheckpointError(f"{where}: data_offsets {str(offsets)[:80]} must be [begin, end] with "
                              "0 <= begin <= end")
    begin, end = offsets
    if end > buffer_len:
        raise CheckpointError(f"{where}: data_offsets [{begin}, {end}] go beyond the {buffer_len}-byte "
                              "data buffer; the file is truncated")
    expected = math.prod(shape) * DTYPES[code].itemsize
    if expected != end - begin:
        raise CheckpointError(f"{where}: shape {shape} of {code} needs {expected} bytes but "
                              f"data_offsets [{begin}, {end}] give {end - begin}")
    return code, tuple(shape), begin, end


def _check_tiling(path, entries, buffer_len):
    """The byte ranges must cover the buffer exactly: no overlap, no hole, nothing after the end."""
    position = 0
    for name, (_, _, begin, end) in sorted(entries.items(), key=lambda kv: (kv[1][2], kv[1][3])):
        if begin != position:
            problem = "overlaps the previous tensor" if begin < position else "leaves a hole before it"
            raise CheckpointError(f"{path}: tensor {name!r} at data_offsets [{begin}, {end}] {problem} "
                                  f"(expected it to start at {position})")
        position = end
    if position != buffer_len:
        raise CheckpointError(f"{path}: the tensors cover {position} bytes but the data buffer has "
                              f"{buffer_len}; the file has trailing or missing bytes")
