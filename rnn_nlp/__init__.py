"""rnn_nlp: one recurrent backbone, pretrained as a language model, feeding small heads.

    import rnn_nlp
    model = rnn_nlp.load("runs/ner")
    model.predict("Angela Merkel visited Paris.")

`load`, `train` and `recipes` are those of `rnn_nlp.api`, imported on first call, so that
`import rnn_nlp` stays light (no torch) until one is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnn_nlp.errors import CheckpointError as CheckpointError  # the package's errors, re-exported
from rnn_nlp.errors import ConfigError as ConfigError
from rnn_nlp.errors import DataError as DataError
from rnn_nlp.errors import RnnNlpError as RnnNlpError
from rnn_nlp.version import __version__ as __version__

if TYPE_CHECKING:  # for type checkers only: importing these at run time would import torch
    from rnn_nlp.config import RunConfig
    from rnn_nlp.tasks.model import Model
    from rnn_nlp.training.callbacks import Callback


def load(path_or_recipe: str | Path, device: str | None = None) -> Model:
    """The trained model in a run folder (or a trained built-in recipe's name): `rnn_nlp.api.load`."""
    from rnn_nlp.api import load as load_model

    return load_model(path_or_recipe, device)


def train(
    config: str | Path | dict[str, Any] | RunConfig | None,
    overrides: Sequence[str] = (),
    out: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    callbacks: Sequence[Callback] = (),
) -> Model:
    """Train a recipe, YAML file, mapping or RunConfig and return the best model: `rnn_nlp.api.train`."""
    from rnn_nlp.api import train as train_model

    return train_model(config, overrides, out, resume=resume, overwrite=overwrite, callbacks=callbacks)


def recipes() -> list[str]:
    """The built-in recipes' names: `rnn_nlp.api.recipes`."""
    from rnn_nlp.api import recipes as recipe_list

    return recipe_list()
