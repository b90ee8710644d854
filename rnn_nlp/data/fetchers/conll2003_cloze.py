"""The cloze QA sets `conll2003-cloze` and `conll2003-cloze-anon`, built by rnn_nlp.data.cloze from
the documents of the fetched conll2003 table."""

from __future__ import annotations

from rnn_nlp.data.cloze import build_cloze
from rnn_nlp.data.fetchers.registry import Splits


def read_conll_documents(conll2003) -> list[tuple[str, list[list[str]], list[list[str]]]]:
    """(document id such as "train-12", sentences, NER tags) of every document of the conll2003 table,
    train, valid, test."""
    docs = []
    for split in ("train", "valid", "test"):
        part = conll2003[split]
        grouped: dict[int, tuple[list, list]] = {}
        for tokens, tags, doc in zip(part["tokens"], part["tags"], part["document"]):
            sents, tagss = grouped.setdefault(doc, ([], []))
            sents.append(tokens)
            tagss.append(tags)
        docs.extend((f"{split}-{d}", s, t) for d, (s, t) in sorted(grouped.items()))
    return docs


def fetch_conll2003_cloze(conll2003) -> Splits:
    """The cloze set from the fetched CoNLL-2003 documents, entities as written."""
    return build_cloze(read_conll_documents(conll2003))


def fetch_conll2003_cloze_anon(conll2003) -> Splits:
    """The cloze set with entities anonymised as @entityN."""
    return build_cloze(read_conll_documents(conll2003), anonymize=True)
