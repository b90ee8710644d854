"""One resolver for every reader: fetched corpus, local path or hub id, and the errors that come at once."""

from __future__ import annotations

import time
from pathlib import Path

import datasets
import pytest

from rnn_nlp.data.labeled import load_labeled_corpus
from rnn_nlp.data.parallel import load_parallel_corpus
from rnn_nlp.data.qa import load_qa_corpus
from rnn_nlp.data.sources import FETCHED, HUB, LOCAL, load_hub, resolve, split_named
from rnn_nlp.data.streaming import StreamingCorpus
from rnn_nlp.data.tagged import load_tagged_corpus
from rnn_nlp.data.text import load_text_corpus
from rnn_nlp.errors import DataError

LOADERS = [load_text_corpus, load_labeled_corpus, load_tagged_corpus, load_qa_corpus, load_parallel_corpus, StreamingCorpus]


@pytest.fixture
def no_hub(monkeypatch, tmp_path):
    """Run in an empty folder; any call of datasets.load_dataset fails the test."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: pytest.fail("load_dataset must not be called"))


@pytest.fixture
def fake_hub(monkeypatch, tmp_path):
    """datasets.load_dataset records its arguments and returns a tiny table."""
    monkeypatch.chdir(tmp_path)
    calls = []
    table = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": ["a b", "c d", "e f"]})})

    def load_dataset(name, config=None, *args, **kwargs):
        calls.append((name, config))
        return table

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


def test_a_fetcher_name_is_a_fetched_corpus_before_anything_else(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ptb").mkdir()  # a folder of that name does not shadow the corpus
    assert resolve("ptb") == resolve("ptb", "some-config") and resolve("ptb").kind == FETCHED
    assert resolve("conll2003").kind == FETCHED  # also a hub name: the fetched corpus wins


def test_an_existing_file_or_folder_is_local(tmp_path, monkeypatch):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "a.txt").write_text("x\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert resolve("corpus") == resolve("corpus", "cfg") and resolve("corpus").path == Path("corpus")
    source = resolve(str(tmp_path / "a.txt"))
    assert source.kind == LOCAL and source.path == tmp_path / "a.txt"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve("~/a.txt").path == tmp_path / "a.txt"


@pytest.mark.parametrize("name", ["./nope", "/no/such/dir", "~/nothing-here", "missing.txt", "user/file.jsonl", "a/b/c", "data/corpus"])
def test_a_missing_path_is_not_found_at_once(no_hub, tmp_path, name):
    (tmp_path / "data").mkdir()  # "data/corpus": its first part is a folder here
    with pytest.raises(DataError, match=f"tagged corpus not found: {name} \\(no such file or folder\\)"):
        resolve(name, what="tagged corpus")


@pytest.mark.parametrize(
    "name, config",
    [
        ("someone/tiny", None),
        ("stanfordnlp/imdb", None),
        ("org/name-v1.5", None),
        ("squad", None),
        ("rotten_tomatoes", None),
        ("ptb_text_only", None),
        ("any_bare_name", "default"),
    ],
)
def test_plausible_hub_ids_go_to_the_hub(no_hub, name, config):
    assert resolve(name, config) == resolve(name, config) and resolve(name, config).kind == HUB
    assert resolve(name, config).hub_config == config


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_a_misspelt_corpus_fails_at_once_with_a_did_you_mean(no_hub, loader):
    start = time.monotonic()
    with pytest.raises(DataError) as info:
        loader("ptbb")
    assert time.monotonic() - start < 5  # not ~29 s of hub retries
    message = str(info.value)
    assert message.startswith("unknown corpus 'ptbb' (did you mean 'ptb'")
    assert "rotten-tomatoes" in message and "owner/name" in message


def test_a_name_close_to_nothing_gets_no_suggestion(no_hub):
    with pytest.raises(DataError, match=r"^unknown corpus 'zzzzqqq': it is not a fetched corpus \("):
        load_text_corpus("zzzzqqq")


def test_the_hub_gets_the_name_and_config(fake_hub):
    assert load_text_corpus("someone/tiny", "cfg")["train"] == ["a b"]
    assert load_text_corpus("squad")["test"] == ["e f"]
    assert fake_hub == [("someone/tiny", "cfg"), ("squad", None)]


@pytest.mark.parametrize("variable", ["HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"])
@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_offline_the_hub_fails_at_once_saying_so(no_hub, monkeypatch, variable, loader):
    monkeypatch.setenv(variable, "1")
    with pytest.raises(DataError) as info:
        loader("someone/tiny")
    assert str(info.value).endswith(f"the hub cannot be reached ({variable} is set)")
    assert "'someone/tiny' is neither a known corpus (" in str(info.value)


def test_an_offline_switch_that_is_off_does_not_count(fake_hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert load_text_corpus("someone/tiny")["train"] == ["a b"]


def test_load_hub_turns_any_failure_into_one_data_error(monkeypatch):
    def load_dataset(name, config=None):
        raise FileNotFoundError(f"{name} [{config}] is nowhere")

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    with pytest.raises(DataError, match=r"could load: FileNotFoundError: someone/x \[c\] is nowhere$"):
        load_hub("someone/x", "c")


def test_a_local_source_has_no_table(tmp_path):
    with pytest.raises(DataError, match="read by its format's reader"):
        resolve(str(tmp_path)).table()


def test_split_of_reads_the_first_word_or_the_last_dotted_part():
    names = {
        "train.txt": "train",
        "wiki.valid.tokens": "valid",
        "train_2.csv": "train",
        "train-v1.1.json": "train",
        "dev-v2.0.json": "valid",
        "validation.jsonl": "valid",
        "devices.json": None,
        "testimonials.json": None,
    }
    assert {n: split_named(Path(n)) for n in names} == names
