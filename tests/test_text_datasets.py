"""Text data sets on the real staged files ($TINYGRAD_EDU_DATA, ../shared/data in CI): sizes equal the
counts in the data README, first examples, BIO validity after the IOB1 conversion, label sets, and clear
errors.  Downloads are exercised from a file:// mirror of the staged files, so nothing touches the
network."""
import os
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu.data import (SST2, WNUT17, ChecksumError, CoNLL2003, DataLoader, RTPolarity,
                               TextDatasetNotFoundError, TextFormatError, TinyShakespeare, iob1_to_bio,
                               sha256_of)
from tinygrad_edu.data import text_datasets
from tinygrad_edu.text.ner_metrics import get_entities

REPO = Path(__file__).resolve().parents[1]


def _staged_data_dir():
    for candidate in (os.environ.get("TINYGRAD_EDU_DATA"), REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "conll2003" / "eng.train").is_file():
            return Path(candidate)
    return None


STAGED = _staged_data_dir()
needs_staged = pytest.mark.skipif(
    STAGED is None, reason="staged text data not found: set TINYGRAD_EDU_DATA (../shared/data in CI)")
MIRROR_VARS = [source.env for source in (text_datasets.TINYSHAKESPEARE, text_datasets.SST2_SOURCE,
                                         text_datasets.RT_POLARITY_SOURCE, text_datasets.CONLL2003_SOURCE,
                                         text_datasets.WNUT17_SOURCE)]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No test sees the caller's data/cache settings; the cache is a fresh temp folder."""
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)
    for var in MIRROR_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TINYGRAD_EDU_CACHE", str(tmp_path / "cache"))


def load_splits(cls, splits, **kwargs):
    return {split: cls(root=STAGED, split=split, download=False, **kwargs) for split in splits}


def is_valid_bio(tags):
    """BIO (IOB2): every I-X follows a B-X or I-X of the same type X."""
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
            return False
        previous = tag
    return True


# ---------------------------------------------------------------------------------------------
# Tiny Shakespeare
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shakespeare():
    return load_splits(TinyShakespeare, ("train", "val"), block_size=8) if STAGED else None


