"""Metric files of a run folder: CSV tables and a PNG of the curves.

`metrics.csv` has one row per evaluation (end of epoch, or the end of a run cut short);
`steps.csv` one row every `trainer.log_every` optimiser steps (the training loss over those
steps). `curves.png` plots both against the step, with the run's name as its title.

Each whole file is written beside its name and renamed over it; a failed write (a full disk)
removes that temporary file and raises an OSError naming the file that could not be written.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

from rnn_nlp.files import replace_file, save_figure


def _fields(rows: list[dict]) -> list[str]:
    fields: list[str] = []
    for row in rows:
        fields.extend(k for k in row if k not in fields)
    return fields


def write_csv(rows: list[dict], path: Path) -> None:
    """The whole table, written beside `path` and renamed over it (a reader never sees half)."""
    if not rows:
        return

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=_fields(rows))
            writer.writeheader()
            writer.writerows(rows)

    replace_file(path, write)


def append_csv(rows: list[dict], path: Path) -> None:
    """Add the last row of `rows` to the table at `path`; the whole table is rewritten instead when
    the file is missing or its header is not the rows' columns."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh), None)
    except OSError:
        header = None
    if header != _fields(rows):
        write_csv(rows, path)
        return
    try:
        with open(path, "a", newline="", encoding="utf-8") as fh:
            csv.DictWriter(fh, fieldnames=header).writerow(rows[-1])
    except OSError as exc:  # a write's error names no file: name it
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc


def read_csv(path: Path) -> list[dict]:
    """The rows of a metric table, each cell a float where it reads as a finite number (else its text, or None
    when empty); a missing or unreadable file gives []."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return [{k: _cell(v) for k, v in row.items() if k is not None} for row in csv.DictReader(fh)]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _cell(text: str | None) -> float | str | None:
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else None


def _panels(rows: list[dict]) -> list[tuple[str, str]]:
    panels = [("loss", "loss")]
    for key, label in (("ppl", "perplexity"), ("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("f1", "F1")):
        if any(f"valid_{key}" in r for r in rows):
            panels.append((key, label))
    return panels


def _draw(ax, key: str, evals: list[dict], steps: list[dict]) -> None:
    """One panel: the training value every few steps as a line, each evaluation's train and valid values as markers."""
    if any(f"train_{key}" in r for r in steps):
        ax.plot([r["step"] for r in steps], [r.get(f"train_{key}", math.nan) for r in steps], "-", lw=1, alpha=0.6, label="train (steps)")
    x = [r["step"] for r in evals]
    for split, style in (("train", "o"), ("valid", "s-")):
        values = [r.get(f"{split}_{key}", math.nan) for r in evals]
        if any(v == v for v in values):
            ax.plot(x, values, style, label="train (epoch mean)" if split == "train" else split)


def plot_curves(evals: list[dict], path: Path, title: str = "", steps: Sequence[dict] = ()) -> None:
    """Loss (and perplexity or the task's score, where reported) against the optimiser step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    steps = list(steps)
    panels = _panels(evals)
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8), squeeze=False)
    for ax, (key, label) in zip(axes[0], panels):
        _draw(ax, key, evals, steps)
        ax.set_xlabel("step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
        if key == "ppl":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
