"""Entity-level scores for named-entity recognition (NER): precision, recall and F1 over whole entities.

A NER model tags every token; the tags use the **BIO** scheme (also called IOB2):

* ``B-X`` begins an entity of type ``X`` (``B-PER`` for the first token of a person's name),
* ``I-X`` is inside (continues) an entity of type ``X``,
* ``O`` is outside every entity.

    tokens:  Peter  Blackburn  visited  New    York   .
    tags:    B-PER  I-PER      O        B-LOC  I-LOC  O
    entities: (PER, 0, 1) and (LOC, 3, 4)

Scoring token by token would reward a model that tags ``New`` right and ``York`` wrong; the standard
(CoNLL-2003, ``conlleval.pl``, ``seqeval``) instead scores **entities**: a predicted entity is correct
only if its type *and* both boundaries equal those of a true entity.  With

    TP = number of predicted entities that are also true entities (exact type, start and end),

the scores are

    precision = TP / (number of predicted entities)   — how many of the model's entities are right,
    recall    = TP / (number of true entities)        — how many of the real entities it found,
    F1        = 2 · precision · recall / (precision + recall)   — their harmonic mean.

They are *micro* averages: entities of all types and all sentences are pooled before dividing, so a
frequent type weighs more.  A ratio whose denominator is zero (no predictions, no true entities) counts
as 0.0, as in ``seqeval`` and scikit-learn (``zero_division=0``).

Ill-formed sequences.  A model can output ``I-X`` after ``O`` or after another type.  Like ``seqeval`` in
its default mode (the ``conlleval.pl`` convention), such an ``I-X`` **starts a new entity** of type
``X``, and any change of type ends the current entity.  So ``O I-PER I-PER`` holds the entity
``(PER, 1, 2)``, and ``B-PER I-LOC`` holds ``(PER, 0, 0)`` and ``(LOC, 1, 1)``.

Spans are ``(type, start, end)`` with ``end`` **inclusive**, exactly as ``seqeval.metrics.sequence_labeling
.get_entities`` returns them: the entity's tokens are ``tokens[start:end + 1]``.
"""
from collections import Counter

import numpy as np

__all__ = ["get_entities", "entity_f1", "classification_report"]


def _split_tag(tag, position):
    """``(prefix, type)`` of a BIO tag: ``"B-LOC" -> ("B", "LOC")``, ``"O" -> ("O", None)``."""
    if tag == "O":
        return "O", None
    if isinstance(tag, str) and len(tag) > 2 and tag[0] in "BI" and tag[1] == "-":
        return tag[0], tag[2:]
    raise ValueError(f"get_entities: tag {tag!r} at position {position} is not a BIO tag; expected 'O', "
                     "'B-<type>' or 'I-<type>'")


def get_entities(tags):
    """The entities of one BIO tag sequence, as a list of ``(type, start, end)`` with ``end`` inclusive,
    in order of their start.

    Reading left to right, an entity of type ``X``

    * **starts** at ``B-X``, and at an ``I-X`` that does not continue an entity of type ``X`` (after
      ``O``, at the very start, or after another type: seqeval's default, lenient reading);
    * **continues** through each following ``I-X``;
    * **ends** before the next ``O``, ``B-…`` or tag of another type, or at the end of the sequence.

    >>> get_entities(["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "B-LOC"])
    [('PER', 0, 1), ('LOC', 3, 4), ('LOC', 5, 5)]
    >>> get_entities(["O", "I-ORG", "I-ORG", "I-MISC"])
    [('ORG', 1, 2), ('MISC', 3, 3)]
    """
    if isinstance(tags, str):
        raise TypeError(f"get_entities: expected a sequence of tags, got the string {tags!r}; "
                        "wrap one tag in a list")
    entities = []
    current_type, start = None, 0          # current_type is None while outside any entity
    for i, tag in enumerate(tags):
        prefix, tag_type = _split_tag(tag, i)
        continues = prefix == "I" and tag_type == current_type
        if current_type is not None and not continues:
            entities.append((current_type, start, i - 1))
            current_type = None
        if prefix != "O" and not continues:
            current_type, start = tag_type, i
    if current_type is not None:
        entities.append((current_type, start, len(tags) - 1))
    return entities


def _check_sequences(true_seqs, pred_seqs, caller):
    """Both arguments must be lists of tag sequences, pairwise of equal length."""
    for name, seqs in (("y_true", true_seqs), ("y_pred", pred_seqs)):
        if isinstance(seqs, str) or any(isinstance(s, str) for s in seqs):
            raise TypeError(f"{caller}: {name} must be a list of tag sequences (one per sentence), e.g. "
                            "[['B-PER', 'O'], ['O']]; got a flat sequence of tags: wrap it in a list")
    if len(true_seqs) != len(pred_seqs):
        raise ValueError(f"{caller}: y_true has {len(true_seqs)} sequences but y_pred has "
                         f"{len(pred_seqs)}; they must be the same sentences")
    for k, (t, p) in enumerate(zip(true_seqs, pred_seqs)):
        if len(t) != len(p):
            raise ValueError(f"{caller}: sequence {k} has {len(t)} true tags but {len(p)} predicted tags; "
                             "every sentence needs one predicted tag per token")


