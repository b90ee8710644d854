"""sotu (State of the Union addresses), built offline from a fake npm tarball."""

from __future__ import annotations

import json

import pytest

from rnn_nlp.data.fetchers import sotu
from rnn_nlp.errors import DataError


def test_sotu_splits_speeches_into_sentences(npm_package):
    speeches = {
        f"package/data/{1790 + i}_someone_n.json": json.dumps(
            {"year": 1790 + i, "text": f'Fellow citizens. We met in {1790 + i}! Is it "good"? Yes.'}
        ).encode()
        for i in range(40)
    }
    speeches["package/data/1790_someone_n.txt"] = b"ignored"
    npm_package(speeches)
    splits = sotu.fetch_sotu()
    assert sum(len(s["text"]) for s in splits.values()) == 40 * 4
    assert splits["train"]["text"][:4][0] == "Fellow citizens."
    assert 'Is it "good"?' in splits["train"]["text"]


def test_bad_json_names_the_file(npm_package):
    npm_package({"package/data/1790_x.json": b"{not json"})
    with pytest.raises(DataError, match="1790_x.json is not valid JSON"):
        sotu.fetch_sotu()
