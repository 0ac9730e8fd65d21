"""Entity-level NER scores (tinygrad_edu.text.ner_metrics): hand-worked cases, then seqeval as a reference.

Every expected number below is worked out by hand in the comment beside it, from the definitions:
precision = TP / predicted entities, recall = TP / true entities, F1 = 2PR / (P + R), where a predicted
entity is a true positive (TP) only if sentence, type, start and end all match a true entity."""
import numpy as np
import pytest

from tinygrad_edu.text.ner_metrics import classification_report, entity_f1, get_entities


# ---------------------------------------------------------------------------------------------
# get_entities
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tags, expected", [
    # B starts, I continues, O ends; a B right after an entity of the same type starts a new one.
    (["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "B-LOC"], [("PER", 0, 1), ("LOC", 3, 4), ("LOC", 5, 5)]),
    # An I- after O (or at the start) starts an entity, as in seqeval's default mode.
    (["O", "I-ORG", "I-ORG", "I-MISC"], [("ORG", 1, 2), ("MISC", 3, 3)]),
    (["I-PER"], [("PER", 0, 0)]),
    # A change of type ends the entity even without B-: B-PER I-LOC is two one-token entities.
    (["B-PER", "I-LOC", "I-LOC"], [("PER", 0, 0), ("LOC", 1, 2)]),
    (["B-PER", "B-PER", "I-PER"], [("PER", 0, 0), ("PER", 1, 2)]),
    # An entity running to the end of the sentence is closed there; hyphens inside a type are kept.
    (["O", "B-creative-work", "I-creative-work"], [("creative-work", 1, 2)]),
    (["O", "O"], []),
    ([], []),
])
def test_get_entities_hand_cases(tags, expected):
    assert get_entities(tags) == expected


@pytest.mark.parametrize("bad", [["B-PER", "X-PER"], ["B-"], ["B"], ["E-PER"], ["o"], [None]])
def test_get_entities_rejects_non_bio_tags(bad):
    with pytest.raises(ValueError, match="not a BIO tag"):
        get_entities(bad)


def test_get_entities_rejects_a_bare_string():
    with pytest.raises(TypeError, match="sequence of tags"):
        get_entities("B-PER")


# ---------------------------------------------------------------------------------------------
# entity_f1
# ---------------------------------------------------------------------------------------------
def test_all_correct():
    y = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"]]
    # 3 true entities, the same 3 predicted: P = 3/3, R = 3/3, F1 = 1.
    assert entity_f1(y, [list(s) for s in y]) == {"precision": 1.0, "recall": 1.0, "f1": 1.0,
                                                   "num_true": 3, "num_pred": 3, "num_correct": 3}


def test_empty_predictions_score_zero():
    y_true = [["B-PER", "I-PER", "O", "B-LOC"]]
    y_pred = [["O", "O", "O", "O"]]
    # 2 true, 0 predicted: precision 0/0 is undefined -> 0.0, recall 0/2 = 0, F1 = 0.
    assert entity_f1(y_true, y_pred) == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                         "num_true": 2, "num_pred": 0, "num_correct": 0}


def test_no_entities_anywhere_scores_zero():
    assert entity_f1([["O"], []], [["O"], []])["f1"] == 0.0   # 0/0 everywhere -> 0.0


def test_boundary_and_type_errors_are_wrong_entities():
    y_true = [["B-PER", "I-PER", "O", "B-LOC", "O"], ["B-ORG", "I-ORG", "I-ORG", "O"]]
    y_pred = [["B-PER", "I-PER", "O", "B-ORG", "O"],    # LOC(3,3) predicted as ORG(3,3): type error
              ["B-ORG", "I-ORG", "O", "O"]]             # ORG(0,2) predicted as ORG(0,1): boundary error
    # true: PER(0,1) LOC(3,3) | ORG(0,2) = 3; predicted: PER(0,1) ORG(3,3) | ORG(0,1) = 3; TP = 1 (PER).
    # P = 1/3, R = 1/3, F1 = 2 * (1/9) / (2/3) = 1/3.
    scores = entity_f1(y_true, y_pred)
    assert (scores["num_true"], scores["num_pred"], scores["num_correct"]) == (3, 3, 1)
    assert scores["precision"] == pytest.approx(1 / 3)
    assert scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(1 / 3)


def test_precision_and_recall_differ():
    y_true = [["B-PER", "O", "B-LOC", "O", "B-ORG", "I-ORG", "O", "B-MISC"]]
    y_pred = [["B-PER", "O", "O", "O", "B-ORG", "O", "O", "O"]]
    # true: PER(0,0) LOC(2,2) ORG(4,5) MISC(7,7) = 4; predicted: PER(0,0) ORG(4,4) = 2; TP = 1.
    # P = 1/2, R = 1/4, F1 = 2 * (1/8) / (3/4) = 1/3.
    scores = entity_f1(y_true, y_pred)
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["recall"] == pytest.approx(0.25)
    assert scores["f1"] == pytest.approx(1 / 3)


def test_i_tag_starting_an_entity_counts_as_that_entity():
    # pred I-PER I-PER reads as PER(0,1), the true entity; O I-LOC reads as LOC(1,1).  TP = 2 of 2.
    y_true = [["B-PER", "I-PER", "O"], ["O", "B-LOC"]]
    y_pred = [["I-PER", "I-PER", "O"], ["O", "I-LOC"]]
    assert entity_f1(y_true, y_pred)["f1"] == 1.0


def test_same_span_in_another_sentence_is_not_a_match():
    # PER(0,0) is true in sentence 0 but predicted in sentence 1: TP = 0, P = 0/1, R = 0/1.
    scores = entity_f1([["B-PER", "O"], ["O", "O"]], [["O", "O"], ["B-PER", "O"]])
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.0, 0.0, 0.0)


