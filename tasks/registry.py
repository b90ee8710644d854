"""Task registry: built-in tasks register by name; a user's own task registers the same way.

Use `@register_task` on a Task subclass, then either import its module before building the
config, name it in a config as `task: "package.module:ClassName"`, or expose it through the
`rnn_nlp.tasks` entry-point group of an installed package.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any, Iterator

import torch

BUILTIN_MODULES = ("tasks.lm", "tasks.classification", "tasks.tagging", "tasks.qa", "tasks.seq2seq")
TASKS: dict[str, type] = {}


class Task:
    """What a task provides to the trainer and the CLI. Subclasses set the class attributes."""

    name: str = ""
    data_config: type = object
    head_config: type = object

    def __init__(self, cfg: Any, vocab_json: dict | None = None):
        self.cfg = cfg

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

    # The validation metric that picks the best model, and whether higher or lower is better.
    selection: tuple[str, str] = ("loss", "min")

    def evaluate(self, model: torch.nn.Module, split: str, device: torch.device) -> dict[str, float]:
        """Metrics on a split; must include `loss` and the `selection` metric."""
        raise NotImplementedError

    def use_data(self, name: str) -> None:
        """Evaluate on another data set (a corpus name, file, folder or hub name) than the config's."""
        raise NotImplementedError


def register_task(cls: type) -> type:
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a `name` to register")
    TASKS[cls.name] = cls
    return cls


def _load_builtins() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for ep in entry_points(group="rnn_nlp.tasks"):
        if ep.name not in TASKS:
            TASKS[ep.name] = ep.load()


def get_task(name: str) -> type:
    """The Task class registered as `name`, or loaded from `module:Class`."""
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise KeyError(f"cannot load task {name!r}: {exc}") from None
        return cls
    if name not in TASKS:
        _load_builtins()
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; known: {', '.join(sorted(TASKS))}")
    return TASKS[name]
