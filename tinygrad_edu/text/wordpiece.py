"""WordPiece: BERT's sub-word tokenizer, with Hugging Face's ``BertTokenizer`` API.

**Why sub-words.**  A word-level vocabulary cannot hold every word (names, typos, rare inflections),
and a character-level one makes sequences long and meaningless per token.  WordPiece keeps a fixed
vocabulary (30,522 entries for BERT) of whole words *and* word pieces; a piece that continues a word is
written with a ``##`` prefix.  Any word can then be spelled from pieces:

    "unaffable"  →  ["una", "##ffa", "##ble"]          (with the MiniLM / BERT-uncased vocabulary)

**Greedy longest-match-first.**  To cut a word, take the longest prefix that is in the vocabulary,
then the longest ``##``-prefixed piece of the rest, and so on.  If at some point no piece matches, the
*whole word* becomes ``[UNK]`` (not just the failing part), and so does any word longer than
``max_input_chars_per_word`` (100) characters.

**The full pipeline** (``tokenize``):

1. special tokens written in the text (``[SEP]``, ``[MASK]``...) are split off and kept as they are;
2. ``BasicTokenizer`` (``basic_tokenizer.py``) turns the rest into words: clean, split CJK, lower-case,
   strip accents, split punctuation;
3. every word is cut into WordPiece tokens.

**Model inputs** (``__call__``): ``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]`` as ids, with
``token_type_ids`` (0 for the first segment incl. ``[CLS]`` and its ``[SEP]``, 1 for the second),
``attention_mask`` (1 for real tokens, 0 for ``[PAD]``), optional truncation and padding, and
``word_ids`` alignment for token classification.  Outputs equal Hugging Face's ``BertTokenizer``
(checked in ``tests/test_tokenizers.py``).

This file holds the vocabulary, the special tokens, loading and saving, text → tokens and ids → text;
the model-input methods (``__call__``, ``encode``, truncation, padding) are in ``bert_inputs.py``,
whose ``BertInputsMixin`` the tokenizer inherits.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Iterable, Sequence

from .basic_tokenizer import BasicTokenizer
from .bert_inputs import BertInputsMixin

__all__ = ["WordPieceTokenizer", "load_vocab"]


def load_vocab(path: str | os.PathLike) -> dict[str, int]:
    """Read a BERT ``vocab.txt``: one token per line, the line number (from 0) is the token's id."""
    with open(path, encoding="utf-8") as f:
        return {line.rstrip("\n"): index for index, line in enumerate(f)}


