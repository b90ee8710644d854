"""Raw inputs into model inputs: the steps the PyTorch models (`rnn_nlp.tasks`) and the torch-free ONNX
predictor (`rnn_nlp.inference`) share, written once so that both read a text alike.

Checking that an input is a text (and a collection of inputs a list or a stream), reading a stream a
batch at a time, cutting a tagger's sentence into `data.max_len` pieces, keeping a classifier's first
`data.max_tokens` tokens, and a word's character ids.
No torch here: the predictor imports this module where torch cannot be imported.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from rnn_nlp.errors import abbreviate

T = TypeVar("T")


def described(value: Any) -> str:
    """A value as an error message shows what it got: its type and an abbreviated repr ("int 3")."""
    return f"{type(value).__name__} {abbreviate(value, 60)}"


def check_text(value: Any, name: str) -> str:
    """`value` if it is a str, else a TypeError naming `name` ("inputs[3] must be a str, got int 3")."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {described(value)}")
    return value


NOT_COLLECTIONS = (str, bytes, bytearray, memoryview, dict, set, frozenset)


def item_stream(value: Any, name: str, check=check_text) -> Iterator:
    """The items of a list, tuple or iterator, each passed through `check(item, "name[i]")` as it comes
    (a stream is never read whole); a str, bytes, mapping, set or non-iterable is a TypeError naming `name`,
    raised before anything is iterated (a dict would give its keys, bytes their numbers)."""
    if isinstance(value, NOT_COLLECTIONS) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a list (or an iterator) of inputs, got {described(value)}")
    return (check(item, f"{name}[{i}]") for i, item in enumerate(value))


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to `size` consecutive items: a stream read a batch at a time, never whole."""
    it = iter(items)
    while True:
        chunk = list(itertools.islice(it, size))
        if not chunk:
            return
        yield chunk


def sentence_pieces(tokens: list[T], limit: int) -> Iterator[tuple[int, list[T]]]:
    """(start, tokens) of each piece of at most `limit` (data.max_len) tokens, in order; none for no tokens.
    A tagger tags a longer sentence piece by piece and decodes it whole."""
    for start in range(0, len(tokens), limit):
        yield start, tokens[start : start + limit]


def first_tokens(tokens: list[T], limit: int | None) -> list[T]:
    """The tokens a classifier reads: the first `limit` (data.max_tokens), or all without a limit."""
    return tokens[:limit] if limit else tokens


def word_chars(token: str, char_ids: dict[str, int], limit: int) -> list[int]:
    """A word's character ids (1 for a character outside `char_ids`); a word longer than `limit`
    (head.max_word_chars) keeps its first and last characters, half the limit each."""
    if len(token) > limit:
        token = token[: limit // 2] + token[-(limit - limit // 2) :]
    return [char_ids.get(c, 1) for c in token]
