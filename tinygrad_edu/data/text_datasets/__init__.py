"""Text data sets for the transformer chapter: a character corpus, two sentiment sets and two NER sets.

=================  ===========================================  =====================================
class              task                                          an item
=================  ===========================================  =====================================
TinyShakespeare    character-level language modelling (GPT)    ``(x, y)`` int64 windows, y = x shifted
SST2               binary sentiment of movie-review sentences   ``(sentence, label)``
RTPolarity         binary sentiment of movie-review snippets    ``(sentence, label)``
CoNLL2003          named entities (PER, LOC, ORG, MISC), news   ``(tokens, ner_tags)``, BIO tags
WNUT17             named entities (6 types), noisy web text      ``(tokens, ner_tags)``, BIO tags
=================  ===========================================  =====================================

Where the files are looked for, in order (the same rule as MNIST and CIFAR-10):

1. ``root=`` if you pass it: the files in ``root`` itself or in ``root/<name>`` (``root/sst2`` …);
   with ``download=True`` missing files are downloaded into ``root/<name>``.
2. ``$TINYGRAD_EDU_DATA/<name>/`` (the staged copy the tests and CI use).
3. The cache ``$TINYGRAD_EDU_CACHE/<name>`` (default ``~/.cache/tinygrad_edu/<name>``), filled on first
   use by a verified download.

Downloads come from the public GitHub repositories the staged copies were taken from, pinned to the
commit named in the data README (``raw.githubusercontent.com/<repo>/<commit>/<path>``), and are written
through :func:`tinygrad_edu.data.download.download`: temp file, SHA-256 check, then rename.  Every file
found on disk is also checked against its SHA-256 before it is read (``verify=False`` skips that), so a
damaged or different file gives a :class:`ChecksumError` naming it instead of silently different data.

Where the parts live (every name is importable from here: ``data.text_datasets.SST2``):

==================  =========================================================================
``files.py``        the lookup and the checks every set shares: ``find_files``,
                    ``verify_file``, ``read_text``, ``check_split``, the error classes
``shakespeare.py``  ``TinyShakespeare`` and where its file comes from
``sentiment.py``    ``SST2``, ``RTPolarity`` (sentence classification) and ``parse_sst2_tsv``
``ner.py``          ``CoNLL2003``, ``WNUT17`` (token classification), their parsers and
                    ``iob1_to_bio``
==================  =========================================================================
"""
from ..download import ChecksumError, DownloadError  # noqa: F401  (the errors the loaders raise)
from .files import (TextDatasetNotFoundError, TextFormatError, check_split, find_files,  # noqa: F401
                    read_text, verify_file)
from .ner import (CONLL2003_SOURCE, WNUT17_SOURCE, WNUT17, CoNLL2003, iob1_to_bio,  # noqa: F401
                  parse_conll2003, parse_wnut17)
from .sentiment import RT_POLARITY_SOURCE, SST2, SST2_SOURCE, RTPolarity, parse_sst2_tsv  # noqa: F401
from .shakespeare import TINYSHAKESPEARE, TinyShakespeare  # noqa: F401
