"""Text corpora: local files and folders, hub names (offline, load_dataset faked), clear DataErrors."""

from __future__ import annotations

import datasets
import pytest

from rnn_nlp.data import sources
from rnn_nlp.data.formats.lines import read_lines
from rnn_nlp.data.text import load_text_corpus, read_local_corpus
from rnn_nlp.errors import DataError
from tests.conftest import write_corpus


def _write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_read_lines_strips_and_drops_blank_lines(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"  first  \r\n\n   \nsecond\tline\r\nthird")
    assert read_lines(path) == ["first", "second\tline", "third"]


def test_single_file_is_split_90_5_5_contiguously(tmp_path):
    lines = [f"sentence number {i}" for i in range(200)]
    path = _write(tmp_path / "corpus.txt", lines)
    splits = load_text_corpus(str(path))
    assert splits["train"] == lines[:180]
    assert splits["valid"] == lines[180:190]
    assert splits["test"] == lines[190:]


def test_folder_with_train_valid_test(corpus):
    splits = load_text_corpus(str(corpus))
    assert set(splits) == {"train", "valid", "test"}
    for split, n in (("train", 600), ("valid", 60), ("test", 60)):
        expected = (corpus / f"{split}.txt").read_text(encoding="utf-8").splitlines()
        assert splits[split] == expected
        assert len(splits[split]) == n


@pytest.mark.parametrize(
    "names",
    [
        ("ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"),
        ("wiki.train.tokens", "wiki.validation.tokens", "wiki.test.tokens"),
        ("train.txt", "dev.txt", "test.txt"),
        ("train_part.txt", "validation.txt", "test.raw"),
    ],
)
def test_folder_split_names_are_recognised(tmp_path, names):
    for name, split in zip(names, ("train", "valid", "test")):
        _write(tmp_path / "c" / name, [f"{split} a", f"{split} b"])
    splits = load_text_corpus(str(tmp_path / "c"))
    assert splits == {
        "train": ["train a", "train b"],
        "valid": ["valid a", "valid b"],
        "test": ["test a", "test b"],
    }


def test_folder_with_only_train_gets_valid_and_test_carved_off(tmp_path):
    lines = [f"l{i}" for i in range(60)]
    _write(tmp_path / "c" / "train.txt", lines)
    splits = load_text_corpus(str(tmp_path / "c"))
    assert splits["train"] == lines[:54]
    assert splits["valid"] == lines[54:57]
    assert splits["test"] == lines[57:]


def test_folder_with_train_and_test_gets_only_valid_carved(tmp_path):
    lines = [f"l{i}" for i in range(60)]
    _write(tmp_path / "c" / "train.txt", lines)
    _write(tmp_path / "c" / "test.txt", ["the test"])
    splits = load_text_corpus(str(tmp_path / "c"))
    assert splits["test"] == ["the test"]
    assert splits["train"] == lines[:57]
    assert splits["valid"] == lines[57:]


def test_folder_of_unnamed_text_files_is_concatenated_in_order_then_split(tmp_path):
    _write(tmp_path / "c" / "b.txt", [f"b{i}" for i in range(10)])
    _write(tmp_path / "c" / "a.txt", [f"a{i}" for i in range(10)])
    _write(tmp_path / "c" / ".hidden.txt", ["secret"])
    _write(tmp_path / "c" / "notes.csv", ["not,text"])
    splits = read_local_corpus(tmp_path / "c")
    everything = [f"a{i}" for i in range(10)] + [f"b{i}" for i in range(10)]
    assert splits["train"] + splits["valid"] + splits["test"] == everything
    assert splits["train"] == everything[:18]


@pytest.mark.parametrize(
    "names, splits",
    [
        (("valid.txt", "test.txt"), "test, valid"),
        (("dev.txt",), "valid"),
        (("ptb.valid.txt", "ptb.test.txt"), "test, valid"),
        (("a.txt", "test.txt"), "test"),  # test text would have been trained on with a.txt
    ],
)
def test_folder_of_held_out_splits_without_train_is_an_error(tmp_path, names, splits):
    """Issue 15 item 19: valid.txt and test.txt alone were read as training text, without a word."""
    for name in names:
        _write(tmp_path / "c" / name, [f"{name} {i}" for i in range(20)])
    with pytest.raises(DataError) as info:
        load_text_corpus(str(tmp_path / "c"))
    msg = str(info.value)
    assert msg.startswith(f"{tmp_path / 'c'}: no train file")
    assert f"split(s) {splits} but none names train" in msg
    assert all(name in msg for name in names)
    assert "train.txt" in msg


