"""Prose lines for language-model pretraining: paragraphs cut into sentences, lines that are not prose
dropped, the rest tokenized by the shared tokenizer and written as tokens joined by single spaces,
exact duplicates dropped by hash while the lines stream past.

A line is prose when it has at least MIN_WORDS words, no URL or e-mail address, at least
MIN_LETTERS of its visible characters letters, and at most MAX_CODE characters that belong to code,
tables or markup rather than to sentences ({ } < > = | \\ # $ @ ~ ^ `).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator

from rnn_nlp.data.tokenize import Tokenizer

# Where a sentence ends inside a paragraph: the one rule for prose corpora (sotu cuts its speeches with it too).
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
URL = re.compile(r"\b(?:https?|ftp)://|\bwww\.\w|\b[\w.+-]+@[\w-]+\.[\w.-]+")
CODE_CHARS = frozenset("{}<>=|\\#$@~^`")
MIN_WORDS = 3
MIN_LETTERS = 0.7
MAX_CODE = 1


def sentences(paragraph: str) -> list[str]:
    """A paragraph (any whitespace inside it made one space) cut into its sentences."""
    text = " ".join(paragraph.split())
    return [s for s in SENTENCE_END.split(text) if s] if text else []


def is_prose(line: str) -> bool:
    """Whether a line reads as a sentence: long enough, no URL, mostly letters, next to no code characters."""
    if len(line.split()) < MIN_WORDS or URL.search(line):
        return False
    visible = [c for c in line if not c.isspace()]
    letters = sum(c.isalpha() for c in visible)
    code = sum(c in CODE_CHARS for c in visible)
    return letters >= MIN_LETTERS * len(visible) and code <= MAX_CODE


def prose_sentences(paragraphs: Iterable[str]) -> Iterator[str]:
    """The sentences of `paragraphs` that are prose, in order."""
    for paragraph in paragraphs:
        for sentence in sentences(paragraph):
            if is_prose(sentence):
                yield sentence


class LineTokenizer:
    """Raw lines -> their tokens by the shared tokenizer (spaCy's blank English, cased, numbers kept),
    joined by single spaces: a word LM reads them back with `data.tokenizer: whitespace`."""

    def __init__(self):
        self.tokenizer = Tokenizer("spacy")

    def __call__(self, lines: Iterable[str]) -> Iterator[str]:
        for tokens in self.tokenizer.pipe(lines):
            if tokens:
                yield " ".join(tokens)


class Deduplicator:
    """Keeps the first copy of each line across everything it sees: a set of 8-byte hashes (about
    70 bytes a distinct line in memory), never the lines themselves. `dropped` counts the copies left out."""

    def __init__(self):
        self.seen: set[int] = set()
        self.dropped = 0

    def first(self, line: str) -> bool:
        """True the first time `line` is seen, False (and one more dropped) after."""
        key = int.from_bytes(hashlib.blake2b(line.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")
        if key in self.seen:
            self.dropped += 1
            return False
        self.seen.add(key)
        return True
