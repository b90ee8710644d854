"""Parallel text formats: TSV, JSON lines, aligned files, and their errors."""

from __future__ import annotations

import json
import logging

import pytest

from rnn_nlp.data.formats.parallel import read_aligned_files, read_jsonl_pairs, read_tsv_pairs
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