def test_files_inside_hidden_folders_are_not_read(tmp_path):
    _write(tmp_path / "c" / "a.txt", [f"a{i}" for i in range(20)])
    _write(tmp_path / "c" / ".git" / "HEAD", ["ref: refs/heads/main"])
    splits = read_local_corpus(tmp_path / "c")
    assert "ref: refs/heads/main" not in splits["train"] + splits["valid"] + splits["test"]


def test_invalid_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine line\n\nok again\nbroken \xff\xfe here\nlast\n")
    with pytest.raises(DataError) as info:
        load_text_corpus(str(path))
    assert f"{path}:4" in str(info.value)
    assert "UTF-8" in str(info.value)


def test_invalid_utf8_in_folder_split_names_that_file(tmp_path):
    folder = write_corpus(tmp_path / "c", (20, 5, 5))
    (folder / "valid.txt").write_bytes(b"good\n\xc3\x28 bad\n")
    with pytest.raises(DataError) as info:
        load_text_corpus(str(folder))
    assert f"{folder / 'valid.txt'}:2" in str(info.value)


@pytest.mark.parametrize("name", ["nope/missing.txt", "missing.txt", "./nope/missing"])
def test_missing_path_is_a_data_error(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)

    def no_hub(*args, **kwargs):  # a path-looking name must never go to the hub
        raise AssertionError("load_dataset called")

    monkeypatch.setattr(datasets, "load_dataset", no_hub)
    with pytest.raises(DataError, match="corpus not found: " + name):
        load_text_corpus(name)


def test_empty_file_is_a_data_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n  \n\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty train split"):
        load_text_corpus(str(path))


def test_empty_train_file_in_folder_is_a_data_error(tmp_path):
    folder = tmp_path / "c"
    _write(folder / "train.txt", [""])
    _write(folder / "valid.txt", ["v"])
    _write(folder / "test.txt", ["t"])
    with pytest.raises(DataError, match="empty train split"):
        load_text_corpus(str(folder))


def test_folder_without_text_files_is_a_data_error(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "data.csv").write_text("a,b\n", encoding="utf-8")
    with pytest.raises(DataError, match="no text files"):
        load_text_corpus(str(folder))


def test_fetcher_name_goes_through_fetch(monkeypatch):
    calls = []

    def fake_fetch(name):
        calls.append(name)
        return datasets.DatasetDict({s: datasets.Dataset.from_dict({"text": [f"{s} 1", f"{s} 2"]}) for s in ("train", "valid", "test")})

    monkeypatch.setattr(sources, "fetch", fake_fetch)
    splits = load_text_corpus("ptb")
    assert calls == ["ptb"]
    assert splits == {"train": ["train 1", "train 2"], "valid": ["valid 1", "valid 2"], "test": ["test 1", "test 2"]}


def _hub_table(train, validation=None, column="sentence", extra=None):
    parts = {"train": datasets.Dataset.from_dict({column: train, "id": list(range(len(train)))})}
    if validation is not None:
        parts["validation"] = datasets.Dataset.from_dict({column: validation, "id": list(range(len(validation)))})
    for name, texts in (extra or {}).items():
        parts[name] = datasets.Dataset.from_dict({column: texts, "id": list(range(len(texts)))})
    return datasets.DatasetDict(parts)


