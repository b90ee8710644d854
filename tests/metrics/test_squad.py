"""SQuAD exact match and F1 against values computed by hand (the official v1.1 script's definitions)."""

import pytest

from rnn_nlp.metrics.squad import exact_match, normalize_answer, squad_scores, token_f1


def test_normalize_like_the_official_script():
    assert normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert normalize_answer("an apple, a pear and THE plum") == "apple pear and plum"
    assert normalize_answer("theater") == "theater"  # articles only as whole words


def test_exact_match_and_f1_by_hand():
    assert exact_match("the Eiffel Tower.", "Eiffel Tower") == 1.0
    assert exact_match("Eiffel", "Eiffel Tower") == 0.0
    # pred {eiffel, tower, in, paris} vs gold {eiffel, tower}: P = 2/4, R = 2/2, F1 = 2*0.5*1/1.5 = 2/3
    assert token_f1("Eiffel Tower in Paris", "the Eiffel Tower") == pytest.approx(2 / 3)
    # repeated tokens count with multiplicity: pred [a1, b, b] vs gold [b]: common 1, P 1/3, R 1 -> 0.5
    assert token_f1("x b b", "b") == pytest.approx(0.5)
    assert token_f1("Paris", "London") == 0.0


def test_max_over_golds_and_no_answer():
    scores = squad_scores(
        ["Denver Broncos", "Carolina", "", "something"],
        [["Denver Broncos", "Broncos"], ["Carolina Panthers"], [], []],
    )
    # EM: 1, 0, 1 (empty vs no-answer), 0 -> 0.5 ; F1: 1, 2/3 (P 1, R 1/2), 1, 0 -> (8/3)/4
    assert scores["exact_match"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx((1 + 2 / 3 + 1 + 0) / 4)
    assert scores["has_answer_f1"] == pytest.approx((1 + 2 / 3) / 2)
    assert scores["no_answer_accuracy"] == pytest.approx(0.5)
    assert "no_answer_accuracy" not in squad_scores(["a"], [["a"]])


def test_gold_that_normalises_to_nothing_scores_f1_0_as_in_the_v11_script():
    # v1.1's f1_score: no common token -> 0, even when both sides normalise to "" (its exact match is 1)
    assert token_f1("a", "The") == 0.0 and exact_match("a", "The") == 1.0
    assert squad_scores(["the"], [["The"]]) == {"exact_match": 1.0, "f1": 0.0}
    # an unanswerable question (no golds) still counts an empty or punctuation-only prediction as right
    assert squad_scores([".", "x"], [[], []])["f1"] == pytest.approx(0.5)
