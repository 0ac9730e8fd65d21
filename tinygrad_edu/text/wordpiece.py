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
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Iterable, Sequence

from .basic_tokenizer import BasicTokenizer
from .encoding import BatchEncoding

__all__ = ["WordPieceTokenizer", "load_vocab"]

_TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second", "do_not_truncate")
_PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")


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


class WordPieceTokenizer:
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

    # -- building model inputs -------------------------------------------------------------------------------
    def build_inputs_with_special_tokens(self, ids_0: list[int], ids_1: list[int] | None = None) -> list[int]:
        """``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``."""
        if ids_1 is None:
            return [self.cls_token_id] + ids_0 + [self.sep_token_id]
        return [self.cls_token_id] + ids_0 + [self.sep_token_id] + ids_1 + [self.sep_token_id]

    def create_token_type_ids_from_sequences(self, ids_0: list[int], ids_1: list[int] | None = None
                                             ) -> list[int]:
        """0 for ``[CLS] A [SEP]``, 1 for ``B [SEP]`` (the segment embedding BERT adds)."""
        first = [0] * (len(ids_0) + 2)
        return first if ids_1 is None else first + [1] * (len(ids_1) + 1)

    @staticmethod
    def _truncate(first: list, second: list | None, to_remove: int, strategy: str
                  ) -> tuple[list, list | None]:
        """Remove ``to_remove`` tokens from the end(s), as Hugging Face does.

        ``longest_first`` on a pair, with ``budget = len(first) + len(second) - to_remove``: if the
        shorter sequence fits in half the budget it is kept and the longer one is cut to the rest;
        otherwise both are cut to half the budget, the longer one (the second, on a tie) getting the odd
        token.  This is the rule of HF's Rust ``BertTokenizerFast`` (and of ``BertTokenizer`` in
        transformers 5).  The old pure-Python ``BertTokenizer`` (and Google's original BERT code) pop
        one token at a time from the longer sequence, which differs only when both are cut and the
        budget is odd (there the first sequence keeps the odd token).  ``only_first`` /
        ``only_second`` take every token from one sequence.
        """
        if to_remove <= 0:
            return first, second
        if strategy == "longest_first" and second is not None:
            budget = len(first) + len(second) - to_remove
            short, long = sorted((len(first), len(second)))
            if short <= budget - short:
                short_keep, long_keep = short, budget - short
            else:
                short_keep, long_keep = budget // 2, budget - budget // 2
            if len(first) > len(second):
                return first[:long_keep], second[:short_keep]
            return first[:short_keep], second[:long_keep]
        if strategy == "only_second":
            if second is None or len(second) < to_remove:
                raise ValueError(f"WordPieceTokenizer: truncation='only_second' must remove {to_remove} "
                                 f"tokens but the second sequence has "
                                 f"{0 if second is None else len(second)}; "
                                 "use truncation='longest_first' or a larger max_length")
            return first, second[:len(second) - to_remove]
        # only_first, or longest_first of a single sequence
        if len(first) < to_remove:
            raise ValueError(f"WordPieceTokenizer: truncation={strategy!r} must remove {to_remove} tokens "
                             f"but the first sequence has {len(first)}; use 'longest_first' or a larger "
                             "max_length")
        return first[:len(first) - to_remove], second

    def _words_of(self, text, is_split_into_words: bool, where: str) -> list[list[str]]:
        if is_split_into_words:
            if isinstance(text, str) or not all(isinstance(w, str) for w in text):
                raise TypeError(f"WordPieceTokenizer: with is_split_into_words=True each {where} must be a "
                                f"list of word strings, got {type(text).__name__}")
            # each given word is tokenized on its own; all its pieces belong to that word
            return [[p for piece in self.tokenize_words(w) for p in piece] for w in text]
        if not isinstance(text, str):
            raise TypeError(f"WordPieceTokenizer: each {where} must be a str, got {type(text).__name__} "
                            "(pass is_split_into_words=True for lists of words)")
        return self.tokenize_words(text)

    def _encode_one(self, text, text_pair, add_special_tokens: bool, truncation: str, max_length: int | None,
                    is_split_into_words: bool):
        """One example → (ids, token_type_ids, special_tokens_mask, word_ids, sequence_ids)."""
        seqs = []
        for which, t in enumerate((text, text_pair)):
            if t is None:
                seqs.append(None)
                continue
            words = self._words_of(t, is_split_into_words, "text" if which == 0 else "text_pair")
            ids = [self.vocab[p] for p in (p for w in words for p in w)]
            word_ids = [i for i, w in enumerate(words) for _ in w]
            seqs.append((ids, word_ids))
        first, second = seqs
        if truncation != "do_not_truncate" and max_length is not None:
            n_special = (3 if second is not None else 2) if add_special_tokens else 0
            if max_length < n_special:
                raise ValueError(f"WordPieceTokenizer: max_length={max_length} leaves no room for the "
                                 f"{n_special} special tokens")
            total = len(first[0]) + (len(second[0]) if second is not None else 0)
            to_remove = total + n_special - max_length
            # truncate the (id, word id) pairs together so the alignment stays right
            pairs_2 = None if second is None else list(zip(*second))
            pairs_1, pairs_2 = self._truncate(list(zip(*first)), pairs_2, to_remove, truncation)
            first = ([p[0] for p in pairs_1], [p[1] for p in pairs_1])
            if second is not None:
                second = ([p[0] for p in pairs_2], [p[1] for p in pairs_2])
        ids_0, words_0 = first
        ids_1, words_1 = second if second is not None else (None, None)
        if add_special_tokens:
            ids = self.build_inputs_with_special_tokens(ids_0, ids_1)
            types = self.create_token_type_ids_from_sequences(ids_0, ids_1)
            special = [1] + [0] * len(ids_0) + [1]
            word_ids = [None] + words_0 + [None]
            seq_ids = [None] + [0] * len(ids_0) + [None]
            if ids_1 is not None:
                special += [0] * len(ids_1) + [1]
                word_ids += words_1 + [None]
                seq_ids += [1] * len(ids_1) + [None]
        else:
            ids = ids_0 + (ids_1 or [])
            types = [0] * len(ids_0) + [1] * len(ids_1 or [])
            special = [0] * len(ids)
            word_ids = words_0 + (words_1 or [])
            seq_ids = [0] * len(ids_0) + [1] * len(ids_1 or [])
        return ids, types, special, word_ids, seq_ids

    def __call__(self, text, text_pair=None, add_special_tokens: bool = True, padding: bool | str = False,
                 truncation: bool | str | None = None, max_length: int | None = None,
                 is_split_into_words: bool = False, return_tensors: str | None = None,
                 return_token_type_ids: bool = True, return_attention_mask: bool = True,
                 return_special_tokens_mask: bool = False) -> BatchEncoding:
        """Tokenize one text or a batch into model inputs (Hugging Face's ``tokenizer(...)``).

        Args:
            text: a str, or a list of str (a batch); with ``is_split_into_words=True``, a list of words
                (one example) or a list of lists of words (a batch).
            text_pair: the second text(s) of sentence pairs, in the same form as ``text``.
            padding: ``False``/``"do_not_pad"``; ``True``/``"longest"`` (to the longest example);
                ``"max_length"`` (to ``max_length``, or ``model_max_length``).  Padding is on the right with
                ``[PAD]``, ``token_type_id`` 0 and ``attention_mask`` 0.
            truncation: ``True``/``"longest_first"``, ``"only_first"``, ``"only_second"``, or
                ``False``/``"do_not_truncate"``.  Left at ``None``, a ``max_length`` given without padding
                turns on ``longest_first`` (as in HF).
            max_length: the length, special tokens included, to truncate/pad to.
            return_tensors: ``None`` (lists), ``"np"`` (int64 arrays) or ``"tg"`` (tinygrad_edu tensors).

        Returns:
            a ``BatchEncoding`` with ``input_ids``, ``token_type_ids``, ``attention_mask`` (and
            ``special_tokens_mask`` if asked), plus ``word_ids(i)`` / ``sequence_ids(i)``.
        """
        # -- is this one example or a batch? --------------------------------------------------------------
        if is_split_into_words:
            batched = isinstance(text, (list, tuple)) and len(text) > 0 and isinstance(text[0], (list, tuple))
        else:
            batched = isinstance(text, (list, tuple))
        texts = list(text) if batched else [text]
        if text_pair is None:
            pairs = [None] * len(texts)
        else:
            pairs = list(text_pair) if batched else [text_pair]
            if len(pairs) != len(texts):
                raise ValueError(f"WordPieceTokenizer: got {len(texts)} texts but {len(pairs)} text_pairs")
        # -- options, as Hugging Face resolves them ---------------------------------------------------------
        if padding is True:
            padding = "longest"
        elif padding is False:
            padding = "do_not_pad"
        if padding not in _PADDING_STRATEGIES:
            raise ValueError(f"WordPieceTokenizer: padding must be True, False or one of "
                             f"{_PADDING_STRATEGIES}, got {padding!r}")
        if truncation is None:
            truncation = "longest_first" if (max_length is not None and padding == "do_not_pad") else False
        if truncation is True:
            truncation = "longest_first"
        elif truncation is False:
            truncation = "do_not_truncate"
        if truncation not in _TRUNCATION_STRATEGIES:
            raise ValueError(f"WordPieceTokenizer: truncation must be True, False or one of "
                             f"{_TRUNCATION_STRATEGIES}, got {truncation!r}")
        if max_length is None and (truncation != "do_not_truncate" or padding == "max_length"):
            max_length = self.model_max_length
        # -- encode every example, then pad ---------------------------------------------------------------
        rows = [self._encode_one(t, p, add_special_tokens, truncation, max_length, is_split_into_words)
                for t, p in zip(texts, pairs)]
        if padding == "longest":
            pad_to = max((len(r[0]) for r in rows), default=0)
        elif padding == "max_length":
            pad_to = max_length
        else:
            pad_to = 0
        out = {"input_ids": [], "token_type_ids": [], "attention_mask": [], "special_tokens_mask": []}
        all_word_ids, all_seq_ids = [], []
        for ids, types, special, word_ids, seq_ids in rows:
            n_pad = max(0, pad_to - len(ids))
            out["input_ids"].append(ids + [self.pad_token_id] * n_pad)
            out["token_type_ids"].append(types + [0] * n_pad)
            out["attention_mask"].append([1] * len(ids) + [0] * n_pad)
            out["special_tokens_mask"].append(special + [1] * n_pad)
            all_word_ids.append(word_ids + [None] * n_pad)
            all_seq_ids.append(seq_ids + [None] * n_pad)
        for key, wanted in (("token_type_ids", return_token_type_ids),
                            ("attention_mask", return_attention_mask),
                            ("special_tokens_mask", return_special_tokens_mask)):
            if not wanted:
                del out[key]
        if not batched:
            out = {key: value[0] for key, value in out.items()}
        encoding = BatchEncoding(out, all_word_ids, all_seq_ids, is_batched=batched)
        return encoding.convert_to_tensors(return_tensors)

    def encode(self, text, text_pair=None, add_special_tokens: bool = True, padding: bool | str = False,
               truncation: bool | str | None = None, max_length: int | None = None,
               is_split_into_words: bool = False) -> list[int]:
        """The ``input_ids`` of one example: ``tok.encode("hello world")`` → ``[101, 7592, 2088, 102]``."""
        if not is_split_into_words and not isinstance(text, str):
            raise TypeError(f"WordPieceTokenizer.encode: encodes ONE text (a str), got "
                            f"{type(text).__name__}; call the tokenizer itself for a batch")
        return self(text, text_pair, add_special_tokens=add_special_tokens, padding=padding,
                    truncation=truncation, max_length=max_length,
                    is_split_into_words=is_split_into_words)["input_ids"]

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