@pytest.fixture
def fake_hub(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # the name must not exist as a local path
    calls = []

    def install(table):
        def load_dataset(name, config=None, *args, **kwargs):
            calls.append((name, config))
            return table

        monkeypatch.setattr(datasets, "load_dataset", load_dataset)
        return calls

    return install


def test_hub_name_maps_validation_to_valid_and_carves_missing_test(fake_hub):
    train = [f"  train sentence {i}  " for i in range(40)] + ["", "   ", None]
    validation = ["valid one", "", "valid two"]
    calls = fake_hub(_hub_table(train, validation, column="sentence", extra={"unsupervised": ["u"]}))
    splits = load_text_corpus("tiny_hub_corpus", "cfg1", text_column="sentence")
    assert calls == [("tiny_hub_corpus", "cfg1")]
    assert set(splits) == {"train", "valid", "test"}
    stripped = [f"train sentence {i}" for i in range(40)]
    assert splits["valid"] == ["valid one", "valid two"]
    assert splits["train"] == stripped[:38]
    assert splits["test"] == stripped[38:]


def test_hub_name_with_only_train_gets_valid_and_test(fake_hub):
    fake_hub(_hub_table([f"t{i}" for i in range(100)], column="text"))
    splits = load_text_corpus("someone/tiny_hub_corpus")
    assert len(splits["train"]) == 90
    assert splits["valid"] == [f"t{i}" for i in range(90, 95)]
    assert splits["test"] == [f"t{i}" for i in range(95, 100)]


def test_hub_missing_text_column_lists_columns(fake_hub):
    fake_hub(_hub_table(["a", "b"], column="sentence"))
    with pytest.raises(DataError) as info:
        load_text_corpus("someone/tiny_hub_corpus", text_column="text")
    msg = str(info.value)
    assert "tiny_hub_corpus" in msg
    assert "'text'" in msg
    assert "sentence" in msg and "id" in msg


def test_hub_without_train_split_is_a_data_error(fake_hub):
    fake_hub(datasets.DatasetDict({"test": datasets.Dataset.from_dict({"text": ["a"]})}))
    with pytest.raises(DataError, match="no train split"):
        load_text_corpus("someone/tiny_hub_corpus")


def test_hub_load_failure_is_a_data_error_naming_the_corpus(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)

    def load_dataset(*args, **kwargs):
        raise ConnectionError("offline")

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    with pytest.raises(DataError) as info:
        load_text_corpus("no_such_hub_corpus", "default")
    msg = str(info.value)
    assert "'no_such_hub_corpus'" in msg
    assert "ConnectionError: offline" in msg
    assert "ptb" in msg  # lists the known corpus names


def test_namespaced_hub_name_reaches_load_dataset(fake_hub):
    calls = fake_hub(_hub_table([f"t{i}" for i in range(20)], column="text"))
    splits = load_text_corpus("someuser/tiny_corpus")
    assert calls == [("someuser/tiny_corpus", None)]
    assert len(splits["train"]) == 18


@pytest.mark.parametrize("streaming", [False, True])
def test_a_byte_order_mark_and_cr_line_ends_read_as_plain_lines(tmp_path, streaming):
    """A BOM never enters the vocabulary; "\r" and "\r\n" end lines, in memory and streamed alike."""
    from rnn_nlp.runs import build_config
    from rnn_nlp.tasks.lm import LMTask

    folder = tmp_path / "corpus"
    folder.mkdir()
    lines = [f"that cat sees {w} ." for w in ("a", "the", "my", "one", "his")] * 8
    (folder / "train.txt").write_bytes(("\ufeff" + "\r".join(lines) + "\r").encode("utf-8"))
    (folder / "valid.txt").write_bytes(("\r\n".join(lines[:10]) + "\r\n").encode("utf-8"))
    (folder / "test.txt").write_bytes("\ufeff".encode("utf-8") + ("\r".join(lines[:10])).encode("utf-8"))
    cfg = build_config({"task": "lm", "data": {"name": str(folder), "tokenizer": "whitespace", "streaming": streaming}})
    task = LMTask(cfg)
    vocab = task.token_vocab()
    assert "that" in vocab and not any("\ufeff" in w for w in vocab.itos)
    expected = len(lines) * 6  # five tokens and <eos> a line
    if streaming:
        corpus = task._corpus()
        assert list(corpus.lines("train")) == lines and list(corpus.lines("test")) == lines[:10] == list(corpus.lines("valid"))
    else:
        assert task.ids("train").numel() == expected and task.ids("valid").numel() == 10 * 6 == task.ids("test").numel()


def test_split_files_on_a_full_disk_are_a_save_error_naming_the_file(tmp_path, monkeypatch):
    import errno

    from rnn_nlp.data.text import write_split_files
    from rnn_nlp.errors import SaveError

    write_split_files(tmp_path / "text", {"train": ["old"]})

    def full(self, text, encoding=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(type(tmp_path), "write_text", full)
    with pytest.raises(SaveError, match=r"cannot write .*text/train.txt: No space left on device"):
        write_split_files(tmp_path / "text", {"train": ["new"], "valid": ["v"]})
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "text").iterdir()) == ["train.txt"]
    assert (tmp_path / "text" / "train.txt").read_text() == "old\n"
