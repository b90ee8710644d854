"""Pretrained word vectors for a task's backbone (backbone.vectors): read once per process, attached at build
time with the hit rate logged, and looked up per token so that words outside the vocabulary keep theirs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch

from rnn_nlp.data.fetchers.vector_sets import load_vectors
from rnn_nlp.data.tokenize import NUMBER_WORD
from rnn_nlp.data.vectors import WordVectors, token_rows
from rnn_nlp.data.vocab import SPECIALS, Vocab
from rnn_nlp.errors import ConfigError, DataError
from rnn_nlp.nn.backbone import Backbone

log = logging.getLogger(__name__)

_LOADED: dict[str, WordVectors] = {}
_MISSING: set[str] = set()  # sources found gone while loading a saved model: no per-token rows for them
# While a saved model is built: the width of the vectors its weights hold. A context variable, not a global,
# so that models loaded at once in several threads (a server's workers) never read each other's.
_SAVED_WIDTH: ContextVar[int | None] = ContextVar("saved_vectors_width", default=None)


@contextmanager
def saved_model_vectors(cfg: Any, weights: dict[str, Any]) -> Iterator[None]:
    """While a saved model is built from `weights`: if its vectors source is gone (a moved file, a named set
    that cannot be fetched offline), build it anyway from the vocabulary's vectors its weights hold."""
    widths = [int(v.shape[1]) for k, v in weights.items() if k.endswith("vectors.vocab_vectors")] if cfg.backbone.vectors else []
    token = _SAVED_WIDTH.set(widths[0] if widths else None)
    try:
        yield
    finally:
        _SAVED_WIDTH.reset(token)


def configured_vectors(cfg: Any) -> WordVectors | None:
    """The vectors backbone.vectors names (None when it names none), read once per process."""
    source = cfg.backbone.vectors
    if not source:
        return None
    if source not in _LOADED:
        try:
            _LOADED[source] = load_vectors(source)
        except DataError as exc:
            raise ConfigError(f"backbone.vectors: {exc}") from None
    return _LOADED[source]


def attach_vectors(cfg: Any, backbone: Backbone, vocab: Vocab) -> None:
    """Add backbone.vectors to `backbone`'s embedding and log how many vocabulary words they cover."""
    if not cfg.backbone.vectors:
        return
    try:
        vectors = configured_vectors(cfg)
    except ConfigError as exc:
        saved_width = _SAVED_WIDTH.get()
        if saved_width is None:
            raise
        log.warning("%s; the model reads its vocabulary's vectors from its own weights, and words outside it as <unk>", exc)
        _MISSING.add(cfg.backbone.vectors)
        vectors = None
    if vectors is None:
        backbone.attach_vectors(None, vocab.itos, unk_id=vocab.unk_id, width=_SAVED_WIDTH.get() or 0)
        return
    numbers = (NUMBER_WORD,) if getattr(cfg.data, "normalize_numbers", False) else ()
    counts = backbone.attach_vectors(vectors, vocab.itos, (*SPECIALS, *numbers), vocab.unk_id)
    words = len(vocab) - counts["skipped"]
    found = words - counts["missing"]
    width = f"{vectors.dim}-d" + (f", projected to {cfg.backbone.emb_size}" if vectors.dim != cfg.backbone.emb_size else "")
    log.info(
        "word vectors %s (%s, %s): %d of %d vocabulary words found (%.1f%%: exact %d, lower-cased %d, digits as 0 %d)",
        vectors.source,
        width,
        cfg.backbone.vectors_mode.replace("_", "-"),
        found,
        words,
        100.0 * found / max(words, 1),
        counts["exact"],
        counts["lower"],
        counts["digits"],
    )


def vector_rows(cfg: Any, tokens: list[str], words: list[str]) -> list[int] | None:
    """Each token's row in the whole vectors table (-1: none), or None without backbone.vectors.

    `words`: the tokens as the vocabulary sees them; a number that data.normalize_numbers made N has no
    vector here either, as N has none in the vocabulary.
    """
    if cfg.backbone.vectors in _MISSING:  # a saved model loaded without them: its vocabulary's vectors only
        return None
    vectors = configured_vectors(cfg)
    if vectors is None:
        return None
    return token_rows(vectors, tokens, words, bool(getattr(cfg.data, "normalize_numbers", False)))


def padded_rows(rows: list[list[int]], steps: int) -> torch.Tensor:
    """[B, steps] table rows, -1 on padding."""
    return torch.tensor([r + [-1] * (steps - len(r)) for r in rows], dtype=torch.long)
