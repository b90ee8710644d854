"""The bbc-headlines fetcher: article -> headline pairs from the bbc-news table."""

from __future__ import annotations

import datasets

from rnn_nlp.data.fetchers import bbc_headlines as fp


def test_headline_pairs_take_the_first_line_off_and_deduplicate():
    texts = ["Big news\n\nFirst paragraph.\nSecond paragraph.", "Other title\nFirst paragraph. Second paragraph.", "Only a title"]
    sources, targets = fp.headline_pairs(texts, ["Big news", "Other title", "Only a title"])
    assert sources == ["First paragraph. Second paragraph."]
    assert targets == ["Big news"]


def test_built_from_the_bbc_news_table_split_by_split():
    rows = {"text": ["Title A\nBody a.", "Title B\nBody b."], "title": ["Title A", "Title B"], "label": ["x", "y"]}
    table = datasets.DatasetDict({s: datasets.Dataset.from_dict(rows) for s in ("train", "valid", "test")})
    out = fp.fetch_bbc_headlines(table)
    assert out["test"] == {"source": ["Body a.", "Body b."], "target": ["Title A", "Title B"]}
