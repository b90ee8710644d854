"""Evaluation measures used across tasks."""

from __future__ import annotations

import math


def perplexity(mean_nll: float) -> float:
    """exp of the mean per-token cross-entropy (natural log); inf when it would overflow."""
    try:
        return math.exp(mean_nll)
    except OverflowError:
        return math.inf


def mcnemar(gold: list, pred_a: list, pred_b: list) -> dict:
    """McNemar's exact test of two classifiers on the same examples: is A's accuracy different from B's?

    Counts the examples only A gets right (`a_only`) and only B gets right (`b_only`); under the null
    hypothesis each disagreement is a fair coin, so the two-sided p-value is a binomial test. This is
    the paired test to use before calling one classifier "clearly" better on a single test split.
    """
    from scipy.stats import binomtest

    if not len(gold) == len(pred_a) == len(pred_b):
        raise ValueError(f"mcnemar: {len(gold)} gold labels but {len(pred_a)} and {len(pred_b)} predictions")
    a_only = sum(a == g and b != g for g, a, b in zip(gold, pred_a, pred_b))
    b_only = sum(b == g and a != g for g, a, b in zip(gold, pred_a, pred_b))
    p = binomtest(a_only, a_only + b_only).pvalue if a_only + b_only else 1.0
    return {"a_only": a_only, "b_only": b_only, "p_value": float(p)}
