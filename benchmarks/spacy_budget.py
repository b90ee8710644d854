"""A spaCy `before_update` callback that stops `spacy train` once a wall-clock budget is spent.

Used by benchmarks/tagging.py (`spacy train ... --code benchmarks/spacy_budget.py`) so spaCy trains
for the same time as our models. spaCy's loop has no time limit: the callback raises, spaCy
saves model-last, and model-best is the best pipeline evaluated so far.
"""

from __future__ import annotations

import time

from spacy.util import registry


class TimeBudgetSpent(Exception):
    """The budget ran out (not an error: the benchmark reads model-best afterwards)."""


@registry.callbacks("rnn_nlp_bench.time_budget.v1")
def time_budget(seconds: float):
    started = time.perf_counter()

    def before_update(nlp, info):
        if time.perf_counter() - started > seconds:
            raise TimeBudgetSpent(f"time budget of {seconds:.0f} s spent at step {info['step']}")

    return before_update
