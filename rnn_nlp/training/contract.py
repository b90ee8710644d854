"""What the trainer and its callbacks see of each other, and of the task.

`TrainingTask` is everything the loop asks of a task (`rnn_nlp.tasks.base.Task` provides it all);
the trainer is typed with it and never looks for anything else, so `training` needs no task class.
`TrainingState` is what a callback is handed at every hook instead of the trainer: the run's
position and results as named values, read-only, and the few things a callback may ask the trainer
to do (`request_stop`, `save_last`, `save_best`), as flair's trainer plugins get named arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch

from rnn_nlp.config import RunConfig


class TrainingTask(Protocol):
    """The task as the trainer uses it: batches, evaluation, how to show the loss, what to save."""

    # The validation metric that picks the best model, and whether higher or lower is better.
    selection: tuple[str, str]
    # False when the valid split is trained on too (data.train_with_dev): the latest model is then the best.
    valid_held_out: bool

    def steps_per_epoch(self) -> int:
        """The batches of an epoch (of the first, where epochs differ in length)."""

    def epoch_steps(self, epoch: int) -> int:
        """The batches of epoch `epoch` (0-based): bounds a resumed state's data position."""

    def train_batches(self, epoch: int, start_step: int, device: torch.device) -> Iterable[dict]:
        """Epoch `epoch`'s batches from `start_step` on; the same epoch always yields the same batches."""

    def evaluate(self, model: torch.nn.Module, split: str, device: torch.device) -> dict[str, float]:
        """Metrics on `split`, holding `loss` and the `selection` metric."""

    def train_metrics(self, train_loss: float) -> dict[str, float]:
        """Other views of a mean training loss (e.g. {"ppl": ...}), logged as `train_<name>`."""

    def vocab_json(self) -> dict:
        """Every vocabulary the model needs, as JSON: saved as each checkpoint's vocab.json."""

    def data_fingerprint(self) -> dict[str, dict]:
        """{split: counts and hash} of the data trained on: a resume on other data is refused."""


@runtime_checkable
class AdversarialNetwork(Protocol):
    """A network that can train adversarially on its word embeddings (trainer.adversarial): every TaskNetwork."""

    def adversarial_forward(self, batch: dict, eps: float) -> dict:
        """`network(batch)`'s output, its loss plus the loss at embeddings moved `eps` along its gradient."""


@dataclass(frozen=True)
class TrainingState:
    """What a callback sees at a hook: a snapshot of the run, and what it may ask of the trainer.

    Its fields are read-only values of the moment of the hook; the model is the one being trained,
    which a callback may change in place (as gradual unfreezing does). Anything else a callback wants
    done goes through the methods, which the trainer carries out.
    """

    epoch: int  # the current epoch, 0-based; on_epoch_end: the next one (the finished one is counted)
    step_in_epoch: int  # batches of the current epoch taken
    global_step: int  # optimiser steps of the whole run (skipped non-finite steps included)
    ending: bool  # on_step_end: this step is the run's last (it is saved after its evaluation)
    improved: bool  # whether the latest evaluation is the best so far
    best: float | None  # the best score of the `selection` metric so far, as the metric reads
    history: tuple[dict, ...]  # a row per evaluation so far, as in metrics.csv
    selection: tuple[str, str]  # (metric, "min" | "max"): what picks the best model
    run_dir: Path  # the run folder
    cfg: RunConfig  # the whole run's config
    model: torch.nn.Module  # the model being trained
    dist: Any  # the process group (rank, world_size, is_main, collectives): every process calls every hook
    _stop: Callable[[str], None] = field(repr=False, compare=False)
    _save_last: Callable[[], Path] = field(repr=False, compare=False)
    _save_best: Callable[[], Path] = field(repr=False, compare=False)

    @property
    def is_main(self) -> bool:
        """Whether this process is rank 0, the one that writes files."""
        return self.dist.is_main

    def request_stop(self, reason: str) -> None:
        """End the run as if its budget ran out: before the next epoch, or after the next step when asked
        from `on_step_end`; logged with `reason`. A stopped run stays stopped when resumed."""
        self._stop(reason)

    def save_last(self) -> Path:
        """Write the resume checkpoint (RUN/checkpoint-last) with every callback's state. Every process
        must call it (it gathers their states); rank 0 writes."""
        return self._save_last()

    def save_best(self) -> Path:
        """Write the model into RUN/best (a folder swap: a kill leaves the old or the new, never a mix).
        Rank 0 writes; on other processes it does nothing."""
        return self._save_best()
