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
from typing import cast

import numpy as np

from rnn_nlp.data.vocab import SPECIALS, Vocab

SEPARATOR = " "  # between an n-gram's words (tokens never hold whitespace)


def text_ngrams(tokens: list[str], n: int) -> list[str]:
    """The distinct word n-grams of orders 1..n of `tokens`, in order of first appearance (unigrams first)."""
    if n < 1:
        return []
    seen = dict.fromkeys(tokens)  # an n-gram of one order never equals one of another: tokens hold no space
    for order in range(2, n + 1):
        seen.update(dict.fromkeys(map(SEPARATOR.join, zip(*(tokens[k:] for k in range(order))))))
    return list(seen)


def build_ngram_vocab(texts: Iterable[list[str]], n: int, min_count: int = 2, max_size: int | None = None) -> Vocab:
    """The n-grams (orders 1..n) of the training texts found in at least `min_count` of them, the `max_size`
    most frequent kept."""
    return Vocab.build((text_ngrams(tokens, n) for tokens in texts), max_size, min_count)


def ngram_ids(tokens: list[str], n: int, vocab: Vocab) -> list[int]:
    """The ids of the text's n-grams that `vocab` holds; the others (and the specials) are dropped."""
    get, first = vocab.stoi.get, len(SPECIALS)
    return [i for g in text_ngrams(tokens, n) if (i := get(g, 0)) >= first]


def padded_ngram_ids(lists: list[list[int]]) -> list[list[int]]:
    """Rows of n-gram ids right-padded with 0 to the longest, at least one column wide (a batch whose texts have
    no known n-gram still feeds a [B, 1] input of padding)."""
    width = max([1, *(len(x) for x in lists)])
    return [x + [0] * (width - len(x)) for x in lists]


def ngram_scale(ngram_ids: np.ndarray) -> np.ndarray:
    """[B, 1] float32: 1 / sqrt(each row's number of n-grams, at least 1), 0 ids being padding; the factor
    NgramLogits divides a text's summed n-gram scores by, fed to an ONNX graph as its ngram_scale input."""
    count = np.maximum((np.asarray(ngram_ids) != 0).sum(1, keepdims=True), 1)
    return (1.0 / np.sqrt(count)).astype(np.float32)


class NgramLookup:
    """Each text's n-gram ids for a whole padded batch of word ids at once, in numpy: what `ngram_ids` gives text
    by text from the tokens' strings (the same set of ids a row; the graph sums a binary bag, so order plays no
    part), a few array operations a batch rather than a dictionary lookup and a string join an n-gram.

    A unigram is found by its word id in a dense table; an n-gram of order k >= 2 is keyed by its words' ids
    (w1 * V + w2) * V + ... (V: the word vocabulary's size) and found by binary search in that order's sorted keys.
    Every word of a known n-gram has an id above the specials, so padding and <unk> (specials) never form one.
    Built by `build` only where that is exact: every word of every known n-gram has its own id in the word
    vocabulary (so an n-gram touching an <unk> word is known to neither path) and V ** n fits an int64; otherwise
    `build` gives None and the strings are read.
    """

    def __init__(self, unigrams: np.ndarray, keys: list[np.ndarray], values: list[np.ndarray], base: int):
        self.unigrams = unigrams  # [V] int64: word id -> its unigram's n-gram id (0: none)
        self.keys, self.values, self.base = keys, values, base  # orders 2..n: sorted keys and their n-gram ids
        self._tables: tuple[list[int], list[dict[int, int]]] | None = None  # ids_of's, built at its first call

    @classmethod
    def build(cls, ngrams: Vocab, words: Vocab, n: int) -> NgramLookup | None:
        base = len(words.itos)
        if n < 1 or base**n >= 2**62:
            return None
        unigrams = np.zeros(base, np.int64)
        found: list[tuple[list[int], list[int]]] = [([], []) for _ in range(n - 1)]
        for i in range(len(SPECIALS), len(ngrams.itos)):
            parts = ngrams.itos[i].split(SEPARATOR)
            if len(parts) > n:  # an order the texts' n-grams never reach: the strings never find it either
                continue
            ids = [words.stoi.get(w, -1) for w in parts]
            if min(ids) < len(SPECIALS):  # a word with no id of its own: only strings can find it
                return None
            if len(parts) == 1:
                unigrams[ids[0]] = i
                continue
            key = 0
            for w in ids:
                key = key * base + w
            found[len(parts) - 2][0].append(key)
            found[len(parts) - 2][1].append(i)
        keys, values = [], []
        for order_keys, order_values in found:
            k, v = np.array(order_keys, np.int64), np.array(order_values, np.int64)
            order = np.argsort(k)
            keys.append(k[order])
            values.append(v[order])
        return cls(unigrams, keys, values, base)

    def ids_of(self, ids: list[int]) -> np.ndarray:
        """`ids` [1, K] for a single text's word ids (no padding), through dictionaries rather than array passes:
        a text at a time, a dozen small numpy calls cost more than the lookups themselves. The dictionaries (an
        int per known n-gram, tens of MB for 200,000) are built at the first call."""
        if self._tables is None:
            self._tables = (self.unigrams.tolist(), [dict(zip(k.tolist(), v.tolist())) for k, v in zip(self.keys, self.values)])
        unigrams, orders = self._tables
        grams: set[int | None] = {unigrams[i] for i in ids}
        base = self.base
        for order, table in enumerate(orders, start=2):
            keys = ids[: max(0, len(ids) - order + 1)]  # each n-gram's first word
            for shift in range(1, order):
                keys = [key * base + w for key, w in zip(keys, ids[shift:])]
            grams.update(map(table.get, keys))
        grams.discard(0)
        grams.discard(None)  # an n-gram no table knows
        return np.array([sorted(cast(set[int], grams)) or [0]], np.int64)

    def ids(self, ids: np.ndarray) -> np.ndarray:
        """[B, K] int64 n-gram ids of a padded batch `ids` [B, T] (padded with a special id, as <pad>'s 0): each
        row's distinct known n-grams, 0 elsewhere (in any column, as the graph reads 0 as nothing)."""
        columns = [self.unigrams[ids]]
        steps = ids.shape[1]
        for order, (keys, values) in enumerate(zip(self.keys, self.values), start=2):
            if steps < order or not len(keys):
                continue
            span = steps - order + 1
            key = ids[:, :span].astype(np.int64)
            for k in range(1, order):
                key = key * self.base + ids[:, k : k + span]
            at = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
            columns.append(np.where(keys[at] == key, values[at], 0))
        grams = np.sort(np.concatenate(columns, axis=1), axis=1)
        repeated = np.zeros(grams.shape, bool)
        repeated[:, 1:] = grams[:, 1:] == grams[:, :-1]
        grams[repeated] = 0  # each n-gram once: a binary bag
        return grams
