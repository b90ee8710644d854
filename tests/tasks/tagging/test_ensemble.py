"""Tagger ensembles: chunk voting (NER) and per-token voting (POS), checked against seqeval by hand."""

import pytest
from seqeval.metrics import f1_score
from seqeval.metrics.sequence_labeling import get_entities

from rnn_nlp.tasks.tagging.ensemble import vote_tags


def test_a_chunk_most_members_predict_is_kept_and_the_others_dropped():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    members = [
        [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]],
        [["B-PER", "O", "O", "B-LOC"], ["B-MISC", "O"]],  # a shorter PER, a wrong type
        [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O"]],  # a wrong type
    ]
    voted = vote_tags(members, chunked=True)
    assert voted == [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    assert f1_score(gold, voted) == 1.0 and max(f1_score(gold, m) for m in members) == 1.0
    assert min(f1_score(gold, m) for m in members) < 1.0


def test_a_tie_is_no_majority_and_kept_chunks_never_overlap():
    members = [
        [["B-PER", "I-PER", "I-PER"]],
        [["B-PER", "I-PER", "O"]],
        [["O", "B-LOC", "I-LOC"]],
        [["B-PER", "I-PER", "O"]],
        [["B-PER", "I-PER", "O"]],
    ]
    (voted,) = vote_tags(members, chunked=True)
    assert voted == ["B-PER", "I-PER", "O"]  # 3 of 5 for the 2-token PER; 1 for the 3-token one, 1 for the LOC
    assert get_entities(voted) == [("PER", 0, 1)]
    two_two = [[["B-PER", "O"]], [["B-PER", "O"]], [["O", "B-LOC"]], [["O", "B-LOC"]]]
    assert vote_tags(two_two, chunked=True) == [["O", "O"]]  # 2 of 4 each: no majority, nothing kept


def test_plain_tags_take_the_most_voted_tag_and_a_tie_the_earliest_members():
    members = [[["DET", "NOUN", "VERB"]], [["DET", "VERB", "NOUN"]], [["PRON", "NOUN", "ADJ"]]]
    assert vote_tags(members, chunked=False) == [["DET", "NOUN", "VERB"]]


def test_members_must_tag_the_same_sentences():
    with pytest.raises(ValueError, match="at least one member"):
        vote_tags([], chunked=True)
    with pytest.raises(ValueError, match="different numbers of sentences"):
        vote_tags([[["O"]], [["O"], ["O"]]], chunked=True)
    with pytest.raises(ValueError, match="sentence 1: .* lengths \\[1, 2\\]"):
        vote_tags([[["O"]], [["O", "O"]]], chunked=False)
