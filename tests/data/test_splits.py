"""Seeded and contiguous splits: by line, by item, by pair, by label (stratified)."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from rnn_nlp.data.splits import (
    fill_missing_splits,
    seeded_split,
    split_lines,
    split_pairs,
    stratified_split,
    train_alone,
    with_valid_in_train,
)
from rnn_nlp.errors import ConfigError, DataError


def test_split_lines_90_5_5_contiguous():
    lines = [f"line {i}" for i in range(100)]
    parts = split_lines(lines)
    assert parts["train"] == lines[:90]
    assert parts["valid"] == lines[90:95]
    assert parts["test"] == lines[95:]


@pytest.mark.parametrize(
    "n,sizes",
    [(20, (18, 1, 1)), (3, (1, 1, 1)), (2, (2, 0, 0)), (1, (1, 0, 0)), (0, (0, 0, 0)), (41, (37, 2, 2))],
)
def test_split_lines_sizes(n, sizes):
    lines = [str(i) for i in range(n)]
    parts = split_lines(lines)
    assert (len(parts["train"]), len(parts["valid"]), len(parts["test"])) == sizes
    assert parts["train"] + parts["valid"] + parts["test"] == lines


def test_fill_missing_splits_carves_both_off_the_end_of_train():
    train = [str(i) for i in range(40)]
    out = fill_missing_splits({"train": train})
    assert out["train"] == train[:36]
    assert out["valid"] == train[36:38]
    assert out["test"] == train[38:]


def test_fill_missing_splits_carves_only_what_is_missing():
    train = [str(i) for i in range(40)]
    out = fill_missing_splits({"train": train, "valid": ["v"]})
    assert out["valid"] == ["v"]
    assert out["train"] == train[:38]
    assert out["test"] == train[38:]
    out = fill_missing_splits({"train": train, "test": ["t"]})
    assert out["test"] == ["t"]
    assert out["train"] == train[:38]
    assert out["valid"] == train[38:]


def test_fill_missing_splits_leaves_complete_splits_alone():
    splits = {"train": ["a", "b"], "valid": ["c"], "test": ["d"]}
    assert fill_missing_splits(splits) == splits


def test_seeded_split_is_reproducible_and_covers_everything():
    parts = seeded_split(list(range(50)), seed=3)
    assert parts == seeded_split(list(range(50)), seed=3)
    assert sorted(parts["train"] + parts["valid"] + parts["test"]) == list(range(50))
    assert all(parts[s] for s in parts)


def test_split_pairs_keeps_every_pair_once():
    pairs = ([str(i) for i in range(100)], [str(-i) for i in range(100)])
    parts = split_pairs(pairs, seed=3)
    assert [len(parts[s][0]) for s in ("train", "valid", "test")] == [90, 5, 5]
    assert sorted(int(x) for p in parts.values() for x in p[0]) == list(range(100))


def test_stratified_split_sizes_and_disjointness():
    labels = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    parts = stratified_split(labels, seed=3)
    assert sorted(parts["train"] + parts["valid"] + parts["test"]) == list(range(100))
    for split, expected in (("train", (40, 24, 16)), ("valid", (5, 3, 2)), ("test", (5, 3, 2))):
        counts = Counter(labels[i] for i in parts[split])
        assert (counts["a"], counts["b"], counts["c"]) == expected
    assert stratified_split(labels, seed=3) == parts


def test_a_class_with_one_example_falls_back_to_an_unstratified_split(caplog):
    labels = ["a"] * 10 + ["b"] * 9 + ["lonely"]
    with caplog.at_level(logging.WARNING):
        parts = stratified_split(labels, seed=0, where="x.csv")
    assert [len(parts[s]) for s in parts] == [16, 2, 2]
    assert "x.csv: 1 class(es) with a single example ('lonely'); splitting without stratification" in caplog.text


def test_with_valid_in_train_appends_valid_and_keeps_documents_apart():
    splits = {
        "train": {"tokens": [["a"], ["b"]], "document": [0, 1]},
        "valid": {"tokens": [["c"]], "document": [1]},
        "test": {"tokens": [["d"]], "document": [0]},
    }
    joined = with_valid_in_train(splits, "corpus")
    assert joined["train"] == {"tokens": [["a"], ["b"], ["c"]], "document": [0, 1, "valid:1"]}  # valid's 1 is not train's 1
    assert joined["valid"] is splits["valid"] and joined["test"] is splits["test"]
    assert splits["train"]["tokens"] == [["a"], ["b"]]  # the input is not changed
    assert train_alone(joined) == splits["train"]  # what train was before valid joined it


def test_with_valid_in_train_needs_a_valid_split_of_the_same_columns():
    with pytest.raises(ConfigError, match=r"data.train_with_dev: corpus has no valid split"):
        with_valid_in_train({"train": {"text": ["a"]}, "test": {"text": ["b"]}}, "corpus")
    with pytest.raises(ConfigError, match="no valid split"):
        with_valid_in_train({"train": {"text": ["a"]}, "valid": {"text": []}}, "corpus")
    with pytest.raises(DataError, match=r"corpus: data.train_with_dev joins valid to train, but their columns differ"):
        with_valid_in_train({"train": {"text": ["a"], "label": ["x"]}, "valid": {"text": ["b"]}}, "corpus")
