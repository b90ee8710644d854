"""The cloze baselines on hand-made passages."""

from rnn_nlp.nn.baselines.cloze import most_frequent, word_overlap

CONTEXT = "PSV coach Smit was angry about the referee .\nAjax beat PSV on Sunday .\nAjax fans sang ."
CANDIDATES = ["Ajax", "PSV", "Smit"]


def test_most_frequent_with_ties_to_the_first():
    assert most_frequent(CONTEXT, CANDIDATES) == "Ajax"  # Ajax 2, PSV 2: the earlier candidate
    assert most_frequent(CONTEXT + "\nSmit left . Smit", CANDIDATES) == "Smit"


def test_word_overlap_counts_question_words_near_a_mention():
    # "coach" and "angry" are within 3 words of Smit; stop words and the placeholder do not count
    assert word_overlap("@placeholder , the coach , was angry .", CONTEXT, CANDIDATES, window=3) == "Smit"
    assert word_overlap("@placeholder fans sang loudly", CONTEXT, CANDIDATES, window=2) == "Ajax"
