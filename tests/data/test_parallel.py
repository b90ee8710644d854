"""Parallel corpora: folders of split files, single files split seeded, and their errors."""

from __future__ import annotations

import pytest

from rnn_nlp.data.parallel import load_parallel_corpus
from rnn_nlp.errors import DataError


def test_folder_of_split_files_and_single_file_split(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "train.src").write_text("a b\nc d\n", encoding="utf-8")
    (folder / "train.tgt").write_text("B A\nD C\n", encoding="utf-8")
    (folder / "valid.tsv").write_text("e f\tF E\n", encoding="utf-8")
    (folder / "test.jsonl").write_text('{"source": "g h", "target": "H G"}\n', encoding="utf-8")
    splits = load_parallel_corpus(str(folder))
    assert splits["train"] == {"source": ["a b", "c d"], "target": ["B A", "D C"]}
    assert splits["valid"]["target"] == ["F E"] and splits["test"]["source"] == ["g h"]

    single = tmp_path / "all.tsv"
    single.write_text("".join(f"s{i}\tt{i}\n" for i in range(40)), encoding="utf-8")
    splits = load_parallel_corpus(str(single))
    assert [len(splits[s]["source"]) for s in ("train", "valid", "test")] == [36, 2, 2]
    every = sorted(x for s in splits.values() for x in s["source"])
    assert every == sorted(f"s{i}" for i in range(40))  # nothing lost, nothing twice
    for part in splits.values():  # pairs stay aligned through the split
        assert all(s[1:] == t[1:] for s, t in zip(part["source"], part["target"]))
    assert load_parallel_corpus(str(single)) == splits  # seeded


def test_missing_partner_and_missing_files(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "train.src").write_text("a\n", encoding="utf-8")
    with pytest.raises(DataError, match="no aligned target file train.tgt"):
        load_parallel_corpus(str(folder))
    with pytest.raises(DataError, match="not found"):
        load_parallel_corpus(str(tmp_path / "nothing.tsv"))
    empty = tmp_path / "empty.tsv"
    empty.write_text("a\t\n", encoding="utf-8")
    with pytest.raises(DataError, match="no usable training pairs"):
        load_parallel_corpus(str(empty))
