"""Tiny Shakespeare, the character corpus the mini-GPT learns to continue: ``TinyShakespeare`` (the
``(x, y)`` windows of nanoGPT's ``shakespeare_char``) and where its one file comes from.

Finding, verifying and reading the file is ``files.py``'s job.
"""
import numpy as np

from ..dataset import Dataset
from .files import _RAW, _Source, check_split, find_files, read_text


# Where the files come from: folder name, each file's SHA-256, the pinned mirror (see files.py).
TINYSHAKESPEARE = _Source(
    "tinyshakespeare",
    {"input.txt": ("86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",)},
    _RAW + "karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/",
    "TINYGRAD_EDU_TINYSHAKESPEARE_MIRRORS")


class TinyShakespeare(Dataset):
    """Tiny Shakespeare (Karpathy's char-rnn corpus, 1,115,394 characters) for character-level language
    modelling, split as nanoGPT's ``shakespeare_char``: the first 90% of the characters is ``"train"``
    (1,003,854), the last 10% ``"val"`` (111,540).

    The vocabulary is the sorted set of characters of the **whole** text (65 symbols), so both splits
    share one encoding: ``.chars`` (id -> character), ``.stoi`` (character -> id), ``encode``/``decode``.
    ``.text`` is the split's text and ``.ids`` its ids (uint16, as nanoGPT stores them).

    A language model reads a window of ``block_size`` characters and predicts, at every position, the
    next one; so item ``i`` is ``(x, y)`` with ``x = ids[i : i + block_size]`` and
    ``y = ids[i + 1 : i + block_size + 1]`` (int64), and there are ``len(ids) - block_size`` windows.
    ``get_batch(indices)`` builds a whole batch with one fancy index (the DataLoader's fast path).
    """

    splits = ("train", "val")
    train_fraction = 0.9

    def __init__(self, root=None, split="train", block_size=64, download=True, mirrors=None, verify=True):
        self.split = check_split("TinyShakespeare", split, self.splits)
        if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 1:
            raise ValueError(f"TinyShakespeare: block_size must be a positive integer, got {block_size!r}")
        (path,) = find_files(TINYSHAKESPEARE, ["input.txt"], root, download, mirrors)
        full_text = read_text(path, TINYSHAKESPEARE, verify)
        self.chars = sorted(set(full_text))
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        cut = int(len(full_text) * self.train_fraction)     # nanoGPT: data[:int(n*0.9)], data[int(n*0.9):]
        self.text = full_text[:cut] if self.split == "train" else full_text[cut:]
        self.ids = self.encode(self.text)
        self.block_size = int(block_size)
        if len(self.ids) <= self.block_size:
            raise ValueError(f"TinyShakespeare: the {self.split} split has {len(self.ids)} characters, not "
                             f"more than block_size={self.block_size}")

    @property
    def vocab_size(self):
        return len(self.chars)

    def encode(self, text):
        """The ids (uint16 array) of the characters of ``text``; every character must be in the vocabulary.
        Vectorised: the code points of ``text`` are looked up in the sorted code points of ``chars``."""
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        table = np.array([ord(c) for c in self.chars], dtype=np.uint32)
        ids = np.searchsorted(table, points)
        bad = (ids >= len(table)) | (table[np.minimum(ids, len(table) - 1)] != points)
        if bad.any():
            raise ValueError(f"TinyShakespeare.encode: character {chr(points[bad.argmax()])!r} is not in the "
                             f"{len(self.chars)}-character vocabulary")
        return ids.astype(np.uint16)

    def decode(self, ids):
        """The text of a sequence of ids."""
        return "".join(self.chars[int(i)] for i in np.asarray(ids).reshape(-1))

    def __len__(self):
        return len(self.ids) - self.block_size

    def __getitem__(self, index):
        index = int(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"TinyShakespeare: index {index} out of range for {len(self)} windows")
        window = self.ids[index:index + self.block_size + 1].astype(np.int64)
        return window[:-1], window[1:]

    def get_batch(self, indices):
        offsets = np.asarray(indices, dtype=np.int64)[:, None] + np.arange(self.block_size + 1)
        windows = self.ids[offsets].astype(np.int64)
        return windows[:, :-1], windows[:, 1:]

    def __repr__(self):
        return (f"TinyShakespeare(split={self.split!r}, chars={len(self.text)}, vocab={self.vocab_size}, "
                f"block_size={self.block_size})")
