"""The fetch cache: built once, read after, rebuilt when damaged or refreshed, kept apart by version;
the fetcher table's decorator; datasets' progress bars kept off stderr."""

from __future__ import annotations

import datasets
import pytest

from rnn_nlp.data.fetchers import registry
from rnn_nlp.data.fetchers.cache import FETCHERS, cache_path, fetch
from rnn_nlp.data.fetchers.registry import Fetcher, register_fetcher
from rnn_nlp.errors import DataError
from tests.data.fetchers.conftest import failing_fetcher


@pytest.fixture
def tiny_fetcher(monkeypatch):
    """Register a fetcher 'tiny' for this test; returns the list of build calls."""
    calls = []

    def build():
        calls.append(1)
        return {"train": {"text": ["a b", "c d e"]}, "valid": {"text": ["f"]}, "test": {"text": ["g h"]}}

    monkeypatch.setitem(FETCHERS, "tiny", Fetcher("tiny", "a tiny corpus", build))
    return calls


def test_fetch_builds_once_then_caches(own_cache, tiny_fetcher):
    table = fetch("tiny")
    assert tiny_fetcher == [1]
    assert table["train"]["text"] == ["a b", "c d e"]
    assert table["valid"]["text"] == ["f"]
    assert table["test"]["text"] == ["g h"]
    assert (own_cache / "tiny").is_dir()
    # nothing temporary left beside the cached corpus
    assert sorted(p.name for p in own_cache.iterdir()) == ["tiny"]
    again = fetch("tiny")
    assert tiny_fetcher == [1]
    assert again["train"]["text"] == ["a b", "c d e"]


def test_fetch_refresh_rebuilds(own_cache, tiny_fetcher):
    fetch("tiny")
    fetch("tiny", refresh=True)
    assert tiny_fetcher == [1, 1]


def test_damaged_cache_is_rebuilt(own_cache, tiny_fetcher):
    (own_cache / "tiny").mkdir(parents=True)
    (own_cache / "tiny" / "garbage.bin").write_bytes(b"\x00not arrow")
    table = fetch("tiny")
    assert tiny_fetcher == [1]
    assert table["test"]["text"] == ["g h"]
    assert not (own_cache / "tiny" / "garbage.bin").exists()


def test_unknown_name_lists_known_names(monkeypatch, tiny_fetcher):
    with pytest.raises(DataError) as info:
        fetch("no-such-corpus")
    msg = str(info.value)
    assert "'no-such-corpus'" in msg
    assert "ptb" in msg and "tiny" in msg


def test_register_fetcher_decorator(monkeypatch):
    monkeypatch.setattr(registry, "FETCHERS", dict(FETCHERS))

    @register_fetcher("mine", "my corpus")
    def build():
        return {"train": ["x"]}

    assert registry.FETCHERS["mine"] == Fetcher("mine", "my corpus", build)
    assert build() == {"train": ["x"]}  # the function itself is returned unchanged


def test_a_new_fetcher_version_is_cached_apart_and_never_read_from_the_old_folder(own_cache, tiny_fetcher, monkeypatch):
    assert fetch("tiny")["valid"]["text"] == ["f"] and cache_path("tiny") == own_cache / "tiny"

    def build_v2():
        return {"train": {"text": ["new"]}, "valid": {"text": ["f"]}, "test": {"text": ["g h"]}}

    monkeypatch.setitem(FETCHERS, "tiny", Fetcher("tiny", "a tiny corpus, changed", build_v2, version=2))
    assert cache_path("tiny") == own_cache / "tiny.v2"
    assert fetch("tiny")["train"]["text"] == ["new"]  # built anew, not the stale version-1 table
    assert (own_cache / "tiny").is_dir() and (own_cache / "tiny.v2").is_dir()
    monkeypatch.setitem(FETCHERS, "tiny", Fetcher("tiny", "", failing_fetcher("tiny").build, version=2))
    assert fetch("tiny")["train"]["text"] == ["new"]  # and then read from its own folder
    assert FETCHERS["conll2003-cloze"].version == FETCHERS["conll2003-cloze-anon"].version == 2


def test_a_misspelt_name_gets_a_did_you_mean():
    with pytest.raises(DataError, match=r"unknown corpus 'ptbb' \(did you mean 'ptb'\?\); known: bbc-headlines, "):
        fetch("ptbb")


def test_a_fetcher_gets_the_tables_it_requires(own_cache, tiny_fetcher, monkeypatch):
    def build(tiny):
        return {"train": {"text": [t.upper() for t in tiny["train"]["text"]]}}

    monkeypatch.setitem(FETCHERS, "loud", Fetcher("loud", "tiny, upper case", build, requires=("tiny",)))
    assert fetch("loud")["train"]["text"] == ["A B", "C D E"]
    assert tiny_fetcher == [1] and (own_cache / "tiny").is_dir()


def test_fetching_draws_no_datasets_progress_bar(own_cache, tiny_fetcher, capfd):
    """datasets draws a "Saving the dataset" bar a split; a fetch keeps them off stderr and leaves them as it found them."""
    datasets.enable_progress_bars()
    datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": ["x"]})}).save_to_disk(str(own_cache / "control"))
    assert "Saving the dataset" in capfd.readouterr().err  # what a bare save draws
    fetch("tiny")
    fetch("tiny")  # and reading the cache
    assert "Saving the dataset" not in capfd.readouterr().err
    assert not datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        fetch("tiny", refresh=True)
        assert datasets.are_progress_bars_disabled()  # a user's own choice is kept
    finally:
        datasets.enable_progress_bars()
