"""Checks of the public API's arguments (`Model.predict`, `generate`, `tag_tokens`, ...): a text is a
str, a collection of texts a list or tuple (a stream: any iterator) of them. Anything else is a
TypeError that names the argument and what it got, raised before any of it is iterated: a dict
would give its keys, a str handed to `tag_tokens` its characters, bytes their numbers."""

from __future__ import annotations

from typing import Any

from rnn_nlp.data.inputs import NOT_COLLECTIONS, check_batch_size, check_text, described, item_stream

__all__ = ["NOT_COLLECTIONS", "check_batch_size", "item_stream", "text_list", "token_lists"]


def text_list(value: Any, name: str) -> list[str]:
    """A str as [str]; a list or tuple of str as a list; else a TypeError naming `name` (or `name[i]`)."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a str or a list of str, got {described(value)}")
    for i, item in enumerate(value):
        check_text(item, f"{name}[{i}]")
    return list(value)


def token_lists(value: Any, name: str = "sentences") -> list[list[str]]:
    """Tokenized sentences: a list or tuple of lists (or tuples) of str; else a TypeError naming `name[i]`
    (a bare str would be tagged as one-character sentences)."""
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list of tokenized sentences (lists of str), got {described(value)}")
    out = []
    for i, sentence in enumerate(value):
        if not isinstance(sentence, (list, tuple)):
            raise TypeError(f"{name}[{i}] must be a list of str (one sentence's tokens), got {described(sentence)}")
        for j, token in enumerate(sentence):
            check_text(token, f"{name}[{i}][{j}]")
        out.append(list(sentence))
    return out
