"""Pieces shared by the experiments: PTB text as sentences, and figures written without a display."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rnn_nlp.data.fetch import fetch  # noqa: E402


def ptb_sentences(split: str, max_tokens: int | None = None) -> list[list[str]]:
    """PTB sentences of a split (already tokenized), the first ones up to `max_tokens` words."""
    lines = fetch("ptb")[split]["text"]
    sentences, total = [], 0
    for line in lines:
        words = line.split()
        if not words:
            continue
        if max_tokens is not None and total + len(words) > max_tokens and sentences:
            break
        sentences.append(words)
        total += len(words)
    return sentences


def new_figure(ncols: int = 1, width: float = 6.0, height: float = 4.0):
    """A figure and its axes, sized per panel."""
    return plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)


def save_figure(fig, path: str | Path) -> Path:
    """Write a PNG and free the figure."""
    path = Path(path)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
