"""Turning raw text into tokens: spaCy's blank English tokenizer (no model download), whitespace,
or characters (for character-level language models).

spaCy's tokenizer splits a text at whitespace first and reads each whitespace-free chunk on its own (its own
cache is keyed by chunk; its special cases hold no whitespace but whitespace itself, so none spans two chunks).
`Tokenizer` therefore remembers each chunk's finished tokens and asks spaCy only for chunks it has not seen: the
same tokens, without building a spaCy Doc a text (two thirds of a short review's tokenizing time).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

WHITESPACE = re.compile(r"\s+")
NUMBER_WORD = "N"  # what normalize_numbers writes for every number (PTB's convention)
NUMBER = re.compile(r"^[+-]?(\d[\d,.:/-]*|\.\d+)$")


@lru_cache(maxsize=1)
def _spacy_tokenizer():
    import spacy

    return spacy.blank("en").tokenizer


def prepare_spacy() -> None:
    """Build spaCy's blank English tokenizer now rather than at the first text: importing spaCy takes a second or
    more, which a loaded model's first prediction should not pay (spaCy's own `spacy.load` pays it at load too)."""
    _spacy_tokenizer()


def _encodable(text: str) -> str:
    """spaCy cannot hold lone surrogates (from bytes that never were UTF-8): they become '?'."""
    if text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


def spacy_docs(texts: Iterable[str]) -> Iterator:
    """spaCy Docs of raw texts by the blank English tokenizer; text that never was valid UTF-8 (lone
    surrogates) is read with '?' in their place, so character offsets stay those of the text."""
    return _spacy_tokenizer().pipe(_encodable(t) for t in texts)


NON_SPACE = re.compile(r"\S+")


def normalize_word(token: str, lowercase: bool, normalize_numbers: bool) -> str:
    """A token as a vocabulary sees it: a number -> "N" (PTB's convention), else maybe lower-cased.

    With normalize_numbers a token "N" is already a number (PTB's own text, or text mixed with it): it
    stays "N" when lower-casing, rather than becoming the letter n.
    """
    if normalize_numbers and (token == NUMBER_WORD or NUMBER.match(token)):
        return NUMBER_WORD
    return token.lower() if lowercase else token


def token_spans(text: str, kind: str) -> list[tuple[str, int, int]]:
    """(token, start, end) character spans of the tokens of `text`, split as `Tokenizer(kind)` splits it
    (whitespace, or spaCy's blank English); for answers given as character offsets (QA)."""
    if kind == "whitespace":
        return [(m.group(), m.start(), m.end()) for m in NON_SPACE.finditer(text)]
    doc = _spacy_tokenizer()(_encodable(text))  # _encodable keeps the length: offsets stay those of `text`
    return [(t.text, t.idx, t.idx + len(t.text)) for t in doc if not t.is_space and t.text.strip()]


CHUNK_CACHE = 200_000  # distinct whitespace-free chunks a Tokenizer remembers (cleared when full)


class Tokenizer:
    """Splits lines into tokens; optional lower-casing and number normalisation (numbers -> "N").

    With `unit="char"` a line becomes its characters, runs of whitespace read as one space
    (which is a token too; a prompt's trailing space is kept); `kind` and `normalize_numbers` then play no part.
    """

    def __init__(self, kind: str = "spacy", lowercase: bool = False, normalize_numbers: bool = False, unit: str = "word"):
        if kind not in ("spacy", "whitespace"):
            raise ValueError(f"unknown tokenizer {kind!r}: use 'spacy' or 'whitespace'")
        if unit not in ("word", "char"):
            raise ValueError(f"unknown unit {unit!r}: use 'word' or 'char'")
        self.kind = kind
        self.lowercase = lowercase
        self.normalize_numbers = normalize_numbers
        self.unit = unit
        self._chunks: dict[str, list[str]] = {}  # a whitespace-free chunk -> its finished spaCy tokens

    def prepare(self) -> None:
        """Build what tokenizing needs now (spaCy's tokenizer for kind "spacy"), not at the first text."""
        if self.kind == "spacy" and self.unit == "word":
            prepare_spacy()

    def _finish(self, tokens: Iterable[str]) -> list[str]:
        out = []
        for tok in tokens:
            if not tok or tok.isspace():
                continue
            out.append(normalize_word(tok, self.lowercase, self.normalize_numbers))
        return out

    def __call__(self, text: str) -> list[str]:
        return next(self.pipe([text]))

    def pipe(self, texts: Iterable[str]) -> Iterator[list[str]]:
        """Each text's tokens, one list a text, in order (lazily: a stream of lines is never held whole)."""
        if self.unit == "char":
            for text in texts:
                line = WHITESPACE.sub(" ", text)
                yield list(line.lower() if self.lowercase else line)
            return
        if self.kind == "whitespace":
            for text in texts:
                yield self._finish(text.split())
            return
        tokenizer, chunks = _spacy_tokenizer(), self._chunks
        for text in texts:
            tokens: list[str] = []
            for chunk in _encodable(text).split():  # str.split's whitespace is spaCy's (str.isspace)
                words = chunks.get(chunk)
                if words is None:
                    if len(chunks) >= CHUNK_CACHE:
                        chunks.clear()
                    words = chunks[chunk] = self._finish(t.text for t in tokenizer(chunk))
                tokens.extend(words)
            yield tokens
