"""Text: tokenizers for the transformer models (and NER metrics).

* ``CharTokenizer`` — one token per character (mini-GPT on Shakespeare);
* ``ByteLevelBPETokenizer`` — GPT-2-style byte-level BPE, trainable, round-trips any text;
* ``WordPieceTokenizer`` (+ ``BasicTokenizer``) — BERT's tokenizer, loads a ``vocab.txt``, with
  Hugging Face's ``BertTokenizer`` API and outputs;
* ``BatchEncoding`` — what a WordPiece call returns (a dict with ``word_ids()`` alignment);
* ``entity_f1``, ``get_entities``, ``classification_report`` — entity-level NER scores (``ner_metrics.py``).
"""
from .basic_tokenizer import BasicTokenizer  # noqa: F401
from .bpe import ByteLevelBPETokenizer, GPT2_SPLIT_PATTERN  # noqa: F401
from .char_tokenizer import CharTokenizer  # noqa: F401
from .encoding import BatchEncoding  # noqa: F401
from .wordpiece import WordPieceTokenizer  # noqa: F401
from .ner_metrics import classification_report, entity_f1, get_entities  # noqa: F401

__all__ = ["BasicTokenizer", "BatchEncoding", "ByteLevelBPETokenizer", "CharTokenizer", "GPT2_SPLIT_PATTERN",
           "WordPieceTokenizer", "classification_report", "entity_f1", "get_entities"]
