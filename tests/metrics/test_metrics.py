import math

import pytest
from scipy.stats import binom

from rnn_nlp.metrics import mcnemar, perplexity


def test_perplexity_is_exp_of_mean_nll():
    assert perplexity(math.log(100.0)) == pytest.approx(100.0)
    assert perplexity(1e6) == math.inf


def test_mcnemar_counts_disagreements_and_gives_the_exact_two_sided_p():
    gold = [1, 1, 1, 1, 1, 1, 0, 0]
    a = [1, 1, 1, 1, 1, 1, 0, 1]  # right on 7
    b = [0, 0, 0, 0, 1, 1, 0, 1]  # right on 3: A alone is right on 4, B alone on 0
    result = mcnemar(gold, a, b)
    assert result["a_only"] == 4 and result["b_only"] == 0
    # two-sided exact binomial test of 4 successes out of 4 at p=0.5: 2 * 0.5**4
    assert result["p_value"] == pytest.approx(2 * binom.pmf(4, 4, 0.5))
    assert mcnemar(gold, a, a) == {"a_only": 0, "b_only": 0, "p_value": 1.0}


def test_mcnemar_refuses_lists_of_different_lengths():
    with pytest.raises(ValueError, match="3 gold labels"):
        mcnemar([1, 0, 1], [1, 0], [1, 0, 1])


def test_lowercase_makes_chrf_case_insensitive_too():
    """data.lowercase gives lower-case outputs scored against raw (cased) references: chrF must
    then ignore case as BLEU does, or every capital in a reference counts as a miss."""
    import sacrebleu

    from rnn_nlp.metrics import bleu_chrf

    scores = bleu_chrf(["y la tierra estaba vacía"], ["Y La Tierra estaba vacía"], lowercase=True)
    assert scores["bleu"] == pytest.approx(100.0)
    assert scores["chrf"] == pytest.approx(100.0)
    cased = bleu_chrf(["y la tierra"], ["Y La Tierra"])
    assert cased["chrf"] == pytest.approx(sacrebleu.corpus_chrf(["y la tierra"], [["Y La Tierra"]]).score)
    assert cased["chrf"] < 100.0
