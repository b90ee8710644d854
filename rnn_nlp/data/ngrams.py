"""Word n-grams of a text for the classifier's bag-of-n-grams path (head.ngrams): extraction, the n-gram
vocabulary and padded id lists, shared by the PyTorch task and the torch-free ONNX predictor.

A text's n-grams are the distinct word n-grams of orders 1..n over the tokens the word vocabulary sees (the
run's tokenizer, lower-casing and number rules, cut to data.max_tokens), in order of first appearance: a
binary bag, as NBSVM (Wang & Manning 2012) and fastText's bigrams read a sentence. The n-gram vocabulary is a
`Vocab` whose "tokens" are n-grams (the words joined by one space), counted once per training text, so its
`min_count` is a document frequency; an n-gram outside it is dropped, never read as <unk>. Id 0 (<pad>) pads.
No torch here: the predictor imports this module where torch cannot be imported.
"""

from __future__ import annotations

from collections.abc import Iterable

from rnn_nlp.data.vocab import SPECIALS, Vocab

SEPARATOR = " "  # between an n-gram's words (tokens never hold whitespace)


def text_ngrams(tokens: list[str], n: int) -> list[str]:
    """The distinct word n-grams of orders 1..n of `tokens`, in order of first appearance (unigrams first)."""
    seen: dict[str, None] = {}
    for order in range(1, n + 1):
        for start in range(len(tokens) - order + 1):
            seen.setdefault(SEPARATOR.join(tokens[start : start + order]), None)
    return list(seen)


def build_ngram_vocab(texts: Iterable[list[str]], n: int, min_count: int = 2, max_size: int | None = None) -> Vocab:
    """The n-grams (orders 1..n) of the training texts found in at least `min_count` of them, the `max_size`
    most frequent kept."""
    return Vocab.build((text_ngrams(tokens, n) for tokens in texts), max_size, min_count)


def ngram_ids(tokens: list[str], n: int, vocab: Vocab) -> list[int]:
    """The ids of the text's n-grams that `vocab` holds; the others (and the specials) are dropped."""
    get = vocab.stoi.get
    return [i for i in (get(g, -1) for g in text_ngrams(tokens, n)) if i >= len(SPECIALS)]


def padded_ngram_ids(lists: list[list[int]]) -> list[list[int]]:
    """Rows of n-gram ids right-padded with 0 to the longest, at least one column wide (a batch whose texts have
    no known n-gram still feeds a [B, 1] input of padding)."""
    width = max([1, *(len(x) for x in lists)])
    return [x + [0] * (width - len(x)) for x in lists]