def _entity_sets(true_seqs, pred_seqs, caller):
    """The true and predicted entities of all sentences as sets of ``(sentence, type, start, end)``."""
    _check_sequences(true_seqs, pred_seqs, caller)
    true_set = {(k, *e) for k, seq in enumerate(true_seqs) for e in get_entities(seq)}
    pred_set = {(k, *e) for k, seq in enumerate(pred_seqs) for e in get_entities(seq)}
    return true_set, pred_set


def _ratio(numerator, denominator):
    return numerator / denominator if denominator else 0.0


def _scores(num_correct, num_pred, num_true):
    """``(precision, recall, f1)`` from the three counts; an undefined ratio is 0.0."""
    precision, recall = _ratio(num_correct, num_pred), _ratio(num_correct, num_true)
    return precision, recall, _ratio(2 * precision * recall, precision + recall)


def entity_f1(y_true, y_pred):
    """Micro-averaged entity-level precision, recall and F1 of predicted tag sequences (the CoNLL-2003
    score; ``seqeval.metrics.f1_score`` in its default mode).

    ``y_true`` and ``y_pred`` are lists of BIO tag sequences, one per sentence, pairwise of equal length.
    Returns a dict::

        {"precision": TP / num_pred, "recall": TP / num_true, "f1": 2PR / (P + R),
         "num_true": …, "num_pred": …, "num_correct": TP}

    where an entity counts as correct (a true positive, TP) only if a true entity has the same sentence,
    type, start and end.  See the module docstring for the definitions.
    """
    true_set, pred_set = _entity_sets(y_true, y_pred, "entity_f1")
    num_correct = len(true_set & pred_set)
    precision, recall, f1 = _scores(num_correct, len(pred_set), len(true_set))
    return {"precision": precision, "recall": recall, "f1": f1, "num_true": len(true_set),
            "num_pred": len(pred_set), "num_correct": num_correct}


def classification_report(y_true, y_pred, digits=2, output_dict=False):
    """Precision, recall, F1 and support for each entity type, then three averages — the table of
    ``seqeval.metrics.classification_report`` (default mode), which follows scikit-learn's.

    For each type ``X`` (sorted by name; every type seen in ``y_true`` or ``y_pred``), only entities of
    type ``X`` are counted: precision = TP_X / predicted_X, recall = TP_X / true_X, and the **support** is
    true_X, the number of true entities of that type.  The averages:

    * ``micro avg``: all entities pooled (the same numbers as :func:`entity_f1`);
    * ``macro avg``: the plain mean of the per-type scores (every type weighs the same, rare ones too);
    * ``weighted avg``: the per-type scores averaged with the supports as weights.

    Returns the formatted table, or with ``output_dict=True`` a dict
    ``{type or "micro avg"/…: {"precision", "recall", "f1-score", "support"}}``.
    """
    true_set, pred_set = _entity_sets(y_true, y_pred, "classification_report")
    true_count = Counter(e[1] for e in true_set)
    pred_count = Counter(e[1] for e in pred_set)
    correct_count = Counter(e[1] for e in true_set & pred_set)
    types = sorted(set(true_count) | set(pred_count))

    rows = {}
    for name in types:
        p, r, f = _scores(correct_count[name], pred_count[name], true_count[name])
        rows[name] = {"precision": p, "recall": r, "f1-score": f, "support": true_count[name]}
    per_type = [rows[name] for name in types]
    supports = np.array([row["support"] for row in per_type], dtype=np.float64)
    total = int(supports.sum())

    p, r, f = _scores(len(true_set & pred_set), len(pred_set), len(true_set))
    averages = {"micro avg": {"precision": p, "recall": r, "f1-score": f, "support": total}}
    for name, weights in (("macro avg", np.ones(len(per_type))), ("weighted avg", supports)):
        averages[name] = {key: (float(np.dot(weights, [row[key] for row in per_type]) / weights.sum())
                                if weights.sum() else 0.0)
                          for key in ("precision", "recall", "f1-score")}
        averages[name]["support"] = total

    if output_dict:
        return {**rows, **averages}
    return _format_report(rows, averages, digits)


def _format_report(rows, averages, digits):
    """The report as text, laid out like scikit-learn's and seqeval's."""
    width = max([len(name) for name in rows] + [len("weighted avg"), digits])
    head = f"{'':>{width}s} " + "".join(f" {h:>9}" for h in ("precision", "recall", "f1-score", "support"))

    def line(name, row):
        scores = "".join(f" {row[key]:>9.{digits}f}" for key in ("precision", "recall", "f1-score"))
        return f"{name:>{width}s} {scores} {row['support']:>9}"

    body = [line(name, row) for name, row in rows.items()]
    summary = [line(name, row) for name, row in averages.items()]
    return "\n".join([head, ""] + body + [""] + summary) + "\n"
