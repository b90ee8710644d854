"""Property tests: readers, labelled readers, vocabulary and tokenizer fed random and hostile input.

Whatever the bytes, the only exceptions allowed out are the library's own (RnnNlpError
subclasses), and what comes back is well-formed. Run with --hypothesis-show-statistics
to see how many cases were tried.
"""

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_nlp.data.formats.lines import read_lines
from rnn_nlp.data.labeled import load_labeled_corpus, read_labeled_file
from rnn_nlp.data.text import load_text_corpus, read_local_corpus
from rnn_nlp.data.tokenize import Tokenizer
from rnn_nlp.data.vocab import SPECIALS, Vocab
from rnn_nlp.errors import RnnNlpError

FAST = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

CONTROL = "".join(chr(c) for c in list(range(0, 32)) + [127, 0x85, 0x2028, 0x2029, 0xFEFF, 0x200B])
hostile_text = st.text(alphabet=st.one_of(st.characters(), st.sampled_from(CONTROL)), max_size=200)
# mixed encodings: UTF-8 pieces, Latin-1 and UTF-16 pieces, raw bytes, BOMs, a NUL, CR/LF soup
pieces = st.one_of(
    hostile_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    hostile_text.map(lambda t: t.encode("latin-1", "replace")),
    hostile_text.map(lambda t: t.encode("utf-16", "surrogatepass")),
    st.binary(max_size=100),
    st.sampled_from([b"\xef\xbb\xbf", b"\n", b"\r\n", b"\r", b"\x00", b",", b"\t", b'"', b"{", b"}", b"[]"]),
)
hostile_bytes = st.lists(pieces, max_size=12).map(b"".join)


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@FAST
@given(data=hostile_bytes)
def test_read_lines_takes_any_bytes(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "corpus.txt", data)
        try:
            lines = read_lines(path)
        except RnnNlpError as exc:
            assert str(path) in str(exc)
            return
        assert all(isinstance(line, str) and line and line == line.strip() for line in lines)
        assert len(lines) <= data.count(b"\n") + data.count(b"\r") + 1  # "\n", "\r\n" and "\r" end a line


@FAST
@given(files=st.lists(st.tuples(st.sampled_from(["train.txt", "valid.txt", "test.txt", "x.txt", "dev.tokens"]), hostile_bytes), max_size=4))
def test_local_corpus_folder_takes_any_files(files):
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files:
            _write(Path(tmp), name, data)
        try:
            splits = load_text_corpus(tmp)
        except RnnNlpError:
            return
        assert splits["train"] and set(splits) >= {"train", "valid", "test"}
        assert all(isinstance(x, str) for lines in splits.values() for x in lines)


def test_huge_line_and_empty_files(tmp_path):
    big = "word " * 400_000  # one 2 MB line
    path = _write(tmp_path, "big.txt", big.encode() + b"\n")
    assert read_lines(path) == [big.strip()]
    for tok in ("whitespace", "spacy"):
        assert len(Tokenizer(tok)(big)) == 400_000
    empty = _write(tmp_path, "empty.txt", b"")
    assert read_lines(empty) == []
    with pytest.raises(RnnNlpError, match="empty train split"):
        load_text_corpus(str(empty))
    (tmp_path / "folder").mkdir()
    with pytest.raises(RnnNlpError, match="no text files"):
        read_local_corpus(tmp_path / "folder")


@FAST
@given(data=hostile_bytes, suffix=st.sampled_from([".csv", ".tsv", ".jsonl"]), separator=st.sampled_from([None, "|"]))
def test_labeled_reader_takes_any_bytes(data, suffix, separator):
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "data" + suffix, data)
        try:
            texts, labels = read_labeled_file(path, "text", "label", separator)
        except RnnNlpError as exc:
            assert str(path) in str(exc)
            return
        assert len(texts) == len(labels) and all(isinstance(t, str) and t for t in texts)


cell = st.one_of(hostile_text, st.integers(-(10**30), 10**30).map(str), st.sampled_from(["", '"', '""', "a,b", "x\ny"]))


@FAST
@given(
    header=st.lists(st.sampled_from(["text", "label", "id", "", "text"]), min_size=1, max_size=4),
    rows=st.lists(st.lists(cell, min_size=0, max_size=6), max_size=30),
    suffix=st.sampled_from([".csv", ".tsv"]),
)
def test_labeled_csv_with_wrong_column_counts(header, rows, suffix):
    """Rows of random widths under a random header: a DataError naming the line, or clean examples."""
    delimiter = "," if suffix == ".csv" else "\t"
    text = "\n".join(delimiter.join(r) for r in [header, *rows])
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "data" + suffix, text.encode("utf-8", "surrogatepass"))
        try:
            splits = load_labeled_corpus(str(path))
        except RnnNlpError:
            return
        for split in splits.values():
            assert len(split["text"]) == len(split["label"])


json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**40), 10**40) | st.floats() | hostile_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=8,
)


@FAST
@given(records=st.lists(st.dictionaries(st.sampled_from(["text", "label", "other"]), json_value, max_size=3), max_size=20))
def test_labeled_jsonl_with_any_values(records):
    with tempfile.TemporaryDirectory() as tmp:
        lines = [json.dumps(r, allow_nan=True) for r in records]
        path = _write(Path(tmp), "data.jsonl", "\n".join(lines).encode("utf-8", "surrogatepass"))
        try:
            splits = load_labeled_corpus(str(path))
        except RnnNlpError:
            return
        assert all(isinstance(t, str) for s in splits.values() for t in s["text"])


token_lists = st.lists(st.lists(hostile_text, max_size=20), max_size=20)


@FAST
@given(sentences=token_lists, max_size=st.one_of(st.none(), st.integers(0, 50)), min_count=st.integers(1, 5))
def test_vocab_build_encode_decode(sentences, max_size, min_count):
    vocab = Vocab.build(sentences, max_size, min_count)
    assert vocab.itos[:3] == list(SPECIALS) and len(set(vocab.itos)) == len(vocab)
    assert sum(vocab.counts) == sum(len(s) for s in sentences)
    for tokens in sentences:
        ids = vocab.encode(tokens)
        assert all(0 <= i < len(vocab) for i in ids)
        assert [t if t in vocab else "<unk>" for t in tokens] == vocab.decode(ids)


@FAST
@given(sentences=token_lists)
def test_vocab_save_load_round_trip(sentences):
    vocab = Vocab.build(sentences)
    with tempfile.TemporaryDirectory() as tmp:
        vocab.save(Path(tmp) / "vocab.json")
        again = Vocab.load(Path(tmp) / "vocab.json")
    assert again.itos == vocab.itos and again.counts == vocab.counts


@FAST
@given(content=st.one_of(hostile_bytes, json_value.map(lambda v: json.dumps(v).encode())))
def test_vocab_load_refuses_garbage_cleanly(content):
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "vocab.json", content)
        try:
            Vocab.load(path)
        except RnnNlpError as exc:
            assert "vocab.json" in str(exc)


@FAST
@given(text=hostile_text, kind=st.sampled_from(["spacy", "whitespace"]), lowercase=st.booleans(), numbers=st.booleans())
def test_tokenizer_takes_any_text(text, kind, lowercase, numbers):
    tokens = Tokenizer(kind, lowercase, numbers)(text)
    assert all(isinstance(t, str) and t and not t.isspace() for t in tokens)
    if kind == "whitespace" and not (lowercase or numbers):
        assert tokens == text.split()
