"""Per-epoch metrics: a CSV in the run folder and a PNG of the curves, rewritten after every epoch."""

from __future__ import annotations

import csv
import math
from pathlib import Path


def write_csv(rows: list[dict], path: Path) -> None:
    if not rows:
        return
    fields: list[str] = []
    for row in rows:
        fields.extend(k for k in row if k not in fields)
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def plot_curves(rows: list[dict], path: Path) -> None:
    """Loss (and perplexity, where reported) per epoch, train beside valid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in rows]
    panels = [("loss", "loss")]
    for key, label in (("ppl", "perplexity"), ("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("f1", "F1")):
        if any(f"valid_{key}" in r for r in rows):
            panels.append((key, label))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    for ax, (key, label) in zip(axes[0], panels):
        for split, style in (("train", "o-"), ("valid", "s-")):
            values = [r.get(f"{split}_{key}", math.nan) for r in rows]
            if any(v == v for v in values):
                ax.plot(epochs, values, style, label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        if key == "ppl":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)
