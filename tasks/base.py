"""The Task contract: what a task gives the trainer, the runs layer and the public API.

A task adapts data to a head: it reads its corpus, builds its vocabularies and labels, encodes and
batches examples, builds the model, and evaluates it. The trainer calls only `steps_per_epoch`,
`train_batches`, `evaluate`, `train_metrics`, `selection` and `vocab_json`; it never branches on the task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Literal, Optional

import torch

from rnn_nlp.errors import ConfigError


@dataclass
class LMStage:
    """A language-model run that comes before the task's own training, on text the task supplies.

    `lm_pretrain`: a new LM with the task's backbone shape on the task's training text plus
    `corpora`; `lm_finetune` (ULMFiT's second stage): the `pretrained` LM trained on further on the
    task's text. The runs layer trains it (resumable, reused once finished) and starts the task's
    backbone from it.
    """

    kind: Literal["lm_pretrain", "lm_finetune"]
    texts: dict[str, list[str]]  # train / valid lines, words as the task's vocabulary sees them
    epochs: int
    corpora: list[str] = field(default_factory=list)  # lm_pretrain: other corpora's training text too
    time_budget_s: Optional[float] = None
    data: dict = field(default_factory=dict)  # data keys of the LM run (tokenizer, lowercase, ...)
    trainer: dict = field(default_factory=dict)  # trainer keys of the LM run over the defaults (stages[i].trainer)


class Task:
    """What a task provides to the trainer and the CLI. Subclasses set the class attributes."""

    name: str = ""
    data_config: type = object
    head_config: type = object
    # The validation metric that picks the best model, and whether higher or lower is better.
    selection: tuple[str, str] = ("loss", "min")
    # What `rnn_nlp.load` returns for a run of this task: a rnn_nlp.tasks.model.Model subclass.
    model_class: Optional[type] = None

    def __init__(self, cfg: Any, vocab_json: dict | None = None):
        self.cfg = cfg

    @staticmethod
    def validate_config(cfg: Any, source: str) -> None:
        """Range checks of the task's own config keys (types are checked already); ConfigError naming the key."""

    def vocab_json(self) -> dict:
        """Every vocabulary the model needs, as JSON (saved as vocab.json)."""
        raise NotImplementedError

    def token_vocab(self):
        """The input-token Vocab (built from the training text unless loaded from a checkpoint)."""
        raise NotImplementedError

    def build_model(self) -> torch.nn.Module:
        raise NotImplementedError

    def steps_per_epoch(self) -> int:
        raise NotImplementedError

    def epoch_seed(self, epoch: int) -> int:
        """The seed of an epoch's data order: the same epoch always gets the same batches."""
        return self.cfg.trainer.seed * 100_003 + epoch

    def train_batches(self, epoch: int, start_step: int, device: torch.device) -> Iterator[dict]:
        """Batches of one epoch from `start_step` on; the same epoch always yields the same batches."""
        raise NotImplementedError

    def evaluate(self, model: torch.nn.Module, split: str, device: torch.device) -> dict[str, float]:
        """Metrics on a split; must include `loss` and the `selection` metric."""
        raise NotImplementedError

    def train_metrics(self, train_loss: float) -> dict[str, float]:
        """How the mean training loss is also shown (e.g. {"ppl": ...}); logged as `train_<name>`."""
        return {}

    def pre_stages(self) -> list[LMStage]:
        """The LM runs to train before this task's own training: the config's `stages`, else what the
        task's shorthand switches ask for (`shorthand_stages`)."""
        if not self.cfg.stages:
            return self.shorthand_stages()
        out = []
        for stage in self.cfg.stages:
            if stage.name == "task":
                break
            texts, data = self.lm_text()
            out.append(LMStage(stage.name, texts, stage.epochs, list(stage.corpora), stage.time_budget_s, data, dict(stage.trainer or {})))
        return out

    def shorthand_stages(self) -> list[LMStage]:
        """The stages the task's own switches ask for (data.pretrain_epochs, head.lm_finetune_epochs); none by default."""
        return []

    def lm_text(self) -> tuple[dict[str, list[str]], dict]:
        """({"train": lines, "valid": lines}, data keys of an LM reading them): the task's text for LM stages."""
        raise ConfigError(f"stages: task '{self.name}' has no text to train a language model stage on")

    def adopt_pretrained(self) -> None:
        """Settle shapes that come from pretrained runs other than `pretrained` (a seq2seq decoder LM)."""

    def start_from_pretrained(self, model: torch.nn.Module) -> None:
        """Load weights from pretrained runs other than `pretrained` into a fresh model (a seq2seq decoder)."""

    def use_data(self, name: str) -> None:
        """Evaluate on another data set (a corpus name, file, folder or hub name) than the config's."""
        raise NotImplementedError


def stages_conflict(cfg: Any, source: str) -> None:
    """data.pretrain_epochs (the old switch) and `stages` both given: an error that shows the new form."""
    d = cfg.data
    if d.pretrain_epochs and cfg.stages:
        corpora = f", corpora: [{', '.join(d.pretrain_corpora)}]" if d.pretrain_corpora else ""
        raise ConfigError(f"{source}: data.pretrain_epochs and stages both say how the LM is pretrained; keep stages and write it "
                          f"there: stages: [{{name: lm_pretrain, epochs: {d.pretrain_epochs}{corpora}}}, {{name: task}}]")


def pretrain_shorthand(task: Task) -> list[LMStage]:
    """The old switch data.pretrain_epochs (with data.pretrain_corpora, data.pretrain_time_budget_s) and no
    `pretrained`: one lm_pretrain stage on the task's text, the shorthand of
    `stages: [{name: lm_pretrain, epochs: N, corpora: [...]}, {name: task}]`."""
    d = task.cfg.data
    if task.cfg.pretrained or not d.pretrain_epochs:
        return []
    texts, data = task.lm_text()
    return [LMStage("lm_pretrain", texts, d.pretrain_epochs, list(d.pretrain_corpora), d.pretrain_time_budget_s, data)]
