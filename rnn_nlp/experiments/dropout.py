"""Dropout against overfitting: train and valid perplexity per epoch, with and without dropout.

A model too big for its slice of PTB, trained for several epochs through the library's LM task
and Trainer: without dropout the training perplexity keeps falling while the validation
perplexity turns back up; the backbone's dropouts (locked dropout on the embeddings and the
top layer, word-level embedding dropout) keep the two together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from matplotlib.ticker import ScalarFormatter

from rnn_nlp.experiments.common import new_figure, save_figure
from rnn_nlp.experiments.lm_training import finite_or_none, lm_config, train_lm

NAME = "dropout"
DESCRIPTION = "train/valid perplexity per epoch with and without dropout: the overfitting picture"


@dataclass
class Params:
    corpus: str = "ptb"  # a fetcher name or a local folder with train/valid/test text
    rnn: str = "lstm"
    hidden_size: int = 256  # also the embedding width: big for the slice, so it can overfit
    layers: int = 1
    vocab_size: int | None = 3000
    train_tokens: int = 20000  # a small slice of the training text
    eval_tokens: int = 20000
    dropout: float = 0.5  # locked dropout on the embeddings, between layers and on the top layer
    embed_dropout: float = 0.1  # whole words dropped from the embedding matrix
    weight_drop: float = 0.0  # DropConnect on the hidden-to-hidden matrices
    epochs: int = 8
    optimizer: str = "adam"
    lr: float = 0.005
    clip_norm: float = 0.25
    batch_size: int = 20
    bptt: int = 35
    seed: int = 1111
    threads: int = 1


def run_config(p: Params, with_dropout: bool):
    rate = p.dropout if with_dropout else 0.0
    return lm_config(
        p.corpus,
        {
            "rnn": p.rnn,
            "emb_size": p.hidden_size,
            "hidden_size": p.hidden_size,
            "layers": p.layers,
            "input_dropout": rate,
            "hidden_dropout": rate,
            "output_dropout": rate,
            "embed_dropout": p.embed_dropout if with_dropout else 0.0,
            "weight_drop": p.weight_drop if with_dropout else 0.0,
        },
        {
            "optimizer": p.optimizer,
            "lr": p.lr,
            "clip_norm": p.clip_norm,
            "epochs": p.epochs,
            "batch_size": p.batch_size,
            "eval_batch_size": p.batch_size,
            "bptt": p.bptt,
            "seed": p.seed,
            "threads": p.threads,
        },
        data={"vocab_size": p.vocab_size, "max_train_tokens": p.train_tokens, "max_eval_tokens": p.eval_tokens},
    )


def summarise(history: list[dict]) -> dict:
    """Per-epoch curves plus the numbers that tell overfitting: best valid epoch, final gap."""
    train = [float(r["train_ppl"]) for r in history]
    valid = [float(r["valid_ppl"]) for r in history]
    best = min(range(len(valid)), key=lambda i: valid[i] if math.isfinite(valid[i]) else math.inf)
    return {
        "train_ppl": [finite_or_none(v) for v in train],
        "valid_ppl": [finite_or_none(v) for v in valid],
        "best_valid_ppl": finite_or_none(valid[best]),
        "best_epoch": best + 1,
        "final_train_ppl": finite_or_none(train[-1]),
        "final_valid_ppl": finite_or_none(valid[-1]),
        "valid_rise_after_best": finite_or_none(valid[-1] - valid[best]),
        "final_valid_over_train": finite_or_none(valid[-1] / train[-1]),
        "train_seconds": round(float(history[-1]["elapsed_s"]), 2),
    }


def run(p: Params, out_dir) -> dict:
    runs = {}
    for label, with_dropout in (("no dropout", False), (f"dropout {p.dropout:g}", True)):
        trainer, _ = train_lm(run_config(p, with_dropout))
        runs[label] = summarise(trainer.history)
    plot(runs, out_dir / f"{NAME}.png", p)
    plain, dropped = runs.values()
    return {
        "runs": runs,
        "claim": {
            "no_dropout_overfits": plain["best_epoch"] < p.epochs and plain["valid_rise_after_best"] > 0,
            "dropout_best_valid_is_lower": (dropped["best_valid_ppl"] or math.inf) < (plain["best_valid_ppl"] or math.inf),
            "dropout_final_valid_is_lower": (dropped["final_valid_ppl"] or math.inf) < (plain["final_valid_ppl"] or math.inf),
        },
        "note": "train_ppl is the epoch's mean training loss as the trainer logs it (dropout active in the dropout run)",
    }


def plot(runs: dict, path, p: Params) -> None:
    fig, axes = new_figure(1, width=7.0, height=4.5)
    ax = axes[0][0]
    for (label, r), colour in zip(runs.items(), ("tab:red", "tab:blue")):
        epochs = range(1, len(r["train_ppl"]) + 1)
        nan = float("nan")
        ax.plot(epochs, [nan if v is None else v for v in r["train_ppl"]], "o--", color=colour, label=f"{label}: train")
        ax.plot(epochs, [nan if v is None else v for v in r["valid_ppl"]], "s-", color=colour, label=f"{label}: valid")
        ax.plot([r["best_epoch"]], [r["best_valid_ppl"]], "*", color=colour, ms=14, label=f"{label}: best valid")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(ScalarFormatter())
    ax.tick_params(axis="y", which="minor", labelsize=7)
    ax.set_xlabel("epoch")
    ax.set_ylabel("perplexity")
    ax.set_title(f"{p.rnn} {p.layers}x{p.hidden_size} on {p.train_tokens:,} {p.corpus} tokens")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    save_figure(fig, path)
