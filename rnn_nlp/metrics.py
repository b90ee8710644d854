"""Evaluation measures used across tasks."""

from __future__ import annotations

import math


def perplexity(mean_nll: float) -> float:
    """exp of the mean per-token cross-entropy (natural log); inf when it would overflow."""
    try:
        return math.exp(mean_nll)
    except OverflowError:
        return math.inf
