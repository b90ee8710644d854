"""Six optimisers on one small LM: SGD, Adagrad, RMSprop, Adam, AdamW, NAdam, same data, seed and steps.

Each run is the library's LM task and Trainer with only `trainer.optimizer` and `trainer.lr`
changed (AdamW also gets its decoupled weight decay). Loss is recorded at every step; the
final validation perplexity and the training wall time go into one table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnn_nlp.errors import ConfigError
from rnn_nlp.experiments.common import new_figure, save_figure
from rnn_nlp.experiments.lm_training import finite_or_none, fixed_steps_config, rounded, train_lm
from rnn_nlp.training.optim import OPTIMIZERS

NAME = "optimizers"
DESCRIPTION = "SGD, Adagrad, RMSprop, Adam, AdamW and NAdam on the same small LM: loss curves, valid perplexity, time"


@dataclass
class Params:
    corpus: str = "ptb"  # a fetcher name or a local folder with train/valid/test text
    optimizers: list[str] = field(default_factory=lambda: ["sgd", "adagrad", "rmsprop", "adam", "adamw", "nadam"])
    lrs: list[float] = field(default_factory=lambda: [20.0, 0.1, 0.005, 0.005, 0.005, 0.005])  # one per optimizer
    adamw_weight_decay: float = 0.01  # torch's AdamW default; without it AdamW is Adam
    rnn: str = "lstm"
    hidden_size: int = 128  # also the embedding width
    vocab_size: int | None = 2000
    steps: int = 300
    clip_norm: float = 0.25  # the same for every optimiser
    batch_size: int = 20
    bptt: int = 35
    eval_tokens: int = 20000
    smooth: int = 10  # plotted loss: moving average over this many steps
    seed: int = 1111
    threads: int = 1


def run_config(p: Params, optimizer: str, lr: float):
    return fixed_steps_config(p, optimizer, lr, p.clip_norm, p.adamw_weight_decay if optimizer == "adamw" else 0.0)


def check(p: Params) -> None:
    if len(p.optimizers) != len(p.lrs):
        raise ConfigError(f"lrs: give one learning rate per optimizer ({len(p.optimizers)}), got {len(p.lrs)}")
    unknown = [o for o in p.optimizers if o not in OPTIMIZERS]
    if unknown:
        raise ConfigError(f"optimizers: unknown {', '.join(unknown)}; known: {', '.join(OPTIMIZERS)}")


def run(p: Params, out_dir) -> dict:
    check(p)
    runs = {}
    for optimizer, lr in zip(p.optimizers, p.lrs):
        trainer, rec = train_lm(run_config(p, optimizer, lr))
        last = trainer.history[-1]
        name = optimizer if p.optimizers.count(optimizer) == 1 else f"{optimizer} lr={lr:g}"
        runs[name] = {
            "optimizer": optimizer,
            "lr": lr,
            "valid_ppl": finite_or_none(last["valid_ppl"]),
            "final_train_loss": finite_or_none(float(np.mean(rec.loss[-p.smooth :]))),
            "wall_s": round(float(last["elapsed_s"]), 2),
            "ms_per_step": round(1000 * float(np.mean(rec.step_time)), 2),
            "non_finite_steps": rec.non_finite_steps(),
            "loss_per_step": rounded(rec.loss),
            "seconds_per_step": rounded(rec.cumulative_time, 3),
        }
    plot(runs, out_dir / f"{NAME}.png", p)
    ranked = sorted((r["valid_ppl"] if r["valid_ppl"] is not None else float("inf"), n) for n, r in runs.items())
    table = [
        {
            "run": n,
            "optimizer": r["optimizer"],
            "lr": r["lr"],
            "valid_ppl": r["valid_ppl"],
            "wall_s": r["wall_s"],
            "ms_per_step": r["ms_per_step"],
        }
        for n, r in runs.items()
    ]
    return {
        "table": table,
        "ranking_by_valid_ppl": [n for _, n in ranked],
        "note": "one learning rate per optimiser, not tuned per run: SGD (no momentum) at 20 as in "
        "pytorch/examples' word LM, Adagrad 0.1, the RMSprop/Adam family 0.005 (better than 0.002 "
        "for short runs in a coarse probe); clipping is the same for all",
        "runs": runs,
    }


def moving_average(values: list[float | None], width: int) -> np.ndarray:
    x = np.array([np.nan if v is None else v for v in values], dtype=float)
    if width <= 1 or len(x) < width:
        return x
    return np.convolve(x, np.ones(width) / width, mode="valid")


def plot(runs: dict, path, p: Params) -> None:
    fig, axes = new_figure(3, width=5.2, height=4.2)
    step_ax, time_ax, bar_ax = axes[0]
    for name, r in runs.items():
        smooth = moving_average(r["loss_per_step"], p.smooth)
        offset = len(r["loss_per_step"]) - len(smooth)
        steps = np.arange(1 + offset, len(r["loss_per_step"]) + 1)
        seconds = np.array(r["seconds_per_step"], dtype=float)[offset:]
        (line,) = step_ax.plot(steps, smooth, lw=1.2, label=f"{name} (lr {r['lr']:g})")
        time_ax.plot(seconds, smooth, lw=1.2, color=line.get_color(), label=name)
    step_ax.set_xlabel("step")
    time_ax.set_xlabel("training seconds (1 thread)")
    for ax in (step_ax, time_ax):
        ax.set_ylabel(f"training loss ({p.smooth}-step mean)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    step_ax.set_title(f"{p.rnn} {p.hidden_size}, {p.steps} steps, clip {p.clip_norm:g}")
    names = list(runs)
    ppl = [runs[n]["valid_ppl"] or np.nan for n in names]
    bars = bar_ax.bar(names, ppl, color=[f"C{i}" for i in range(len(names))])
    for bar, n in zip(bars, names):
        r = runs[n]
        text = f"{r['valid_ppl']:.0f}\n{r['wall_s']:.0f} s" if r["valid_ppl"] else f"NaN\n{r['wall_s']:.0f} s"
        bar_ax.annotate(
            text, (bar.get_x() + bar.get_width() / 2, bar.get_height() if r["valid_ppl"] else 0), ha="center", va="bottom", fontsize=8
        )
    bar_ax.set_ylabel("valid perplexity after training")
    bar_ax.set_title("final valid perplexity (and wall time)")
    bar_ax.margins(y=0.15)
    save_figure(fig, path)
