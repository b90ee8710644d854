"""Word-vector files: every format read to the same table, memory-mapped, looked up by rule; malformed files named."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from rnn_nlp.data.vectors import WordVectors, outside_vectors, read_vectors, save_converted, token_rows
from rnn_nlp.errors import DataError

WORDS = ["the", "Paris", "0000", "cat"]
MATRIX = np.arange(len(WORDS) * 3, dtype=np.float32).reshape(len(WORDS), 3) / 4


def text_lines(header: bool) -> str:
    rows = [f"{w} " + " ".join(f"{v:g}" for v in row) for w, row in zip(WORDS, MATRIX)]
    return ("4 3\n" if header else "") + "\n".join(rows) + "\n"


def assert_table(vectors: WordVectors) -> None:
    assert vectors.keys == WORDS and vectors.dim == 3
    for word, row in zip(WORDS, MATRIX):
        np.testing.assert_array_equal(vectors.vector(word), row)


@pytest.mark.parametrize("header", [False, True], ids=["glove", "word2vec-text"])
def test_text_vectors_are_converted_once_and_memory_mapped(tmp_path, header):
    path = tmp_path / ("vectors.vec" if header else "glove.txt")
    path.write_text(text_lines(header), encoding="utf-8")
    vectors = read_vectors(path, cache=tmp_path / "cache")
    assert_table(vectors)
    assert isinstance(vectors.matrix, np.memmap)
    converted = list((tmp_path / "cache").iterdir())
    assert len(converted) == 1
    again = read_vectors(path, cache=tmp_path / "cache")  # from the converted copy
    assert_table(again)
    assert list((tmp_path / "cache").iterdir()) == converted


def test_word2vec_binary(tmp_path):
    path = tmp_path / "vectors.bin"
    with open(path, "wb") as fh:
        fh.write(b"4 3\n")
        for word, row in zip(WORDS, MATRIX):
            fh.write(word.encode() + b" " + struct.pack("<3f", *row) + b"\n")
    assert_table(read_vectors(path, cache=tmp_path / "cache"))


def test_npy_with_its_vocabulary(tmp_path):
    np.save(tmp_path / "table.npy", MATRIX)
    (tmp_path / "table.vocab").write_text("\n".join(WORDS) + "\n", encoding="utf-8")
    vectors = read_vectors(tmp_path / "table.npy")
    assert_table(vectors)
    (tmp_path / "table.vocab").write_text("\n".join(WORDS[:3]) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"table.npy: 3 words but 4 vectors"):
        read_vectors(tmp_path / "table.npy")


def test_spacy_vectors_many_keys_onto_fewer_rows(tmp_path):
    from spacy.vocab import Vocab

    vocab = Vocab()
    vocab.reset_vectors(width=3)
    for word, row in zip(WORDS, MATRIX):
        vocab.set_vector(word, row)
    vocab.vectors.add("kitten", row=3)  # shares "cat"'s row, as spaCy's pruned tables do
    vocab.strings.add("kitten")
    vocab.to_disk(tmp_path / "vocab")
    vectors = read_vectors(tmp_path)  # the pipeline folder holding vocab/
    assert set(vectors.keys) == {*WORDS, "kitten"}
    np.testing.assert_array_equal(vectors.vector("kitten"), vectors.vector("cat"))
    np.testing.assert_array_equal(vectors.vector("Paris"), MATRIX[1])


def test_lookup_exact_then_lower_then_digits_and_the_hit_rate():
    vectors = WordVectors(["the", "paris", "Paris", "0000", "00.0"], np.eye(5, dtype=np.float32), "test")
    assert vectors.find("Paris") == (2, "exact")
    assert vectors.find("PARIS") == (1, "lower")  # the first key that lower-cases to it
    assert vectors.find("The") == (0, "lower")
    assert vectors.find("1996") == (3, "digits") and vectors.find("12.5") == (4, "digits")
    assert vectors.find("London") is None
    cover = vectors.coverage(["the", "The", "1996", "London"])
    assert cover == {"exact": 1, "lower": 1, "digits": 1, "missing": 1, "words": 4, "hit_rate": 0.75}


def test_index_builds_every_rule_table_at_once_and_finds_the_same_rows():
    vectors = WordVectors(["the", "paris", "Paris", "0000"], np.eye(4, dtype=np.float32), "test")
    vectors.index()
    assert set(vectors._index) == {"exact", "lower", "digits"}  # no table left to build at the first lookup
    assert vectors._index["lower"]["paris"] == 1  # the first key that lower-cases to it
    assert [vectors.find(w) for w in ("Paris", "PARIS", "1996", "Rome")] == [(2, "exact"), (1, "lower"), (3, "digits"), None]


def test_converted_tables_keep_shared_rows(tmp_path):
    save_converted(tmp_path / "t", ["a", "b", "c"], np.eye(2, dtype=np.float32), rows=np.array([0, 1, 1]))
    vectors = read_vectors(tmp_path / "t")
    assert vectors.find("c") == (1, "exact")
    np.testing.assert_array_equal(vectors.vector("c"), [0.0, 1.0])


@pytest.mark.parametrize(
    "text, message",
    [
        ("the 0.1 0.2 0.3\ncat 0.1 0.2\n", r"bad.txt, line 2: 2 numbers after 'cat', but the vectors have 3 dimensions"),
        ("the 0.1 0.2 0.3\ncat 0.1 x 0.3\n", r"bad.txt, line 2: 'x' is not a number"),
        ("3 2\nthe 0.1 0.2\ncat 0.3 0.4\n", r"bad.txt: its header says 3 vectors, the file holds 2"),
        ("\n\n", r"bad.txt holds no vectors"),
    ],
    ids=["dimension", "not-a-number", "header-count", "empty"],
)
def test_a_malformed_text_file_names_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_vectors(path, cache=tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*/*.npy"))  # nothing half converted is left to be read later


def test_bad_bytes_and_truncated_binaries_are_named(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes(b"the 0.1 0.2\ncaf\xe9 0.3 0.4\n")
    with pytest.raises(DataError, match=r"latin.txt, line 2: not UTF-8"):
        read_vectors(path, cache=tmp_path / "cache")
    short = tmp_path / "short.bin"
    short.write_bytes(b"2 3\nthe " + struct.pack("<3f", 1, 2, 3) + b"cat " + struct.pack("<2f", 1, 2))
    with pytest.raises(DataError, match=r"short.bin: ends in vector 2 of the 2 its header promises"):
        read_vectors(short, cache=tmp_path / "cache")
    with pytest.raises(DataError, match=r"does not exist"):
        read_vectors(tmp_path / "nowhere.txt")
    (tmp_path / "folder").mkdir()
    with pytest.raises(DataError, match=r"neither a vectors file nor a spaCy pipeline"):
        read_vectors(tmp_path / "folder")


def test_token_rows_follow_the_lookup_rules_and_the_number_rule():
    """The one row lookup of the PyTorch tasks and the ONNX predictor: each token by find's rules, and a number
    that normalize_numbers made N (as the vocabulary sees it) has none."""
    vectors = WordVectors(WORDS, MATRIX, "test")
    tokens, words = ["THE", "paris", "1996", "dog"], ["the", "paris", "N", "dog"]
    assert token_rows(vectors, tokens, words) == [0, 1, 2, -1]
    assert token_rows(vectors, tokens, words, normalize_numbers=True) == [0, 1, -1, -1]


def test_outside_vectors_fill_only_unk_tokens_the_table_knows():
    ids = np.array([[5, 1, 1, 0]])  # a vocabulary word, <unk> with a row, <unk> without, padding
    rows = np.array([[3, 2, -1, -1]])
    vectors, outside = outside_vectors(ids, rows, 1, MATRIX, 3)
    assert outside.tolist() == [[False, True, False, False]] and vectors.dtype == np.float32
    np.testing.assert_array_equal(vectors[0, 1], MATRIX[2])
    assert not vectors[0, [0, 2, 3]].any()
    vectors, outside = outside_vectors(ids, rows, 1, None, 3)  # the table unavailable: zeros, False
    assert not outside.any() and vectors.shape == (1, 4, 3) and not vectors.any()
