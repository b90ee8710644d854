"""Pieces shared by the experiments: PTB text as sentences, and figures written without a display."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rnn_nlp import files  # noqa: E402
from rnn_nlp.data.text import load_text_corpus  # noqa: E402


def corpus_sentences(data: str, split: str, max_tokens: int | None = None) -> list[list[str]]:
    """The first sentences of a corpus split (whitespace tokens) up to `max_tokens` words; `data` is
    anything an LM config's `data.name` takes (a fetched corpus, a file or folder, a hub name)."""
    sentences, total = [], 0
    for line in load_text_corpus(data)[split]:
        words = line.split()
        if not words:
            continue
        if max_tokens is not None and total + len(words) > max_tokens and sentences:
            break
        sentences.append(words)
        total += len(words)
    return sentences


def ptb_sentences(split: str, max_tokens: int | None = None) -> list[list[str]]:
    """PTB sentences of a split (already tokenized), the first ones up to `max_tokens` words."""
    return corpus_sentences("ptb", split, max_tokens)


def new_figure(ncols: int = 1, width: float = 6.0, height: float = 4.0):
    """A figure and its axes, sized per panel."""
    return plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)


def save_figure(fig, path: str | Path) -> Path:
    """Write a PNG and free the figure."""
    fig.tight_layout()
    return files.save_figure(fig, path, dpi=120)
