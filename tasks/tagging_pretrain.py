"""Pretraining a tagger's backbone as a language model on the task's own training text plus other corpora.

`data.pretrain_epochs: 2` with `data.pretrain_corpora: [ptb]` (and no `pretrained`) trains, before
the tagger, a language model with the tagger's backbone shape on the tagging corpus's training
sentences and PTB, then starts the tagger from it. Only training text is used: the tagging corpus's
validation sentences serve as the LM's held-out text, its test sentences are never read.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from rnn_nlp.config import RunConfig, to_dict

log = logging.getLogger(__name__)


def write_lm_text(folder: Path, train: list[str], held_out: list[str], corpora: list[str]) -> Path:
    """train.txt (the task's sentences + every corpus's training text), valid.txt and test.txt (held-out sentences)."""
    from rnn_nlp.data.readers import load_text_corpus, write_split_files

    lines = list(train)
    for name in corpora:
        extra = load_text_corpus(name)["train"]
        log.info("LM pretraining text: %d lines from %s", len(extra), name)
        lines += extra
    held_out = held_out or train[-max(1, len(train) // 20) :]
    return write_split_files(folder, {"train": lines, "valid": held_out, "test": held_out[:200]})


def pretrain_on_task_text(cfg: RunConfig, train: list[str], held_out: list[str], out_dir: Path) -> str:
    """Train the LM into out_dir/lm-pretrained (reused when finished) and return its folder."""
    from rnn_nlp.runs import train_once

    return train_once(out_dir / "lm-pretrained", "pretrained LM", lambda: lm_config(cfg, train, held_out, out_dir))


def lm_config(cfg: RunConfig, train: list[str], held_out: list[str], out_dir: Path) -> dict:
    """The pretraining LM's raw config, with the tagger's backbone shape, on text written under out_dir."""
    d, t = cfg.data, cfg.trainer
    text_dir = write_lm_text(out_dir / "lm-pretrain-text", train, held_out, list(d.pretrain_corpora))
    counts = Counter((text_dir / "train.txt").read_text(encoding="utf-8").split())
    words = sum(n >= 2 for n in counts.values())
    # a big vocabulary makes the full softmax the slowest part: an adaptive one then
    head = {"softmax": "adaptive", "cutoffs": [2000, 8000], "tie_weights": False} if words > 10000 else {"softmax": "full", "tie_weights": False}
    raw = {
        "task": "lm",
        "data": {"name": str(text_dir), "tokenizer": "whitespace", "vocab_size": 30000, "min_count": 2},
        "backbone": to_dict(cfg.backbone),
        "head": head,
        "trainer": {
            "epochs": d.pretrain_epochs, "time_budget_s": d.pretrain_time_budget_s, "batch_size": 20, "eval_batch_size": 20,
            "bptt": 35, "optimizer": "sgd", "lr": 20.0, "clip_norm": 0.25, "schedule": "plateau", "seed": t.seed,
            "device": t.device, "threads": t.threads, "progress": t.progress, "checkpoint_every": 1000,
        },
    }
    log.info("pretraining the backbone as an LM on the task's training text%s", " + " + ", ".join(d.pretrain_corpora) if d.pretrain_corpora else "")
    return raw
