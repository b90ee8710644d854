"""Runs: configs resolved with their task, training into run folders, and reloading them.

The layer above the tasks: `rnn_nlp.load` / `rnn_nlp.train` and the CLI call it.
"""

from rnn_nlp.runs.configs import build_config, build_with_overrides, config_changes, load_config, load_run_config
from rnn_nlp.runs.loading import load_run
from rnn_nlp.runs.training import train_once, train_run

__all__ = [
    "build_config",
    "build_with_overrides",
    "config_changes",
    "load_config",
    "load_run",
    "load_run_config",
    "train_once",
    "train_run",
]
