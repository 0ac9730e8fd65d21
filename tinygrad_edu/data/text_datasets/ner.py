"""Named-entity recognition (one tag per token): ``CoNLL2003`` and ``WNUT17``, their file parsers,
``iob1_to_bio`` (CoNLL-2003's IOB1 tags to BIO), and where their files come from.

Finding, verifying and reading the files is ``files.py``'s job; the sentence-classification sets
are in ``sentiment.py``.
"""
import re

from ..dataset import Dataset
from .files import _RAW, TextFormatError, _Source, check_split, find_files, read_text


# Where the files come from: folder name, each file's SHA-256, the pinned mirror (see files.py).
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