def clean_up_tokenization(text: str) -> str:
    """Undo the spaces that token joining puts before punctuation: ``"do n't ."`` → ``"don't."``."""
    for before, after in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                          (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        text = text.replace(before, after)
    return text


class WordPieceTokenizer(BertInputsMixin):
    """BERT's tokenizer: basic tokenization + greedy longest-match-first WordPiece (see module docstring).

    Args:
        vocab: path of a ``vocab.txt``, a ``{token: id}`` mapping, or a sequence of tokens (id = position).
        do_lower_case, tokenize_chinese_chars, strip_accents: passed to ``BasicTokenizer``.
        do_basic_tokenize: run the basic tokenizer first (BERT always does).
        never_split: extra words the basic tokenizer must keep whole.
        unk_token, sep_token, pad_token, cls_token, mask_token: the special tokens (must be in the vocab).
        max_input_chars_per_word: longer words become ``[UNK]``.
        model_max_length: the length ``truncation=True`` / ``padding="max_length"`` use when
            ``max_length`` is not given (512 for BERT).
        clean_up_tokenization_spaces: ``decode`` removes the space before punctuation (``" ."`` → ``"."``).

    >>> tok = WordPieceTokenizer.from_pretrained(folder_with_vocab_txt)          # doctest: +SKIP
    >>> enc = tok(["a first sentence", "a second one"], padding=True, return_tensors="np")  # doctest: +SKIP
    >>> enc["input_ids"].shape, enc["attention_mask"]                                # doctest: +SKIP
    """

    def __init__(self, vocab: str | os.PathLike | Mapping[str, int] | Sequence[str],
                 do_lower_case: bool = True, do_basic_tokenize: bool = True,
                 never_split: Iterable[str] | None = None, unk_token: str = "[UNK]", sep_token: str = "[SEP]",
                 pad_token: str = "[PAD]", cls_token: str = "[CLS]", mask_token: str = "[MASK]",
                 tokenize_chinese_chars: bool = True, strip_accents: bool | None = None,
                 max_input_chars_per_word: int = 100, model_max_length: int = 512,
                 clean_up_tokenization_spaces: bool = True):
        if isinstance(vocab, (str, os.PathLike)):
            if not os.path.isfile(vocab):
                raise FileNotFoundError(f"WordPieceTokenizer: no vocabulary file at {os.fspath(vocab)!r} "
                                        "(expected a BERT vocab.txt, one token per line)")
            vocab = load_vocab(vocab)
        elif isinstance(vocab, Mapping):
            vocab = dict(vocab)
        else:
            vocab = {token: index for index, token in enumerate(vocab)}
        if not vocab:
            raise ValueError("WordPieceTokenizer: the vocabulary is empty")
        self.vocab: dict[str, int] = vocab
        self.ids_to_tokens: dict[int, str] = {index: token for token, index in vocab.items()}
        self.unk_token, self.sep_token, self.pad_token = unk_token, sep_token, pad_token
        self.cls_token, self.mask_token = cls_token, mask_token
        missing = [t for t in self.all_special_tokens if t not in vocab]
        if missing:
            raise ValueError(f"WordPieceTokenizer: special tokens {missing} are not in the vocabulary "
                             f"({len(vocab)} tokens)")
        self.do_lower_case = bool(do_lower_case)
        self.do_basic_tokenize = bool(do_basic_tokenize)
        self.basic_tokenizer = BasicTokenizer(do_lower_case=do_lower_case, never_split=never_split,
                                              tokenize_chinese_chars=tokenize_chinese_chars,
                                              strip_accents=strip_accents)
        self.max_input_chars_per_word = int(max_input_chars_per_word)
        self.model_max_length = int(model_max_length)
        self.clean_up_tokenization_spaces = bool(clean_up_tokenization_spaces)
        # no piece is longer than the longest token, so longer candidates need not be tried
        self._longest_piece = max(len(t) for t in vocab)
        # special tokens written in the text are found by one regex, longest first ("[MASK]" before "[M")
        specials = sorted(set(self.all_special_tokens), key=len, reverse=True)
        self._special_pattern = re.compile("(" + "|".join(re.escape(t) for t in specials) + ")")
        self._cache: dict[str, list[str]] = {}

    # -- special tokens, HF-style attributes -------------------------------------------------------------
    @property
    def all_special_tokens(self) -> list[str]:
        """``[UNK] [SEP] [PAD] [CLS] [MASK]`` (the names configured for this tokenizer)."""
        return [self.unk_token, self.sep_token, self.pad_token, self.cls_token, self.mask_token]

    @property
    def all_special_ids(self) -> list[int]:
        return [self.vocab[t] for t in self.all_special_tokens]

    unk_token_id = property(lambda self: self.vocab[self.unk_token])
    sep_token_id = property(lambda self: self.vocab[self.sep_token])
    pad_token_id = property(lambda self: self.vocab[self.pad_token])
    cls_token_id = property(lambda self: self.vocab[self.cls_token])
    mask_token_id = property(lambda self: self.vocab[self.mask_token])

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def __len__(self) -> int:
        return len(self.vocab)

    def get_vocab(self) -> dict[str, int]:
        return dict(self.vocab)

    def __repr__(self) -> str:
        return (f"WordPieceTokenizer(vocab_size={self.vocab_size}, do_lower_case={self.do_lower_case}, "
                f"model_max_length={self.model_max_length})")

    # -- loading and saving -------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, **overrides) -> "WordPieceTokenizer":
        """Load ``folder/vocab.txt`` and the options of ``folder/tokenizer_config.json`` (if present).

        Keyword arguments override the config (``from_pretrained(path, do_lower_case=False)``).
        """
        folder = os.fspath(folder)
        vocab_file = os.path.join(folder, "vocab.txt")
        if not os.path.isfile(vocab_file):
            raise FileNotFoundError(f"WordPieceTokenizer.from_pretrained: {folder!r} has no vocab.txt")
        options: dict = {}
        config_file = os.path.join(folder, "tokenizer_config.json")
        if os.path.isfile(config_file):
            with open(config_file, encoding="utf-8") as f:
                config = json.load(f)
            for key in ("do_lower_case", "do_basic_tokenize", "never_split", "unk_token", "sep_token",
                        "pad_token", "cls_token", "mask_token", "tokenize_chinese_chars", "strip_accents",
                        "model_max_length", "clean_up_tokenization_spaces"):
                value = config.get(key)
                if isinstance(value, dict):  # special tokens may be saved as {"content": "[CLS]", ...}
                    value = value.get("content")
                if value is not None:
                    options[key] = value
            if options.get("model_max_length", 0) > 10**9:  # HF writes a huge int for "no limit"
                del options["model_max_length"]
        options.update(overrides)
        return cls(vocab_file, **options)

    def save_pretrained(self, folder: str | os.PathLike) -> tuple[str, str]:
        """Write ``vocab.txt`` and ``tokenizer_config.json`` so ``from_pretrained(folder)`` restores this."""
        folder = os.fspath(folder)
        os.makedirs(folder, exist_ok=True)
        vocab_file = os.path.join(folder, "vocab.txt")
        ids = sorted(self.ids_to_tokens)
        if ids != list(range(len(ids))):
            raise ValueError("WordPieceTokenizer.save_pretrained: the vocabulary ids are not 0..n-1, "
                             "so they cannot be written as line numbers of vocab.txt")
        with open(vocab_file, "w", encoding="utf-8") as f:
            f.writelines(self.ids_to_tokens[i] + "\n" for i in ids)
        config = {"tokenizer_class": "BertTokenizer", "do_lower_case": self.do_lower_case,
                  "do_basic_tokenize": self.do_basic_tokenize,
                  "never_split": sorted(self.basic_tokenizer.never_split) or None,
                  "unk_token": self.unk_token, "sep_token": self.sep_token, "pad_token": self.pad_token,
                  "cls_token": self.cls_token, "mask_token": self.mask_token,
                  "tokenize_chinese_chars": self.basic_tokenizer.tokenize_chinese_chars,
                  "strip_accents": self.basic_tokenizer.strip_accents,
                  "model_max_length": self.model_max_length,
                  "clean_up_tokenization_spaces": self.clean_up_tokenization_spaces}
        config_file = os.path.join(folder, "tokenizer_config.json")
        with open(config_file, "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2)
        return vocab_file, config_file

    # -- text -> tokens -----------------------------------------------------------------------------------
    def wordpiece(self, word: str) -> list[str]:
        """Cut ONE word into vocabulary pieces, greedy longest-match-first; ``[UNK]`` if impossible.

        ``"unaffable"`` with BERT's uncased vocabulary: the longest prefix in the vocabulary is ``"una"``; of
        ``"ffable"`` the longest ``##`` piece is ``"##ffa"``; then ``"##ble"`` →
        ``["una", "##ffa", "##ble"]``.
        (Greedy, so not always the split a linguist would choose.)
        """
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        if len(word) > self.max_input_chars_per_word:
            pieces = [self.unk_token]
        else:
            pieces = []
            start = 0
            while start < len(word):
                end = min(len(word), start + self._longest_piece)
                while end > start:
                    piece = word[start:end] if start == 0 else "##" + word[start:end]
                    if piece in self.vocab:
                        break
                    end -= 1
                if end == start:  # no piece matches: the whole word is unknown
                    pieces = [self.unk_token]
                    break
                pieces.append(piece)
                start = end
        if len(self._cache) > 200_000:
            self._cache.clear()
        self._cache[word] = pieces
        return pieces

    def tokenize_words(self, text: str) -> list[list[str]]:
        """The words of ``text`` (special tokens, then basic tokenization), each as its WordPiece tokens."""
        if not isinstance(text, str):
            raise TypeError(f"WordPieceTokenizer: expected text as a str, got {type(text).__name__}")
        words: list[list[str]] = []
        for chunk in self._special_pattern.split(text):
            if not chunk:
                continue
            if chunk in self.vocab and chunk in self.all_special_tokens:
                words.append([chunk])
            elif self.do_basic_tokenize:
                words.extend(self.wordpiece(w) for w in self.basic_tokenizer.tokenize(chunk))
            else:
                words.extend(self.wordpiece(w) for w in chunk.split())
        return words

    def tokenize(self, text: str) -> list[str]:
        """``"Unaffable, isn't it?"`` → ``['una', '##ff', '##able', ',', 'isn', "'", 't', 'it', '?']``."""
        return [piece for word in self.tokenize_words(text) for piece in word]

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> int | list[int]:
        """Token(s) to id(s); a token outside the vocabulary maps to ``unk_token_id`` (as in HF)."""
        unk = self.unk_token_id
        if isinstance(tokens, str):
            return self.vocab.get(tokens, unk)
        return [self.vocab.get(t, unk) for t in tokens]

    def convert_ids_to_tokens(self, ids: int | Sequence[int], skip_special_tokens: bool = False
                              ) -> str | list[str]:
        """Id(s) to token(s); an id outside ``0 .. vocab_size-1`` raises a ValueError naming it."""
        single = not isinstance(ids, (list, tuple)) and getattr(ids, "ndim", 0) == 0
        id_list = [ids] if single else list(ids)
        special = set(self.all_special_ids) if skip_special_tokens else set()
        tokens = []
        for i in id_list:
            i = int(i)
            if i not in self.ids_to_tokens:
                raise ValueError(f"WordPieceTokenizer.convert_ids_to_tokens: id {i} is not in the vocabulary "
                                 f"(ids 0..{self.vocab_size - 1})")
            if i not in special:
                tokens.append(self.ids_to_tokens[i])
        if single:
            return tokens[0] if tokens else ""
        return tokens

    # -- ids -> text -------------------------------------------------------------------------------------
    def convert_tokens_to_string(self, tokens: Sequence[str]) -> str:
        """Join tokens with spaces and glue ``##`` pieces to the piece before: ``un ##aff`` → ``unaff``."""
        return " ".join(tokens).replace(" ##", "").strip()

    def decode(self, ids, skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: bool | None = None) -> str:
        """Ids back to text: ``##`` pieces are joined, special tokens kept (or dropped if asked).

        Lower-casing, accent stripping and the exact spacing are not recoverable, so ``decode(encode(s))``
        is a normalised ``s`` (``"Héllo , World"`` → ``"[CLS] hello, world [SEP]"``).
        """
        if getattr(ids, "ndim", 1) == 0 or isinstance(ids, int):
            ids = [ids]
        tokens = self.convert_ids_to_tokens(list(ids), skip_special_tokens=skip_special_tokens)
        specials = set(self.all_special_tokens)
        parts, run = [], []
        for token in tokens:  # special tokens stand alone; runs of ordinary tokens are joined
            if token in specials:
                if run:
                    parts.append(self.convert_tokens_to_string(run))
                    run = []
                parts.append(token)
            else:
                run.append(token)
        if run:
            parts.append(self.convert_tokens_to_string(run))
        text = " ".join(parts)
        clean = self.clean_up_tokenization_spaces if clean_up_tokenization_spaces is None \
            else clean_up_tokenization_spaces
        return clean_up_tokenization(text) if clean else text

    def batch_decode(self, sequences, skip_special_tokens: bool = False,
                     clean_up_tokenization_spaces: bool | None = None) -> list[str]:
        """``decode`` for each row of a batch."""
        return [self.decode(s, skip_special_tokens, clean_up_tokenization_spaces) for s in sequences]