def test_mismatched_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="y_true has 2 sequences but y_pred has 1"):
        entity_f1([["O"], ["O"]], [["O"]])
    with pytest.raises(ValueError, match="sequence 1 has 2 true tags but 1 predicted"):
        entity_f1([["O"], ["O", "O"]], [["O"], ["O"]])
    with pytest.raises(TypeError, match="flat sequence of tags"):
        entity_f1(["B-PER", "O"], ["B-PER", "O"])


# ---------------------------------------------------------------------------------------------
# classification_report
# ---------------------------------------------------------------------------------------------
def test_classification_report_per_type_and_averages():
    y_true = [["B-PER", "O", "B-PER", "O", "B-LOC"]]     # PER(0,0) PER(2,2) LOC(4,4)
    y_pred = [["B-PER", "O", "B-LOC", "O", "O"]]         # PER(0,0) LOC(2,2)
    report = classification_report(y_true, y_pred, output_dict=True)
    # LOC: 1 predicted, 0 correct, 1 true -> P 0, R 0, F 0, support 1.
    # PER: 1 predicted, 1 correct, 2 true -> P 1, R 1/2, F1 2 * (1/2) / (3/2) = 2/3, support 2.
    # micro: TP 1, 2 predicted, 3 true -> P 1/2, R 1/3, F1 2 * (1/6) / (5/6) = 2/5.
    # macro: plain means -> P (0 + 1)/2 = 1/2, R (0 + 1/2)/2 = 1/4, F1 (0 + 2/3)/2 = 1/3.
    # weighted by supports (1, 2): P (0 + 2)/3 = 2/3, R (0 + 1)/3 = 1/3, F1 (0 + 4/3)/3 = 4/9.
    expected = {"LOC": (0, 0, 0, 1), "PER": (1, 1 / 2, 2 / 3, 2), "micro avg": (1 / 2, 1 / 3, 2 / 5, 3),
                "macro avg": (1 / 2, 1 / 4, 1 / 3, 3), "weighted avg": (2 / 3, 1 / 3, 4 / 9, 3)}
    assert list(report) == list(expected)
    for name, (p, r, f, support) in expected.items():
        row = report[name]
        assert (row["precision"], row["recall"], row["f1-score"]) == pytest.approx((p, r, f)), name
        assert row["support"] == support, name
    # The micro average is entity_f1.
    micro = entity_f1(y_true, y_pred)
    assert (micro["precision"], micro["recall"], micro["f1"]) == pytest.approx((1 / 2, 1 / 3, 2 / 5))


def test_classification_report_text_layout():
    # seqeval's docstring example: MISC(3,5) predicted as MISC(2,5) (wrong), PER(0,1) right.
    y_true = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    y_pred = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    expected = ("              precision    recall  f1-score   support\n"
                "\n"
                "        MISC       0.00      0.00      0.00         1\n"
                "         PER       1.00      1.00      1.00         1\n"
                "\n"
                "   micro avg       0.50      0.50      0.50         2\n"
                "   macro avg       0.50      0.50      0.50         2\n"
                "weighted avg       0.50      0.50      0.50         2\n")
    assert classification_report(y_true, y_pred) == expected


def test_classification_report_with_no_entities():
    report = classification_report([["O"]], [["O"]], output_dict=True)
    assert list(report) == ["micro avg", "macro avg", "weighted avg"]
    assert all(report[k]["f1-score"] == 0.0 and report[k]["support"] == 0 for k in report)


# ---------------------------------------------------------------------------------------------
# seqeval as a reference (test-time dependency only)
# ---------------------------------------------------------------------------------------------
TYPES = ("PER", "LOC", "creative-work")
TAGS = ["O", "O", "O"] + [f"{p}-{t}" for t in TYPES for p in "BI"]


def random_pairs(seed, n_sentences=40):
    """Random (often ill-formed) tag sequences and noisy predictions of them."""
    rng = np.random.default_rng(seed)
    y_true, y_pred = [], []
    for _ in range(n_sentences):
        length = int(rng.integers(0, 12))
        true = [TAGS[i] for i in rng.integers(0, len(TAGS), size=length)]
        pred = [TAGS[rng.integers(0, len(TAGS))] if rng.random() < 0.3 else tag for tag in true]
        y_true.append(true)
        y_pred.append(pred)
    return y_true, y_pred


@pytest.mark.parametrize("seed", range(6))
def test_matches_seqeval_on_random_sequences(seed):
    seqeval = pytest.importorskip("seqeval.metrics")
    from seqeval.metrics.sequence_labeling import get_entities as seqeval_entities

    y_true, y_pred = random_pairs(seed)
    for seq in y_true + y_pred:
        assert get_entities(seq) == seqeval_entities(seq)
    ours = entity_f1(y_true, y_pred)
    assert ours["precision"] == pytest.approx(seqeval.precision_score(y_true, y_pred, zero_division=0))
    assert ours["recall"] == pytest.approx(seqeval.recall_score(y_true, y_pred, zero_division=0))
    assert ours["f1"] == pytest.approx(seqeval.f1_score(y_true, y_pred, zero_division=0))
    theirs = seqeval.classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    mine = classification_report(y_true, y_pred, output_dict=True)
    assert list(mine) == list(theirs)
    for name in theirs:
        for key in ("precision", "recall", "f1-score", "support"):
            assert mine[name][key] == pytest.approx(float(theirs[name][key])), (name, key)
    assert classification_report(y_true, y_pred, digits=4) == seqeval.classification_report(
        y_true, y_pred, digits=4, zero_division=0)
