"""Reloading a trained run: config, task (with the run's own vocabularies) and weights, checked first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from rnn_nlp.config import RunConfig
from rnn_nlp.runs.configs import load_run_config
from rnn_nlp.tasks.registry import get_task
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training.trainer import resolve_device


def load_run(run_dir: str | Path, device: str = "cpu") -> tuple[RunConfig, Any, torch.nn.Module]:
    """(config, task, model in eval mode) from a run or checkpoint folder, checked before use.

    A run folder gives its best model (`best/`, or the top-level files of a run written before
    `best/` existed); see `rnn_nlp.training.checkpoint.resolve`.
    """
    run_dir = Path(run_dir)
    ckpt.verify(run_dir)
    cfg = load_run_config(run_dir)
    task = get_task(cfg.task)(cfg, vocab_json=ckpt.load_vocab_json(run_dir))
    model = task.build_model()
    ckpt.load_model_weights(model, ckpt.load_weights(run_dir), run_dir)
    model.to(resolve_device(device))
    model.eval()
    return cfg, task, model
