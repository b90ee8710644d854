"""SQuAD v1.1 / v2.0 JSON parsing and the checks of flat QA records."""

import pytest

from rnn_nlp.data.formats.squad import check_record, parse_squad
from rnn_nlp.errors import DataError
from tests.data.test_qa import CONTEXT, qa, squad


def test_v1_parse():
    records, titles = parse_squad(squad([[qa("a"), qa("b", "Who barks?", "Dogs", 24)]]), "f.json")
    assert records["id"] == ["a", "b"] and titles == ["t0", "t0"]
    assert records["answers"][1] == {"text": ["Dogs"], "answer_start": [24]}
    assert records["candidates"] == [[], []]


def test_v2_unanswerable_has_no_answers():
    impossible = {
        "id": "u",
        "question": "What is blue?",
        "answers": [],
        "is_impossible": True,
        "plausible_answers": [{"text": "mat", "answer_start": 19}],
    }
    records, _ = parse_squad(squad([[qa("a"), impossible]], "v2.0"), "f.json")
    assert records["answers"][1] == {"text": [], "answer_start": []}


def test_check_record_accepts_candidates_and_offsets():
    row = {
        "id": "c",
        "question": "@placeholder won",
        "context": CONTEXT,
        "answers": {"text": ["cat"], "answer_start": [4]},
        "candidates": ["cat", "Dogs"],
    }
    assert check_record(row, "w") is None
    assert "must be a list of strings" in check_record({**row, "candidates": [1]}, "w")


@pytest.mark.parametrize(
    "answers, extra, message",
    [
        (5, {}, "'answers' must be a list of objects"),
        ("the mat", {}, "'answers' must be a list of objects"),
        ([{"text": "the mat"}], {}, "'answers' must be a list of objects"),
        ([{"text": "the mat", "answer_start": 15}], {"is_impossible": "no"}, "is_impossible must be true or false, got 'no'"),
    ],
)
def test_malformed_answers_are_a_data_error_naming_the_record(answers, extra, message):
    doc = squad([[{"id": "m1", "question": "Where?", "answers": answers, **extra}, qa("ok")]])
    with pytest.raises(DataError, match=rf"f\.json: record 'm1': {message}"):
        parse_squad(doc, "f.json")
    records, _ = parse_squad(doc, "f.json", skip_bad=True)
    assert records["id"] == ["ok"]


def test_any_json_document_parses_or_is_a_data_error():
    """SQuAD's structure with any JSON value at any level: records, or a DataError; never another exception."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.data.test_hostile_input import json_value

    value = st.one_of(json_value, st.just([]), st.just({}))
    answer = st.one_of(value, st.fixed_dictionaries({"text": value, "answer_start": value}))
    question = st.one_of(
        value,
        st.fixed_dictionaries(
            {"id": value, "question": value}, optional={"answers": st.one_of(value, st.lists(answer, max_size=2)), "is_impossible": value}
        ),
    )
    paragraph = st.one_of(value, st.fixed_dictionaries({"context": value, "qas": st.one_of(value, st.lists(question, max_size=2))}))
    article = st.one_of(
        value, st.fixed_dictionaries({"paragraphs": st.one_of(value, st.lists(paragraph, max_size=2))}, optional={"title": value})
    )
    document = st.one_of(value, st.fixed_dictionaries({"data": st.one_of(value, st.lists(article, max_size=2))}))

    @settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(doc=document, skip=st.booleans())
    def check(doc, skip):
        try:
            records, titles = parse_squad(doc, "f.json", skip_bad=skip)
        except DataError:
            return
        assert len(titles) == len(records["id"])
        for context, answers in zip(records["context"], records["answers"]):
            for text, start in zip(answers["text"], answers["answer_start"]):
                assert context[start : start + len(text)] == text

    check()
