"""Token features of the reader, checked by hand on a two-sentence passage; sentence breaks."""

import math

import pytest

from rnn_nlp.nn.heads.reader_features import FEATURES, sentence_breaks, token_features

CONTEXT = "ajax beat psv in amsterdam .\najax won the title ."
WORDS = CONTEXT.split()
QUESTION = "@placeholder won the cup final".split()  # content words: won, cup, final (the: a stop word)
MENTIONS = [[(0, 0), (6, 6)], [(2, 2)]]  # candidates: ajax (twice), psv


def spans(text):
    out, pos = [], 0
    for w in text.split():
        pos = text.index(w, pos)
        out.append((w, pos, pos + len(w)))
        pos += len(w)
    return out


def features(mentions=MENTIONS, question=QUESTION, window=2):
    rows = token_features(WORDS, question, sentence_breaks(WORDS, spans(CONTEXT), CONTEXT), mentions, window)
    return [dict(zip(FEATURES, r)) for r in rows]


def test_sentence_breaks_at_stops_and_line_breaks():
    assert sentence_breaks(WORDS, spans(CONTEXT), CONTEXT) == [False] * 5 + [True] + [False] * 4 + [True]
    words = ["a", "b", "c"]
    assert sentence_breaks(words, spans("a b\nc"), "a b\nc") == [False, True, False]


def test_candidate_features_by_hand():
    f = features()
    first, second, psv = f[0], f[6], f[2]
    assert first["log_count"] == pytest.approx(math.log(3) / 3) and psv["log_count"] == pytest.approx(math.log(2) / 3)
    assert first["count_share"] == 1.0 and psv["count_share"] == 0.5  # ajax is the most frequent candidate
    assert first["first_position"] == second["first_position"] == 0.0 and psv["first_position"] == pytest.approx(2 / 11)
    assert first["is_first"] == 1.0 and second["is_first"] == 0.0
    # within 2 tokens of the second ajax: amsterdam . | won the -> "won", 1 of 3 content words
    assert first["local_overlap"] == 0.0 and second["local_overlap"] == pytest.approx(1 / 3)
    assert first["best_local_overlap"] == second["best_local_overlap"] == pytest.approx(1 / 3)
    assert psv["local_overlap"] == psv["best_local_overlap"] == 0.0
    assert first["sentence_overlap"] == 0.0 and second["sentence_overlap"] == pytest.approx(1 / 3)
    # "@placeholder won": the placeholder's right neighbour is "won", like the second ajax's
    assert second["right_match"] == 1.0 and first["right_match"] == 0.0 and second["left_match"] == 0.0
    assert first["in_question"] == psv["in_question"] == 0.0


def test_word_features_and_question_entities():
    f = features()
    the = f[8]
    assert the["in_question"] == 1.0 and the["log_count"] == pytest.approx(math.log(2) / 3)
    # words other than candidates: "." occurs twice, the most frequent word
    assert f[5]["count_share"] == 1.0 and the["count_share"] == 0.5 and f[10]["is_first"] == 0.0
    # a candidate named in the question is flagged on all its mentions
    g = features(question="psv lost to @placeholder again".split())
    assert g[2]["in_question"] == 1.0 and g[0]["in_question"] == 0.0
    assert g[0]["left_match"] == 0.0 and g[4]["left_match"] == 0.0


def test_multi_token_mention_shares_its_window_and_without_mentions_tokens_are_words():
    f = features(mentions=[[(2, 4)], [(0, 0), (6, 6)]])  # "psv in amsterdam" as one mention
    assert f[2] == f[3] == f[4]
    assert f[2]["left_match"] == 0.0 and f[2]["log_count"] == pytest.approx(math.log(2) / 3)
    plain = features(mentions=None, question="ajax won".split())
    assert plain[0]["in_question"] == plain[6]["in_question"] == 1.0 and plain[6]["is_first"] == 0.0
    assert plain[0]["left_match"] == plain[0]["right_match"] == 0.0  # no placeholder: no neighbour match
    assert token_features([], QUESTION, [], None) == []
