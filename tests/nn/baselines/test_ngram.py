"""N-gram LMs: exact normalisation, probabilities computed by hand, KN beats add-one, save/load, sampling."""

import random

import numpy as np
import pytest

from rnn_nlp.errors import ConfigError
from rnn_nlp.nn.baselines.ngram import SMOOTHINGS, NGramLM, _discounts

TINY = [s.split() for s in ["a b", "a c", "a b"]]  # |V| = 5 predicted ids: <unk> <eos> a b c


def _svo(n, seed):
    rng = random.Random(seed)
    subjects, verbs, objects = (
        ["the cat", "a dog", "my friend", "the child"],
        ["sees", "likes", "finds"],
        ["the ball", "a tree", "the moon", "some water"],
    )
    return [f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} .".split() for _ in range(n)]


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_every_distribution_sums_to_one(smoothing, n):
    train = [s.split() for s in ["the cat sat on the mat", "the dog sat on the log", "a cat saw the dog", "the cat sat"]]
    for discounts in ("modified", "single"):
        lm = NGramLM(n, smoothing, delta=0.5, discounts=discounts).fit(train)
        for history in ([], ["the"], ["the", "cat"], ["cat", "sat", "on"], ["zebra"], ["on", "the"], ["dog", "the", "mat"]):
            dist = lm.distribution(history)
            assert dist[0] == 0.0  # <s> (the <pad> id) is never predicted
            assert (dist[1:] > 0).all()
            assert dist.sum() == pytest.approx(1.0, abs=1e-12)


def test_add_delta_by_hand():
    bigram = NGramLM(2, "add-delta", delta=1.0).fit(TINY)
    assert bigram.prob(["a"], "b") == pytest.approx((2 + 1) / (3 + 5))
    assert bigram.prob(["b"], "</s>") == pytest.approx((2 + 1) / (2 + 5))
    assert bigram.prob([], "a") == pytest.approx((3 + 1) / (3 + 5))  # after <s>
    assert bigram.prob(["zebra"], "a") == pytest.approx(1 / 5)  # unseen history <unk>: uniform
    unigram = NGramLM(1, "add-delta", delta=0.5).fit(TINY)
    assert unigram.prob([], "a") == pytest.approx((3 + 0.5) / (9 + 0.5 * 5))  # 9 tokens: 6 words, 3 </s>


def test_interpolated_kneser_ney_by_hand():
    lm = NGramLM(2, "kneser-ney", discounts="single").fit(TINY)
    # bigram count-of-counts: n1 = 2 (a c, c </s>), n2 = 2 (a b, b </s>), so D2 = 2 / (2 + 2 * 2)
    d2 = 1 / 3
    # continuation counts: a {<s>}, b {a}, c {a}, </s> {b, c}: n1 = 3, n2 = 1, D1 = 3 / 5, total 5
    d1 = 3 / 5
    uniform_weight = d1 * 4 / 5
    p1 = {"a": (1 - d1) / 5 + uniform_weight / 5, "b": (1 - d1) / 5 + uniform_weight / 5, "</s>": (2 - d1) / 5 + uniform_weight / 5}
    assert lm.prob(["a"], "b") == pytest.approx((2 - d2) / 3 + (d2 * 2 / 3) * p1["b"])
    assert lm.prob(["b"], "</s>") == pytest.approx((2 - d2) / 2 + (d2 * 1 / 2) * p1["</s>"])
    assert lm.prob(["b"], "a") == pytest.approx((d2 * 1 / 2) * p1["a"])
    assert lm.prob(["zebra"], "</s>") == pytest.approx(p1["</s>"])  # unseen history: the lower order
    assert lm.prob(["zebra"], "<unk>") == pytest.approx(uniform_weight / 5)


def test_backoff_by_hand():
    lm = NGramLM(2, "backoff").fit(TINY)
    d2 = 1 / 3  # raw bigram counts: n1 = 2, n2 = 2
    d1 = 1 / 3  # raw unigram counts a 3, b 2, c 1, </s> 3: n1 = 1, n2 = 1
    p1 = {w: max(c - d1, 0) / 9 + (d1 * 4 / 9) / 5 for w, c in {"a": 3, "b": 2, "c": 1, "</s>": 3}.items()}
    alpha_b = (d2 * 1 / 2) / (1 - p1["</s>"])  # b is followed only by </s>
    assert lm.prob(["b"], "</s>") == pytest.approx((2 - d2) / 2)
    assert lm.prob(["b"], "c") == pytest.approx(alpha_b * p1["c"])
    assert lm.prob(["a"], "c") == pytest.approx((1 - d2) / 3)


def test_modified_discounts_from_count_of_counts():
    counts = np.array([1, 1, 1, 1, 2, 2, 3, 4])  # n1 4, n2 2, n3 1, n4 1, Y = 0.5
    assert _discounts(counts, True) == pytest.approx((1 - 2 * 0.5 * 2 / 4, 2 - 3 * 0.5 * 1 / 2, 3 - 4 * 0.5 * 1 / 1))
    assert _discounts(counts, False) == pytest.approx((0.5, 0.5, 0.5))


def test_kneser_ney_beats_add_one_on_held_out_text():
    train, held_out = _svo(300, 0), _svo(60, 1)
    kn = NGramLM(3, "kneser-ney").fit(train).perplexity(held_out)
    add_one = NGramLM(3, "add-delta", delta=1.0).fit(train).perplexity(held_out)
    assert kn < add_one


def test_size_sparsity_save_load_and_sampling(tmp_path):
    train, held_out = _svo(200, 0), _svo(30, 2) + [["an", "unseen", "sentence"]]
    lm = NGramLM(4, "kneser-ney").fit(train)
    size = lm.size()
    counts = [o["ngrams"] for o in size["orders"]]
    assert counts == sorted(counts) and size["bytes"] > 0
    unseen = lm.unseen_fraction(held_out)
    assert unseen == sorted(unseen) and unseen[0] > 0  # the unknown words are <unk>, never seen as such
    lm.save(tmp_path / "kn")
    again = NGramLM.load(tmp_path / "kn")
    assert again.perplexity(held_out) == pytest.approx(lm.perplexity(held_out))
    words = lm.generate(["the"], max_tokens=12, temperature=0.8, seed=3)
    assert words == again.generate(["the"], max_tokens=12, temperature=0.8, seed=3)
    assert len(words) == 12 and all(w in lm.vocab for w in words)
    sentence = lm.generate([], max_tokens=50, temperature=1.0, seed=1, stop_at_eos=True)
    assert sentence[-1] == "<eos>" and "<eos>" not in sentence[:-1]


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="smoothing"):
        NGramLM(3, "good-turing")
    with pytest.raises(ConfigError, match="n must be"):
        NGramLM(0)
    with pytest.raises(ConfigError, match="temperature"):
        NGramLM(2).fit(TINY).generate([], 3, temperature=0)
