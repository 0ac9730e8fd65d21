"""Byte-level BPE (byte-pair encoding), the tokenizer idea of GPT-2, written plainly.

**Start from bytes.**  Any text, in any script, with emoji or odd whitespace, is a sequence of UTF-8
bytes, and there are only 256 byte values.  So a vocabulary that starts with the 256 single bytes can
spell *every* text: there is no unknown token, and ``decode(encode(text)) == text`` always.

**Learn merges.**  Sequences of raw bytes are long.  BPE shortens them by learning *merges*: count every
pair of adjacent tokens in the training corpus, give the most frequent pair (say ``b"t" + b"h"``) a new
id (256), replace it everywhere, and repeat.  Each merge adds one token; after ``vocab_size - 256``
merges frequent words are single tokens (``" the"``), rarer ones a few pieces, and anything never seen
still falls back to bytes.  The merges are kept *in the order they were learned* — that order is the
whole model.

**Encode = replay the merges.**  To encode a word, start from its bytes and repeatedly apply, among the
adjacent pairs present, the merge learned *earliest* (lowest rank), until no learned merge applies.

**Pre-tokenization.**  Pairs are only counted and merged *inside* pre-tokens, so a token never spans
words (``"dog."`` must not become one token competing with ``"dog!"``).  The text is cut by a regex
in the style of GPT-2's (``GPT2_SPLIT_PATTERN``), tried left to right at each position:

* ``'(?:[sdmt]|ll|ve|re)`` — English contractions: ``'s 't 're 've 'm 'll 'd``;
* `` ?[^\\W\\d_]+`` — a run of letters, with at most one leading space (``" hello"``): a word *carries
  its preceding space*, so ``" the"`` and ``"the"`` are different tokens, as in GPT-2;
  (``\\p{L}``, "any letter", is not in Python's ``re``; ``[^\\W\\d_]`` — word characters minus digits
  and ``_`` — means the same for letters);
* `` ?\\d+`` — a run of digits, with an optional leading space;
* `` ?(?:[^\\s\\w]|_)+`` — a run of other symbols (punctuation, emoji...), optional leading space;
* ``\\s+(?!\\S)`` — whitespace, but leave the last space of a run to the next word
  (``"a   b"`` → ``"a"``, ``"  "``, ``" b"``);
* ``\\s+`` — any remaining whitespace (e.g. at the end of the text).

Every character matches one of these, so the pieces concatenate back to the text exactly.

**Special tokens** such as ``<|endoftext|>`` (document separator) are extra ids after the merges; in
``encode`` the exact string is recognised as that one id (unless ``split_special_tokens=True``).

**Fast training.**  Recounting every pair after each merge costs O(corpus) per merge.  Instead the
corpus is reduced to its unique pre-tokens with their counts, pair counts are kept in a dict with an
index ``pair -> words containing it``, and a merge only revisits the words that contain the merged
pair, updating counts by difference; a heap (with stale entries skipped) yields the most frequent pair.
A 1000-token vocabulary on tinyshakespeare (1.1 MB) trains in about a second.
"""
from __future__ import annotations

import heapq
import json
import os
import re
from collections import Counter, defaultdict
from typing import Iterable, Sequence

__all__ = ["ByteLevelBPETokenizer", "GPT2_SPLIT_PATTERN"]

GPT2_SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""

_FORMAT = "tinygrad_edu.ByteLevelBPETokenizer"
_FORMAT_VERSION = 1


