"""IOB1 / IOB2 / BIOES: conversions agree with seqeval's reading of the chunks; constraints forbid bad paths."""

import itertools

import pytest
from seqeval.metrics.sequence_labeling import get_entities

from rnn_nlp.data.tag_schemes import allowed_transitions, convert, detect_scheme, spans

IOB1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "O", "I-MISC"]
IOB2 = ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "O", "B-MISC"]
BIOES = ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "S-ORG", "O", "S-MISC"]


def test_conversions_round_trip():
    assert convert(IOB1, "iob1", "iob2") == IOB2
    assert convert(IOB2, "iob2", "bioes") == BIOES
    assert convert(BIOES, "bioes", "iob1") == IOB1
    assert convert(IOB2, "iob2", "iob1") == IOB1
    assert convert(BIOES, "bioes", "iob2") == IOB2


def test_spans_match_seqeval():
    tags = ["O", "B-PER", "I-PER", "I-LOC", "O", "I-ORG", "B-ORG", "I-ORG"]
    ours = spans(tags, "iob2")
    theirs = [(s, e + 1, t) for t, s, e in get_entities(tags)]
    assert sorted(ours) == sorted(theirs)


def test_detect_scheme():
    assert detect_scheme([IOB1]) == "iob1"
    assert detect_scheme([IOB2]) == "iob2"
    assert detect_scheme([BIOES]) == "bioes"


def _valid(path, tags, scheme):
    start, trans, end = allowed_transitions(tags, scheme)
    ids = [tags.index(t) for t in path]
    return bool(start[ids[0]]) and all(bool(trans[a, b]) for a, b in zip(ids, ids[1:])) and bool(end[ids[-1]])


@pytest.mark.parametrize("scheme,prefixes", [("iob2", "BI"), ("bioes", "BIES")])
def test_allowed_paths_are_exactly_the_well_formed_ones(scheme, prefixes):
    tags = ["O"] + [f"{p}-{t}" for t in ("A", "B") for p in prefixes]
    for path in itertools.product(tags, repeat=3):
        well_formed = convert(list(path), scheme, scheme) == list(path) and convert(
            convert(list(path), scheme, "iob1"), "iob1", scheme
        ) == list(path)
        assert _valid(list(path), tags, scheme) == well_formed, path
