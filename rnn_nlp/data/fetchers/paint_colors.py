"""Paint-colour names from npm `color-name-list` (MIT): the lecture's character-level LM example."""

from __future__ import annotations

import csv
import io

from rnn_nlp.data.fetchers import download
from rnn_nlp.data.fetchers.registry import Splits
from rnn_nlp.data.splits import seeded_split
from rnn_nlp.errors import DataError

COLOR_NAMES = "color-name-list@14.51.0"


def fetch_paint_colors() -> Splits:
    """Distinct names (case-insensitively, whitespace runs made one space), seeded 90/5/5."""
    (raw,) = download.read_npm_members(COLOR_NAMES, r"^package/src/colornames\.csv$").values()
    names, seen = [], set()
    for row in csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")):
        name = " ".join((row.get("name") or "").split())
        if name and name.lower() not in seen:
            seen.add(name.lower())
            names.append(name)
    if not names:
        raise DataError(f"npm {COLOR_NAMES}: src/colornames.csv holds no names")
    return {split: {"text": part} for split, part in seeded_split(names).items()}
