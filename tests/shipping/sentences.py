"""Random raw texts for comparing predictors: sentences of random lengths from the tiny corpora's words."""

from __future__ import annotations

import random

from tests.tasks.tagging.data import ORGS, PEOPLE, PLACES, POS_WORDS, VERBS

WORDS = [w for group in (PEOPLE, PLACES, ORGS) for name in group for w in name] + VERBS + [".", ",", "Zyx", "unseen"]
WORDS += [w for ws in POS_WORDS.values() for w in ws] + ["great", "awful", "film", "dull", "moving"]


def random_texts(n: int, longest: int, seed: int = 0) -> list[str]:
    """`n` texts of 1 to `longest` words (one of them exactly `longest`), and one empty text."""
    rng = random.Random(seed)
    lengths = [longest] + [rng.randint(1, longest) for _ in range(n - 1)]
    return [" ".join(rng.choice(WORDS) for _ in range(k)) for k in lengths] + [""]