def merge_pair(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every (non-overlapping, left to right) occurrence of ``pair`` in ``ids`` by ``new_id``."""
    out: list[int] = []
    i = 0
    n = len(ids)
    while i < n:
        if i + 1 < n and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


class ByteLevelBPETokenizer:
    """A byte-level BPE tokenizer: 256 byte tokens + learned merges + optional special tokens.

    Build one with ``ByteLevelBPETokenizer.train(text, vocab_size)`` or ``load(path)``; the constructor
    takes already learned merges (see the module docstring for the algorithm).

    Args:
        merges: the learned merges in order; merge ``i`` joins tokens ``(a, b)`` into token ``256 + i``.
        special_tokens: strings such as ``"<|endoftext|>"``; they get the ids after the merges.
        pattern: the pre-tokenization regex (``GPT2_SPLIT_PATTERN`` by default).

    >>> tok = ByteLevelBPETokenizer.train("the cat sat on the mat " * 20, vocab_size=270)
    >>> tok.decode(tok.encode("the rat 🐀")) == "the rat 🐀"
    True
    """

    def __init__(self, merges: Sequence[Sequence[int]] = (), special_tokens: Sequence[str] | None = None,
                 pattern: str = GPT2_SPLIT_PATTERN):
        self.pattern = pattern
        self._split = re.compile(pattern)
        self.merges: list[tuple[int, int]] = []
        self.vocab: list[bytes] = [bytes([b]) for b in range(256)]  # id -> the bytes it stands for
        for i, pair in enumerate(merges):
            if len(pair) != 2:
                raise ValueError(f"ByteLevelBPETokenizer: merge {i} should be a pair of ids, got {pair!r}")
            a, b = int(pair[0]), int(pair[1])
            if not (0 <= a < 256 + i and 0 <= b < 256 + i):
                raise ValueError(f"ByteLevelBPETokenizer: merge {i} = ({a}, {b}) uses an id that does not "
                                 f"exist yet (ids 0..{256 + i - 1} exist before merge {i})")
            self.merges.append((a, b))
            self.vocab.append(self.vocab[a] + self.vocab[b])
        self.merge_ranks: dict[tuple[int, int], int] = {pair: i for i, pair in enumerate(self.merges)}
        self.special_tokens: dict[str, int] = {}
        for token in special_tokens or ():
            if not isinstance(token, str) or not token:
                raise ValueError(f"ByteLevelBPETokenizer: special tokens must be non-empty strings, "
                                 f"got {token!r}")
            if token not in self.special_tokens:
                self.special_tokens[token] = len(self.vocab) + len(self.special_tokens)
        self._special_by_id = {i: t for t, i in self.special_tokens.items()}
        specials = sorted(self.special_tokens, key=len, reverse=True)
        self._special_split = re.compile("(" + "|".join(map(re.escape, specials)) + ")") if specials else None
        self._cache: dict[str, list[int]] = {}

    # -- sizes and lookups ---------------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        """256 bytes + the merges + the special tokens."""
        return len(self.vocab) + len(self.special_tokens)

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return (f"ByteLevelBPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)}, "
                f"special_tokens={list(self.special_tokens)})")

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes token ``token_id`` stands for (a special token's UTF-8 text)."""
        token_id = int(token_id)
        if 0 <= token_id < len(self.vocab):
            return self.vocab[token_id]
        if token_id in self._special_by_id:
            return self._special_by_id[token_id].encode("utf-8")
        raise ValueError(f"ByteLevelBPETokenizer: token id {token_id} is out of range "
                         f"(ids 0..{self.vocab_size - 1})")

    def pre_tokenize(self, text: str) -> list[str]:
        """The pieces merges stay inside: ``"Hi  there!"`` → ``['Hi', ' ', ' there', '!']``."""
        return self._split.findall(text)

    # -- training ------------------------------------------------------------------------------------------
    @classmethod
    def train(cls, text_or_iterable: str | Iterable[str], vocab_size: int, min_frequency: int = 2,
              special_tokens: Sequence[str] | None = None, pattern: str = GPT2_SPLIT_PATTERN
              ) -> "ByteLevelBPETokenizer":
        """Learn merges on a corpus until ``vocab_size`` tokens (bytes + merges + specials) exist.

        Args:
            text_or_iterable: one string, or an iterable of strings (lines, documents); pre-tokens never
                span two items.  Special tokens inside the text are cut out (never merged with text).
            vocab_size: the final vocabulary size, at least 256 + the number of special tokens.
            min_frequency: stop early when the most frequent pair occurs fewer times than this.
            special_tokens: e.g. ``["<|endoftext|>"]``.
        """
        special_tokens = list(dict.fromkeys(special_tokens or ()))
        if int(vocab_size) != vocab_size or vocab_size < 256 + len(special_tokens):
            raise ValueError(f"ByteLevelBPETokenizer.train: vocab_size={vocab_size!r} must be an integer "
                             f">= 256 (the byte tokens) + {len(special_tokens)} special token(s)")
        if min_frequency < 1:
            raise ValueError(f"ByteLevelBPETokenizer.train: min_frequency must be >= 1, got {min_frequency}")
        empty = cls(special_tokens=special_tokens, pattern=pattern)  # for its regexes
        chunks = [text_or_iterable] if isinstance(text_or_iterable, str) else text_or_iterable

        # 1. the corpus as unique pre-tokens (as byte-id lists) with their counts
        piece_counts: Counter[str] = Counter()
        for chunk in chunks:
            if not isinstance(chunk, str):
                raise TypeError(f"ByteLevelBPETokenizer.train: expected str items, "
                                f"got {type(chunk).__name__}")
            parts = empty._special_split.split(chunk) if empty._special_split else [chunk]
            for part in parts:
                if part not in empty.special_tokens:
                    piece_counts.update(empty._split.findall(part))
        words: list[list[int]] = [list(cls._utf8(piece, "train")) for piece in piece_counts]
        freqs: list[int] = list(piece_counts.values())

        # 2. count adjacent pairs inside words, and remember which words hold each pair
        pair_counts: defaultdict[tuple[int, int], int] = defaultdict(int)
        where: defaultdict[tuple[int, int], set[int]] = defaultdict(set)
        for w, (word, freq) in enumerate(zip(words, freqs)):
            for pair in zip(word, word[1:]):
                pair_counts[pair] += freq
                where[pair].add(w)
        # a max-heap (negated counts) of (count, pair); entries whose count changed since are skipped
        heap = [(-count, pair) for pair, count in pair_counts.items()]
        heapq.heapify(heap)

        # 3. merge the most frequent pair, update the counts of the words it touched, repeat
        merges: list[tuple[int, int]] = []
        n_merges = vocab_size - 256 - len(special_tokens)
        while len(merges) < n_merges and heap:
            neg_count, pair = heapq.heappop(heap)
            if pair_counts.get(pair, 0) != -neg_count:
                continue  # stale entry
            if -neg_count < min_frequency:
                break
            new_id = 256 + len(merges)
            merges.append(pair)
            changed: set[tuple[int, int]] = set()
            for w in where.pop(pair, ()):
                word, freq = words[w], freqs[w]
                merged = merge_pair(word, pair, new_id)
                if len(merged) == len(word):
                    continue
                for old in zip(word, word[1:]):
                    pair_counts[old] -= freq
                    changed.add(old)
                for new in zip(merged, merged[1:]):
                    pair_counts[new] += freq
                    where[new].add(w)
                    changed.add(new)
                words[w] = merged
            for p in changed:
                count = pair_counts[p]
                if count > 0:
                    heapq.heappush(heap, (-count, p))
                else:
                    del pair_counts[p]
        return cls(merges, special_tokens=special_tokens, pattern=pattern)

    # -- encoding and decoding -----------------------------------------------------------------------------
    @staticmethod
    def _utf8(text: str, where: str) -> bytes:
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate such as "\ud800": not valid Unicode text
            raise ValueError(f"ByteLevelBPETokenizer.{where}: the text holds {text[exc.start:exc.end]!r} at "
                             f"position {exc.start}, which cannot be encoded as UTF-8 (a lone surrogate)"
                             ) from None

    def _encode_piece(self, piece: str) -> list[int]:
        """One pre-token → ids: from its bytes, apply the earliest-learned merge present, repeat."""
        cached = self._cache.get(piece)
        if cached is not None:
            return cached
        ids = list(self._utf8(piece, "encode"))
        ranks = self.merge_ranks
        while len(ids) >= 2:
            pair = min(zip(ids, ids[1:]), key=lambda p: ranks.get(p, len(ranks)))
            rank = ranks.get(pair)
            if rank is None:
                break  # no learned merge applies any more
            ids = merge_pair(ids, pair, 256 + rank)
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[piece] = ids
        return ids

    def encode(self, text: str, split_special_tokens: bool = False) -> list[int]:
        """Text → ids.  Special-token strings become their ids unless ``split_special_tokens=True``."""
        if not isinstance(text, str):
            raise TypeError(f"ByteLevelBPETokenizer.encode: expected a str, got {type(text).__name__}")
        if self._special_split is not None and not split_special_tokens:
            parts = self._special_split.split(text)
        else:
            parts = [text]
        ids: list[int] = []
        for part in parts:
            special_id = None if split_special_tokens else self.special_tokens.get(part)
            if special_id is not None:
                ids.append(special_id)
                continue
            for piece in self._split.findall(part):
                ids.extend(self._encode_piece(piece))
        return ids

    def decode(self, ids: Iterable[int], errors: str = "replace") -> str:
        """Ids → text: concatenate the tokens' bytes and decode them as UTF-8.

        A slice of ids may end inside a multi-byte character; ``errors="replace"`` shows that as
        U+FFFD, ``errors="strict"`` raises.  Ids from ``encode`` always decode to the exact text.
        """
        return b"".join(self.token_bytes(i) for i in ids).decode("utf-8", errors=errors)

    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text`` as readable strings (bytes that are not whole characters are escaped)."""
        return [self.token_bytes(i).decode("utf-8", errors="backslashreplace") for i in self.encode(text)]

    # -- saving and loading (JSON, no pickle) --------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": _FORMAT, "version": _FORMAT_VERSION, "pattern": self.pattern,
                "special_tokens": list(self.special_tokens), "merges": [list(p) for p in self.merges]}

    def save(self, path: str | os.PathLike) -> None:
        """Write the tokenizer as JSON (the pattern, the merges in order, the special tokens)."""
        tmp = f"{os.fspath(path)}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ByteLevelBPETokenizer":
        """Read a tokenizer written by ``save``."""
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"ByteLevelBPETokenizer.load: {os.fspath(path)!r} is not a saved "
                             f"ByteLevelBPETokenizer (no format {_FORMAT!r})")
        if data.get("version") != _FORMAT_VERSION:
            raise ValueError(f"ByteLevelBPETokenizer.load: unsupported version {data.get('version')!r} "
                             f"(this code reads version {_FORMAT_VERSION})")
        return cls(data["merges"], special_tokens=data["special_tokens"], pattern=data["pattern"])
