"""Sentence classification (is a movie-review sentence negative or positive?): ``SST2`` and
``RTPolarity``, the SST-2 TSV parser, and where their files come from.

Finding, verifying and reading the files is ``files.py``'s job; the NER sets are in ``ner.py``.
"""
import numpy as np

from ..dataset import Dataset
from .files import _RAW, TextFormatError, _Source, check_split, find_files, read_text


# Where the files come from: folder name, each file's SHA-256, the pinned mirror (see files.py).
SST2_SOURCE = _Source(
    "sst2",
    {"train.tsv": ("e981ceb4fe6c9acd1c79851d0d091b9e78103f1f2a399ca83dda27915d41c56c",    # CRLF original
                   "dc4a10637729af71aeb11f573482b10031ba7ffe53159403599d06759e484e30"),   # staged, LF
     "dev.tsv": ("84207e6be5873fb18db798cc6faec86871f5a426554650ff64a1c34e87665f6f",),
     "test.tsv": ("fcd46f967b7b8efd8b5398481dadf873886298d092195167af907fd532e81e1c",)},
    _RAW + "awake020/pytorch_Bert_sst2/ce2ab1719d32182e6233b24b2de246bd32814fde/SST-2/",
    "TINYGRAD_EDU_SST2_MIRRORS")
RT_POLARITY_SOURCE = _Source(
    "rt-polarity",
    {"rt-polarity.pos": ("4134882974a28d0c7b5151256f0e33a6169984ee7372c279e673f1114f475d58",),
     "rt-polarity.neg": ("2d11cfbc790f1cd96d78339f41ce53ced1efa83cd22d37d6788fa3fe3d17e2fd",)},
    _RAW + "dennybritz/cnn-text-classification-tf/18762b459e21d9c70e5c242f8d43fc4e6db37a0d/"
           "data/rt-polaritydata/",
    "TINYGRAD_EDU_RT_POLARITY_MIRRORS")


class _SentenceClassification(Dataset):
    """Shared shape of SST-2 and RT-polarity: ``.sentences`` (list of str) and ``.labels`` (list of int,
    0 = negative, 1 = positive, -1 = not labelled); ``ds[i] -> (sentence, label)``."""

    classes = ["negative", "positive"]
    num_classes = 2

    def __len__(self):
        return len(self.sentences)

    def __getitem__(self, index):
        return self.sentences[index], self.labels[index]

    def __repr__(self):
        return f"{type(self).__name__}(split={self.split!r}, n={len(self)})"


def parse_sst2_tsv(text, source="<text>"):
    """``(sentences, labels)`` of an SST-2 TSV file: a header row naming the columns, then one row per
    example.  The text column is ``sentence`` (train) or ``content`` (this copy's dev and test); the
    ``label`` column (0/1) may be missing, as in GLUE's unlabelled test file, and then every label is -1."""
    lines = text.split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise TextFormatError(f"{source}: empty file, expected a header row 'label<TAB>sentence'")
    header = lines[0].split("\t")
    text_column = next((c for c in ("sentence", "content") if c in header), None)
    if text_column is None:
        raise TextFormatError(f"{source}: header {header} has no 'sentence' or 'content' column")
    text_at = header.index(text_column)
    label_at = header.index("label") if "label" in header else None
    sentences, labels = [], []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(header):
            raise TextFormatError(f"{source}:{number}: {len(fields)} tab-separated fields, expected "
                                  f"{len(header)} ({', '.join(header)})")
        if label_at is None:
            labels.append(-1)
        elif fields[label_at] in ("0", "1"):
            labels.append(int(fields[label_at]))
        else:
            raise TextFormatError(f"{source}:{number}: label {fields[label_at]!r} is not 0 or 1")
        sentences.append(fields[text_at])
    return sentences, labels


class SST2(_SentenceClassification):
    """SST-2, the binary Stanford Sentiment Treebank (Socher et al., 2013) as in GLUE: is a movie-review
    sentence negative (0) or positive (1)?  Text is lower-cased and tokenised, tokens joined by spaces.

    Splits (the staged counts): ``"train"`` 67,349 phrases and sentences (GLUE's train set),
    ``"validation"`` (alias ``"dev"``) 872 sentences (GLUE's dev set, the split papers report),
    ``"test"`` 1,821 sentences.  The staged test file is the **labelled** SST-2 test split (GLUE hides
    those labels); a GLUE-style test file without a ``label`` column loads with every label -1.

    ``ds[i] -> (sentence, label)``; ``.sentences``, ``.labels`` hold the whole split.
    """

    splits = ("train", "validation", "test")
    files = {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv"}

    def __init__(self, root=None, split="train", download=True, mirrors=None, verify=True):
        self.split = check_split("SST2", split, self.splits, aliases={"dev": "validation"})
        (path,) = find_files(SST2_SOURCE, [self.files[self.split]], root, download, mirrors)
        self.sentences, self.labels = parse_sst2_tsv(read_text(path, SST2_SOURCE, verify), path)


class RTPolarity(_SentenceClassification):
    """Sentence polarity data set v1.0 (Pang & Lee, 2005; "MR"): 5,331 positive and 5,331 negative
    movie-review snippets, lower-cased and tokenised.  Label 1 = positive, 0 = negative.

    There is no official split; papers report 10-fold cross-validation.  ``split="all"`` gives the
    10,662 snippets (positives first, in file order).  ``split="train"``/``"test"`` give one fold of a
    fixed 10-fold split: the indices are shuffled with ``numpy.random.default_rng(seed)`` and cut into
    ``num_folds`` nearly equal parts (``np.array_split``); part ``fold`` is the test set and the rest the
    training set, both kept in file order.  With the defaults (fold 0 of 10, seed 0) that is 1,067 test
    and 9,595 training snippets; the ten test folds together cover every snippet exactly once.
    """

    splits = ("all", "train", "test")
    files = ("rt-polarity.pos", "rt-polarity.neg")

    def __init__(self, root=None, split="all", fold=0, num_folds=10, seed=0, download=True, mirrors=None,
                 verify=True):
        self.split = check_split("RTPolarity", split, self.splits)
        if not (isinstance(num_folds, (int, np.integer)) and num_folds >= 2):
            raise ValueError(f"RTPolarity: num_folds must be an integer >= 2, got {num_folds!r}")
        if not (isinstance(fold, (int, np.integer)) and 0 <= fold < num_folds):
            raise ValueError(f"RTPolarity: fold must be an integer in [0, {num_folds}), got {fold!r}")
        self.fold, self.num_folds, self.seed = int(fold), int(num_folds), seed
        pos_path, neg_path = find_files(RT_POLARITY_SOURCE, list(self.files), root, download, mirrors)
        positives = read_text(pos_path, RT_POLARITY_SOURCE, verify).splitlines()
        negatives = read_text(neg_path, RT_POLARITY_SOURCE, verify).splitlines()
        sentences = [s.strip() for s in positives + negatives]
        labels = [1] * len(positives) + [0] * len(negatives)
        keep = self.fold_indices(len(sentences))
        self.sentences = [sentences[i] for i in keep]
        self.labels = [labels[i] for i in keep]

    def fold_indices(self, n):
        """The sorted indices (into the ``n`` snippets) that this split keeps."""
        if self.split == "all":
            return np.arange(n)
        shuffled = np.random.default_rng(self.seed).permutation(n)
        test = np.sort(np.array_split(shuffled, self.num_folds)[self.fold])
        return test if self.split == "test" else np.setdiff1d(np.arange(n), test)
