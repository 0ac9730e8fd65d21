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
"""
import os
import re

import numpy as np

from .dataset import Dataset
from .download import ChecksumError, DownloadError, search_folders, sha256_of
from .download import download as download_file

_RAW = "https://raw.githubusercontent.com/"


class TextDatasetNotFoundError(FileNotFoundError):
    """A text data set's files are in none of the places looked at and could not be downloaded."""


class TextFormatError(ValueError):
    """A text data set's file does not have the expected layout."""


class _Source:
    """Where one data set lives: its folder name, its files with their SHA-256, and its mirrors.

    ``files`` maps a file name to a tuple of accepted SHA-256 digests: the **first** is the file exactly
    as the mirror serves it (what a download must match); any others are known-good local variants
    (the staged SST-2 ``train.tsv`` had its CRLF line ends turned into LF)."""

    def __init__(self, subdir, files, mirror, env):
        self.subdir, self.files, self.mirror, self.env = subdir, files, mirror, env

    def mirrors(self, override=None):
        if override is not None:
            return tuple(override)
        env = os.environ.get(self.env)
        return tuple(env.split()) if env else (self.mirror,)


TINYSHAKESPEARE = _Source(
    "tinyshakespeare",
    {"input.txt": ("86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",)},
    _RAW + "karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/",
    "TINYGRAD_EDU_TINYSHAKESPEARE_MIRRORS")
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
CONLL2003_SOURCE = _Source(
    "conll2003",
    {"eng.train": ("eac0822f501353f265383ddf1edb0dcd42a1b6eefd3e383d7074db98c38eb41c",),
     "eng.testa": ("aedc4ccbd1ae9795feaa0e86fe72d195b0258abed9d705b630d1c889276fac1e",),
     "eng.testb": ("0632f32c090ef31c223135b7fee3187a7cf8e65c4015c7866bb7783428cdd9a6",)},
    _RAW + "suryasumukh/conll-ner/18d3e43a09247adaa9ec088485a087d5ffa758a6/data/",
    "TINYGRAD_EDU_CONLL2003_MIRRORS")
WNUT17_SOURCE = _Source(
    "wnut17",
    {"wnut17train.conll": ("731820e13f71af324c6b55a1575ec2ce59fbaa2a0806f8f0400b98d56cd6a7a5",),
     "emerging.dev.conll": ("e053b752b8155113ca66e7db08af5f2f5f43ab993694e4774f1ec5bad42312d8",),
     "emerging.test.annotated": ("2aa79b764e56ec9264a1b30fdd9b70195bd00ff400b62edd8f399d5f13c178f0",)},
    _RAW + "leondz/emerging_entities_17/e52a2d2a71ac1a051ca2d532eef28653c5c02603/",
    "TINYGRAD_EDU_WNUT17_MIRRORS")


# ---------------------------------------------------------------------------------------------
# Finding, verifying and reading files
# ---------------------------------------------------------------------------------------------
def find_files(source, names, root=None, download=True, mirrors=None):
    """The paths of ``names`` (files of ``source``), from the first folder that has them all;
    otherwise downloaded (when allowed) into the download folder."""
    folders, download_folder = search_folders(root, source.subdir)
    looked = []
    for folder, label in folders:
        looked.append(label)
        paths = [os.path.join(folder, name) for name in names]
        if all(os.path.isfile(p) for p in paths):
            return paths
    hint = (f"Pass root=<folder>, set TINYGRAD_EDU_DATA=<folder containing {source.subdir}/>"
            + ("" if download else ", or allow download=True") + ".")
    if not download:
        raise TextDatasetNotFoundError(f"{source.subdir} files {', '.join(names)} not found; looked in: "
                                       f"{'; '.join(looked)}. {hint}")
    paths = []
    try:
        for name in names:
            path = os.path.join(download_folder, name)
            if not os.path.isfile(path):
                download_file(name, source.mirrors(mirrors), path, source.files[name][0])
            paths.append(path)
    except DownloadError as exc:
        raise TextDatasetNotFoundError(f"{source.subdir} files not found in {'; '.join(looked)} and the "
                                       f"download failed: {exc}. {hint}") from exc
    return paths


