"""QA corpora: SQuAD files and folders, their bad records; fetcher and hub paths."""

import json

import pytest

from rnn_nlp.data.formats.squad import parse_squad
from rnn_nlp.data.qa import load_qa_corpus, read_local
from rnn_nlp.errors import DataError

CONTEXT = "The cat sat on the mat. Dogs bark at night."


def squad(qas_by_article, version="v1.1"):
    return {
        "version": version,
        "data": [{"title": f"t{a}", "paragraphs": [{"context": CONTEXT, "qas": qas}]} for a, qas in enumerate(qas_by_article)],
    }


def qa(rid, question="Where did the cat sit?", text="the mat", start=15, **extra):
    return {"id": rid, "question": question, "answers": [{"text": text, "answer_start": start}], **extra}


def write(tmp_path, doc, name="data.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "bad, message",
    [
        (qa("x", start=40), "record 'x': answer offset 40"),
        (qa("x", start=-1), "outside its passage"),
        (qa("x", start=14), "does not match the passage at offset 14"),
        (qa("x", question="  "), "record 'x': empty question"),
        ({"id": "x", "answers": [{"text": "the mat", "answer_start": 15}]}, "record 'x': missing field 'question'"),
        ({"id": "x", "question": "Where?", "answers": []}, "record 'x': no answers"),
        (qa("x", start="15"), "answer_start must be an integer"),
    ],
)
def test_bad_records_name_file_and_id(tmp_path, bad, message):
    path = write(tmp_path, squad([[qa("a")], [bad], [qa("c")]]))
    with pytest.raises(DataError, match="data.json") as err:
        read_local(path)
    assert message in str(err.value)


def test_skip_bad_counts(tmp_path, caplog):
    path = write(tmp_path, squad([[qa("a"), qa("x", start=40)], [qa("b")], [qa("c")]]))
    out = read_local(path, skip_bad=True, whole=True)
    assert out["train"]["id"] == ["a", "b", "c"]
    assert "skipped 1 of 4 records" in caplog.text


def test_empty_context_and_missing_structure(tmp_path):
    doc = squad([[qa("a")]])
    doc["data"][0]["paragraphs"][0]["context"] = ""
    with pytest.raises(DataError, match="record 'a': empty context"):
        parse_squad(doc, "f.json")
    with pytest.raises(DataError, match="missing field 'data'"):
        parse_squad({"version": "1.1"}, "f.json")
    with pytest.raises(DataError, match="article 1, paragraph 1: missing field 'qas'"):
        parse_squad({"data": [{"paragraphs": [{"context": "x"}]}]}, "f.json")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{\n  oops", encoding="utf-8")
    with pytest.raises(DataError, match="bad.json:2: not valid JSON"):
        load_qa_corpus(str(bad_json))


def test_single_file_split_by_article_and_folder(tmp_path):
    doc = squad([[qa(f"q{a}-{i}") for i in range(3)] for a in range(10)])
    splits = load_qa_corpus(str(write(tmp_path, doc)))
    ids = {s: {i.split("-")[0] for i in splits[s]["id"]} for s in splits}
    assert len(ids["train"]) == 8 and len(ids["valid"]) == 1 and len(ids["test"]) == 1
    assert not (ids["train"] & ids["test"]) and not (ids["train"] & ids["valid"])
    folder = tmp_path / "squad"
    folder.mkdir()
    write(folder, squad([[qa("t1")]]), "train-v1.1.json")
    write(folder, squad([[qa("d1")]]), "dev-v1.1.json")
    out = load_qa_corpus(str(folder))
    assert out["train"]["id"] == ["t1"] and out["valid"]["id"] == ["d1"] and out["test"]["id"] == ["d1"]


def test_folder_split_names_are_read_as_the_shared_readers_read_them(tmp_path):
    """Only a file whose first word (or last dotted part) names a split counts: testimonials.json is no test file."""
    folder = tmp_path / "squad"
    folder.mkdir()
    write(folder, squad([[qa("t1")]]), "train-v2.0.json")
    write(folder, squad([[qa("d1")]]), "dev-v2.0.json")
    (folder / "testimonials.json").write_text('{"not": "squad"}', encoding="utf-8")
    (folder / "devices.json").write_text("[]", encoding="utf-8")
    out = load_qa_corpus(str(folder))
    assert out["train"]["id"] == ["t1"] and out["valid"]["id"] == ["d1"] and out["test"]["id"] == ["d1"]


def test_hub_path_reads_a_local_json_table(tmp_path, monkeypatch):
    """The hub code path (datasets.load_dataset), exercised offline with datasets' own json builder."""
    import datasets

    rows = [{"id": "h1", "question": "Who barks?", "context": CONTEXT, "answers": {"text": ["Dogs"], "answer_start": [24]}}]
    (tmp_path / "h.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    real = datasets.load_dataset
    monkeypatch.setattr(
        datasets,
        "load_dataset",
        lambda name, cfg=None: real("json", data_files={"train": str(tmp_path / "h.jsonl"), "validation": str(tmp_path / "h.jsonl")}),
    )
    out = load_qa_corpus("someone/squad-like")
    assert out["valid"]["answers"][0] == {"text": ["Dogs"], "answer_start": [24]}
    assert out["test"]["id"] == ["h1"]


def test_hub_table_with_bad_answers_is_a_data_error_naming_the_record(monkeypatch):
    import datasets

    good = {"id": "h1", "question": "Who barks?", "context": CONTEXT, "answers": {"text": ["Dogs"], "answer_start": ["24"]}}
    bad = {**good, "id": "h2", "answers": {"text": ["Dogs"], "answer_start": ["twenty"]}}
    table = {"train": datasets.Dataset.from_list([good, bad]), "validation": datasets.Dataset.from_list([good])}
    monkeypatch.setattr("rnn_nlp.data.sources.load_hub", lambda name, cfg=None: table)
    with pytest.raises(DataError, match=r"someone/qa \[train\]: record 'h2': answer_start must be an integer, got 'twenty'"):
        load_qa_corpus("someone/qa")
    out = load_qa_corpus("someone/qa", skip_bad=True)  # "24" is read as 24; h2 is left out
    assert out["train"]["id"] == ["h1"] and out["train"]["answers"][0] == {"text": ["Dogs"], "answer_start": [24]}
