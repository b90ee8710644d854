"""CoNLL column files: one token a line, columns separated by tabs or spaces, a blank line between sentences."""

from __future__ import annotations

from rnn_nlp.data.formats.encoding import split_lines
from rnn_nlp.errors import DataError

Sentences = dict[str, list[list[str]]]  # {"tokens": [...], "tags": [...], maybe more columns}
DOCSTART = "-DOCSTART-"


def _fields(line: str) -> list[str]:
    """Tab-separated when the line has tabs (so an empty field shows), else whitespace-separated."""
    return line.rstrip("\r\n").split("\t") if "\t" in line else line.split()


def parse_conll(text: str, where: str, token_column: int = 0, tag_column: int = -1, extra: dict[str, int] | None = None) -> Sentences:
    """CoNLL column text -> sentences. Blank lines end sentences; `-DOCSTART-` lines start a document.

    `extra` names more columns to keep ({"pos": 1}). A `document` column numbers the documents.
    """
    wanted = {"tokens": token_column, "tags": tag_column, **(extra or {})}
    out: dict[str, list] = {k: [] for k in wanted}
    out["document"] = []
    current: dict[str, list[str]] = {k: [] for k in wanted}
    width: int | None = None
    document = 0

    def close() -> None:
        if current["tokens"]:
            for k in wanted:
                out[k].append(current[k])
                current[k] = []
            out["document"].append(document)

    for number, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            close()
            continue
        fields = _fields(line)
        if fields[0] == DOCSTART:
            close()
            document += 1 if out["document"] else 0
            continue
        if width is None:
            width = len(fields)
            for name, col in wanted.items():
                if not -width <= col < width:
                    raise DataError(f"{where}:{number}: no column {col} for {name}; the line has {width} columns")
        elif len(fields) != width:
            raise DataError(f"{where}:{number}: {len(fields)} columns, but the file's first line has {width}")
        for name, col in wanted.items():
            value = fields[col].strip()
            if not value:
                raise DataError(f"{where}:{number}: empty {'token' if name == 'tokens' else name} in column {col}")
            current[name].append(value)
    close()
    return out
