"""Prose lines: sentences cut, non-prose dropped, duplicates caught by hash, tokens as the LM reads them."""

import pytest

from rnn_nlp.data.prose import Deduplicator, LineTokenizer, is_prose, prose_sentences, sentences


def test_sentences_cut_where_sotu_cuts():
    assert sentences('  First one.  Second (with a\n break)! "Third?" no cut e.g. here.') == [
        "First one.",
        "Second (with a break)!",
        '"Third?" no cut e.g. here.',
    ]
    assert sentences("   ") == []


@pytest.mark.parametrize(
    "line, prose",
    [
        ("The driver wakes the device up.", True),
        ("Too short.", False),
        ("See https://lwn.net/ for the article.", False),
        ("Write to maintainer@example.org about it.", False),
        ("int x = foo(a, b) { return 1; }", False),
        ("| a | b | c |", False),
        ("0x0000 0x1000 0x2000 0x3000", False),
        ("To love; to regard with affection [Obs].", True),
    ],
)
def test_is_prose(line, prose):
    assert is_prose(line) is prose


def test_prose_sentences_keep_order_and_drop_the_rest():
    paragraphs = ["Keep this sentence please. X = {1} and Y = {2} here.", "And this one too."]
    assert list(prose_sentences(paragraphs)) == ["Keep this sentence please.", "And this one too."]


def test_deduplicator_keeps_first_copies_only():
    dedup = Deduplicator()
    kept = [line for line in ["a b c", "d e f", "a b c", "a b c", "d e f "] if dedup.first(line)]
    assert kept == ["a b c", "d e f", "d e f "]
    assert dedup.dropped == 2


@pytest.mark.slow  # loads spaCy
def test_line_tokenizer_is_the_shared_spacy_tokenizer():
    assert list(LineTokenizer()(["It's the PCI_ANY_ID value, isn't it?", "   "])) == ["It 's the PCI_ANY_ID value , is n't it ?"]
