"""`word/tag` lines (the Brown corpus's format): one sentence a line, each item a word and its tag."""

from __future__ import annotations

from rnn_nlp.data.formats.encoding import split_lines
from rnn_nlp.errors import DataError


def looks_like_word_tag(lines: list[str], separator: str = "/") -> bool:
    """Whether every item of the given lines holds the separator (and some line has more than two items)."""
    return all(separator in item for ln in lines for item in ln.split()) and any(len(ln.split()) > 2 for ln in lines)


def parse_word_tag(text: str, where: str, separator: str = "/") -> dict[str, list]:
    """One sentence a line, items `word/tag` split at the last separator (so "1/2/cd" is "1/2", "cd")."""
    out: dict[str, list] = {"tokens": [], "tags": []}
    for number, line in enumerate(split_lines(text), start=1):
        items = line.split()
        if not items:
            continue
        tokens, tags = [], []
        for item in items:
            word, sep, tag = item.rpartition(separator)
            if not sep:
                raise DataError(f"{where}:{number}: '{item}' has no '{separator}' between word and tag")
            if not word:
                raise DataError(f"{where}:{number}: empty token in '{item}'")
            if not tag:
                raise DataError(f"{where}:{number}: empty tag in '{item}'")
            tokens.append(word)
            tags.append(tag)
        out["tokens"].append(tokens)
        out["tags"].append(tags)
    return out
