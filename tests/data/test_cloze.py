"""Cloze construction on a hand-written CoNLL document: exact questions, answers, offsets, candidates."""

import random

from rnn_nlp.data.cloze import PLACEHOLDER, build_cloze, document_questions, entity_spans

DOC = [
    (["Germany", "beat", "France", "in", "Paris", "on", "Sunday", "."], ["B-LOC", "O", "B-LOC", "O", "B-LOC", "O", "O", "O"]),
    (["Coach", "Jan", "Smit", "praised", "Germany", "."], ["O", "B-PER", "I-PER", "O", "B-LOC", "O"]),
    (["France", "lost", "again", "to", "a", "team", "."], ["B-LOC", "O", "O", "O", "O", "O", "O"]),
    (["Smit", "said", "nothing", "."], ["B-PER", "O", "O", "O"]),
]


def doc():
    return [s for s, _ in DOC], [t for _, t in DOC]


def test_entity_spans_iob2_and_iob1():
    assert entity_spans(["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-ORG"]) == [(0, 2, "PER"), (3, 4, "LOC"), (4, 5, "LOC"), (5, 6, "ORG")]
    assert entity_spans(["I-PER", "I-PER", "O"]) == [(0, 2, "PER")]


def test_questions_of_a_document_exactly():
    rows = document_questions("d", *doc())
    by_id = {r["id"]: r for r in rows}
    # sentence 0: Germany (also in sentence 1) and France (also in 2) qualify; Paris is nowhere else
    assert sorted(by_id) == ["d-0-0", "d-0-2", "d-1-4", "d-2-0"]
    q = by_id["d-0-0"]
    assert q["question"] == f"{PLACEHOLDER} beat France in Paris on Sunday ."
    assert q["context"] == "Coach Jan Smit praised Germany .\nFrance lost again to a team .\nSmit said nothing ."
    assert q["answers"] == {"text": ["Germany"], "answer_start": [23]}
    assert q["candidates"] == ["Jan Smit", "Germany", "France", "Smit"]
    assert q["answer_type"] == "LOC"
    q = by_id["d-2-0"]  # France: the passage is sentences 0, 1 and 3
    assert q["question"] == f"{PLACEHOLDER} lost again to a team ."
    assert q["answers"] == {"text": ["France"], "answer_start": [13]}
    assert q["context"][13:19] == "France"
    # "Smit said nothing ." keeps only 3 words besides the placeholder: no question
    assert "d-3-0" not in by_id


def test_answer_twice_in_its_sentence_gives_no_question():
    sents = [
        ["Ajax", "and", "Ajax", "fans", "sang", "loudly", "."],
        ["Ajax", "won", "the", "cup", "final", "."],
        ["PSV", "lost", "the", "match", "badly", "."],
    ]
    tags = [["B-ORG", "O", "B-ORG", "O", "O", "O", "O"], ["B-ORG"] + ["O"] * 5, ["B-ORG"] + ["O"] * 5]
    ids = [r["id"] for r in document_questions("x", sents, tags)]
    assert not any(i.startswith("x-0-") for i in ids)


def test_anonymized_entities_and_offsets():
    rows = document_questions("d", *doc(), anonymize=True, rng=random.Random(0))
    q = next(r for r in rows if r["id"] == "d-0-0")
    words = q["question"].split()
    assert words[0] == PLACEHOLDER and words[2].startswith("@entity") and words[4].startswith("@entity")
    assert all(c.startswith("@entity") for c in q["candidates"]) and len(set(q["candidates"])) == 4
    for text, start in zip(q["answers"]["text"], q["answers"]["answer_start"]):
        assert q["context"][start : start + len(text)] == text
    assert "Germany" not in q["context"] and "Smit" not in q["context"]


def test_split_by_document_and_cap():
    docs = [(f"doc{i}", *doc()) for i in range(20)]
    out = build_cloze(docs, cap=2, seed=3)
    seen = {}
    for split, cols in out.items():
        for d in cols["document"]:
            assert seen.setdefault(d, split) == split  # a document lives in one split only
        if split != "train":
            assert all(cols["document"].count(d) <= 2 for d in cols["document"])
    assert len(seen) == 20 and len(out["train"]["id"]) == 16 * 4  # train keeps all 4 questions a document
    assert build_cloze(docs, cap=2, seed=3) == out  # seeded


def test_train_cap_leaves_valid_and_test_unchanged():
    docs = [(f"doc{i}", *doc()) for i in range(20)]
    v1 = build_cloze(docs, cap=2, seed=3, train_cap=2)  # version 1: every split capped
    assert len(v1["train"]["id"]) == 16 * 2
    for train_cap in (None, 3):
        out = build_cloze(docs, cap=2, seed=3, train_cap=train_cap)
        assert out["valid"] == v1["valid"] and out["test"] == v1["test"]
        assert len(out["train"]["id"]) == 16 * (train_cap or 4)
        assert set(v1["train"]["document"]) == set(out["train"]["document"])
    for anonymize in (False, True):  # the same holds for the anonymised set
        a, b = build_cloze(docs, anonymize, cap=2, seed=3, train_cap=2), build_cloze(docs, anonymize, cap=2, seed=3)
        assert a["test"] == b["test"] and a["valid"] == b["valid"]


def test_a_train_cap_below_the_valid_test_cap_holds_for_every_document():
    docs = [(f"doc{i}", *doc()) for i in range(20)]  # 4 questions a document, under cap=4
    out = build_cloze(docs, cap=4, seed=3, train_cap=1)
    assert len(out["train"]["id"]) == 16 * 1
    assert all(out["train"]["document"].count(d) == 1 for d in out["train"]["document"])
    assert out["valid"] == build_cloze(docs, cap=4, seed=3)["valid"]  # valid/test as with any train_cap
