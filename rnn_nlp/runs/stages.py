"""The stages before a task's own training: LM pretraining on the task's text, ULMFiT's LM fine-tuning.

A task declares them (`Task.pre_stages`, a list of `LMStage`); each is an ordinary LM run in a
folder of the task's run (`lm-pretrained/`, `lm-finetuned/`), trained once, resumed when cut short,
reused when finished, and the task's backbone starts from it. One helper, `lm_stage_config`, turns
a task's text into that LM run's config.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from rnn_nlp.config import RunConfig, to_dict
from rnn_nlp.data.text import load_text_corpus, write_split_files
from rnn_nlp.tasks.base import LMStage
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training.run_folder import STAGE_FOLDERS, STAGE_TEXT_FOLDERS

log = logging.getLogger(__name__)


def write_stage_text(folder: Path, stage: LMStage) -> Path:
    """train.txt (the task's lines + each corpus's training text), valid.txt and a small test.txt."""
    lines = list(stage.texts["train"])
    for name in stage.corpora:
        extra = load_text_corpus(name)["train"]
        log.info("LM text: %d lines from %s", len(extra), name)
        lines += extra
    held_out = stage.texts.get("valid") or stage.texts["train"][-max(1, len(stage.texts["train"]) // 20) :]
    return write_split_files(folder, {"train": lines, "valid": held_out, "test": held_out[:200]})


def _new_lm_head(text_dir: Path) -> dict:
    """A full softmax for small vocabularies; an adaptive one when the full softmax would be the slowest part."""
    counts = Counter((text_dir / "train.txt").read_text(encoding="utf-8").split())
    if sum(n >= 2 for n in counts.values()) > 10000:
        return {"softmax": "adaptive", "cutoffs": [2000, 8000], "tie_weights": False}
    return {"softmax": "full", "tie_weights": False}


def lm_stage_config(stage: LMStage, cfg: RunConfig, source: str | None, out: Path) -> dict:
    """The raw config of a stage's LM run on the task's text (written under `out`).

    lm_finetune: the LM in `source` (`pretrained`, or what lm_pretrain gave), its own config
    (architecture, optimiser), its data now the task's text. lm_pretrain: an LM with the task's backbone shape and
    the LM task's default trainer
    (TrainerConfig: SGD, lr 20, BPTT 35, clipping 0.25, as pytorch/examples). Either way the run's
    device, threads, seed and progress setting are the task's.
    """
    text_dir = write_stage_text(out / STAGE_TEXT_FOLDERS[stage.kind], stage)
    t = cfg.trainer
    if stage.kind == "lm_finetune":
        raw = ckpt.load_raw_config(source)
        raw["pretrained"] = source
    else:
        raw = {
            "task": "lm",
            "backbone": to_dict(cfg.backbone),
            "head": _new_lm_head(text_dir),
            "pretrained": None,
            "data": {"tokenizer": "whitespace", "vocab_size": 30000, "min_count": 2},
            "trainer": {"batch_size": 20, "eval_batch_size": 20, "checkpoint_every": 1000},
        }
    raw["data"] = {
        **raw.get("data", {}),
        **stage.data,
        "name": str(text_dir),
        "max_train_tokens": None,
        "max_eval_tokens": None,
        "streaming": False,
    }
    raw["trainer"] = {
        **raw.get("trainer", {}),
        "epochs": stage.epochs,
        "max_steps": None,
        "time_budget_s": stage.time_budget_s,
        "device": t.device,
        "threads": t.threads,
        "progress": t.progress,
        "seed": t.seed,
        **stage.trainer,
    }
    raw["stages"] = []
    return raw


def train_stage(
    stage: LMStage, cfg: RunConfig, source: str | None, out: Path, train_once: Callable[[Path, str, Callable[[], dict]], str]
) -> str:
    """Train (or reuse) one stage's LM run, starting from `source` for lm_finetune; returns its folder,
    where the next stage (and the task's backbone) starts."""
    what = {"lm_pretrain": "pretrained LM", "lm_finetune": "fine-tuned LM"}[stage.kind]
    log.info(
        "stage %s: %s for %d epochs on the task's text%s",
        stage.kind,
        what,
        stage.epochs,
        " + " + ", ".join(stage.corpora) if stage.corpora else "",
    )
    return train_once(out / STAGE_FOLDERS[stage.kind], what, lambda: lm_stage_config(stage, cfg, source, out))