@needs_staged
def test_tinyshakespeare_split_is_nanogpt_90_10(shakespeare):
    text = (STAGED / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")
    train, val = shakespeare["train"], shakespeare["val"]
    assert len(text) == 1_115_394
    assert (len(train.text), len(val.text)) == (1_003_854, 111_540)       # int(0.9 n), n - int(0.9 n)
    assert train.text + val.text == text
    assert train.text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    assert train.vocab_size == val.vocab_size == 65 and train.chars == sorted(set(text))
    assert train.chars[:3] == ["\n", " ", "!"]


@needs_staged
def test_tinyshakespeare_windows_predict_the_next_character(shakespeare):
    ds = shakespeare["val"]
    assert len(ds) == len(ds.text) - 8
    x, y = ds[5]
    assert x.dtype == y.dtype == np.int64 and x.shape == y.shape == (8,)
    assert ds.decode(x) == ds.text[5:13] and ds.decode(y) == ds.text[6:14]
    last_x, last_y = ds[len(ds) - 1]
    assert ds.decode(last_y)[-1] == ds.text[-1]
    with pytest.raises(IndexError, match="out of range"):
        ds[len(ds)]
    indices = np.array([0, 17, len(ds) - 1])
    xb, yb = ds.get_batch(indices)
    np.testing.assert_array_equal(xb, np.stack([ds[i][0] for i in indices]))
    np.testing.assert_array_equal(yb, np.stack([ds[i][1] for i in indices]))
    xt, yt = next(iter(DataLoader(ds, batch_size=4, shuffle=True, generator=0)))
    assert xt.shape == yt.shape == (4, 8)
    np.testing.assert_array_equal(xt.numpy()[:, 1:], yt.numpy()[:, :-1])


@needs_staged
def test_tinyshakespeare_encode_decode_round_trip(shakespeare):
    ds = shakespeare["train"]
    assert ds.decode(ds.encode(ds.text[:500])) == ds.text[:500]
    assert ds.decode(ds.ids[:14]) == "First Citizen:"
    with pytest.raises(ValueError, match="not in the 65-character vocabulary"):
        ds.encode("caf\u00e9")


# ---------------------------------------------------------------------------------------------
# SST-2 and RT-polarity
# ---------------------------------------------------------------------------------------------
@needs_staged
@pytest.mark.parametrize("split, n, negatives, positives, first", [
    ("train", 67_349, 29_780, 37_569, ("hide new secretions from the parental units", 0)),
    ("validation", 872, 428, 444, ("one long string of cliches .", 0)),
    ("test", 1_821, 912, 909, ("no movement , no yuks , not much of anything .", 0)),
])
def test_sst2_sizes_and_labels(split, n, negatives, positives, first):
    ds = SST2(root=STAGED, split=split, download=False)
    assert len(ds) == len(ds.sentences) == len(ds.labels) == n
    assert Counter(ds.labels) == {0: negatives, 1: positives}
    assert ds[0] == first and ds.num_classes == 2 and ds.classes == ["negative", "positive"]
    assert all(isinstance(s, str) and s and "\t" not in s for s in ds.sentences)


@needs_staged
def test_sst2_dev_alias_and_batches_of_strings():
    ds = SST2(root=STAGED, split="dev", download=False)
    assert ds.split == "validation" and len(ds) == 872
    sentences, labels = next(iter(DataLoader(ds, batch_size=3)))
    assert sentences == ds.sentences[:3] and labels.numpy().tolist() == ds.labels[:3]


@needs_staged
def test_sst2_original_crlf_train_file_is_accepted(tmp_path):
    """The mirror serves train.tsv with CRLF line ends (the staged copy has LF): rebuilding that file
    must give the published SHA-256 recorded for the download, and load to the same data."""
    folder = tmp_path / "sst2"
    folder.mkdir()
    crlf = (STAGED / "sst2" / "train.tsv").read_bytes().replace(b"\n", b"\r\n")
    (folder / "train.tsv").write_bytes(crlf)
    assert sha256_of(folder / "train.tsv") == text_datasets.SST2_SOURCE.files["train.tsv"][0]
    ours, staged = SST2(root=tmp_path, download=False), SST2(root=STAGED, download=False)
    assert ours.sentences == staged.sentences and ours.labels == staged.labels


def test_sst2_unlabelled_glue_test_file_gets_label_minus_one():
    sentences, labels = text_datasets.parse_sst2_tsv("index\tsentence\n0\tgreat fun .\n1\tdull .\n")
    assert sentences == ["great fun .", "dull ."] and labels == [-1, -1]
    with pytest.raises(TextFormatError, match="<text>:2: label '2' is not 0 or 1"):
        text_datasets.parse_sst2_tsv("label\tsentence\n2\tfoo\n")
    with pytest.raises(TextFormatError, match="<text>:3: 1 tab-separated fields, expected 2"):
        text_datasets.parse_sst2_tsv("label\tsentence\n1\tfoo\nbar\n")


@needs_staged
def test_rt_polarity_all_and_cross_validation_folds():
    everything = RTPolarity(root=STAGED, download=False)
    assert len(everything) == 10_662 and Counter(everything.labels) == {1: 5_331, 0: 5_331}
    assert everything[0][0].startswith("the rock is destined to be the 21st century's new")
    assert everything[0][1] == 1 and everything[5_331][1] == 0
    assert all(s == s.strip() and s for s in everything.sentences)
    train = RTPolarity(root=STAGED, split="train", download=False)
    test = RTPolarity(root=STAGED, split="test", download=False)
    assert (len(train), len(test)) == (9_595, 1_067)
    covered = []
    for fold in range(10):
        keep = RTPolarity(root=STAGED, split="test", fold=fold, download=False).fold_indices(10_662)
        covered.extend(keep.tolist())
    assert sorted(covered) == list(range(10_662))             # each snippet is in exactly one test fold
    train_keep, test_keep = train.fold_indices(10_662), test.fold_indices(10_662)
    assert np.intersect1d(train_keep, test_keep).size == 0 and len(train_keep) + len(test_keep) == 10_662
    assert test.sentences == [everything.sentences[i] for i in test_keep]
    with pytest.raises(ValueError, match="fold must be an integer in"):
        RTPolarity(root=STAGED, split="test", fold=10, download=False)


# ---------------------------------------------------------------------------------------------
# CoNLL-2003 and WNUT-17
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def conll():
    return load_splits(CoNLL2003, ("train", "validation", "test")) if STAGED else None


@pytest.fixture(scope="module")
def wnut():
    return load_splits(WNUT17, ("train", "validation", "test")) if STAGED else None


@needs_staged
def test_conll2003_sizes_and_first_sentence(conll):
    sizes = {split: (len(ds), sum(map(len, ds.tokens))) for split, ds in conll.items()}
    assert sizes == {"train": (14_041, 203_621), "validation": (3_250, 51_362), "test": (3_453, 46_435)}
    tokens, tags = conll["train"][0]
    assert tokens == ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."]
    assert tags == ["B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O"]   # file: I-ORG O I-MISC ...
    assert conll["train"].pos_tags[0][:3] == ["NNP", "VBZ", "JJ"]
    assert not any("-DOCSTART-" in sentence for ds in conll.values() for sentence in ds.tokens)


@needs_staged
def test_conll2003_tags_are_valid_bio_with_the_published_entity_counts(conll):
    published = {  # Tjong Kim Sang & De Meulder (2003), table 2: entities per type
        "train": {"LOC": 7140, "MISC": 3438, "ORG": 6321, "PER": 6600},
        "validation": {"LOC": 1837, "MISC": 922, "ORG": 1341, "PER": 1842},
        "test": {"LOC": 1668, "MISC": 702, "ORG": 1661, "PER": 1617},
    }
    for split, ds in conll.items():
        assert all(len(t) == len(w) for w, t in zip(ds.tokens, ds.ner_tags))
        assert all(is_valid_bio(tags) for tags in ds.ner_tags), split
        counts = Counter(entity[0] for tags in ds.ner_tags for entity in get_entities(tags))
        assert counts == published[split], split
    assert set().union(*conll["train"].ner_tags) == set(CoNLL2003.label_names)


@needs_staged
def test_conll2003_iob1_scheme_keeps_file_tags_and_conversion_keeps_entities(conll):
    raw = CoNLL2003(root=STAGED, split="validation", tag_scheme="iob1", download=False)
    assert raw.ner_tags[0][2] == "I-ORG" and conll["validation"].ner_tags[0][2] == "B-ORG"
    assert not all(is_valid_bio(tags) for tags in raw.ner_tags)
    for iob1, bio in zip(raw.ner_tags, conll["validation"].ner_tags):
        assert iob1_to_bio(iob1) == bio and get_entities(bio) == get_entities(iob1)


@needs_staged
def test_conll2003_label_maps(conll):
    ds = conll["test"]
    assert ds.label_names == ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
    assert ds.num_labels == 9 and ds.label_to_id["B-LOC"] == 5 and ds.id_to_label[8] == "I-MISC"
    assert ds.encode_tags(ds[0][1]) == [ds.label_to_id[t] for t in ds[0][1]]


@needs_staged
def test_wnut17_sizes_tags_and_labels(wnut):
    sizes = {split: (len(ds), sum(map(len, ds.tokens))) for split, ds in wnut.items()}
    assert sizes == {"train": (3_394, 62_730), "validation": (1_009, 15_733), "test": (1_287, 23_394)}
    tokens, tags = wnut["train"][0]
    assert tokens[:5] == ["@paulwalk", "It", "'s", "the", "view"]
    assert tokens[14:17] == ["Empire", "State", "Building"] and tags[14:17] == ["B-location", "I-location",
                                                                              "I-location"]
    for split, ds in wnut.items():
        assert all(is_valid_bio(t) for t in ds.ner_tags), split
        assert set().union(*ds.ner_tags) == set(WNUT17.label_names), split
        assert all(w.strip() == w and w for sentence in ds.tokens for w in sentence)
    assert WNUT17.label_names[0] == "O" and len(WNUT17.label_names) == 13


# ---------------------------------------------------------------------------------------------
# iob1_to_bio
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("iob1, bio", [
    (["I-PER", "I-PER", "O"], ["B-PER", "I-PER", "O"]),                   # first entity token -> B-
    (["O", "I-LOC", "B-LOC", "I-LOC"], ["O", "B-LOC", "B-LOC", "I-LOC"]),  # IOB1's B-: adjacent same type
    (["I-ORG", "I-MISC", "I-MISC"], ["B-ORG", "B-MISC", "I-MISC"]),        # a change of type starts one
    (["B-PER", "I-PER"], ["B-PER", "I-PER"]),
    (["O", "O"], ["O", "O"]),
    ([], []),
])
def test_iob1_to_bio_hand_cases(iob1, bio):
    assert iob1_to_bio(iob1) == bio
    assert is_valid_bio(iob1_to_bio(iob1))


def test_iob1_to_bio_rejects_bad_tags():
    with pytest.raises(ValueError, match="tag 'X-PER' at position 1"):
        iob1_to_bio(["O", "X-PER"])
    with pytest.raises(TypeError, match="sequence of tags"):
        iob1_to_bio("I-PER")


# ---------------------------------------------------------------------------------------------
# Finding files, checksums, downloads and errors
# ---------------------------------------------------------------------------------------------
@needs_staged
def test_env_variable_is_used(monkeypatch):
    monkeypatch.setenv("TINYGRAD_EDU_DATA", str(STAGED))
    assert len(WNUT17(split="validation", download=False)) == 1_009


def test_missing_data_is_a_clear_error(tmp_path):
    with pytest.raises(TextDatasetNotFoundError, match=r"wnut17 files emerging.dev.conll not found; "
                                                       r"looked in: .*nowhere"):
        WNUT17(root=tmp_path / "nowhere", split="validation", download=False)


@pytest.mark.parametrize("cls, split", [(SST2, "valid"), (CoNLL2003, "testb"), (WNUT17, "dev2"),
                                        (TinyShakespeare, "test"), (RTPolarity, "validation")])
def test_bad_split_names_the_class_and_choices(cls, split, tmp_path):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: split must be one of .* got '{split}'"):
        cls(root=tmp_path, split=split, download=False)


@needs_staged
def test_checksum_mismatch_names_the_file(tmp_path):
    folder = tmp_path / "conll2003"
    folder.mkdir()
    data = bytearray((STAGED / "conll2003" / "eng.testb").read_bytes())
    data[100] ^= 0x01
    (folder / "eng.testb").write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match=r"eng.testb: sha256 is [0-9a-f]{64}, expected 0632f32c"):
        CoNLL2003(root=tmp_path, split="test", download=False)
    assert len(CoNLL2003(root=tmp_path, split="test", download=False, verify=False)) == 3_453


