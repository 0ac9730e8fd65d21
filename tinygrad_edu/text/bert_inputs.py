"""BERT's model inputs from WordPiece tokens: the part of ``WordPieceTokenizer`` that turns text into
``input_ids``, ``token_type_ids`` and ``attention_mask`` (Hugging Face's ``tokenizer(...)``).

``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]`` as ids; ``token_type_ids`` 0 for the first segment
(with ``[CLS]`` and its ``[SEP]``) and 1 for the second; truncation to ``max_length`` as Hugging Face
does it (``longest_first``, ``only_first``, ``only_second``); padding on the right with ``[PAD]``;
and the ``word_ids`` / ``sequence_ids`` alignment a token classifier needs (in the returned
``BatchEncoding``, ``encoding.py``).

``BertInputsMixin`` holds these methods; ``WordPieceTokenizer`` (``wordpiece.py``) inherits them and
supplies what they use: the vocabulary, the special tokens' ids, ``tokenize_words`` and
``model_max_length``.
"""
from __future__ import annotations

from .encoding import BatchEncoding

_TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second", "do_not_truncate")
_PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")


class BertInputsMixin:
    """The model-input methods of ``WordPieceTokenizer`` (``__call__``, ``encode`` and their helpers);
    see the module docstring.  Not used on its own."""

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
