"""Raw inputs into model inputs: the steps the PyTorch models (`rnn_nlp.tasks`) and the torch-free ONNX
predictor (`rnn_nlp.inference`) share, written once so that both read a text alike.

Checking that an input is a text (and a collection of inputs a list or a stream), reading a stream a
batch at a time, cutting a tagger's sentence into `data.max_len` pieces and giving each its window of
document context (`data.context`), keeping a classifier's first `data.max_tokens` tokens, and a word's
character ids.
No torch here: the predictor imports this module where torch cannot be imported.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple, TypeVar

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


def whole_number(value: Any, name: str) -> int:
    """`value` if it is an int (not a bool, not 2.5), else a TypeError naming the argument `name`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    return value


def check_batch_size(value: Any, name: str = "batch_size") -> int | None:
    """None (the model's default) or a positive int; else a TypeError or ValueError naming `name`
    (0 must not mean the default, nor a negative count give no batches and metrics of nothing). The PyTorch
    models and the torch-free ONNX predictor check their batch_size here alike."""
    if value is None:
        return None
    if whole_number(value, name) < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return value


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to `size` consecutive items: a stream read a batch at a time, never whole."""
    it = iter(items)
    while True:
        chunk = list(itertools.islice(it, size))
        if not chunk:
            return
        yield chunk


class Window(NamedTuple):
    """One piece of a sentence and the window of its document that the tagger reads around it.

    Positions count tokens of the document (its sentences' tokens end to end): the window is
    [lo, hi), and the piece's own tokens are the window's [left, left + size).
    """

    sentence: int  # the sentence's index in the document
    start: int  # the piece's first token in its sentence
    size: int  # the piece's tokens
    lo: int
    hi: int
    left: int  # context tokens before the piece inside the window


def document_runs(documents: Sequence[Hashable] | None, count: int) -> list[range]:
    """The sentences of each document as index ranges: runs of equal consecutive ids, so two documents
    never mix even where an id comes back later; without ids (None) each sentence is its own document."""
    if documents is None:
        return [range(n, n + 1) for n in range(count)]
    if len(documents) != count:
        raise ValueError(f"{len(documents)} document ids for {count} sentences")
    runs, first = [], 0
    for n in range(1, count + 1):
        if n == count or documents[n] != documents[first]:
            runs.append(range(first, n))
            first = n
    return runs


def input_documents(count: int, context: int, document: bool | None) -> list[int] | None:
    """Document ids of `count` sentences given to a tagger in one call: all one document (`document` True;
    None means True for a run trained with data.context > 0), else each sentence alone (None). The PyTorch
    model and the ONNX predictor read a call's sentences alike through this."""
    return [0] * count if (context > 0 if document is None else document) else None


def context_windows(lengths: Sequence[int], limit: int, context: int) -> Iterator[Window]:
    """The windows of one document whose sentences have `lengths` tokens, in order: each sentence cut into
    pieces of at most `limit` (data.max_len) tokens, each piece read with up to `context` (data.context)
    tokens of the document on each side (the nearest ones; fewer at the document's edges). With context 0
    a window is its piece. An empty sentence has no piece. A tagger tags a longer sentence piece by piece
    and decodes it whole."""
    total, offset = sum(lengths), 0
    for n, length in enumerate(lengths):
        for start in range(0, length, limit):
            size = min(limit, length - start)
            first = offset + start
            lo, hi = max(0, first - context), min(total, first + size + context)
            yield Window(n, start, size, lo, hi, first - lo)
        offset += length


def first_tokens(tokens: list[T], limit: int | None) -> list[T]:
    """The tokens a classifier reads: the first `limit` (data.max_tokens), or all without a limit."""
    return tokens[:limit] if limit else tokens


def word_chars(token: str, char_ids: dict[str, int], limit: int) -> list[int]:
    """A word's character ids (1 for a character outside `char_ids`); a word longer than `limit`
    (head.max_word_chars) keeps its first and last characters, half the limit each."""
    if len(token) > limit:
        token = token[: limit // 2] + token[-(limit - limit // 2) :]
    return [char_ids.get(c, 1) for c in token]
