"""Span decoding against brute force; candidate scores; mention finding."""

import itertools

import torch

from rnn_nlp.nn.heads.span import best_span, candidate_scores, find_mentions


def test_best_span_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    for n, max_len in itertools.product([1, 2, 7, 20], [1, 3, 30]):
        start, end = torch.randn(n, generator=g), torch.randn(n, generator=g)
        i, j, score = best_span(start, end, max_len)
        brute = max(((a, b) for a in range(n) for b in range(a, min(n, a + max_len))), key=lambda ab: float(start[ab[0]] + end[ab[1]]))
        assert (i, j) == brute and i <= j < i + max_len
        assert score == float(start[i] + end[j])


def test_best_span_never_ends_before_it_starts():
    start = torch.tensor([0.0, 0.0, 9.0])
    end = torch.tensor([5.0, 0.0, 0.0])  # the best end comes before the best start
    assert best_span(start, end, 5)[:2] == (2, 2)


def test_candidate_scores_max_and_sum():
    start = torch.tensor([1.0, 0.0, 2.0, 0.0])
    end = torch.tensor([0.0, 1.0, 0.0, 3.0])
    mentions = [[(0, 1), (2, 3)], [(1, 1)], []]
    maxed = candidate_scores(start, end, mentions, "max")
    assert maxed.tolist()[:2] == [5.0, 1.0] and maxed[2] == float("-inf")
    summed = candidate_scores(start, end, mentions, "sum")
    assert summed[0] == torch.logsumexp(torch.tensor([2.0, 5.0]), 0)


def test_find_mentions():
    words = "the new york times and new york".split()
    assert find_mentions(words, ["new", "york"]) == [(1, 2), (5, 6)]
    assert find_mentions(words, ["york", "times"]) == [(2, 3)]
    assert find_mentions(words, ["boston"]) == [] and find_mentions(words, []) == []
