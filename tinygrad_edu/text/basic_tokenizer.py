"""BERT's *basic* tokenizer: the rule-based step that runs before WordPiece.

WordPiece (``wordpiece.py``) only knows how to cut ONE word into sub-word pieces.  Something has to
turn raw text into words first; for BERT that is this class, which applies, in order:

1. **Cleaning** — drop NUL (U+0000), the replacement character (U+FFFD) and every control / format
   character (Unicode category ``C*``: ``Cc``, ``Cf``, ``Co``...), except ``\\t \\n \\r``, which count as
   whitespace; every whitespace character (``' '``, ``\\t \\n \\r`` and category ``Zs``) becomes a plain
   space.
2. **CJK splitting** — put spaces around every CJK *ideograph* (the "CJK Unified Ideographs" blocks),
   because Chinese is written without spaces: each ideograph becomes its own word.  Japanese kana and
   Korean Hangul are *not* in these blocks; they are written with spaces and stay untouched.
3. **NFC normalisation**, then split on whitespace (``str.split()``).
4. Per word (unless it is in ``never_split``, e.g. ``[CLS]``): **lower-casing**, then **accent
   stripping**: decompose with NFD (``"é"`` → ``"e" + U+0301 COMBINING ACUTE ACCENT``) and drop every
   non-spacing mark (category ``Mn``), so ``"Crème"`` → ``"creme"``.  For an uncased model accents are
   stripped by default; ``strip_accents=True/False`` forces it on/off.
5. **Punctuation splitting** — every punctuation character becomes a word of its own
   (``"don't!"`` → ``don ' t !``).  BERT's "punctuation" is any Unicode ``P*`` character *plus* every
   ASCII non-letter, non-digit symbol (``$ + < = > ^ ` | ~`` are ``S*`` in Unicode but count here).

The result equals Hugging Face's ``BasicTokenizer`` (checked in ``tests/test_tokenizers.py``).
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Iterable

__all__ = ["BasicTokenizer", "is_whitespace", "is_control", "is_punctuation", "is_cjk_ideograph"]


@lru_cache(maxsize=65536)
def is_whitespace(char: str) -> bool:
    """``' '``, ``\\t``, ``\\n``, ``\\r`` or a Unicode space separator (category ``Zs``, e.g. U+00A0)."""
    if char in " \t\n\r":
        return True
    return unicodedata.category(char) == "Zs"


@lru_cache(maxsize=65536)
def is_control(char: str) -> bool:
    """A control/format/private/unassigned character (category ``C*``), except tab/newline/return."""
    if char in "\t\n\r":
        return False
    return unicodedata.category(char).startswith("C")


@lru_cache(maxsize=65536)
def is_punctuation(char: str) -> bool:
    """BERT's punctuation: Unicode category ``P*``, or an ASCII symbol (33-47, 58-64, 91-96, 123-126)."""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


# ASCII text (most English text) takes fast paths below; this table does step 1 for it in one call:
# drop the control characters 0-31 and 127, except \t \n \r which become spaces.
_ASCII_CLEAN = {cp: None for cp in [*range(32), 127]} | {ord("\t"): " ", ord("\n"): " ", ord("\r"): " "}

# The "CJK Unified Ideographs" blocks (and their extensions / compatibility blocks), as in BERT.
_CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
               (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


@lru_cache(maxsize=65536)
def is_cjk_ideograph(char: str) -> bool:
    """Whether ``char`` is a CJK ideograph (written without spaces, so BERT makes it its own word)."""
    cp = ord(char)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def strip_accents(text: str) -> str:
    """Remove accents: NFD-decompose, then drop the non-spacing marks (category ``Mn``)."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


class BasicTokenizer:
    """Split raw text into BERT "words": clean, split CJK, lower-case, strip accents, split punctuation.

    Args:
        do_lower_case: lower-case every word (uncased models).
        never_split: words kept exactly as they are (no lower-casing, no punctuation split), e.g.
            special tokens such as ``[CLS]`` written in the text.
        tokenize_chinese_chars: put each CJK ideograph in a word of its own.
        strip_accents: ``None`` follows ``do_lower_case`` (BERT's rule); ``True``/``False`` force it.
        do_split_on_punc: split punctuation off words (always on for BERT).

    >>> BasicTokenizer().tokenize("Héllo,  WORLD!")
    ['hello', ',', 'world', '!']
    """

    def __init__(self, do_lower_case: bool = True, never_split: Iterable[str] | None = None,
                 tokenize_chinese_chars: bool = True, strip_accents: bool | None = None,
                 do_split_on_punc: bool = True):
        self.do_lower_case = bool(do_lower_case)
        self.never_split = set(never_split or ())
        self.tokenize_chinese_chars = bool(tokenize_chinese_chars)
        self.strip_accents = strip_accents
        self.do_split_on_punc = bool(do_split_on_punc)

    def __repr__(self) -> str:
        return (f"BasicTokenizer(do_lower_case={self.do_lower_case}, strip_accents={self.strip_accents}, "
                f"tokenize_chinese_chars={self.tokenize_chinese_chars}, "
                f"never_split={sorted(self.never_split)})")

    # -- the steps, in order ------------------------------------------------------------------------
    def clean_text(self, text: str) -> str:
        """Step 1: drop NUL, U+FFFD and control characters; turn every whitespace character into ' '."""
        if text.isascii():
            return text.translate(_ASCII_CLEAN)
        out = []
        for char in text:
            if char == "\x00" or char == "\ufffd" or is_control(char):
                continue
            out.append(" " if is_whitespace(char) else char)
        return "".join(out)

    def split_cjk(self, text: str) -> str:
        """Step 2: surround every CJK ideograph with spaces."""
        if text.isascii():
            return text
        return "".join(f" {c} " if is_cjk_ideograph(c) else c for c in text)

    def split_on_punctuation(self, word: str) -> list[str]:
        """Step 5: ``"don't!"`` → ``["don", "'", "t", "!"]`` (each punctuation char is its own word)."""
        if not self.do_split_on_punc or word.isalnum():  # letters and digits only: nothing to split
            return [word]
        pieces: list[str] = []
        current: list[str] = []
        for char in word:
            if is_punctuation(char):
                if current:
                    pieces.append("".join(current))
                    current = []
                pieces.append(char)
            else:
                current.append(char)
        if current:
            pieces.append("".join(current))
        return pieces

    def tokenize(self, text: str, never_split: Iterable[str] | None = None) -> list[str]:
        """Run all the steps and return the list of words (see the module docstring)."""
        if not isinstance(text, str):
            raise TypeError(f"BasicTokenizer.tokenize: expected a str, got {type(text).__name__}")
        keep = self.never_split.union(never_split) if never_split else self.never_split
        text = self.clean_text(text)
        if self.tokenize_chinese_chars:
            text = self.split_cjk(text)
        text = unicodedata.normalize("NFC", text)
        words: list[str] = []
        for word in text.split():
            if word in keep:
                words.append(word)
                continue
            if self.do_lower_case:
                word = word.lower()
            if (self.strip_accents or (self.strip_accents is None and self.do_lower_case)) \
                    and not word.isascii():
                word = strip_accents(word)
            # accent stripping can leave an empty word ("\u0301" alone) or, in rare cases, whitespace
            words.extend(p for piece in self.split_on_punctuation(word) for p in piece.split())
        return words
