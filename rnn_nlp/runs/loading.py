"""Reloading a trained run: config, task (with the run's own vocabularies) and weights, checked first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from rnn_nlp.config import RunConfig
from rnn_nlp.runs.configs import checkpoint_config
from rnn_nlp.tasks.registry import get_task
from rnn_nlp.tasks.word_vectors import saved_model_vectors
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training.trainer import resolve_device


def load_run(run_dir: str | Path, device: str = "cpu") -> tuple[RunConfig, Any, torch.nn.Module]:
    """(config, task, model in eval mode) from a run or checkpoint folder, checked before use.

    A run folder gives its best model (`best/`, or the top-level files of a run written before
    `best/` existed); see `rnn_nlp.training.run_folder.resolve`.
    """
    checkpoint = ckpt.read_checkpoint(run_dir)  # one version of every file, even while a run writes its next best
    cfg = checkpoint_config(checkpoint)
    task = get_task(cfg.task)(cfg, vocab_json=checkpoint.vocab_json())
    weights = checkpoint.weights()
    with saved_model_vectors(cfg, weights):
        model = task.build_model()
    ckpt.check_finite_weights(weights, checkpoint.folder)
    ckpt.load_model_weights(model, weights, checkpoint.folder)
    model.to(resolve_device(device))
    model.eval()
    return cfg, task, model
