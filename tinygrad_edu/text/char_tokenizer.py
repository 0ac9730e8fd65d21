"""Character-level tokenizer: one token per distinct character, as in nanoGPT's ``shakespeare_char``.

The simplest tokenizer there is.  The vocabulary is the *sorted set* of characters of a training text
(65 for tinyshakespeare: letters, digits... and ``"\\n"``), a character's id is its position in that
sorted list, and decoding is a table lookup.  Sequences are long (one token per character) but the
vocabulary is tiny, which is why a small GPT can learn to spell from scratch on it.

    tok = CharTokenizer(open("input.txt").read())
    tok.encode("hii there")   # [46, 47, 47, 1, 58, 46, 43, 56, 43]
    tok.decode([46, 47, 47])  # "hii"
"""
from __future__ import annotations

import json
import os
from typing import Iterable, Sequence

__all__ = ["CharTokenizer"]

_FORMAT = "tinygrad_edu.CharTokenizer"


class CharTokenizer:
    """Map each distinct character of a text to an id (its rank in sorted order), and back.

    Args:
        text: the training text; its sorted set of characters is the vocabulary.

    ``CharTokenizer.from_chars(chars)`` builds one from an explicit, ordered character list instead.
    """

    def __init__(self, text: str):
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer: expected the training text as a str, got {type(text).__name__}")
        self._set_chars(sorted(set(text)))

    def _set_chars(self, chars: Sequence[str]) -> None:
        chars = list(chars)
        bad = [c for c in chars if not isinstance(c, str) or len(c) != 1]
        if bad:
            raise ValueError(f"CharTokenizer: the vocabulary must hold single characters, got {bad[:5]!r}")
        if len(set(chars)) != len(chars):
            raise ValueError("CharTokenizer: the vocabulary holds repeated characters")
        if not chars:
            raise ValueError("CharTokenizer: the vocabulary is empty (built from an empty text?)")
        self.chars: list[str] = chars                                 # id -> character
        self.stoi: dict[str, int] = {c: i for i, c in enumerate(chars)}  # character -> id

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        """The same as ``CharTokenizer(text)``: the vocabulary is the sorted set of ``text``'s characters."""
        return cls(text)

    @classmethod
    def from_chars(cls, chars: Sequence[str]) -> "CharTokenizer":
        """A tokenizer whose id ``i`` is ``chars[i]`` (the order is kept, not re-sorted).

        ``chars`` may be a list of characters or a string, e.g. one from ``chars_string()``.
        """
        tok = cls.__new__(cls)
        tok._set_chars(chars)
        return tok

    def chars_string(self) -> str:
        """The vocabulary as one string (character ``i`` is id ``i``); ``from_chars`` reads it back."""
        return "".join(self.chars)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def __len__(self) -> int:
        return len(self.chars)

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"

    def encode(self, text: str) -> list[int]:
        """``"hi"`` → ``[stoi['h'], stoi['i']]``; characters outside the vocabulary raise a ValueError."""
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.encode: expected a str, got {type(text).__name__}")
        stoi = self.stoi
        try:
            return [stoi[c] for c in text]
        except KeyError:
            unknown = sorted(set(text) - stoi.keys())
            shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in unknown[:10])
            more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
            raise ValueError(f"CharTokenizer.encode: {len(unknown)} character(s) not in the vocabulary: "
                             f"{shown}{more}; the vocabulary has the {self.vocab_size} characters of the "
                             "training text") from None

    def decode(self, ids: Iterable[int]) -> str:
        """``[stoi['h'], stoi['i']]`` → ``"hi"``; ids outside ``0 .. vocab_size-1`` raise a ValueError."""
        chars = self.chars
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(chars):
                raise ValueError(f"CharTokenizer.decode: id {i} is out of range (ids 0..{len(chars) - 1})")
            out.append(chars[i])
        return "".join(out)

    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary as JSON (``{"format": ..., "chars": [...]}``; no pickle)."""
        tmp = f"{os.fspath(path)}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"format": _FORMAT, "version": 1, "chars": self.chars}, f, ensure_ascii=False)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CharTokenizer":
        """Read a tokenizer written by ``save``."""
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict) or data.get("format") != _FORMAT \
                or not isinstance(data.get("chars"), list):
            raise ValueError(f"CharTokenizer.load: {os.fspath(path)!r} is not a saved CharTokenizer")
        return cls.from_chars(data["chars"])