def verify_file(path, accepted):
    """Raise :class:`ChecksumError` naming ``path`` unless its SHA-256 is one of ``accepted``."""
    actual = sha256_of(path)
    if actual not in accepted:
        raise ChecksumError(f"{path}: sha256 is {actual}, expected {' or '.join(accepted)}; the file is "
                            "corrupt or not the published one (delete it so that it is fetched again, or "
                            "pass verify=False to read it anyway)")


def read_text(path, source, verify=True):
    """The contents of ``path`` as text (UTF-8; CRLF line ends read as LF), after the checksum check."""
    if verify:
        verify_file(path, source.files[os.path.basename(path)])
    try:
        with open(path, encoding="utf-8") as f:       # universal newlines: '\r\n' -> '\n'
            return f.read()
    except UnicodeDecodeError as exc:
        raise TextFormatError(f"{path}: not valid UTF-8 ({exc})") from None


def check_split(owner, split, splits, aliases=None):
    """``split`` itself (or what its alias stands for) if it is one of ``splits``; else a ValueError."""
    split = (aliases or {}).get(split, split)
    if split not in splits:
        raise ValueError(f"{owner}: split must be one of {', '.join(repr(s) for s in splits)}, "
                         f"got {split!r}")
    return split


# ---------------------------------------------------------------------------------------------
# Tiny Shakespeare
# ---------------------------------------------------------------------------------------------
class TinyShakespeare(Dataset):
    """Tiny Shakespeare (Karpathy's char-rnn corpus, 1,115,394 characters) for character-level language
    modelling, split as nanoGPT's ``shakespeare_char``: the first 90% of the characters is ``"train"``
    (1,003,854), the last 10% ``"val"`` (111,540).

    The vocabulary is the sorted set of characters of the **whole** text (65 symbols), so both splits
    share one encoding: ``.chars`` (id -> character), ``.stoi`` (character -> id), ``encode``/``decode``.
    ``.text`` is the split's text and ``.ids`` its ids (uint16, as nanoGPT stores them).

    A language model reads a window of ``block_size`` characters and predicts, at every position, the
    next one; so item ``i`` is ``(x, y)`` with ``x = ids[i : i + block_size]`` and
    ``y = ids[i + 1 : i + block_size + 1]`` (int64), and there are ``len(ids) - block_size`` windows.
    ``get_batch(indices)`` builds a whole batch with one fancy index (the DataLoader's fast path).
    """

    splits = ("train", "val")
    train_fraction = 0.9

    def __init__(self, root=None, split="train", block_size=64, download=True, mirrors=None, verify=True):
        self.split = check_split("TinyShakespeare", split, self.splits)
        if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 1:
            raise ValueError(f"TinyShakespeare: block_size must be a positive integer, got {block_size!r}")
        (path,) = find_files(TINYSHAKESPEARE, ["input.txt"], root, download, mirrors)
        full_text = read_text(path, TINYSHAKESPEARE, verify)
        self.chars = sorted(set(full_text))
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        cut = int(len(full_text) * self.train_fraction)     # nanoGPT: data[:int(n*0.9)], data[int(n*0.9):]
        self.text = full_text[:cut] if self.split == "train" else full_text[cut:]
        self.ids = self.encode(self.text)
        self.block_size = int(block_size)
        if len(self.ids) <= self.block_size:
            raise ValueError(f"TinyShakespeare: the {self.split} split has {len(self.ids)} characters, not "
                             f"more than block_size={self.block_size}")

    @property
    def vocab_size(self):
        return len(self.chars)

    def encode(self, text):
        """The ids (uint16 array) of the characters of ``text``; every character must be in the vocabulary.
        Vectorised: the code points of ``text`` are looked up in the sorted code points of ``chars``."""
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        table = np.array([ord(c) for c in self.chars], dtype=np.uint32)
        ids = np.searchsorted(table, points)
        bad = (ids >= len(table)) | (table[np.minimum(ids, len(table) - 1)] != points)
        if bad.any():
            raise ValueError(f"TinyShakespeare.encode: character {chr(points[bad.argmax()])!r} is not in the "
                             f"{len(self.chars)}-character vocabulary")
        return ids.astype(np.uint16)

    def decode(self, ids):
        """The text of a sequence of ids."""
        return "".join(self.chars[int(i)] for i in np.asarray(ids).reshape(-1))

    def __len__(self):
        return len(self.ids) - self.block_size

    def __getitem__(self, index):
        index = int(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"TinyShakespeare: index {index} out of range for {len(self)} windows")
        window = self.ids[index:index + self.block_size + 1].astype(np.int64)
        return window[:-1], window[1:]

    def get_batch(self, indices):
        offsets = np.asarray(indices, dtype=np.int64)[:, None] + np.arange(self.block_size + 1)
        windows = self.ids[offsets].astype(np.int64)
        return windows[:, :-1], windows[:, 1:]

    def __repr__(self):
        return (f"TinyShakespeare(split={self.split!r}, chars={len(self.text)}, vocab={self.vocab_size}, "
                f"block_size={self.block_size})")


