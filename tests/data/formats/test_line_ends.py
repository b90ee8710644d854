"""CoNLL, CoNLL-U and word/tag files read the same with LF, CRLF and lone-CR line ends (old Mac
files), and their errors name the same line numbers."""

from __future__ import annotations

import pytest

from rnn_nlp.data.formats.conll import parse_conll
from rnn_nlp.data.formats.conllu import parse_conllu
from rnn_nlp.data.formats.encoding import decode
from rnn_nlp.data.formats.word_tag import parse_word_tag
from rnn_nlp.data.tagged import read_tagged_file
from rnn_nlp.errors import DataError

ENDS = ["\n", "\r\n", "\r"]
CONLL = ["-DOCSTART- O", "", "Paris B-LOC", "is O", "", "John B-PER", "runs O", ""]
CONLLU = [
    "# sent_id = 1",
    "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_",
    "2\tcat\tcat\tNOUN\tNN\t_\t0\troot\t_\t_",
    "",
    "1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_",
    "",
]
WORD_TAG = ["the/DT cat/NN sat/VBD", "a/DT dog/NN ran/VBD"]


@pytest.mark.parametrize("end", ENDS, ids=repr)
def test_conll(end):
    out = parse_conll(end.join(CONLL), "f")
    assert out["tokens"] == [["Paris", "is"], ["John", "runs"]] and out["tags"] == [["B-LOC", "O"], ["B-PER", "O"]]


@pytest.mark.parametrize("end", ENDS, ids=repr)
def test_conllu(end):
    out = parse_conllu(end.join(CONLLU), "f")
    assert out["tokens"] == [["The", "cat"], ["Hi"]] and out["tags"] == [["DET", "NOUN"], ["INTJ"]]


@pytest.mark.parametrize("end", ENDS, ids=repr)
def test_word_tag(end):
    assert parse_word_tag(end.join(WORD_TAG), "f")["tokens"] == [["the", "cat", "sat"], ["a", "dog", "ran"]]


@pytest.mark.parametrize("end", ENDS, ids=repr)
def test_errors_name_the_same_line(end):
    with pytest.raises(DataError, match=r"^f:4: 3 columns"):
        parse_conll(end.join(["a O", "b O", "", "c X O"]), "f")
    with pytest.raises(DataError, match=r"^f:2: 'dog' has no '/'"):
        parse_word_tag(end.join(["the/DT", "dog"]), "f")
    with pytest.raises(DataError, match=r"^f:3: not valid UTF-8"):
        decode(end.join(["a O", "b O", "\xff O"]).encode("latin-1"), "f")


@pytest.mark.parametrize("suffix,lines", [(".conll", CONLL), (".conllu", CONLLU), (".txt", WORD_TAG)])
def test_files_with_lone_cr_read_as_with_lf(tmp_path, suffix, lines):
    lf, cr = tmp_path / f"lf{suffix}", tmp_path / f"cr{suffix}"
    lf.write_bytes("\n".join(lines).encode())
    cr.write_bytes("\r".join(lines).encode())
    assert read_tagged_file(cr) == read_tagged_file(lf)
