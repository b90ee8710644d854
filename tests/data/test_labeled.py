"""Labelled corpora: CSV/TSV/JSON-lines files and folders, hub names (load_dataset faked), fetcher names,
seeded stratified splits, multi-label parsing, and a DataError naming file and line for every bad input."""

from __future__ import annotations

import csv
import json
import logging
from collections import Counter

import datasets
import pytest

from rnn_nlp.data import labeled
from rnn_nlp.data.fetchers.cache import FETCHERS
from rnn_nlp.data.fetchers.registry import Fetcher
from rnn_nlp.data.labeled import load_labeled_corpus, read_labeled_file
from rnn_nlp.errors import DataError


def _csv(path, header, rows, delimiter=","):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _jsonl(path, objects):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(o) + "\n" for o in objects), encoding="utf-8")
    return path


def _rows(n_pos=60, n_neg=40):
    return [(f"good film {i}", "pos") for i in range(n_pos)] + [(f"bad film {i}", "neg") for i in range(n_neg)]


def _counts(split):
    return dict(Counter(split["label"]))


def _all(splits):
    return [(t, lab) for s in ("train", "valid", "test") for t, lab in zip(splits[s]["text"], splits[s]["label"])]


@pytest.fixture
def no_hub(monkeypatch, tmp_path):
    """Names must not reach the hub, and relative names must not exist by accident."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: pytest.fail("load_dataset must not be called"))


# ---- formats and columns ----------------------------------------------------------------------


def test_csv_file_is_split_80_10_10_stratified(tmp_path):
    path = _csv(tmp_path / "reviews.csv", ["text", "label"], _rows())
    splits = load_labeled_corpus(str(path))
    assert list(splits) == ["train", "valid", "test"]
    assert [len(splits[s]["text"]) for s in splits] == [80, 10, 10]
    assert _counts(splits["train"]) == {"pos": 48, "neg": 32}
    assert _counts(splits["valid"]) == {"pos": 6, "neg": 4}
    assert _counts(splits["test"]) == {"pos": 6, "neg": 4}
    assert sorted(_all(splits)) == sorted(_rows())  # every row once, labels kept with their texts
    # each split keeps the file's order
    order = {t: i for i, (t, _) in enumerate(_rows())}
    for split in splits.values():
        assert split["text"] == sorted(split["text"], key=order.get)


def test_split_is_deterministic_for_a_seed_and_changes_with_it(tmp_path):
    path = _csv(tmp_path / "reviews.csv", ["text", "label"], _rows())
    first = load_labeled_corpus(str(path), seed=0)
    assert load_labeled_corpus(str(path), seed=0) == first
    other = load_labeled_corpus(str(path), seed=1)
    assert other["test"]["text"] != first["test"]["text"]
    assert _counts(other["test"]) == {"pos": 6, "neg": 4}


def test_csv_columns_chosen_by_name_and_quoted_fields(tmp_path):
    rows = [(str(i), f'a "quoted", multi\nline review {i}', "x" if i % 2 else "y", "extra") for i in range(10)]
    path = _csv(tmp_path / "data.csv", ["id", "review", "stars", "note"], rows)
    texts, labels = read_labeled_file(path, "review", "stars", None)
    assert texts == [r[1] for r in rows]
    assert labels == ["y", "x"] * 5


def test_tsv_keeps_quote_characters(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_text("sentence\tlabel\n\"it's a 'classic'\" he said\t1\nnot \"good\t0\n", encoding="utf-8")
    assert read_labeled_file(path, "sentence", "label", None) == (
        ["\"it's a 'classic'\" he said", 'not "good'],
        ["1", "0"],
    )


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_json_lines_with_numbers_as_labels_and_extra_keys(tmp_path, suffix):
    objects = [{"sentence": " first ", "y": 1, "id": 7}, {"y": 0, "sentence": "second"}, {"sentence": "third", "y": "2"}]
    path = _jsonl(tmp_path / f"data{suffix}", objects)
    assert read_labeled_file(path, "sentence", "y", None) == (["first", "second", "third"], ["1", "0", "2"])


def test_a_byte_order_mark_does_not_hide_the_first_column(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("text,label\r\nfine,a\r\nbad,b\r\n".encode("utf-8-sig"))
    assert read_labeled_file(path, "text", "label", None) == (["fine", "bad"], ["a", "b"])


# ---- multi-label ------------------------------------------------------------------------------


def test_multi_label_from_a_separator(tmp_path):
    rows = [(f"text {i}", "sport|news" if i % 2 else " tech | ") for i in range(20)]
    path = _csv(tmp_path / "tags.csv", ["text", "label"], rows)
    assert read_labeled_file(path, "text", "label", "|")[1][:2] == [["tech"], ["sport", "news"]]
    splits = load_labeled_corpus(str(path), label_separator="|")
    assert sorted(_all(splits)) == sorted((t, ["sport", "news"] if int(t[5:]) % 2 else ["tech"]) for t, _ in rows)
    assert [len(splits[s]["text"]) for s in splits] == [16, 2, 2]
    assert Counter(tuple(x) for x in splits["test"]["label"]) == {("tech",): 1, ("sport", "news"): 1}


def test_multi_label_from_json_lists_makes_every_label_a_list(tmp_path):
    objects = [{"text": f"t{i}", "label": ["a", "b"] if i % 2 else "a"} for i in range(10)]
    splits = load_labeled_corpus(str(_jsonl(tmp_path / "m.jsonl", objects)))
    assert sorted(_all(splits)) == sorted((f"t{i}", ["a", "b"] if i % 2 else ["a"]) for i in range(10))


# ---- folders ----------------------------------------------------------------------------------


def test_folder_with_train_dev_test_files(tmp_path, no_hub):
    _csv(tmp_path / "d" / "train.csv", ["text", "label"], [("a", "x"), ("b", "y")])
    _jsonl(tmp_path / "d" / "dev.jsonl", [{"text": "c", "label": "x"}])
    _csv(tmp_path / "d" / "test.tsv", ["text", "label"], [("d", "y")], delimiter="\t")
    (tmp_path / "d" / "README.md").write_text("not data")
    assert load_labeled_corpus(str(tmp_path / "d")) == {
        "train": {"text": ["a", "b"], "label": ["x", "y"]},
        "valid": {"text": ["c"], "label": ["x"]},
        "test": {"text": ["d"], "label": ["y"]},
    }


def test_folder_with_train_and_validation_carves_only_test(tmp_path, no_hub):
    _csv(tmp_path / "d" / "train.csv", ["text", "label"], _rows(10, 10))
    _csv(tmp_path / "d" / "validation.csv", ["text", "label"], [("v", "pos"), ("w", "neg")])
    splits = load_labeled_corpus(str(tmp_path / "d"))
    assert splits["valid"] == {"text": ["v", "w"], "label": ["pos", "neg"]}
    assert [len(splits[s]["text"]) for s in splits] == [18, 2, 2]
    assert _counts(splits["test"]) == {"pos": 1, "neg": 1}


def test_folder_with_only_train_gets_valid_and_test(tmp_path, no_hub):
    _jsonl(tmp_path / "d" / "train.jsonl", [{"text": t, "label": lab} for t, lab in _rows()])
    splits = load_labeled_corpus(str(tmp_path / "d"))
    assert [len(splits[s]["text"]) for s in splits] == [80, 10, 10]
    assert _counts(splits["valid"]) == {"pos": 6, "neg": 4}


def test_folder_without_a_train_file_is_an_error(tmp_path, no_hub):
    _csv(tmp_path / "d" / "test.csv", ["text", "label"], [("a", "x")])
    with pytest.raises(DataError, match="no train file"):
        load_labeled_corpus(str(tmp_path / "d"))


# ---- skipped rows -----------------------------------------------------------------------------


def test_rows_with_empty_text_or_no_label_are_skipped_with_warnings(tmp_path, caplog):
    rows = [("ok 1", "a"), ("  ", "a"), ("ok 2", ""), ("", "b"), ("ok 3", "b")]
    rows += [(f"t{i}", "") for i in range(6)]
    path = _csv(tmp_path / "s.csv", ["text", "label"], rows)
    with caplog.at_level(logging.WARNING, logger="rnn_nlp.data.labeled"):
        assert read_labeled_file(path, "text", "label", None) == (["ok 1", "ok 3"], ["a", "b"])
    assert f"{path}: skipped 2 row(s) with an empty text (lines 3, 5)" in caplog.text
    assert f"{path}: skipped 7 row(s) with no label (lines 4, 7, 8, 9, 10, ...)" in caplog.text


def test_json_lines_missing_keys_and_nulls_are_skipped(tmp_path, caplog):
    objects = [
        {"text": "x", "label": "a"},
        {"label": "a"},
        {"text": "y"},
        {"text": "z", "label": None},
        {"text": "w", "label": []},
        {"text": "v", "label": "b"},
    ]
    path = _jsonl(tmp_path / "s.jsonl", objects)
    with caplog.at_level(logging.WARNING):
        assert read_labeled_file(path, "text", "label", None) == (["x", "v"], ["a", "b"])
    assert f"{path}: skipped 1 row(s) with an empty text (lines 2)" in caplog.text
    assert f"{path}: skipped 3 row(s) with no label (lines 3, 4, 5)" in caplog.text


# ---- bad input: DataError with file and line --------------------------------------------------


def test_invalid_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"text,label\nfine,a\ncaf\xe9,b\n")
    with pytest.raises(DataError, match=r"bad\.csv:3: not valid UTF-8 \(invalid continuation byte at byte 3"):
        load_labeled_corpus(str(path))


def test_csv_row_with_the_wrong_number_of_fields(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text('text,label\n"two\nlines",a\nthree,b,extra\n', encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_labeled_corpus(str(path))
    assert str(info.value) == f"{path}:4: 3 fields, but the header has 2"


def test_unterminated_quote_points_to_the_line_where_the_record_starts(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text('text,label\nok,a\n"never closed,b\nmore,c\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.csv:3: 1 fields, but the header has 2"):
        load_labeled_corpus(str(path))


def test_tsv_row_with_a_tab_inside_the_text(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("text\tlabel\na\tx\nb\tc\ty\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.tsv:3: 3 fields, but the header has 2"):
        load_labeled_corpus(str(path))


def test_invalid_json_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n\n{"text": "b", "label": }\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.jsonl:3: invalid JSON \(Expecting value at column 24\)"):
        load_labeled_corpus(str(path))


def test_json_line_that_is_not_an_object(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n["b", "y"]\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.jsonl:2: expected a JSON object, got list"):
        load_labeled_corpus(str(path))


def test_text_that_is_not_a_string(tmp_path):
    path = _jsonl(tmp_path / "bad.jsonl", [{"text": "a", "label": "x"}, {"text": {"a": 1}, "label": "y"}])
    with pytest.raises(DataError, match=r"bad\.jsonl:2: the text is a dict, expected a string"):
        load_labeled_corpus(str(path))


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_missing_label_column_lists_the_columns(tmp_path, suffix):
    path = tmp_path / f"bad{suffix}"
    if suffix == ".csv":
        _csv(path, ["text", "sentiment"], [("a", "x")])
    else:
        _jsonl(path, [{"text": "a", "sentiment": "x"}, {"text": "b", "id": 2}])
    with pytest.raises(DataError) as info:
        load_labeled_corpus(str(path))
    columns = "text, sentiment" if suffix == ".csv" else "text, sentiment, id"
    where = f"{path}:1" if suffix == ".csv" else f"{path}"
    assert str(info.value) == f"{where}: no label column 'label'; columns: {columns}"


def test_missing_text_column_lists_the_columns(tmp_path):
    path = _csv(tmp_path / "bad.csv", ["review", "label"], [("a", "x")])
    with pytest.raises(DataError) as info:
        load_labeled_corpus(str(path))
    assert str(info.value) == f"{path}:1: no text column 'text'; columns: review, label"


@pytest.mark.parametrize("content", [b"", b"\n  \n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    with pytest.raises(DataError, match=r"empty\.jsonl: the file is empty"):
        load_labeled_corpus(str(path))


def test_nothing_left_in_train(tmp_path):
    path = _csv(tmp_path / "t.csv", ["text", "label"], [("", "a"), ("b", "")])
    with pytest.raises(DataError, match="no usable rows in the training data"):
        load_labeled_corpus(str(path))


def test_header_only_csv_has_nothing_to_train_on(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("text,label\n", encoding="utf-8")
    with pytest.raises(DataError, match="no usable rows in the training data"):
        load_labeled_corpus(str(path))


def test_a_single_class_is_an_error(tmp_path):
    path = _csv(tmp_path / "one.csv", ["text", "label"], [(f"t{i}", "pos") for i in range(10)])
    with pytest.raises(DataError) as info:
        load_labeled_corpus(str(path))
    assert str(info.value) == f"{path}: only one class 'pos' in the training data; a classifier needs at least two"


def test_unsupported_suffix_and_missing_path(tmp_path, no_hub):
    (tmp_path / "data.txt").write_text("a\n")
    with pytest.raises(DataError, match=r"unsupported format '\.txt'; use \.csv, \.tsv, \.jsonl, \.json"):
        load_labeled_corpus(str(tmp_path / "data.txt"))
    with pytest.raises(DataError, match=r"corpus not found: missing\.csv"):
        load_labeled_corpus("missing.csv")


# ---- fetcher names and hub names --------------------------------------------------------------


def test_fetcher_name_goes_through_fetch(monkeypatch, tmp_path):
    monkeypatch.setenv("RNN_NLP_CACHE", str(tmp_path / "cache"))

    def build():
        return {
            "train": {"text": ["a", "b", " "], "label": ["x", "y", "x"], "title": ["A", "B", ""]},
            "valid": {"text": ["c"], "label": ["x"], "title": ["C"]},
            "test": {"text": ["d"], "label": ["y"], "title": ["D"]},
        }

    monkeypatch.setitem(FETCHERS, "tiny-labeled", Fetcher("tiny-labeled", "tiny", build))
    assert load_labeled_corpus("tiny-labeled") == {
        "train": {"text": ["a", "b"], "label": ["x", "y"]},
        "valid": {"text": ["c"], "label": ["x"]},
        "test": {"text": ["d"], "label": ["y"]},
    }
    assert load_labeled_corpus("tiny-labeled", text_column="title")["valid"] == {"text": ["C"], "label": ["x"]}


@pytest.fixture
def fake_hub(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    calls = []

    def install(table):
        def load_dataset(name, config=None):
            calls.append((name, config))
            return table

        monkeypatch.setattr(datasets, "load_dataset", load_dataset)
        return calls

    return install


def test_hub_class_label_names_validation_split_and_unlabelled_test(fake_hub, caplog):
    features = datasets.Features({"sentence": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])})
    n = 20
    table = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(
                {"sentence": [f"s{i}" for i in range(n)], "label": [i % 2 for i in range(n)]}, features=features
            ),
            "validation": datasets.Dataset.from_dict({"sentence": ["v0", "v1"], "label": [1, 0]}, features=features),
            "test": datasets.Dataset.from_dict({"sentence": ["u0", "u1"], "label": [-1, -1]}, features=features),
            "unsupervised": datasets.Dataset.from_dict({"sentence": ["z"], "label": [-1]}, features=features),
        }
    )
    calls = fake_hub(table)
    with caplog.at_level(logging.WARNING):
        splits = load_labeled_corpus("user/sst", text_column="sentence", hub_config="default")
    assert calls == [("user/sst", "default")]
    assert splits["valid"] == {"text": ["v0", "v1"], "label": ["pos", "neg"]}
    assert [len(splits[s]["text"]) for s in splits] == [18, 2, 2]
    assert _counts(splits["test"]) == {"neg": 1, "pos": 1}
    assert all(t.startswith("s") for t in splits["test"]["text"])
    assert "user/sst [test]: skipped 2 row(s) with no label (rows 1, 2)" in caplog.text
    assert "user/sst: the test split has no labelled rows; carving one off train" in caplog.text


def test_hub_multi_label_class_labels(fake_hub):
    tags = datasets.Features({"text": datasets.Value("string"), "label": datasets.Sequence(datasets.ClassLabel(names=["a", "b", "c"]))})
    table = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"text": ["x", "y", "n"], "label": [[0, 2], [1], []]}, features=tags),
            "validation": datasets.Dataset.from_dict({"text": ["z"], "label": [[2]]}, features=tags),
            "test": datasets.Dataset.from_dict({"text": ["w"], "label": [[0, 1]]}, features=tags),
        }
    )
    fake_hub(table)
    assert load_labeled_corpus("someone/tags") == {
        "train": {"text": ["x", "y"], "label": [["a", "c"], ["b"]]},
        "valid": {"text": ["z"], "label": [["c"]]},
        "test": {"text": ["w"], "label": [["a", "b"]]},
    }


def test_hub_integer_labels_without_names_become_strings(fake_hub):
    plain = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"text": ["x", "y", "z"], "label": [3, 7, 3]}),
            "validation": datasets.Dataset.from_dict({"text": ["v"], "label": [7]}),
            "test": datasets.Dataset.from_dict({"text": ["w"], "label": [3]}),
        }
    )
    fake_hub(plain)
    assert load_labeled_corpus("someone/ints") == {
        "train": {"text": ["x", "y", "z"], "label": ["3", "7", "3"]},
        "valid": {"text": ["v"], "label": ["7"]},
        "test": {"text": ["w"], "label": ["3"]},
    }


def test_hub_missing_column_and_no_train_split(fake_hub):
    fake_hub(datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": ["a"], "stars": [1]})}))
    with pytest.raises(DataError, match=r"stars-only \[train\]: no label column 'label'; columns: text, stars"):
        load_labeled_corpus("someone/stars-only")
    fake_hub(datasets.DatasetDict({"test": datasets.Dataset.from_dict({"text": ["a"], "label": ["x"]})}))
    with pytest.raises(DataError, match="only-test: no train split; splits: test"):
        load_labeled_corpus("someone/only-test")


def test_hub_load_failure_is_a_data_error(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)

    def load_dataset(name, config=None):
        raise ConnectionError("offline")

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    with pytest.raises(DataError) as info:
        load_labeled_corpus("nobody/nothing")
    msg = str(info.value)
    assert msg.startswith("'nobody/nothing' is neither a known corpus (")
    assert "rotten-tomatoes" in msg and "nor a local file or folder" in msg
    assert msg.endswith("nor a data set datasets.load_dataset could load: ConnectionError: offline")


def test_module_has_no_star_imports_and_stays_small():
    import inspect

    source = inspect.getsource(labeled)
    assert "import *" not in source
    assert len(source.splitlines()) < 330


def test_json_labels_0_and_0_point_0_are_one_class_and_nan_is_refused(tmp_path):
    path = tmp_path / "reviews.jsonl"
    rows = [{"text": f"text {i}", "label": [0, 0.0, 1, 1.0][i % 4]} for i in range(40)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    texts, labels = read_labeled_file(path, "text", "label", None)
    assert set(labels) == {"0", "1"} and Counter(labels) == {"0": 20, "1": 20}
    for bad in ("NaN", "Infinity", "-Infinity"):
        path.write_text(f'{{"text": "a", "label": 1}}\n{{"text": "b", "label": {bad}}}\n', encoding="utf-8")
        with pytest.raises(DataError, match=r"reviews.jsonl:2: the label .* is not a class"):
            read_labeled_file(path, "text", "label", None)
    path.write_text('{"text": "a", "label": [1.0, 2, "x"]}\n', encoding="utf-8")
    assert read_labeled_file(path, "text", "label", None)[1] == [["1", "2", "x"]]