# ---------------------------------------------------------------------------------------------
# Sentence classification: SST-2 and RT-polarity
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# Named-entity recognition: CoNLL-2003 and WNUT-17
# ---------------------------------------------------------------------------------------------
_TAG = re.compile(r"^(O|[BI]-\S+)$")


def iob1_to_bio(tags):
    """Convert one sentence's NER tags from IOB1 to BIO (IOB2).

    In **IOB1** (the original CoNLL-2003 files) every entity token is ``I-X``; ``B-X`` appears only on
    the first token of an entity that directly follows another entity of the same type X, to mark the
    boundary.  In **BIO** every entity starts with ``B-X``.  So an ``I-X`` becomes ``B-X`` exactly when
    it starts an entity: at the start of the sentence, after ``O``, or after a tag of another type.
    ``B-X`` and ``O`` are kept.

    >>> iob1_to_bio(["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-MISC"])
    ['B-PER', 'I-PER', 'O', 'B-LOC', 'B-LOC', 'B-MISC']
    """
    if isinstance(tags, str):
        raise TypeError(f"iob1_to_bio: expected a sequence of tags, got the string {tags!r}")
    bio, previous_type = [], None        # previous_type: entity type of the previous tag, None after O
    for position, tag in enumerate(tags):
        if not isinstance(tag, str) or not _TAG.match(tag):
            raise ValueError(f"iob1_to_bio: tag {tag!r} at position {position} is not 'O', 'B-<type>' "
                             "or 'I-<type>'")
        if tag == "O":
            bio.append(tag)
            previous_type = None
            continue
        prefix, tag_type = tag[0], tag[2:]
        starts = prefix == "B" or tag_type != previous_type
        bio.append(("B-" if starts else "I-") + tag_type)
        previous_type = tag_type
    return bio


class _TokenClassification(Dataset):
    """Shared shape of the NER data sets: ``ds[i] -> (tokens, ner_tags)``, two equally long lists of str.

    ``.tokens`` and ``.ner_tags`` hold the whole split.  ``label_names`` is the fixed tag list (the order
    of Hugging Face's ``datasets`` copy, so ids agree with models trained there), ``label_to_id`` and
    ``id_to_label`` map between names and ids, and ``encode_tags(tags)`` turns one sentence's tags into
    ids."""

    label_names = []

    @property
    def num_labels(self):
        return len(self.label_names)

    @property
    def label_to_id(self):
        return {name: i for i, name in enumerate(self.label_names)}

    @property
    def id_to_label(self):
        return dict(enumerate(self.label_names))

    def encode_tags(self, tags):
        mapping = self.label_to_id
        return [mapping[tag] for tag in tags]

    def __len__(self):
        return len(self.tokens)

    def __getitem__(self, index):
        return self.tokens[index], self.ner_tags[index]

    def _check_tags(self, source):
        known = set(self.label_names)
        for k, tags in enumerate(self.ner_tags):
            for tag in tags:
                if tag not in known:
                    raise TextFormatError(f"{source}: sentence {k} has tag {tag!r}, which is not one of "
                                          f"{type(self).__name__}'s labels {self.label_names}")

    def __repr__(self):
        return f"{type(self).__name__}(split={self.split!r}, sentences={len(self)})"


def parse_conll2003(text, source="<text>"):
    """``(tokens, pos_tags, chunk_tags, ner_tags)`` (lists of per-sentence lists) of a CoNLL-2003 file:
    one ``word POS chunk NER`` line per token, a blank line between sentences, and ``-DOCSTART-`` lines
    between documents, which are dropped."""
    sentences, current = [], []
    for number, line in enumerate(text.split("\n"), start=1):
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if current:
                sentences.append(current)
            current = []
            continue
        if len(fields) != 4:
            raise TextFormatError(f"{source}:{number}: {len(fields)} space-separated fields, expected 4 "
                                  f"(word POS chunk NER): {line!r}")
        current.append(fields)
    if current:
        sentences.append(current)
    columns = ([], [], [], [])
    for sentence in sentences:
        for column, values in zip(columns, zip(*sentence)):    # transpose: 4 lists per sentence
            column.append(list(values))
    return columns


