"""Parallel text readers: TSV, JSON lines, aligned files, folders, and their errors."""

from __future__ import annotations

import json
import logging

import pytest

from rnn_nlp.data.parallel import (
    load_parallel_corpus,
    read_aligned_files,
    read_jsonl_pairs,
    read_tsv_pairs,
    split_pairs,
)
from rnn_nlp.errors import DataError


def test_tsv_pairs_skip_empty_sides_with_a_count(tmp_path, caplog):
    path = tmp_path / "pairs.tsv"
    path.write_text("hello\thola\n\n  \tvacío\nworld\t\nthe  cat\tel gato\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        sources, targets = read_tsv_pairs(path)
    assert sources == ["hello", "the cat"]
    assert targets == ["hola", "el gato"]
    assert "skipped 2 pair(s) with an empty source or target (lines 3, 4)" in caplog.text


def test_tsv_line_without_a_tab_names_the_line(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("a\tb\nno tab here\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"pairs\.tsv:2: expected source<TAB>target, found 0 tab"):
        read_tsv_pairs(path)


def test_invalid_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(b"a\tb\nc\t\xff\xfe\n")
    with pytest.raises(DataError, match=r"pairs\.tsv:2: not valid UTF-8"):
        read_tsv_pairs(path)


def test_jsonl_pairs_and_their_errors(tmp_path, caplog):
    path = tmp_path / "pairs.jsonl"
    rows = [{"source": "one", "target": "uno", "id": 1}, {"source": "", "target": "dos"}, {"source": "three", "target": "tres"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert read_jsonl_pairs(path) == (["one", "three"], ["uno", "tres"])
    assert "skipped 1 pair(s)" in caplog.text
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"source": "a", "target": "b"}\n{"source": "a"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.jsonl:2: no 'target' key"):
        read_jsonl_pairs(bad)
    bad.write_text('{"source": "a", "target": 3}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.jsonl:1: 'target' is a int"):
        read_jsonl_pairs(bad)
    bad.write_text('{"source": "a", "target": "b"}\n{oops\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.jsonl:2: invalid JSON"):
        read_jsonl_pairs(bad)


def test_aligned_files_pair_line_by_line(tmp_path):
    src, tgt = tmp_path / "a.en", tmp_path / "a.es"
    src.write_text("good morning\n\nthank you\n", encoding="utf-8")
    tgt.write_text("buenos días\nnada\ngracias\n", encoding="utf-8")
    assert read_aligned_files(src, tgt) == (["good morning", "thank you"], ["buenos días", "gracias"])


def test_misaligned_files_say_which_line(tmp_path):
    src, tgt = tmp_path / "train.src", tmp_path / "train.tgt"
    src.write_text("a\nb\nc\nd\n", encoding="utf-8")
    tgt.write_text("A\nB\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_aligned_files(src, tgt)
    message = str(err.value)
    assert "train.src (4 lines)" in message and "train.tgt (2 lines)" in message
    assert "train.tgt ends after line 2" in message and "train.src:3 has no partner" in message


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


def test_split_pairs_keeps_every_pair_once():
    pairs = ([str(i) for i in range(100)], [str(-i) for i in range(100)])
    parts = split_pairs(pairs, seed=3)
    assert [len(parts[s][0]) for s in ("train", "valid", "test")] == [90, 5, 5]
    assert sorted(int(x) for p in parts.values() for x in p[0]) == list(range(100))
