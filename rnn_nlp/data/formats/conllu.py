"""CoNLL-U (Universal Dependencies): ten tab-separated columns a word, comments, multiword ranges."""

from __future__ import annotations

from rnn_nlp.data.formats.encoding import split_lines
from rnn_nlp.errors import DataError

TAG_COLUMNS = {"upos": 3, "xpos": 4}


def looks_like_conllu(lines: list[str]) -> bool:
    """Whether every given line has CoNLL-U's ten columns and a word id (1, 2-3, 3.1) first."""
    return all(len(ln.split("\t")) == 10 and ln.split("\t")[0].replace("-", "").replace(".", "").isdigit() for ln in lines)


def parse_conllu(text: str, where: str, tag: str = "upos") -> dict[str, list]:
    """CoNLL-U -> sentences of word forms and UPOS (or XPOS) tags; multiword and empty nodes skipped."""
    column = TAG_COLUMNS[tag]
    out: dict[str, list] = {"tokens": [], "tags": []}
    tokens: list[str] = []
    tags: list[str] = []
    for number, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            if tokens:
                out["tokens"].append(tokens)
                out["tags"].append(tags)
                tokens, tags = [], []
            continue
        if line.startswith("#"):
            continue
        fields = line.rstrip("\r").split("\t")
        if len(fields) != 10:
            raise DataError(f"{where}:{number}: {len(fields)} tab-separated columns; CoNLL-U has 10")
        if "-" in fields[0] or "." in fields[0]:  # multiword token range, empty node
            continue
        if not fields[1].strip():
            raise DataError(f"{where}:{number}: empty token")
        if fields[column] in ("", "_"):
            raise DataError(f"{where}:{number}: no {tag.upper()} tag")
        tokens.append(fields[1])
        tags.append(fields[column])
    if tokens:
        out["tokens"].append(tokens)
        out["tags"].append(tags)
    return out
