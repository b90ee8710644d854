"""Labelled examples deduplicated, then split seeded and stratified: shared by rotten-tomatoes and bbc-news.

Duplicates are removed before splitting, or copies of test items would sit in train.
"""

from __future__ import annotations

import logging

from rnn_nlp.data.fetchers.registry import Splits
from rnn_nlp.data.splits import stratified_split

log = logging.getLogger(__name__)


def unique_examples(texts: list[str], labels: list[str]) -> tuple[list[int], int, int]:
    """Indices of the first copy of each text, the number of distinct texts, and how many of
    them carried two or more labels (a text seen with different labels is ambiguous: dropped entirely)."""
    labels_of: dict[str, set[str]] = {}
    for text, label in zip(texts, labels):
        labels_of.setdefault(text, set()).add(label)
    seen: set[str] = set()
    keep = []
    for i, text in enumerate(texts):
        if text not in seen and len(labels_of[text]) == 1:
            keep.append(i)
        seen.add(text)
    return keep, len(labels_of), sum(len(v) > 1 for v in labels_of.values())


def split_labeled(columns: dict[str, list], name: str) -> Splits:
    """Deduplicate on "text", then a seeded (0), stratified 80/10/10 train/valid/test split."""
    n_rows = len(columns["text"])
    keep, distinct, conflicts = unique_examples(columns["text"], columns["label"])
    log.info(
        "%s: %d rows, %d distinct texts (%d duplicate rows removed); %d texts seen with different labels "
        "dropped entirely; %d examples remain",
        name,
        n_rows,
        distinct,
        n_rows - distinct,
        conflicts,
        len(keep),
    )
    columns = {col: [values[i] for i in keep] for col, values in columns.items()}
    parts = stratified_split(columns["label"], seed=0, where=name)
    return {split: {col: [v[i] for i in idx] for col, v in columns.items()} for split, idx in parts.items()}
