"""Readers of tagged sentences: CoNLL columns, CoNLL-U, word/tag; folders, errors with file:line."""

import pytest

from rnn_nlp.data.tagged import load_tagged_corpus, read_tagged_file, split_of
from rnn_nlp.errors import DataError

CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP B-LOC
"""

CONLLU = """# sent_id = 1
# text = I can't go.
1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_
2-3\tcan't\t_\t_\t_\t_\t_\t_\t_\t_
2\tca\tcan\tAUX\tMD\t_\t3\taux\t_\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_
3.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t_\t_
4\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_

1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_
"""


def test_conll_columns_docstart_and_blank_lines(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text(CONLL, encoding="utf-8")
    data = read_tagged_file(path)
    assert data["tokens"] == [["EU", "rejects", "German"], ["Peter", "Blackburn"], ["BRUSSELS"]]
    assert data["tags"][1] == ["B-PER", "I-PER"]
    assert data["document"] == [0, 0, 1]
    pos = read_tagged_file(path, format="conll", tag_column=1)
    assert pos["tags"][0] == ["NNP", "VBZ", "JJ"]


def test_conllu_upos_and_xpos(tmp_path):
    path = tmp_path / "en-ud-dev.conllu"
    path.write_text(CONLLU, encoding="utf-8")
    upos = read_tagged_file(path)
    assert upos["tokens"] == [["I", "ca", "n't", "go"], ["Yes"]]
    assert upos["tags"] == [["PRON", "AUX", "PART", "VERB"], ["INTJ"]]
    assert read_tagged_file(path, conllu_tag="xpos")["tags"][0] == ["PRP", "MD", "RB", "VB"]


def test_word_tag_lines_split_at_the_last_separator(tmp_path):
    path = tmp_path / "brown.txt"
    path.write_text("\tThe/at 1/2/cd jury/nn ./.\n\n  It/pps said/vbd ./.\n", encoding="utf-8")
    data = read_tagged_file(path)
    assert data["tokens"] == [["The", "1/2", "jury", "."], ["It", "said", "."]]
    assert data["tags"][0] == ["at", "cd", "nn", "."]


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("ragged.txt", "EU NNP B-NP B-ORG\nrejects VBZ O\n", "ragged.txt:2: 3 columns"),
        ("empty.tsv", "EU\tB-ORG\n\tO\n", "empty.tsv:2: empty token"),
        ("wt.txt", "The/at jury/nn\nsaid vbd\n", "wt.txt:2: 'said' has no '/'"),
        ("wt2.txt", "The/at /nn jury/nn\n", "wt2.txt:1: empty token"),
        ("bad.conllu", "1\tI\tI\tPRON\n", "bad.conllu:1: 4 tab-separated columns"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    fmt = "word_tag" if name.startswith("wt") else "auto"
    with pytest.raises(DataError, match=message):
        read_tagged_file(path, format=fmt)


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "train.txt"
    path.write_bytes(b"EU B-ORG\n\nPeter B-PER\nBlack\xffburn I-PER\n")
    with pytest.raises(DataError, match=r"train.txt:4: not valid UTF-8"):
        read_tagged_file(path)


def test_folder_splits_by_file_name_and_missing_splits_are_carved(tmp_path):
    assert split_of(tmp_path / "eng.testa") == "valid" and split_of(tmp_path / "en_ewt-ud-test.conllu") == "test"
    folder = tmp_path / "ner"
    folder.mkdir()
    sentences = "\n\n".join(f"w{i} B-PER\nx{i} O" for i in range(20))
    (folder / "eng.train").write_text(sentences + "\n", encoding="utf-8")
    (folder / "eng.testb").write_text("a O\nb B-LOC\n", encoding="utf-8")
    splits = load_tagged_corpus(str(folder))
    assert len(splits["test"]["tokens"]) == 1
    assert len(splits["valid"]["tokens"]) == 2 and len(splits["train"]["tokens"]) == 18
    with pytest.raises(DataError, match="not found"):
        load_tagged_corpus(str(tmp_path / "missing.conll"))


def test_hub_tables_map_class_labels_to_names(monkeypatch):
    import datasets

    features = datasets.Features(
        {
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=["O", "B-PER", "I-PER"])),
        }
    )
    ds = datasets.Dataset.from_dict({"tokens": [["Ann", "Lee", "ran"]], "ner_tags": [[1, 2, 0]]}, features=features)
    table = datasets.DatasetDict({"train": ds, "validation": ds, "test": ds})
    monkeypatch.setattr("rnn_nlp.data.sources.load_hub", lambda name, cfg: table)
    splits = load_tagged_corpus("someone/conll-like", tags_field="ner_tags")
    assert splits["valid"]["tags"] == [["B-PER", "I-PER", "O"]]
    assert load_tagged_corpus("someone/conll-like", fallbacks=("ner_tags",))["test"]["tags"] == [["B-PER", "I-PER", "O"]]
    with pytest.raises(DataError, match="no column 'tags'"):
        load_tagged_corpus("someone/conll-like")


def test_documents_come_from_docstart_lines_per_file_and_from_a_document_column(tmp_path, monkeypatch):
    """Each sentence's document (for the taggers' data.context): a CoNLL file's -DOCSTART- lines, numbered per
    file so two files' documents never share an id; a table's `document` column as it is; none in word/tag files."""
    folder = tmp_path / "ner"
    folder.mkdir()
    doc = "-DOCSTART- O\n\na O\n\nb O\n\n-DOCSTART- O\n\nc O\n"
    (folder / "a.train").write_text(doc, encoding="utf-8")
    (folder / "b.train").write_text(doc, encoding="utf-8")
    (folder / "eng.testb").write_text("d O\n\ne O\n", encoding="utf-8")
    splits = load_tagged_corpus(str(folder))
    train = splits["train"]["document"] + splits["valid"]["document"]  # valid carved from train's end
    assert train == ["a.train#0", "a.train#0", "a.train#1", "b.train#0", "b.train#0", "b.train#1"]
    assert splits["test"]["document"] == ["eng.testb#0", "eng.testb#0"]  # a file without -DOCSTART- is one document
    words = tmp_path / "words.txt"
    words.write_text("a/X b/Y\n" * 10, encoding="utf-8")
    assert "document" not in load_tagged_corpus(str(words), format="word_tag")["train"]

    import datasets

    ds = datasets.Dataset.from_dict({"tokens": [["a"], ["b"]], "tags": [["O"], ["O"]], "document": [4, 5]})
    monkeypatch.setattr("rnn_nlp.data.sources.load_hub", lambda name, cfg: datasets.DatasetDict({"train": ds}))
    assert load_tagged_corpus("someone/with-documents")["train"]["document"] == [4, 5]
