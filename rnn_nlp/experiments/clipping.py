"""Exploding gradients and gradient-norm clipping: one small LM at a high learning rate, with and without.

Both runs go through the library's LM task and Trainer (`trainer.clip_norm` on or off), same
data, seed and steps. Loss and gradient norm (before clipping) are recorded at every step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rnn_nlp.experiments.common import new_figure, save_figure
from rnn_nlp.experiments.lm_training import finite_or_none, fixed_steps_config, rounded, train_lm

NAME = "clipping"
DESCRIPTION = "training at a high learning rate with and without gradient-norm clipping: explosion and cure"


@dataclass
class Params:
    corpus: str = "ptb"  # a fetcher name or a local folder with train/valid/test text
    rnn: str = "lstm"
    hidden_size: int = 128  # also the embedding width
    vocab_size: int | None = 2000  # most frequent words kept; the rest become <unk>
    optimizer: str = "sgd"
    lr: float = 20.0  # high for plain SGD: fine with clipping, explosive without
    clip_norm: float = 0.25  # the clipped run's threshold (pytorch/examples' word LM uses 0.25 at lr 20)
    steps: int = 200
    batch_size: int = 20
    bptt: int = 35
    eval_tokens: int = 20000  # validation text for the final perplexity
    tail: int = 20  # final loss = mean of the last `tail` steps
    seed: int = 1111
    threads: int = 1


def run_config(p: Params, clip: float | None):
    return fixed_steps_config(p, p.optimizer, p.lr, clip)


def summarise(loss: list[float], grad_norm: list[float], non_finite: int, valid_ppl: float, tail: int) -> dict:
    finite_loss = [v for v in loss if math.isfinite(v)]
    finite_norm = [v for v in grad_norm if math.isfinite(v)]
    last = list(loss[-tail:])
    return {
        "steps": len(loss),
        "first_loss": finite_or_none(loss[0]),
        "final_loss": finite_or_none(float(np.mean(last))),
        "max_loss": finite_or_none(max(finite_loss)) if finite_loss else None,
        "max_grad_norm": finite_or_none(max(finite_norm)) if finite_norm else None,
        "median_grad_norm": finite_or_none(float(np.median(finite_norm))) if finite_norm else None,
        "non_finite_steps": non_finite,
        "valid_ppl": finite_or_none(valid_ppl),
    }


def run(p: Params, out_dir) -> dict:
    runs = {}
    for label, clip in (("no clipping", None), (f"clip_norm={p.clip_norm:g}", p.clip_norm)):
        trainer, rec = train_lm(run_config(p, clip))
        runs[label] = {
            "clip_norm": clip,
            **summarise(rec.loss, rec.grad_norm, rec.non_finite_steps(), trainer.history[-1]["valid_ppl"], p.tail),
            "loss_per_step": rounded(rec.loss),
            "grad_norm_per_step": rounded(rec.grad_norm),
        }
    plot(runs, out_dir / f"{NAME}.png", p)
    plain, clipped = runs.values()
    return {
        "summary": {name: {k: v for k, v in r.items() if not k.endswith("_per_step")} for name, r in runs.items()},
        "claim": {
            "clipping_lowers_final_loss": _less(clipped["final_loss"], plain["final_loss"]),
            "clipping_lowers_valid_ppl": _less(clipped["valid_ppl"], plain["valid_ppl"]),
            "unclipped_max_grad_norm_over_clip": finite_or_none((plain["max_grad_norm"] or math.inf) / p.clip_norm),
        },
        "runs": runs,
    }


def _less(a: float | None, b: float | None) -> bool:
    """a < b, where None (diverged: NaN or infinite) counts as worst."""
    if a is None:
        return False
    return b is None or a < b


def plot(runs: dict, path, p: Params) -> None:
    fig, axes = new_figure(2, width=6.0, height=4.2)
    loss_ax, norm_ax = axes[0]
    colours = ["tab:red", "tab:blue"]
    for (label, r), colour in zip(runs.items(), colours):
        steps = np.arange(1, r["steps"] + 1)
        loss = np.array([math.nan if v is None else v for v in r["loss_per_step"]])
        norm = np.array([math.nan if v is None else v for v in r["grad_norm_per_step"]])
        loss_ax.plot(steps, loss, color=colour, lw=1, label=f"{label} (valid ppl {_fmt(r['valid_ppl'])})")
        norm_ax.plot(steps, norm, color=colour, lw=1, label=label)
        bad = steps[~np.isfinite(loss) | ~np.isfinite(norm)]
        if len(bad):
            loss_ax.plot(
                bad,
                np.full(len(bad), np.nanmax(loss) if np.isfinite(loss).any() else 1.0),
                "x",
                color=colour,
                label=f"{label}: {len(bad)} NaN/inf steps",
            )
    norm_ax.axhline(p.clip_norm, color="grey", ls=":", lw=1, label=f"clip threshold {p.clip_norm:g}")
    loss_ax.set_title(f"{p.rnn} LM, {p.optimizer} lr {p.lr:g}: training loss per step")
    loss_ax.set_xlabel("step")
    loss_ax.set_ylabel("cross-entropy (nats)")
    norm_ax.set_title("gradient norm per step (before clipping)")
    norm_ax.set_xlabel("step")
    norm_ax.set_yscale("log")
    for ax in (loss_ax, norm_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    save_figure(fig, path)


def _fmt(value: float | None) -> str:
    return "NaN" if value is None else f"{value:.1f}"