def test_malformed_files_name_file_and_line():
    with pytest.raises(TextFormatError, match=r"f.conll:2: 3 space-separated fields, expected 4"):
        text_datasets.parse_conll2003("EU NNP I-NP I-ORG\nrejects VBZ O\n", "f.conll")
    with pytest.raises(TextFormatError, match=r"w.conll:1: expected 'token<TAB>tag'"):
        text_datasets.parse_wnut17("token only\n", "w.conll")
    tokens, tags = text_datasets.parse_wnut17("a\tO\n\t\nb\tB-person\n\n\n")   # tab-only separator line
    assert tokens == [["a"], ["b"]] and tags == [["O"], ["B-person"]]


@needs_staged
def test_verified_download_from_a_mirror_fills_the_cache(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copyfile(STAGED / "wnut17" / "emerging.dev.conll", mirror / "emerging.dev.conll")
    ds = WNUT17(split="validation", mirrors=[mirror.as_uri() + "/"])
    assert len(ds) == 1_009
    cached = tmp_path / "cache" / "wnut17" / "emerging.dev.conll"
    assert cached.is_file() and sha256_of(cached) == sha256_of(mirror / "emerging.dev.conll")


@needs_staged
def test_download_with_wrong_checksum_leaves_nothing_behind(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "emerging.dev.conll").write_text("tampered\tO\n", encoding="utf-8")
    with pytest.raises(ChecksumError, match="checksum mismatch for emerging.dev.conll"):
        WNUT17(split="validation", mirrors=[mirror.as_uri() + "/"])
    cache = tmp_path / "cache" / "wnut17"
    assert not cache.exists() or list(cache.iterdir()) == []


def test_unreachable_mirror_is_a_not_found_error(tmp_path):
    with pytest.raises(TextDatasetNotFoundError, match="download failed"):
        SST2(split="test", mirrors=[(tmp_path / "empty").as_uri() + "/"])
