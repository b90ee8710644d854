"""Confusion matrices drawn as PNGs, bounded in size however many labels there are (classification, POS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnn_nlp.files import save_figure

MAX_PLOTTED_LABELS = 30  # past this a confusion plot shows the most confused labels only (memory and legibility)


def most_confused(matrix, names: list[str], keep: int = MAX_PLOTTED_LABELS) -> tuple[Any, list[str]]:
    """The rows and columns of the `keep` labels with the most errors (as gold or as prediction), in their order."""
    import numpy as np

    m = np.asarray(matrix)
    if len(names) <= keep:
        return m, list(names)
    errors = m.sum(0) + m.sum(1) - 2 * np.diag(m)
    chosen = sorted(np.argsort(-errors, kind="stable")[:keep].tolist())
    return m[np.ix_(chosen, chosen)], [names[i] for i in chosen]


def plot_confusion(matrix, names: list[str], path: Path) -> None:
    """A confusion-matrix PNG: every label up to MAX_PLOTTED_LABELS, else the most confused ones (named in
    the title), so the figure stays small however many labels there are (Brown's 472 raw tags)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    total = len(names)
    matrix, names = most_confused(matrix, names)
    size = max(4.0, 0.6 * len(names) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if len(names) < total:
        ax.set_title(f"the {len(names)} most confused of {total} labels")
    peak = matrix.max() if matrix.size else 0
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, str(matrix[i][j]), ha="center", va="center", color="black" if matrix[i][j] < peak / 2 else "white")
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
