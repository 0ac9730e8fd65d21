"""``BatchEncoding``: what a tokenizer call returns — a dict of model inputs plus token alignment.

It behaves like Hugging Face's ``BatchEncoding``: a ``dict`` (``enc["input_ids"]``, ``**enc`` into a
model, ``enc.keys()``) whose keys are also attributes (``enc.input_ids``), and which remembers, for every
token, which input *word* and which *sequence* (first or second text of a pair) it came from:

    enc = tok(["EU", "rejects", "German", "call"], is_split_into_words=True)
    enc.word_ids()   # [None, 0, 1, 2, 3, None]   (None: [CLS]/[SEP]/[PAD])

``word_ids`` is what token-classification (NER) needs: a word split into several WordPiece tokens gets
its label on the first piece and ``-100`` (ignored by the loss) on the rest.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["BatchEncoding"]


class BatchEncoding(dict):
    """A dict of model inputs (``input_ids``, ``token_type_ids``, ``attention_mask``...) with alignment.

    Args:
        data: the model inputs; lists (one example) or lists of lists (a batch).
        word_ids: per example, the word index of each token (``None`` for special/padding tokens).
        sequence_ids: per example, ``0``/``1`` for tokens of the first/second text, ``None`` otherwise.
        is_batched: whether ``data`` holds a batch (a list of examples) or a single example.
    """

    def __init__(self, data: dict[str, Any], word_ids: list[list[int | None]] | None = None,
                 sequence_ids: list[list[int | None]] | None = None, is_batched: bool = True):
        super().__init__(data)
        self._word_ids = word_ids
        self._sequence_ids = sequence_ids
        self.is_batched = is_batched

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"BatchEncoding has no field {name!r}; fields: {list(self)}") from None

    def _alignment(self, table, what: str, batch_index: int) -> list[int | None]:
        if table is None:
            raise ValueError(f"BatchEncoding.{what}: no alignment was recorded for this encoding")
        if not -len(table) <= batch_index < len(table):
            raise IndexError(f"BatchEncoding.{what}: batch_index {batch_index} out of range for a batch "
                             f"of {len(table)} example(s)")
        return list(table[batch_index])

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """For each token of example ``batch_index``: the index of the word it came from, or ``None``.

        Words are the items of the input list with ``is_split_into_words=True``, and otherwise the
        words of BERT's basic tokenizer (punctuation marks are words of their own).  In a text pair
        the second text's words are counted from 0 again (use ``sequence_ids`` to tell them apart).
        """
        return self._alignment(self._word_ids, "word_ids", batch_index)

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """For each token: 0 (first text), 1 (second text of a pair) or ``None`` (special/padding)."""
        return self._alignment(self._sequence_ids, "sequence_ids", batch_index)

    def convert_to_tensors(self, tensor_type: str | None) -> "BatchEncoding":
        """Turn every field into an int64 NumPy array (``"np"``) or tinygrad_edu tensor (``"tg"``), in place.

        All examples must have the same length (pad them first), as in Hugging Face.
        """
        if tensor_type is None:
            return self
        if tensor_type not in ("np", "tg"):
            raise ValueError(f"BatchEncoding: return_tensors must be None, 'np' or 'tg', got {tensor_type!r}")
        for key, value in self.items():
            if self.is_batched and len({len(row) for row in value}) > 1:
                lengths = sorted({len(row) for row in value})
                raise ValueError(f"BatchEncoding: cannot make a {tensor_type!r} tensor of {key!r}: the "
                                 f"examples have different lengths {lengths}; pass padding=True "
                                 "(or 'max_length')")
            array = np.asarray(value, dtype=np.int64)
            if tensor_type == "tg":
                from ..creation import from_numpy  # the engine, imported only when asked for
                array = from_numpy(array)
            self[key] = array
        return self