class CoNLL2003(_TokenClassification):
    """CoNLL-2003 English NER (Tjong Kim Sang & De Meulder, 2003): Reuters news sentences with person,
    location, organisation and miscellaneous entities.

    Splits: ``"train"`` (``eng.train``, 14,041 sentences), ``"validation"`` (alias ``"dev"``;
    ``eng.testa``, 3,250) and ``"test"`` (``eng.testb``, 3,453), ``-DOCSTART-`` lines dropped.

    The files use IOB1 tags; by default (``tag_scheme="bio"``) each sentence is converted with
    :func:`iob1_to_bio` so that every entity starts with ``B-``, which is what token classifiers and the
    entity F1 expect; ``tag_scheme="iob1"`` keeps the tags as in the file.  ``.pos_tags`` and
    ``.chunk_tags`` keep the other two columns as they are.

    License: research use only (the text is Reuters RCV1); WNUT-17 is the cleanly licensed NER set.
    """

    splits = ("train", "validation", "test")
    files = {"train": "eng.train", "validation": "eng.testa", "test": "eng.testb"}
    label_names = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]

    def __init__(self, root=None, split="train", tag_scheme="bio", download=True, mirrors=None, verify=True):
        self.split = check_split("CoNLL2003", split, self.splits, aliases={"dev": "validation"})
        if tag_scheme not in ("bio", "iob1"):
            raise ValueError(f"CoNLL2003: tag_scheme must be 'bio' or 'iob1', got {tag_scheme!r}")
        self.tag_scheme = tag_scheme
        (path,) = find_files(CONLL2003_SOURCE, [self.files[self.split]], root, download, mirrors)
        self.tokens, self.pos_tags, self.chunk_tags, tags = parse_conll2003(
            read_text(path, CONLL2003_SOURCE, verify), path)
        self.ner_tags = [iob1_to_bio(t) for t in tags] if tag_scheme == "bio" else tags
        self._check_tags(path)


def parse_wnut17(text, source="<text>"):
    """``(tokens, ner_tags)`` of a WNUT-17 file: one ``token<TAB>tag`` line per token; any whitespace-only
    line separates sentences (the train file uses lines holding a single tab for 2,394 of them)."""
    tokens, tags, words, labels = [], [], [], []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            if words:
                tokens.append(words)
                tags.append(labels)
            words, labels = [], []
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0]:
            raise TextFormatError(f"{source}:{number}: expected 'token<TAB>tag', got {line!r}")
        words.append(fields[0])
        labels.append(fields[1].strip())
    if words:
        tokens.append(words)
        tags.append(labels)
    return tokens, tags


class WNUT17(_TokenClassification):
    """WNUT-17 "emerging and rare entities" (Derczynski et al., 2017): noisy English from Twitter,
    Reddit, YouTube and StackExchange, with six entity types — person, location, group, corporation,
    product, creative-work.  CC BY 4.0.

    Splits: ``"train"`` (``wnut17train.conll``, 3,394 sentences), ``"validation"`` (alias ``"dev"``;
    ``emerging.dev.conll``, 1,009) and ``"test"`` (``emerging.test.annotated``, 1,287).  The tags are
    already BIO, so they are kept as they are (and checked against ``label_names``).
    """

    splits = ("train", "validation", "test")
    files = {"train": "wnut17train.conll", "validation": "emerging.dev.conll",
             "test": "emerging.test.annotated"}
    label_names = ["O", "B-corporation", "I-corporation", "B-creative-work", "I-creative-work", "B-group",
                   "I-group", "B-location", "I-location", "B-person", "I-person", "B-product", "I-product"]

    def __init__(self, root=None, split="train", download=True, mirrors=None, verify=True):
        self.split = check_split("WNUT17", split, self.splits, aliases={"dev": "validation"})
        (path,) = find_files(WNUT17_SOURCE, [self.files[self.split]], root, download, mirrors)
        self.tokens, self.ner_tags = parse_wnut17(read_text(path, WNUT17_SOURCE, verify), path)
        self._check_tags(path)
