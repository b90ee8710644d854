"""Turning raw text into tokens: spaCy's blank English tokenizer (no model download), whitespace,
or characters (for character-level language models).

spaCy's tokenizer splits a text at whitespace first and reads each whitespace-free chunk on its own (its own
cache is keyed by chunk); only its special-case matcher then reads across chunks, where a pattern of several
tokens (":)" read as ":" and ")") runs on over the space. `Tokenizer` therefore remembers each chunk's finished
tokens and asks spaCy only for chunks it has not seen, and reads a text whole, as spaCy does, where two
neighbouring chunks could continue one such pattern (`_joinable`): the same tokens as spaCy's, without building
a spaCy Doc a text (two thirds of a short review's tokenizing time).
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


@lru_cache(maxsize=1)
def _joinable() -> tuple[dict[str, int], dict[str, int], int]:
    """spaCy's special-case patterns (each special case as its prefix, suffix and infix rules alone split it: what
    its matcher looks for) as what may span a space: each token b that follows another in some pattern -> its bit;
    each token a that some b follows -> the bits of those b; and the longest such token. Where one chunk ends in a
    and the next begins with a b that follows a, a match may span the space between them."""
    from spacy.tokenizer import Tokenizer as SpacyTokenizer

    tok = _spacy_tokenizer()
    affixes_only = SpacyTokenizer(
        tok.vocab,
        rules={},
        prefix_search=tok.prefix_search,
        suffix_search=tok.suffix_search,
        infix_finditer=tok.infix_finditer,
        token_match=tok.token_match,
        url_match=tok.url_match,
    )
    pairs: set[tuple[str, str]] = set()
    for special in tok.rules:
        parts = [t.text for t in affixes_only(special)]
        pairs.update(zip(parts, parts[1:]))
    heads = {b: 1 << i for i, b in enumerate(sorted({b for _, b in pairs}))}
    tails: dict[str, int] = {}
    for a, b in pairs:
        tails[a] = tails.get(a, 0) | heads[b]
    return heads, tails, max((len(t) for pair in pairs for t in pair), default=0)


def _chunk_edges(chunk: str) -> tuple[int, int]:
    """(the bits of the pattern tokens `chunk` begins with, the bits of those that may follow it: that follow a
    token it ends with in some pattern), from `_joinable`; a chunk and the next one may join where they share one."""
    heads, tails, longest = _joinable()
    begins = follow = 0
    for k in range(1, min(len(chunk), longest) + 1):
        begins |= heads.get(chunk[:k], 0)
        follow |= tails.get(chunk[-k:], 0)
    return begins, follow


def prepare_spacy() -> None:
    """Build spaCy's blank English tokenizer now rather than at the first text: importing spaCy takes a second or
    more, which a loaded model's first prediction should not pay (spaCy's own `spacy.load` pays it at load too)."""
    _spacy_tokenizer()
    _joinable()


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


CHUNK_CACHE = 100_000  # distinct whitespace-free chunks a Tokenizer remembers (cleared when full; about 20 MB)


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
        # a whitespace-free chunk -> its finished spaCy tokens and its _chunk_edges
        self._chunks: dict[str, tuple[list[str], int, int]] = {}

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
            text = _encodable(text)
            tokens: list[str] = []
            follow = 0  # the bits of the pattern tokens that may follow the previous chunk
            for chunk in text.split():  # str.split's whitespace is spaCy's (str.isspace)
                entry = chunks.get(chunk)
                if entry is None:
                    if len(chunks) >= CHUNK_CACHE:
                        chunks.clear()
                    entry = chunks[chunk] = (self._finish(t.text for t in tokenizer(chunk)), *_chunk_edges(chunk))
                words, begins, ends = entry
                if follow & begins:
                    tokens = self._finish(t.text for t in tokenizer(text))  # a pattern may span the space: read it whole
                    break
                tokens.extend(words)
                follow = ends
            yield tokens
