"""SQuAD's exact match and token F1, defined as the official v1.1 evaluation script defines them.

An answer is normalised (lower case, punctuation removed, the articles a/an/the removed, whitespace
collapsed) before comparing; a prediction scores the maximum over the gold answers. For v2.0, a
question without gold answers counts the empty string as its one gold answer, so only an empty
prediction matches it (and its F1 is 1 for an empty prediction, else 0), as the v2.0 script does.
"""

from __future__ import annotations

import re
import string
from collections import Counter

PUNCTUATION = set(string.punctuation)
ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (the official script's order)."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in PUNCTUATION)
    text = ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when the normalised strings are equal, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """Bag-of-tokens F1 of the normalised strings. As in the v1.1 script, no shared token means 0, also when
    both normalise to nothing (gold "the", prediction "a"); the no-answer case is `best_over_golds`'s."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_over_golds(metric, prediction: str, golds: list[str]) -> float:
    """The metric against each gold answer, maximised. No gold answers (v2.0 unanswerable): the v2.0 script's
    rule, 1 when the prediction normalises to nothing, else 0, for exact match and F1 alike."""
    if not golds:
        return float(normalize_answer(prediction) == "")
    return max(metric(prediction, g) for g in golds)


def squad_scores(predictions: list[str], golds: list[list[str]]) -> dict[str, float]:
    """Mean exact match and F1 (fractions; the official script prints them times 100), with the
    answerable / unanswerable breakdown when there are unanswerable questions."""
    if len(predictions) != len(golds):
        raise ValueError(f"{len(predictions)} predictions for {len(golds)} questions")
    em = [best_over_golds(exact_match, p, g) for p, g in zip(predictions, golds)]
    f1 = [best_over_golds(token_f1, p, g) for p, g in zip(predictions, golds)]
    n = max(1, len(em))
    out = {"exact_match": sum(em) / n, "f1": sum(f1) / n}
    no_answer = [i for i, g in enumerate(golds) if not g]
    if no_answer:
        has = [i for i, g in enumerate(golds) if g]
        out["has_answer_f1"] = sum(f1[i] for i in has) / max(1, len(has))
        out["no_answer_accuracy"] = sum(em[i] for i in no_answer) / len(no_answer)
    return out
